// The environment every instruction-level case runs in (as test/cases.test.ts sets it up, after
// bpf_conformance): `mem` copied into one read-write region after a 64-byte unmapped gap, r1 = its address,
// r2 = its length, the same bytes as the LD_ABS/LD_IND packet; helper 5 is the "unwind" helper. Shared by the
// JIT corpus test, the differential test and the fuzzer, so that any generated program can be saved as a case.

import { BpfError } from '../../src/errors.js';
import type { Insn } from '../../src/isa/insn.js';
import { Vm, type Engine } from '../../src/engine/vm.js';
import { PERM_RW } from '../../src/vm/memory.js';

/** bpf_conformance's unwind helper: r0 = r1; if r1 == 0 the program stops at once with r0 = 0. */
export function unwindHelper(vm: Vm): void {
  vm.lo[0] = vm.lo[1];
  vm.hi[0] = vm.hi[1];
  if (vm.lo[1] === 0 && vm.hi[1] === 0) vm.halted = true;
}

export type Outcome = { r0: bigint } | { error: string; code: string; insn: number | undefined };

export interface CaseRun {
  outcome: Outcome;
  /** The input memory after the run (empty without mem). */
  mem: Uint8Array;
  /** The whole 8-frame stack region after the run. */
  stack: Uint8Array;
  insnCount: number;
}

/** A Vm in the case environment: r1/r2 for `mem` (after a 64-byte unmapped gap, so an access just below it faults). */
function caseVm(engine: Engine, mem: Uint8Array | undefined, budget: number | undefined): { vm: Vm; r1: bigint; r2: bigint; addr: number } {
  const vm = new Vm({ budget, engine });
  vm.helpers[5] = unwindHelper;
  let r1 = 0n, r2 = 0n, addr = 0;
  if (mem !== undefined && mem.length > 0) {
    vm.space.alloc(64);
    addr = vm.space.alloc(mem.length);
    vm.space.write(addr, mem);
    vm.space.mapRegion(addr, mem.length, PERM_RW);
    vm.setPacket(addr, mem.length);
    r1 = BigInt(addr);
    r2 = BigInt(mem.length);
  }
  return { vm, r1, r2, addr };
}

/** Run `insns` on one engine in the case environment; returns r0 or throws what the runtime threw. */
export function runCaseOn(engine: Engine, insns: Insn[], mem: Uint8Array | undefined, budget: number | undefined): bigint {
  const { vm, r1, r2 } = caseVm(engine, mem, budget);
  return vm.run(vm.load(insns), r1, r2);
}

/** Run `insns` (validated) on one engine in the case environment; never throws a BpfError. */
export function runInCaseEnv(engine: Engine, insns: Insn[], mem: Uint8Array | undefined, budget: number | undefined): CaseRun {
  const { vm, r1, r2, addr } = caseVm(engine, mem, budget);
  let outcome: Outcome;
  try {
    outcome = { r0: vm.run(vm.load(insns), r1, r2) };
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    outcome = { error: e.message, code: e.code, insn: e.insn };
  }
  return {
    outcome,
    mem: addr === 0 ? new Uint8Array(0) : vm.space.read(addr, mem!.length),
    stack: vm.space.read(vm.stackBase, vm.stackTop() - vm.stackBase),
    insnCount: vm.insnCount,
  };
}

const show = (o: Outcome): string => ('r0' in o ? `r0 = 0x${o.r0.toString(16)}` : `${o.error} (insn ${o.insn})`);

/** Where two runs differ (r0 or error, memory, stack), or null when they agree. */
export function difference(a: CaseRun, b: CaseRun): string | null {
  if (show(a.outcome) !== show(b.outcome)) return `outcome: ${show(a.outcome)} vs ${show(b.outcome)}`;
  for (let i = 0; i < a.mem.length; i++) if (a.mem[i] !== b.mem[i]) return `memory byte ${i}: 0x${a.mem[i].toString(16)} vs 0x${b.mem[i].toString(16)}`;
  for (let i = 0; i < a.stack.length; i++) if (a.stack[i] !== b.stack[i]) return `stack byte ${i}: 0x${a.stack[i].toString(16)} vs 0x${b.stack[i].toString(16)}`;
  return null;
}

// BPF_PROG_TYPE_KPROBE (ctx: struct pt_regs, x86-64, 168 bytes, read-only) and BPF_PROG_TYPE_TRACEPOINT
// (ctx: the tracepoint's raw record, read-only, the first 8 bytes - the common fields - not readable)
// (kernel/trace/bpf_trace.c kprobe_prog_is_valid_access, tp_prog_is_valid_access). The kernel has no
// BPF_PROG_TEST_RUN for either type (the bpf() layer answers ENOTSUPP, 524); runKprobe() and
// runTracepoint() run a program directly on a caller-given ctx instead, for samples and tests.

import type { Program } from '../engine/interp.js';
import type { Vm } from '../engine/vm.js';
import { BpfError } from '../errors.js';
import { PT_REGS_NAMES, PT_REGS_SIZE } from '../helpers/layout.js';
import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import { PERM_READ } from '../vm/memory.js';
import type { CtxAccessInfo, ProgTypeOps } from '../verifier/types.js';
import { TRACING_HELPERS } from './helpers_allowed.js';
import { requireEnv, runProgram } from './types.js';

/** PERF_MAX_TRACE_SIZE: the largest tracepoint record. */
export const PERF_MAX_TRACE_SIZE = 8192;

const TRACING = new Set(TRACING_HELPERS);

export const kprobeOps: ProgTypeOps = {
  type: BPF_PROG_TYPE.BPF_PROG_TYPE_KPROBE,
  name: 'kprobe',
  ctxSize: PT_REGS_SIZE,
  isValidAccess(off: number, size: number, write: boolean, _info: CtxAccessInfo): boolean {
    if (off < 0 || off >= PT_REGS_SIZE || write || off % size !== 0) return false;
    return off + size <= PT_REGS_SIZE;
  },
  convertCtxAccess: () => null,
  helperAllowed: (id: number): boolean => TRACING.has(id),
};

export const tracepointOps: ProgTypeOps = {
  type: BPF_PROG_TYPE.BPF_PROG_TYPE_TRACEPOINT,
  name: 'tracepoint',
  ctxSize: PERF_MAX_TRACE_SIZE,
  isValidAccess(off: number, size: number, write: boolean, _info: CtxAccessInfo): boolean {
    if (off < 8 || off >= PERF_MAX_TRACE_SIZE || write) return false;
    return off % size === 0;
  },
  convertCtxAccess: () => null,
  helperAllowed: (id: number): boolean => TRACING.has(id),
};

/** Registers for runKprobe: raw 168 bytes, or values by x86-64 pt_regs name (missing ones are 0). */
export type PtRegs = Uint8Array | Partial<Record<(typeof PT_REGS_NAMES)[number], bigint | number>>;

/** Encode pt_regs (x86-64 layout: r15 first, ss last). */
export function encodePtRegs(regs: PtRegs): Uint8Array {
  if (regs instanceof Uint8Array) {
    if (regs.length !== PT_REGS_SIZE) throw new BpfError('EINVAL', `pt_regs must be ${PT_REGS_SIZE} bytes, got ${regs.length}`);
    return regs;
  }
  const out = new Uint8Array(PT_REGS_SIZE);
  const dv = new DataView(out.buffer);
  for (const [name, v] of Object.entries(regs)) {
    const i = (PT_REGS_NAMES as readonly string[]).indexOf(name);
    if (i < 0) throw new BpfError('EINVAL', `pt_regs has no register '${name}'`);
    dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(v as bigint | number)), true);
  }
  return out;
}

interface CtxSlot {
  addr: number;
  region: number;
  cap: number;
}

const slots = new WeakMap<Vm, CtxSlot>();

/** A read-only ctx region of `len` bytes holding `bytes`, reused per Vm (grown when needed). */
function placeCtx(vm: Vm, bytes: Uint8Array): number {
  const sp = vm.space;
  let s = slots.get(vm);
  if (s === undefined || s.cap < bytes.length) {
    const cap = Math.max(PT_REGS_SIZE, bytes.length, s?.cap ?? 0);
    const addr = sp.alloc(cap, 64);
    if (s !== undefined) sp.unmapRegion(s.region);
    s = { addr, region: sp.mapRegion(addr, 0, PERM_READ), cap };
    slots.set(vm, s);
  }
  sp.u8.set(bytes, s.addr);
  sp.setRegion(s.region, s.addr, bytes.length, PERM_READ);
  return s.addr;
}

/** Run a kprobe program as if the probe fired with `regs`; returns r0 as a u32. */
export function runKprobe(vm: Vm, program: Program, regs: PtRegs): number {
  const env = requireEnv(vm);
  const ctx = placeCtx(vm, encodePtRegs(regs));
  return runProgram(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_KPROBE, program, ctx);
}

/** Run a tracepoint program on a raw record (common fields first, as the kernel lays it out). */
export function runTracepoint(vm: Vm, program: Program, record: Uint8Array): number {
  const env = requireEnv(vm);
  if (record.length > PERF_MAX_TRACE_SIZE) {
    throw new BpfError('E2BIG', `tracepoint record of ${record.length} bytes exceeds PERF_MAX_TRACE_SIZE (${PERF_MAX_TRACE_SIZE})`);
  }
  const ctx = placeCtx(vm, record);
  return runProgram(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_TRACEPOINT, program, ctx);
}

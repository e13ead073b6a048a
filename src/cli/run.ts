// `tsbpf run FILE`: run one program (assembly text or raw bytes) in the interpreter with optional input
// memory (r1 = its address, r2 = its length; it is also the packet for LD_ABS/LD_IND), and print r0.
// `--trace` prints every executed instruction with the registers it changed (interpreter only).
// `--engine interp|jit` picks the engine (default: TSBPF_ENGINE, else the JIT; with --trace the interpreter).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BpfError } from '../errors.js';
import { formatInsn } from '../isa/disasm.js';
import { Vm, defaultEngine, type TraceEvent } from '../engine/vm.js';
import { PERM_RW } from '../vm/memory.js';
import { parseHex, readProgram } from './input.js';

const hex64 = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16);

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mem: { type: 'string' },
      'mem-file': { type: 'string' },
      trace: { type: 'boolean', default: false },
      engine: { type: 'string' },
      budget: { type: 'string' },
      syntax: { type: 'string', default: 'llvm' },
    },
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: tsbpf run FILE [--mem HEX | --mem-file FILE] [--trace] [--budget N] [--syntax llvm|mnemonic] [--engine interp|jit]\n');
    return 2;
  }
  const insns = readProgram(positionals[0]);
  let budget: number | undefined;
  if (values.budget !== undefined) {
    budget = Number(values.budget);
    if (!Number.isSafeInteger(budget) || budget <= 0) throw new BpfError('EINVAL', `--budget must be a positive integer, not '${values.budget}'`);
  }
  let mem: Uint8Array | undefined;
  if (values.mem !== undefined) mem = parseHex(values.mem, '--mem');
  if (values['mem-file'] !== undefined) mem = new Uint8Array(readFileSync(values['mem-file']));

  // default: TSBPF_ENGINE or the JIT; --trace is an interpreter feature, so it picks the interpreter
  const engine = values.engine ?? (values.trace ? 'interp' : defaultEngine());
  if (engine !== 'interp' && engine !== 'jit') throw new BpfError('EINVAL', `--engine must be interp or jit, not '${engine}'`);
  if (values.trace && engine === 'jit') throw new BpfError('EOPNOTSUPP', '--trace needs the interpreter engine (--engine interp)');
  const vm = new Vm({ budget, engine });
  const prog = vm.load(insns);
  let addr = 0;
  if (mem !== undefined && mem.length > 0) {
    vm.space.alloc(64); // an unmapped gap: an access just below the memory faults instead of hitting the stack
    addr = vm.space.alloc(mem.length);
    vm.space.write(addr, mem);
    vm.space.mapRegion(addr, mem.length, PERM_RW);
    vm.setPacket(addr, mem.length);
  }
  if (values.trace) {
    const syntax = values.syntax === 'mnemonic' ? 'mnemonic' : 'llvm';
    vm.trace = (ev: TraceEvent) => {
      const text = formatInsn(insns, ev.pc, syntax);
      const regs = ev.changed.map((c) => `r${c.reg}=${hex64(c.value)}`).join(' ');
      process.stdout.write(`${String(ev.pc).padStart(5)}: ${text.padEnd(40)} ${regs}\n`);
    };
  }
  const r0 = vm.run(prog, BigInt(addr), BigInt(mem?.length ?? 0));
  process.stdout.write(`r0 = ${hex64(r0)} (${BigInt.asUintN(64, r0)})\n`);
  return 0;
}

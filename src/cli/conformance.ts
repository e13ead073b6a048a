// `tsbpf conformance-plugin`: the bpf_conformance plugin protocol. One program per process:
//   argv: [MEM] [OPTION...]   MEM (present when argv's first word does not start with '-') holds the input
//                             memory as hex bytes "aa  bb  "; options: --interpret (default), --jit, --elf.
//   stdin: one line, the program's instruction bytes in the same hex format.
//   r1 = address of a writable copy of MEM, r2 = its length (0 and 0 without MEM); r10 = top of a 512-byte stack.
//   helper 5 returns its argument, and when that is 0 the program stops at once with r0 = 0 (uBPF's "unwind").
// Success: exit 0, r0 printed as unsigned 64-bit hex with nothing before it. Failure: exit 1, one line on stderr.

import { readFileSync } from 'node:fs';
import { BpfError } from '../errors.js';
import { decode } from '../isa/insn.js';
import { Vm, type Engine } from '../engine/vm.js';
import { PERM_RW } from '../vm/memory.js';
import { parseHex } from './input.js';

/** Instructions one conformance program may execute before it is judged to be looping forever. */
const CONFORMANCE_BUDGET = 100_000_000;
const UNWIND_HELPER = 5;

export async function main(argv: string[]): Promise<number> {
  let memText = '';
  let rest = argv;
  if (argv.length > 0 && !argv[0].startsWith('-')) {
    memText = argv[0];
    rest = argv.slice(1);
  }
  // The runner may pass all options as one argument ("--interpret --elf"): split on whitespace.
  const options = rest.flatMap((a) => a.split(/\s+/)).filter((a) => a.length > 0);
  let engine: Engine = 'interp';
  for (const opt of options) {
    if (opt === '--interpret') { engine = 'interp'; continue; }
    if (opt === '--jit') { engine = 'jit'; continue; }
    if (opt === '--elf') continue;
    throw new BpfError('EINVAL', `unknown option '${opt}'`);
  }
  const mem = parseHex(memText, 'input memory');
  const code = parseHex(readFileSync(0, 'utf8'), 'program on stdin');

  const vm = new Vm({ budget: CONFORMANCE_BUDGET, engine });
  vm.helpers[UNWIND_HELPER] = (m: Vm) => {
    m.lo[0] = m.lo[1];
    m.hi[0] = m.hi[1];
    if (m.lo[1] === 0 && m.hi[1] === 0) m.halted = true;
  };
  const prog = vm.load(decode(code));
  let addr = 0;
  if (mem.length > 0) {
    vm.space.alloc(64); // an unmapped gap: an access just below the memory faults instead of hitting the stack
    addr = vm.space.alloc(mem.length);
    vm.space.write(addr, mem);
    vm.space.mapRegion(addr, mem.length, PERM_RW);
    vm.setPacket(addr, mem.length);
  }
  const r0 = vm.run(prog, BigInt(addr), BigInt(mem.length));
  process.stdout.write(BigInt.asUintN(64, r0).toString(16) + '\n');
  return 0;
}

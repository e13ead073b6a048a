// Interpreter benchmark: an RFC 1071 checksum over a 1500-byte packet and a tight ALU loop. Reports
// instructions per second and ns per run (per packet). Figures only: nothing here is asserted.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assemble } from '../src/isa/asm.js';
import { Vm } from '../src/engine/vm.js';
import { PERM_RW } from '../src/vm/memory.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const ALU_LOOP = `
        mov r0, 0
        mov r1, 100000
loop:   add r0, r1
        xor r0, 0x5a5a
        mul r0, 3
        rsh r0, 1
        sub r1, 1
        jne r1, 0, loop
        exit
`;

interface Case { name: string; text: string; mem?: Uint8Array; runs: number }

function measure(c: Case): { insnsPerRun: number; nsPerRun: number; mips: number } {
  const vm = new Vm({ engine: 'interp' });
  const prog = vm.load(assemble(c.text));
  let addr = 0;
  const len = c.mem?.length ?? 0;
  if (c.mem !== undefined) {
    addr = vm.space.alloc(len);
    vm.space.write(addr, c.mem);
    vm.space.mapRegion(addr, len, PERM_RW);
  }
  // Count instructions once through the trace hook, then time runs without it.
  let count = 0;
  vm.trace = () => { count++; };
  vm.runRaw(prog, addr, 0, len, 0);
  vm.trace = undefined;
  for (let i = 0; i < Math.min(c.runs, 2000); i++) vm.runRaw(prog, addr, 0, len, 0); // warm up
  const samples: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < c.runs; i++) vm.runRaw(prog, addr, 0, len, 0);
    samples.push(Number(process.hrtime.bigint() - t0) / c.runs);
  }
  samples.sort((a, b) => a - b);
  const ns = samples[2];
  return { insnsPerRun: count, nsPerRun: ns, mips: count / ns * 1e3 };
}

const packet = new Uint8Array(readFileSync(`${root}/samples/packet.bin`));
const cases: Case[] = [
  { name: 'checksum, 1500-byte packet', text: readFileSync(`${root}/samples/checksum.asm`, 'utf8'), mem: packet, runs: 20000 },
  { name: 'ALU loop, 100k iterations', text: ALU_LOOP, runs: 20 },
];

console.log('engine: interpreter   (median of 5 timed batches)');
console.log('case                          insns/run     ns/run   Minsn/s');
for (const c of cases) {
  const r = measure(c);
  console.log(`${c.name.padEnd(28)} ${String(r.insnsPerRun).padStart(10)} ${r.nsPerRun.toFixed(0).padStart(10)} ${r.mips.toFixed(1).padStart(9)}`);
}

// JIT benchmark: the RFC 1071 checksum over samples/packet.bin (samples/checksum.asm) and a tight ALU loop
// on both engines (ns per run, speed-up of the JIT), the JIT's compile time in ms per 1000 instructions
// (cfg + codegen + WebAssembly.Module; V8 compiles function bodies lazily, so the first run also pays
// Liftoff), and the compile time of a generated 1,000,000-instruction program. Figures only: nothing here
// is asserted. `node dist/bench/jit.js [--quick]`.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assemble } from '../src/isa/asm.js';
import type { Insn } from '../src/isa/insn.js';
import { Vm, type Engine } from '../src/engine/vm.js';
import { PERM_RW } from '../src/vm/memory.js';
import { generate, generateLarge } from '../test/gen/program.js';
import { unwindHelper } from '../test/gen/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const quick = process.argv.includes('--quick');

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

interface Case { name: string; insns: Insn[]; mem?: Uint8Array; runs: number }

function measure(c: Case, engine: Engine): { nsPerRun: number; r0: bigint } {
  const vm = new Vm({ engine });
  const prog = vm.load(c.insns);
  let addr = 0;
  const len = c.mem?.length ?? 0;
  if (c.mem !== undefined) {
    addr = vm.space.alloc(len);
    vm.space.write(addr, c.mem);
    vm.space.mapRegion(addr, len, PERM_RW);
  }
  const r0 = vm.run(prog, BigInt(addr), BigInt(len));
  const runs = quick ? Math.max(1, c.runs / 10) : c.runs;
  for (let i = 0; i < runs; i++) vm.runRaw(prog, addr, 0, len, 0); // warm up (lets V8 tier up to TurboFan)
  const samples: number[] = [];
  for (let rep = 0; rep < 7; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) vm.runRaw(prog, addr, 0, len, 0);
    samples.push(Number(process.hrtime.bigint() - t0) / runs);
  }
  samples.sort((a, b) => a - b);
  return { nsPerRun: samples[3], r0 };
}

const packet = new Uint8Array(readFileSync(`${root}/samples/packet.bin`));
const cases: Case[] = [
  { name: `checksum, ${packet.length}-byte packet`, insns: assemble(readFileSync(`${root}/samples/checksum.asm`, 'utf8')), mem: packet, runs: 20000 },
  { name: 'ALU loop, 100k iterations', insns: assemble(ALU_LOOP), runs: 20 },
];

console.log('run time (median of 7 timed batches)');
console.log('case                              interp ns/run    jit ns/run   speed-up');
for (const c of cases) {
  const a = measure(c, 'interp'), b = measure(c, 'jit');
  if (a.r0 !== b.r0) throw new Error(`${c.name}: engines disagree (${a.r0} vs ${b.r0})`);
  console.log(`${c.name.padEnd(32)} ${a.nsPerRun.toFixed(0).padStart(14)} ${b.nsPerRun.toFixed(0).padStart(13)} ${(a.nsPerRun / b.nsPerRun).toFixed(1).padStart(9)}x`);
}

/** Compile `insns` on a fresh JIT Vm; returns ms and slots. */
function compileTime(insns: Insn[]): { ms: number; slots: number; bytes: number; firstRunMs: number } {
  const vm = new Vm({ engine: 'jit' });
  vm.helpers[5] = unwindHelper;
  const prog = vm.load(insns); // validates and compiles
  const c = vm.jit().get(prog);
  const buf = vm.space.alloc(64);
  vm.space.mapRegion(buf, 64, PERM_RW);
  vm.budget = undefined;
  const t0 = performance.now();
  try { vm.run(prog, BigInt(buf), 64n); } catch { /* a generated program may fault: only the time matters */ }
  return { ms: c.compileMs, slots: insns.length, bytes: c.wasmBytes, firstRunMs: performance.now() - t0 };
}

console.log('\ncompile time (cfg + codegen + WebAssembly.Module; first run includes V8\'s lazy Liftoff compile)');
console.log('program                                 slots    wasm KiB   compile ms   ms/1000 insns   first run ms');
const progs: [string, Insn[]][] = [
  ['checksum.asm', cases[0].insns],
  ['ALU loop', cases[1].insns],
];
for (const seed of [1, 2, 3]) progs.push([`generated (seed ${seed}, ~10k slots)`, generate(seed, 5000).insns]);
progs.push(['generated, 100 functions x 1000', generateLarge(9, 100, 1000).insns]);
if (!quick) progs.push(['generated, 1000 functions x 900 (~1M)', generateLarge(10, 1000, 900).insns]);
for (const [name, insns] of progs) {
  // warm the compiler itself on small programs first
  const r = compileTime(insns);
  console.log(`${name.padEnd(38)} ${String(r.slots).padStart(8)} ${(r.bytes / 1024).toFixed(0).padStart(10)} ${r.ms.toFixed(1).padStart(12)} ${(r.ms / r.slots * 1000).toFixed(2).padStart(15)} ${r.firstRunMs.toFixed(1).padStart(14)}`);
}

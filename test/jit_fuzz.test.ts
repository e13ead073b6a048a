// Differential test of the engines on random valid programs (test/gen/program.ts, local calls included):
// the interpreter and the JIT must agree on r0 or the error, the input buffer and the stack; also sets of
// programs tail-calling each other through random slot tables, split functions and a 1M-instruction one. A bounded, seeded run for CI;
// `npm run fuzz -- --seconds N` runs for longer and saves mismatches as cases.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../src/isa/insn.js';
import { parseCase } from './case_format.js';
import { assemble } from '../src/isa/asm.js';
import { difference, runInCaseEnv } from './gen/env.js';
import { generate, generateLarge } from './gen/program.js';
import { caseText, check } from './gen/fuzz.js';
import { Jit } from '../src/engine/jit/runtime.js';
import { Rng } from './gen/program.js';
import { unwindHelper } from './gen/env.js';
import { Vm, type Engine, type Program } from '../src/engine/vm.js';
import { BpfError } from '../src/errors.js';
import { MapRegistry, type ProgRef } from '../src/maps/map.js';
import { createMap } from '../src/maps/create.js';
import type { ProgArrayMap } from '../src/maps/fd_array.js';
import { attachEnv } from '../src/helpers/table.js';
import { ManualClock } from '../src/helpers/env.js';
import { directResolvers } from '../src/helpers/maps.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { PERM_RW } from '../src/vm/memory.js';

test('300 random programs: interpreter and JIT agree on r0/error, buffer and stack', () => {
  let errors = 0, halts = 0;
  const kinds = new Set<number>();
  for (let seed = 1; seed <= 300; seed++) {
    const m = check(seed * 7919);
    if (m !== null) assert.fail(`seed ${seed * 7919}: ${m.why}\n${m.text}`);
    const g = generate(seed * 7919);
    for (const i of g.insns) kinds.add(i.code);
    const o = runInCaseEnv('interp', g.insns, g.mem, g.budget).outcome;
    if ('error' in o) errors++;
    else if (o.r0 === 0n) halts++;
  }
  // the generator reaches (nearly) every opcode byte and both outcomes
  assert.ok(kinds.size >= 100, `only ${kinds.size} opcode bytes generated`);
  assert.ok(errors > 5 && errors < 200, `${errors} of 300 programs ended in an error`);
});

test('a generated program saved as a case file reads back and pins the interpreter\'s result', () => {
  const g = generate(42);
  const ref = runInCaseEnv('interp', g.insns, g.mem, g.budget);
  const text = caseText(g.insns, g.mem, g.budget, ref, 'test', 42);
  const tc = parseCase(text, 'fuzz.data');
  const insns = tc.asm !== undefined ? assemble(tc.asm) : decode(tc.raw!);
  assert.deepEqual(insns, g.insns);
  assert.deepEqual([...tc.mem!], [...g.mem]);
  assert.equal(tc.options.budget, g.budget);
  const again = runInCaseEnv('jit', insns, tc.mem, tc.options.budget);
  assert.equal(difference(ref, again), null);
  if ('r0' in ref.outcome) assert.equal(tc.result, ref.outcome.r0); else assert.ok(tc.error!.test(ref.outcome.error));
});

test('compact memory checks (the mode for very large programs) agree with the interpreter on 100 programs', () => {
  const saved = Jit.compactAbove;
  Jit.compactAbove = 0;
  try {
    for (let seed = 1; seed <= 100; seed++) {
      const m = check(seed * 104729);
      if (m !== null) assert.fail(`seed ${seed * 104729}: ${m.why}\n${m.text}`);
    }
  } finally {
    Jit.compactAbove = saved;
  }
});

test('split functions (regions of 7 slots driven by a dispatch loop) agree with the interpreter on 150 programs', () => {
  const saved = Jit.splitAbove;
  Jit.splitAbove = 7;
  try {
    for (let seed = 1; seed <= 150; seed++) {
      const m = check(seed * 15485863);
      if (m !== null) assert.fail(`seed ${seed * 15485863}: ${m.why}\n${m.text}`);
    }
  } finally {
    Jit.splitAbove = saved;
  }
});

test('a generated single-function program of ~1M instructions compiles (split into regions) and runs as in the interpreter', () => {
  const g = generateLarge(11, 1, 900_000);
  assert.ok(g.insns.length > 950_000 && g.insns.length <= 1_000_000, `${g.insns.length} slots`);
  const jit = runInCaseEnv('jit', g.insns, g.mem, g.budget);
  const ref = runInCaseEnv('interp', g.insns, g.mem, g.budget);
  assert.equal(difference(ref, jit), null);
});

// ---------------------------------------------------------------------------------------------------------
// Tail calls: sets of random programs that tail-call each other through a prog array with a random slot
// table (some slots empty, indexes sometimes out of range, calls from subprograms and through callx).
// The interpreter, the JIT's inline tail call (a direct resolver) and the JIT's helper path (any other
// resolver) must agree on every entry's r0 or error, the tail-call counter, the buffer and the stack.

function runTailSet(engine: Engine, direct: boolean, seed: number): string[] {
  const vm = new Vm({ engine, budget: 100000 });
  const reg = new MapRegistry(vm.space, { nCpus: 1 });
  const env = attachEnv(vm, reg, { clock: new ManualClock(0), prandomSeed: 1 });
  vm.helpers[5] = unwindHelper;
  const SLOTS = 5;
  const pa = createMap(reg.space, reg, { type: BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: SLOTS }) as ProgArrayMap;
  const r = new Rng(seed);
  const gens = [0, 1, 2, 3].map((i) => generate(seed * 31 + i, 25, { handle: pa.handle, slots: SLOTS }));
  // the buffer first: the JIT allocates its own blocks at load, and addresses end up in registers
  vm.space.alloc(64);
  const mem = gens[0].mem, addr = vm.space.alloc(mem.length);
  vm.space.write(addr, mem);
  vm.space.mapRegion(addr, mem.length, PERM_RW);
  vm.setPacket(addr, mem.length);
  const refs = gens.map((g, i) => ({ id: i + 1, type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, program: vm.load(g.insns) }));
  for (let k = 0; k < SLOTS; k++) if (r.chance(0.7)) pa.setProg(k, r.pick(refs));
  const resolve = (ref: ProgRef): Program | null => (ref as unknown as { program: Program }).program;
  if (direct) directResolvers.add(resolve);
  env.resolveProg = resolve;
  const out: string[] = [];
  for (const ref of refs) {
    env.beginRun(BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, addr);
    try {
      out.push(`r0 = ${vm.run(ref.program, BigInt(addr), BigInt(mem.length))}, ${env.tailCallCount} tail calls`);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      out.push(`${e.code} at ${e.insn}: ${e.message}`);
    }
  }
  out.push(`buffer ${[...vm.space.read(addr, mem.length)].join(',')}`);
  const stack = vm.space.read(vm.stackBase, vm.stackTop() - vm.stackBase);
  const used = [...stack.keys()].filter((i) => stack[i] !== 0);
  out.push(`stack ${used.map((i) => `${i}:${stack[i]}`).join(',')}`);
  return out;
}

test('tail calls: 120 random program sets agree on the interpreter, the JIT inline path and the JIT helper path', () => {
  let calls = 0;
  for (let seed = 1; seed <= 120; seed++) {
    const ref = runTailSet('interp', false, seed);
    assert.deepEqual(runTailSet('jit', true, seed), ref, `seed ${seed}: inline tail calls`);
    assert.deepEqual(runTailSet('jit', false, seed), ref, `seed ${seed}: tail calls through the helper`);
    for (const line of ref) { const m = / (\d+) tail calls$/.exec(line); if (m) calls += Number(m[1]); }
  }
  assert.ok(calls > 200, `only ${calls} tail calls happened`);
});

test('tail calls from split functions (regions of 7 slots): 40 random program sets agree with the interpreter', () => {
  const saved = Jit.splitAbove;
  Jit.splitAbove = 7;
  try {
    for (let seed = 1000; seed < 1040; seed++) assert.deepEqual(runTailSet('jit', true, seed), runTailSet('interp', false, seed), `seed ${seed}`);
  } finally {
    Jit.splitAbove = saved;
  }
});

// Differential test of the engines on random valid programs (test/gen/program.ts): the interpreter and the
// JIT must agree on r0 or the error, the input buffer and the stack. A bounded, seeded run for CI;
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

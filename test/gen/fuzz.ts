// `npm run fuzz -- --seconds N [--seed S] [--size K]`: differential fuzzing of the engines. Generates random
// valid programs (test/gen/program.ts), runs each on the interpreter and on the JIT in the case environment,
// and compares r0 (or the error), the buffer and the stack. Every mismatch is saved as a case file under
// test/cases/fuzz/ whose expected result is the interpreter's (the reference), so the corpus test
// (test/jit_cases.test.ts) keeps failing until the JIT is fixed. Exit status 1 when a mismatch was found.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { disassemble } from '../../src/isa/disasm.js';
import type { Insn } from '../../src/isa/insn.js';
import { casesDir } from '../cases/gen.js';
import { difference, runInCaseEnv, type CaseRun } from './env.js';
import { generate } from './program.js';

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The text of a case file that pins the interpreter's behaviour for this program. */
export function caseText(insns: Insn[], mem: Uint8Array, budget: number, ref: CaseRun, why: string, seed: number): string {
  const hex = [...mem].map((b) => b.toString(16).padStart(2, '0'));
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += 16) lines.push(hex.slice(i, i + 16).join(' '));
  const o = ref.outcome;
  const expect = 'r0' in o ? `-- result\n0x${o.r0.toString(16)}\n` : `-- error\n^${escapeRe(o.error)}$\n-- errno\n${o.code}\n`;
  return `# found by npm run fuzz (seed ${seed}): the JIT differed from the interpreter (${why.replace(/\n/g, ' ')})\n`
    + `-- asm\n${disassemble(insns)}\n-- mem\n${lines.join('\n')}\n${expect}-- options\nbudget ${budget}\n`;
}

/** Run one generated program on both engines; returns the mismatch or null. */
export function check(seed: number, size?: number): { why: string; text: string } | null {
  const g = generate(seed, size);
  const a = runInCaseEnv('interp', g.insns, g.mem, g.budget);
  const b = runInCaseEnv('jit', g.insns, g.mem, g.budget);
  const why = difference(a, b);
  return why === null ? null : { why, text: caseText(g.insns, g.mem, g.budget, a, why, seed) };
}

function main(): number {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, seed: { type: 'string' }, size: { type: 'string', default: '40' } } });
  const seconds = Number(values.seconds), size = Number(values.size);
  if (!(seconds > 0) || !(size > 0)) { process.stderr.write('usage: npm run fuzz -- --seconds N [--seed S] [--size K]\n'); return 2; }
  let seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
  const end = Date.now() + seconds * 1000;
  let runs = 0, found = 0;
  const dir = join(casesDir(), 'fuzz');
  while (Date.now() < end) {
    const s = seed;
    seed = (seed + 1) >>> 0;
    runs++;
    const m = check(s, size);
    if (m === null) continue;
    found++;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `seed-${s}.data`);
    writeFileSync(file, m.text);
    process.stdout.write(`mismatch at seed ${s}: ${m.why}\n  saved ${file}\n`);
  }
  process.stdout.write(`${runs} programs, ${found} mismatches (seeds from ${values.seed ?? 'time'})\n`);
  return found > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) process.exitCode = main();

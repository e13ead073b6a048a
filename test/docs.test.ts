// Keeps docs/ true: docs/features.md must be exactly what tools/feature-matrix.ts generates from the code and
// tests as they are now (a stale page fails with the command that regenerates it), every test the matrix
// cites must exist, and docs/architecture.md must describe every folder of src/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DOC_PATH, REGEN, ROOT, citeProblem, generate } from '../tools/feature-matrix.js';

test('docs/features.md is what tools/feature-matrix.ts generates now, and every citation holds', () => {
  const t0 = Date.now();
  const m = generate();
  const ms = Date.now() - t0;
  assert.deepEqual(m.problems, [], `the feature matrix cites tests that do not hold:\n${m.problems.join('\n')}`);
  const path = join(ROOT, DOC_PATH);
  assert.ok(existsSync(path), `${DOC_PATH} is missing: run ${REGEN}`);
  const have = readFileSync(path, 'utf8');
  if (have !== m.markdown) {
    const a = have.split('\n');
    const b = m.markdown.split('\n');
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    assert.fail(`${DOC_PATH} is stale: run ${REGEN}\nfirst difference at line ${i + 1}:\n  doc:       ${a[i] ?? '(end)'}\n  generated: ${b[i] ?? '(end)'}`);
  }
  assert.ok(ms < 5000, `the generator took ${ms} ms (budget 5000)`);
});

test('the citation check refuses a missing file, a missing title, and a column the file cannot prove', () => {
  assert.equal(citeProblem({ file: 'test/tailcall.test.ts', title: 'a program tail-calling itself' }), null);
  assert.match(citeProblem({ file: 'test/no_such.test.ts', title: 'x' }) ?? '', /does not exist/);
  assert.match(citeProblem({ file: 'test/tailcall.test.ts', title: 'a test nobody wrote' }) ?? '', /has no test titled/);
  assert.match(citeProblem({ file: 'test/maps.test.ts', title: 'array: flags' }, 'kernel') ?? '', /cited for the kernel/);
  assert.match(citeProblem({ file: 'test/maps.test.ts', title: 'array: flags' }, 'jit') ?? '', /never selects the JIT/);
});

test('the matrix has a row for every instruction variant, map type, implemented helper and hooked program type', () => {
  const md = generate().markdown;
  for (const row of ['| sdiv reg | `0x3f off=1`', '| movsx reg (from s32) | `0xbf off=32`', '| bswap64 | `0xd7 imm=64`',
    '| lock cmpxchg32 | `0xc3 imm=0xf1`', '| lddw map_idx_value | `0x18 src=6`', '| call kfunc | `0x85 src=2`',
    '| gotol / ja32 (imm) | `0x06`', '| callx (register) | `0x8d`', '| `USER_RINGBUF` |', '| 12 | `bpf_tail_call` |', '| `XDP` |']) {
    assert.ok(md.includes(row), `no row starting ${row}`);
  }
});

test('docs/architecture.md names every folder of src/, the top-level folders and every tsbpf verb', () => {
  const arch = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const dirs = readdirSync(join(ROOT, 'src')).filter((d) => statSync(join(ROOT, 'src', d)).isDirectory());
  const missing = dirs.filter((d) => !arch.includes(`src/${d}/`));
  for (const d of ['test/', 'bench/', 'samples/', 'tools/']) if (!arch.includes(d)) missing.push(d);
  assert.deepEqual(missing, [], 'docs/architecture.md does not describe these folders');
  // ... and every verb of the tsbpf command
  const main = readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8');
  const verbs = [...main.matchAll(/^\s+'?([a-z][a-z-]*)'?: async \(\) =>/gm)].map((m) => m[1]);
  assert.ok(verbs.length >= 9, `found only ${verbs.length} verbs in src/cli/main.ts`);
  assert.deepEqual(verbs.filter((v) => !arch.includes(`\`${v}\``)), [], 'docs/architecture.md does not name these tsbpf verbs');
});

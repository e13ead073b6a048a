// End-to-end test of `tsbpf conformance-plugin` speaking the bpf_conformance protocol: every case of the
// instruction corpus is run through a separate plugin process exactly as a conformance runner would start it
// (input memory as argv[1] in "aa  bb  " form, options after it, the program as hex on stdin), and the process
// must print r0 in hex and exit 0, or exit non-zero with one line on stderr for cases that expect an error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../src/isa/asm.js';
import { decode, encode } from '../src/isa/insn.js';
import { listCases, readCase, type TestCase } from './case_format.js';
import { casesDir } from './cases/gen.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));


/** bpf_conformance's encoding: each byte as two lowercase hex digits followed by two spaces. */
const conformanceHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0') + '  ').join('');

interface PluginResult { code: number | null; stdout: string; stderr: string }

function runPlugin(args: string[], stdin: string): Promise<PluginResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'conformance-plugin', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin + '\n');
  });
}

function argsFor(tc: TestCase): string[] {
  // A runner always passes the memory argument (empty when the case has none) and then its options.
  return [conformanceHex(tc.mem ?? new Uint8Array(0)), '--interpret'];
}

const ROOT = casesDir();
// Every hand-written case, and every third generated one: each case costs a process start, and the whole
// corpus already runs in-process in cases.test.ts; this test is about the protocol over a broad sample.
const files = listCases(ROOT).filter((f, i) => {
  const tc = readCase(f);
  // Budget cases need an option the protocol cannot carry; the plugin applies its own large budget instead.
  if (tc.options.budget !== undefined) return false;
  return !relative(ROOT, f).startsWith('gen-') || i % 3 === 0;
});

test('conformance plugin runs every corpus case with the expected result', { concurrency: 4 }, async (t) => {
  assert.ok(files.length >= 250, `expected at least 250 cases, found ${files.length}`);
  await Promise.all(files.map((file) => t.test(relative(ROOT, file), async () => {
    const tc = readCase(file);
    const bytes = tc.asm !== undefined ? encode(assemble(tc.asm)) : encode(decode(tc.raw!));
    const r = await runPlugin(argsFor(tc), conformanceHex(bytes));
    if (tc.result !== undefined) {
      assert.equal(r.code, 0, `plugin failed: ${r.stderr}`);
      assert.match(r.stdout, /^[0-9a-f]+\n$/, 'r0 is printed as bare lowercase hex');
      assert.equal(BigInt('0x' + r.stdout.trim()), tc.result);
    } else {
      assert.notEqual(r.code, 0, `expected an error matching ${tc.error}, got r0 = ${r.stdout.trim()}`);
      assert.equal(r.stdout, '', 'nothing on stdout when the program fails');
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr, got: ${r.stderr}`);
      if (tc.error !== undefined) assert.match(r.stderr, tc.error);
    }
  })));
});

test('conformance plugin: no memory argument means r1 = r2 = 0', async () => {
  // mov r0, r1; add r0, r2; exit
  const prog = encode(assemble('mov r0, r1\nadd r0, r2\nexit'));
  const r = await runPlugin([], conformanceHex(prog));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '0\n');
});

test('conformance plugin: memory is passed in r1/r2 and options may share one argument', async () => {
  // r0 = r2 * 256 + mem[1]
  const prog = encode(assemble('ldxb r0, [r1+1]\nlsh r2, 8\nadd r0, r2\nexit'));
  const r = await runPlugin(['aa  bb  cc  ', '--interpret --elf'], conformanceHex(prog));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '3bb\n');
});

test('conformance plugin: helper 5 returns its argument and stops the program when it is 0', async () => {
  const prog = encode(assemble('mov r1, 7\ncall 5\nmov r6, r0\nmov r1, 0\ncall 5\nmov r0, 99\nexit'));
  const r = await runPlugin([], conformanceHex(prog));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '0\n');
  const prog2 = encode(assemble('mov r1, 7\ncall 5\nexit'));
  assert.equal((await runPlugin([], conformanceHex(prog2))).stdout, '7\n');
});

test('conformance plugin: an invalid program fails with one line on stderr', async () => {
  const r = await runPlugin([], 'ff  00  00  00  00  00  00  00  ');
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tsbpf: EINVAL: insn 0: unknown opcode 0xff\n$/);
});

test('conformance plugin: unknown option is rejected', async () => {
  const r = await runPlugin(['', '--bogus'], '95  00  00  00  00  00  00  00  ');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

// Runner of the instruction-level case files under test/cases/ (format: test/case_format.ts). One node:test
// test per file: assemble (or decode raw bytes), load, run on the interpreter, compare r0 or the error; and
// check that the disassembly in both syntaxes reassembles to the same bytes. Also checks that the generated
// families are what test/cases/gen.ts produces today (a stale generated file fails).
//
// Environment the runner gives every case, as bpf_conformance's plugin protocol does:
//  - `-- mem` bytes are copied into one read-write region; r1 = its address, r2 = its length (else both 0);
//    the same bytes are the packet that LD_ABS/LD_IND read;
//  - helper 5 returns r1, and when r1 is 0 stops the program at once with r0 = 0 (bpf_conformance's
//    "unwind" helper); no other helper exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BpfError } from '../src/errors.js';
import { assemble } from '../src/isa/asm.js';
import { disassemble } from '../src/isa/disasm.js';
import { decode, encode, insnError, type Insn } from '../src/isa/insn.js';
import { defaultEngine } from '../src/engine/vm.js';
import { type TestCase, CaseFormatError, listCases, parseCase, readCase } from './case_format.js';
import { runCaseOn } from './gen/env.js';
import { GEN_DIRS, casesDir, generate } from './cases/gen.js';

const ROOT = casesDir();


function program(tc: TestCase): Insn[] {
  return tc.asm !== undefined ? assemble(tc.asm) : decode(tc.raw!);
}

/** Run a parsed case on the default engine; returns r0 or throws what the runtime threw. */
export function runCase(tc: TestCase, insns: Insn[]): bigint {
  return runCaseOn(defaultEngine(), insns, tc.mem, tc.options.budget);
}

const hex = (v: bigint): string => '0x' + v.toString(16);

for (const file of listCases(ROOT)) {
  const name = relative(ROOT, file);
  test(`case ${name}`, () => {
    const tc = readCase(file);
    const insns = program(tc);

    // Disassembly reassembles to the same bytes, in both syntaxes (only for programs made of valid slots:
    // invalid encodings print as raw `.insn` escapes, which the round-trip also covers when present).
    const bytes = encode(insns);
    for (const syntax of ['llvm', 'mnemonic'] as const) {
      const text = disassemble(insns, { syntax });
      assert.deepEqual(encode(assemble(text)), bytes, `${syntax} disassembly does not reassemble to the same bytes:\n${text}`);
    }

    if (tc.result !== undefined) {
      const r0 = runCase(tc, insns);
      assert.equal(hex(r0), hex(tc.result), `${name}: r0`);
    } else {
      assert.throws(() => runCase(tc, insns), (e: unknown) => {
        assert.ok(e instanceof BpfError, `${name}: expected a BpfError, got ${String(e)}`);
        assert.match(e.message, tc.error!, `${name}: error message`);
        if (tc.errno !== undefined) assert.equal(e.code, tc.errno, `${name}: errno of "${e.message}"`);
        return true;
      }, `${name}: expected an error matching ${tc.error}`);
    }
  });
}

test('the corpus has at least 260 cases and covers every valid opcode byte', () => {
  const files = listCases(ROOT);
  assert.ok(files.length >= 260, `only ${files.length} cases`);
  const seen = new Set<number>();
  for (const f of files) {
    const tc = readCase(f);
    const insns = program(tc);
    for (let i = 0; i < insns.length; i++) {
      if (insnError(insns[i]) === null) seen.add(insns[i].code);
      if (insns[i].code === 0x18) i++;
    }
  }
  // Every opcode byte RFC 9669 defines (ALU/ALU64 incl. END, JMP/JMP32, LD, LDX incl. MEMSX, ST, STX incl. ATOMIC).
  const want: number[] = [];
  for (const cls of [0x04, 0x07]) {
    for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]) want.push(cls | op, cls | op | 0x08);
    want.push(cls | 0x80);
  }
  want.push(0xd4, 0xdc, 0xd7);
  for (const cls of [0x05, 0x06]) {
    for (const op of [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]) want.push(cls | op, cls | op | 0x08);
  }
  want.push(0x05, 0x06, 0x85, 0x8d, 0x95, 0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50);
  for (const sz of [0x00, 0x08, 0x10, 0x18]) want.push(0x61 | sz, 0x62 | sz, 0x63 | sz);
  want.push(0x81, 0x89, 0x91, 0xc3, 0xdb);
  const missing = want.filter((c) => !seen.has(c)).map((c) => '0x' + c.toString(16));
  assert.deepEqual(missing, [], 'opcodes no case exercises');
});

test('generated case families match test/cases/gen.ts', () => {
  const want = new Map(generate().map((f) => [f.path, f.text]));
  const have = new Map<string, string>();
  for (const d of GEN_DIRS) {
    for (const f of listCases(join(ROOT, d))) have.set(relative(ROOT, f), readFileSync(f, 'utf8'));
  }
  const stale = [...want].filter(([p, t]) => have.get(p) !== t).map(([p]) => p);
  const extra = [...have.keys()].filter((p) => !want.has(p));
  assert.deepEqual({ stale, extra }, { stale: [], extra: [] }, 'run: node dist/test/cases/gen.js --write');
});

test('case format: malformed files are rejected with file and line', () => {
  const bad: Array<[string, RegExp]> = [
    ['-- asm\nexit\n', /x\.data:2: missing "-- result" or "-- error"/],
    ['-- asm\nexit\n-- result\n0x1\n-- error\nfoo\n', /x\.data:5: a case has "-- result" or "-- error", not both/],
    ['-- asm\nexit\n-- result\nzz\n', /x\.data:4: not an integer: "zz"/],
    ['-- asm\nexit\n-- mem\n0g\n-- result\n0\n', /x\.data:4: memory bytes are two hex digits/],
    ['-- asm\nexit\n-- bogus\n-- result\n0\n', /x\.data:3: unknown section "-- bogus"/],
    ['hello\n-- asm\nexit\n-- result\n0\n', /x\.data:1: text before the first section/],
    ['-- raw\n95 00\n-- result\n0\n', /x\.data:2: a raw slot is/],
    ['-- asm\nexit\n-- result\n0\n-- options\nbudget -3\n', /x\.data:6: budget must be a positive integer/],
    ['-- asm\nexit\n-- error\n(\n', /x\.data:3: bad regular expression/],
    ['-- asm\nexit\n-- result\n0x10000000000000000\n', /x\.data:4: value does not fit in 64 bits/],
    ['-- asm\nexit\n-- result\n0\n-- errno EFAULT\n', /x\.data:5: "-- errno" only makes sense with "-- error"/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseCase(text, 'x.data'), (e: unknown) => e instanceof CaseFormatError && re.test(e.message), text);
  }
  // A bpf_conformance-style file: %r registers, trailing comments, an ignored section, result with leading zeros.
  const tc = parseCase('# c\n-- asm\nmov %r0, 1 # one\nexit\n-- result\n0x0000000000000001\n-- no register offset\ncall instruction\n', 'y.data');
  assert.equal(tc.asm, 'mov %r0, 1\nexit');
  assert.equal(tc.result, 1n);
  assert.equal(tc.description, 'c');
  const neg = parseCase('-- asm\nexit\n-- result\n-1\n-- mem\n00 ff\n-- options\nbudget 5\n', 'z.data');
  assert.equal(neg.result, (1n << 64n) - 1n);
  assert.deepEqual([...neg.mem!], [0, 0xff]);
  assert.equal(neg.options.budget, 5);
  const raw = parseCase('-- raw\n0x0000000100000018\n00 00 00 00 02 00 00 00\n-- error\ninsn 1\n-- errno EINVAL\n', 'w.data');
  assert.deepEqual([...raw.raw!], [0x18, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
  assert.equal(raw.errno, 'EINVAL');
  assert.ok(raw.error!.test('EINVAL: insn 1: x'));
});

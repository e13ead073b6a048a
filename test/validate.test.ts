// Tests for the load-time validation pass (src/verifier/validate.ts): every rejection with its errno, index
// and reason, the programs it must accept, and the subprogram boundaries it reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insn, lddw, type Insn } from '../src/isa/insn.js';
import { validate, subprogEntries, MAX_INSNS } from '../src/verifier/validate.js';
import { BpfError } from '../src/errors.js';

const I = insn;
const EXIT = I(0x95);
const mov64 = (d: number, imm: number): Insn => I(0xb7, d, 0, 0, imm);
const callLocal = (rel: number): Insn => I(0x85, 0, 1, 0, rel);
const ja = (off: number): Insn => I(0x05, 0, 0, off);

function rejects(prog: readonly Insn[], code: string, idx: number | undefined, msg: RegExp): void {
  assert.throws(() => validate(prog), (e: unknown) => {
    assert.ok(e instanceof BpfError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.insn, idx, e.message);
    assert.match(e.message, msg);
    if (idx !== undefined) assert.match(e.message, new RegExp(`insn ${idx}: `));
    return true;
  });
}

const REJECTS: [string, Insn[], number, RegExp][] = [
  // invalid slots
  ['unknown opcode', [mov64(0, 0), I(0xff), EXIT], 1, /unknown opcode 0xff/],
  ['invalid register', [I(0xbf, 0, 12), EXIT], 0, /invalid src register r12/],
  ['reserved field in use', [I(0x0f, 0, 1, 0, 5), EXIT], 0, /reserved fields/],
  ['bad byte swap width', [I(0xd4, 0, 0, 0, 8), EXIT], 0, /byte swap width 8/],
  ['bad atomic op', [I(0xdb, 1, 2, 0, 0x10), EXIT], 0, /invalid atomic operation/],
  // lddw
  ['lddw without its second slot', [mov64(0, 0), I(0x18, 0, 0, 0, 1)], 1, /lddw is missing its second slot/],
  ['lddw second slot with an opcode', [I(0x18, 0, 0, 0, 1), I(0xb7, 0, 0, 0, 1), EXIT], 1, /invalid second slot of lddw/],
  ['lddw second slot with a register', [I(0x18, 0, 0, 0, 1), I(0, 1, 0, 0, 1), EXIT], 1, /invalid second slot of lddw/],
  ['lddw second slot with an offset', [I(0x18, 0, 0, 0, 1), I(0, 0, 0, 3, 1), EXIT], 1, /invalid second slot of lddw/],
  // r10 is read-only
  ['mov64 to r10', [mov64(10, 0), EXIT], 0, /frame pointer r10 is read only/],
  ['add32 to r10', [I(0x04, 10, 0, 0, 1), EXIT], 0, /r10 is read only/],
  ['neg r10', [I(0x87, 10), EXIT], 0, /r10 is read only/],
  ['byte swap r10', [I(0xdc, 10, 0, 0, 16), EXIT], 0, /r10 is read only/],
  ['ldx into r10', [I(0x79, 10, 1, 0), EXIT], 0, /r10 is read only/],
  ['lddw into r10', [...lddw(10, 1n), EXIT], 0, /r10 is read only/],
  ['atomic fetch into r10', [I(0xdb, 1, 10, 0, 0x01), EXIT], 0, /r10 is read only/],
  ['xchg into r10', [I(0xc3, 1, 10, 0, 0xe1), EXIT], 0, /r10 is read only/],
  ['kfunc call', [I(0x85, 0, 2, 0, 1234), EXIT], 0, /kernel function calls \(call src=2\) are not supported/],
  // targets
  ['jump past the end', [mov64(0, 0), I(0x15, 0, 0, 5, 0), EXIT], 1, /jump out of range to insn 7/],
  ['jump before the start', [mov64(0, 0), I(0x1d, 0, 1, -3), EXIT], 1, /jump out of range to insn -1/],
  ['ja to the end', [mov64(0, 0), ja(1), EXIT], 1, /jump out of range to insn 3/],
  ['gotol out of range', [mov64(0, 0), I(0x06, 0, 0, 0, 100), EXIT], 1, /jump out of range to insn 102/],
  ['local call out of range', [callLocal(5), EXIT], 0, /call out of range to insn 6/],
  ['function reference out of range', [...lddw(1, 40n, 4), mov64(0, 0), EXIT], 0, /function reference out of range to insn 41/],
  ['jump into the middle of lddw', [ja(1), ...lddw(0, 1n), EXIT], 0, /jump into the middle of lddw at insn 1/],
  ['call into the middle of lddw', [callLocal(2), EXIT, ...lddw(0, 1n), EXIT], 0, /call into the middle of lddw at insn 2/],
  // structure
  ['falls off the end', [mov64(0, 0)], 0, /last insn is not an exit or jmp: the program can fall off its end/],
  ['conditional jump last', [mov64(0, 0), I(0x15, 0, 0, -2, 0)], 1, /last insn is not an exit or jmp/],
  ['lddw last', [mov64(0, 0), ...lddw(0, 1n)], 2, /last insn is not an exit or jmp/],
  ['subprogram falls into the next', [callLocal(1), mov64(0, 0), mov64(0, 1), EXIT], 1, /last insn of subprogram at insn 0 is not an exit or jmp/],
  ['jump into another subprogram', [callLocal(2), I(0x05, 0, 0, 2), EXIT, mov64(0, 1), mov64(0, 2), EXIT], 1, /jump out of subprogram \[0, 3\) to insn 4/],
  ['jump out of a subprogram', [callLocal(1), EXIT, I(0x15, 1, 0, -3, 0), EXIT], 2, /jump out of subprogram \[2, 4\) to insn 0/],
  ['no exit: infinite loop', [mov64(0, 0), ja(-1)], 0, /no reachable exit in the program/],
  ['exit never reached', [ja(-1), EXIT], 0, /no reachable exit in the program/],
  ['subprogram without exit', [callLocal(1), EXIT, mov64(0, 0), ja(-2)], 2, /no reachable exit in subprogram at insn 2/],
];

for (const [name, prog, idx, msg] of REJECTS) {
  test(`rejects: ${name}`, () => rejects(prog, 'EINVAL', idx, msg));
}

test('rejects an empty program with EINVAL and a program over 1,000,000 slots with E2BIG', () => {
  rejects([], 'EINVAL', undefined, /program is empty/);
  const big: Insn[] = new Array(MAX_INSNS + 1).fill(mov64(0, 0));
  big[MAX_INSNS] = EXIT;
  rejects(big, 'E2BIG', undefined, /1000001 instructions, more than 1000000/);
  const max = big.slice(1);
  assert.deepEqual(validate(max), [0], 'exactly 1,000,000 slots pass');
});

test('accepts what the kernel or the conformance suites accept', () => {
  const ok: [string, Insn[]][] = [
    ['exit alone', [EXIT]],
    ['ja last (exit not last)', [mov64(1, 0), ja(2), mov64(2, 0), EXIT, mov64(0, 0), ja(-3)]],
    ['gotol last', [mov64(0, 0), I(0x06, 0, 0, 0, 1), EXIT, I(0x06, 0, 0, 0, -2)]],
    ['unreachable instructions', [mov64(0, 1), EXIT, mov64(0, 2), EXIT]],
    ['division by an immediate zero', [mov64(0, 1), I(0x37, 0, 0, 0, 0), EXIT]],
    ['r10 as a source and as a store base', [I(0xbf, 1, 10), I(0x7b, 10, 10, -8), I(0xdb, 10, 1, -8, 0x00), mov64(0, 0), EXIT]],
    ['non-fetch atomic with r10 as src', [mov64(1, 0), I(0xdb, 1, 10, 0, 0x40), EXIT]],
    ['cmpxchg with r10 as src (writes r0, not src)', [mov64(1, 0), I(0xdb, 1, 10, 0, 0xf1), EXIT]],
    ['loop with a backward jump', [mov64(0, 10), I(0x17, 0, 0, 0, 1), I(0x55, 0, 0, -2, 0), EXIT]],
    ['jump over an lddw', [ja(2), ...lddw(0, 1n), EXIT]],
    ['nested local calls', [callLocal(1), EXIT, callLocal(1), EXIT, mov64(0, 1), EXIT]],
    ['a subprogram that exits through a loop', [callLocal(1), EXIT, mov64(0, 3), I(0x17, 0, 0, 0, 1), I(0x55, 0, 0, -2, 0), EXIT]],
    ['helper calls and LD_ABS', [I(0x85, 0, 0, 0, 5), I(0x20, 0, 0, 0, 0), EXIT]],
  ];
  for (const [name, prog] of ok) assert.doesNotThrow(() => validate(prog), name);
  assert.deepEqual(validate([callLocal(1), EXIT, mov64(0, 1), EXIT]), [0, 2], 'validate returns the subprogram entries');
});

test('subprogEntries lists main and every local call or function-reference target, sorted and unique', () => {
  // 0: call +6 -> 7; 1-2: lddw function reference +3 -> 5; 3: call +3 -> 7; 4, 5: exit; 6: call +1 -> 8; 7: exit; 8-9
  const prog = [callLocal(6), ...lddw(2, 3n, 4), callLocal(3), EXIT, EXIT, callLocal(1), EXIT, mov64(0, 0), EXIT];
  assert.deepEqual(subprogEntries(prog), [0, 5, 7, 8]);
  assert.deepEqual(subprogEntries([EXIT]), [0]);
  assert.deepEqual(subprogEntries([callLocal(50), EXIT]), [0], 'out-of-range targets are skipped (validate reports them)');
});

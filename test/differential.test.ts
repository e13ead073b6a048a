// Differential tests: every ALU/ALU64 operation (K and X forms, sdiv/smod, neg, movsx, byte swaps) and every
// JMP/JMP32 conditional runs on the interpreter with a few hundred random operand pairs, biased toward edge
// values, and must agree with the BigInt reference model (test/reference.ts). The PRNG is seeded: set
// TSBPF_SEED=<n> to replay; every mismatch message names the seed, the operation and the operands.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insn, lddw, type Insn } from '../src/isa/insn.js';
import { Vm } from '../src/engine/vm.js';
import { ALU_OPS, JMP_OPS, aluRef, byteSwap, jmpRef, type RefInsn } from './reference.js';

const SEED = process.env.TSBPF_SEED !== undefined ? Number(process.env.TSBPF_SEED) >>> 0 : 0x5eed2024;
const TRIALS = 300;

/** mulberry32: a small seeded 32-bit PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const EDGES64: bigint[] = [
  0n, 1n, 2n, 3n, 7n, 31n, 32n, 33n, 63n, 64n, 65n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn,
  0x7fffffffn, 0x80000000n, 0x80000001n, 0xffffffffn, 0x100000000n, 0x100000001n, 0x7fffffffffffffffn,
  0x8000000000000000n, 0x8000000000000001n, 0xfffffffffffffffen, 0xffffffffffffffffn, 0xffffffff80000000n,
  0xffffffff7fffffffn, 0x00000001ffffffffn, 0xffffffff00000000n, 0x123456789abcdef0n, 0xfedcba9876543210n,
];

/** Operand pairs that hit the special rules (overflowing signed division, division by zero, -1, shifts). */
const SPECIAL_PAIRS: Array<[bigint, bigint]> = [
  [0x8000000000000000n, 0xffffffffffffffffn], [0xffffffff80000000n, 0xffffffffffffffffn],
  [0x0000000080000000n, 0x00000000ffffffffn], [0x1234567880000000n, 0xabcdef01ffffffffn],
  [0x123456789abcdef0n, 0n], [0xffffffffffffffffn, 0x100000000n], [0x8000000000000000n, 1n],
  [0xfffffffffffffff3n, 3n], [0xdn, 0xfffffffffffffffdn], [0xffffffffn, 0xffffffffn],
];

class Gen {
  private readonly next: () => number;
  constructor(seed: number) { this.next = prng(seed); }
  int(n: number): number { return this.next() % n; }
  u32(): bigint { return BigInt(this.next()); }
  /** A 64-bit value: an edge, an edge nudged by a small delta, a small or negative number, a mask, or random bits. */
  u64(): bigint {
    switch (this.int(8)) {
      case 0: case 1: return EDGES64[this.int(EDGES64.length)];
      case 2: return BigInt.asUintN(64, EDGES64[this.int(EDGES64.length)] + BigInt(this.int(5) - 2));
      case 3: return BigInt(this.int(100));
      case 4: return BigInt.asUintN(64, -BigInt(this.int(100) + 1));
      case 5: return (1n << BigInt(this.int(64) + 1)) - 1n;
      case 6: return BigInt.asUintN(64, BigInt.asIntN(32, this.u32())); // a sign-extended 32-bit value
      default: return (this.u32() << 32n) | this.u32();
    }
  }
  /** An imm32 value (signed), biased the same way. */
  imm(): number {
    switch (this.int(4)) {
      case 0: return [0, 1, -1, 2, -2, 31, 32, 33, 63, 64, 65, 0x7fffffff, -0x80000000, 0xff, 0x8000, -0x8000][this.int(16)];
      case 1: return this.int(200) - 100;
      default: return this.next() | 0;
    }
  }
}

const hex = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16);

/** Build, load and run one program on a shared Vm; returns r0. */
function run(vm: Vm, insns: Insn[]): bigint {
  return vm.run(vm.load(insns));
}

interface Variant { label: string; ref: RefInsn; x: boolean }

function aluVariants(): Variant[] {
  const out: Variant[] = [];
  for (const cls of [0x04, 0x07]) {
    const w = cls === 0x07 ? '' : '32';
    for (const { name, op, off } of ALU_OPS) {
      out.push({ label: `${name}${w} imm`, ref: { code: cls | op, off, imm: 0 }, x: false });
      out.push({ label: `${name}${w} reg`, ref: { code: cls | op | 0x08, off, imm: 0 }, x: true });
    }
    out.push({ label: `neg${w}`, ref: { code: cls | 0x80, off: 0, imm: 0 }, x: false });
    for (const bits of cls === 0x07 ? [8, 16, 32] : [8, 16]) {
      out.push({ label: `movsx${bits}${cls === 0x07 ? '64' : '32'}`, ref: { code: cls | 0xb8, off: bits, imm: 0 }, x: true });
    }
  }
  for (const bits of [16, 32, 64]) {
    out.push({ label: `le${bits}`, ref: { code: 0xd4, off: 0, imm: bits }, x: false });
    out.push({ label: `be${bits}`, ref: { code: 0xdc, off: 0, imm: bits }, x: false });
    out.push({ label: `bswap${bits}`, ref: { code: 0xd7, off: 0, imm: bits }, x: false });
  }
  return out;
}

/** Does the operation take its operand from imm (K form, not neg/end)? */
const usesImm = (v: Variant): boolean => !v.x && (v.ref.code & 0xf0) !== 0x80 && (v.ref.code & 0xf0) !== 0xd0;

test('reference model agrees with hand-computed RFC 9669 values', () => {
  const M = (1n << 64n) - 1n;
  const a = (code: number, d: bigint, s: bigint, off = 0, imm = 0) => aluRef({ code, off, imm }, d, s);
  assert.equal(a(0x3f, 1n << 63n, M, 1), 1n << 63n); // sdiv LLONG_MIN / -1
  assert.equal(a(0x9f, 1n << 63n, M, 1), 0n); // smod LLONG_MIN % -1
  assert.equal(a(0x3c, 0xffffffff80000000n, M, 1), 0x80000000n); // sdiv32 INT_MIN / -1
  assert.equal(a(0x9c, 0xaaaaaaaa00000007n, 0n), 7n); // mod32 by zero: upper half zeroed
  assert.equal(a(0x9f, 0xaaaaaaaa00000007n, 0n), 0xaaaaaaaa00000007n); // mod64 by zero: unchanged
  assert.equal(a(0x3f, 5n, 0n), 0n); // div by zero
  assert.equal(a(0x9f, M - 12n, 3n, 1), M); // -13 s% 3 = -1
  assert.equal(a(0x3f, M - 12n, 3n, 1), M - 3n); // -13 s/ 3 = -4
  assert.equal(a(0x37, 10n, 0n, 0, -2), 0n); // 10 / (u64)-2
  assert.equal(a(0x34, 0xffffffffn, 0n, 0, -2), 1n); // 0xffffffff / 0xfffffffe
  assert.equal(a(0x67, 1n, 0n, 0, 65), 2n); // shift count masked to 6 bits
  assert.equal(a(0x64, 1n, 0n, 0, 33), 2n); // ... to 5 bits in ALU
  assert.equal(a(0xc4, 0x80000000n, 0n, 0, 4), 0xf8000000n); // arsh32
  assert.equal(a(0xc7, 1n << 63n, 0n, 0, 63), M);
  assert.equal(a(0x87, 1n, 0n), M); // neg
  assert.equal(a(0xbf, 0n, 0x80n, 8), M - 0x7fn); // movsx 8 -> 64
  assert.equal(a(0xbc, M, 0x8000n, 16), 0xffff8000n); // movsx 16 -> 32
  assert.equal(a(0xb7, M, 0n, 0, -1), M); // mov64 imm sign extends
  assert.equal(a(0xb4, M, 0n, 0, -1), 0xffffffffn); // mov32 imm zero-extends
  assert.equal(a(0xdc, 0x1122334455667788n, 0n, 0, 16), 0x8877n); // be16
  assert.equal(a(0xd4, 0x1122334455667788n, 0n, 0, 32), 0x55667788n); // le32
  assert.equal(a(0xd7, 0x1122334455667788n, 0n, 0, 64), 0x8877665544332211n); // bswap64
  assert.equal(byteSwap(0x0102n, 16), 0x0201n);
  const j = (code: number, d: bigint, s: bigint, imm = 0) => jmpRef({ code, off: 0, imm }, d, s);
  assert.equal(j(0x15, M, 0n, -1), true); // jeq imm sign extends
  assert.equal(j(0x15, 0xffffffffn, 0n, -1), false);
  assert.equal(j(0x16, 0x12345678ffffffffn, 0n, -1), true); // jeq32 low half only
  assert.equal(j(0x6d, 1n, M), true); // 1 s> -1
  assert.equal(j(0x2d, 1n, M), false); // 1 > 0xffff...ffff unsigned
  assert.equal(j(0x6e, 0xffffffffn, 0n), false); // jsgt32 -1 > 0
  assert.equal(j(0x45, 1n << 63n, 0n, -0x80000000), true); // jset with sign-extended imm
  assert.equal(j(0x46, 1n << 63n, 0n, -0x80000000), false);
});

test(`ALU and ALU64: interpreter matches the reference model on random operands (seed ${SEED})`, () => {
  const vm = new Vm();
  const g = new Gen(SEED);
  const failures: string[] = [];
  for (const v of aluVariants()) {
    for (let t = 0; t < TRIALS; t++) {
      const special = g.int(8) === 0 ? SPECIAL_PAIRS[g.int(SPECIAL_PAIRS.length)] : undefined;
      const dst = special !== undefined ? special[0] : g.u64();
      const sameReg = v.x && special === undefined && g.int(16) === 0; // op r3, r3
      const src = special !== undefined ? special[1] : sameReg ? dst : g.u64();
      const imm = !usesImm(v) ? v.ref.imm : special !== undefined ? Number(BigInt.asIntN(32, src)) : g.imm();
      const ref: RefInsn = { ...v.ref, imm };
      const expect = aluRef(ref, dst, src);
      const [d, s] = [3, sameReg ? 3 : 5];
      const prog: Insn[] = [...lddw(d, dst)];
      if (v.x && !sameReg) prog.push(...lddw(s, src));
      prog.push(insn(ref.code, d, v.x ? s : 0, ref.off, imm), insn(0xbf, 0, d), insn(0x95));
      let got: string;
      try { got = hex(run(vm, prog)); } catch (e) { got = `error ${(e as Error).message}`; }
      if (got !== hex(expect) && failures.length < 20) {
        failures.push(`seed ${SEED} ${v.label}: dst ${hex(dst)} ${v.x ? `src ${hex(src)}` : `imm ${imm}`} -> expected ${hex(expect)}, got ${got}`);
      }
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test(`JMP and JMP32: interpreter matches the reference model on random operands (seed ${SEED})`, () => {
  const vm = new Vm();
  const g = new Gen(SEED ^ 0x1234567);
  const failures: string[] = [];
  let taken = 0, total = 0;
  for (const cls of [0x05, 0x06]) {
    for (const { name, op } of JMP_OPS) {
      for (const x of [false, true]) {
        const label = `${name}${cls === 0x06 ? '32' : ''} ${x ? 'reg' : 'imm'}`;
        for (let t = 0; t < TRIALS; t++) {
          const dst = g.u64();
          // Half the time derive src from dst so that equal / nearly-equal / same-low-half cases are common.
          let src = g.u64();
          const k = g.int(8);
          if (k === 0) src = dst;
          else if (k === 1) src = BigInt.asUintN(64, dst + BigInt(g.int(3) - 1));
          else if (k === 2) src = (src & 0xffffffff00000000n) | (dst & 0xffffffffn);
          const imm = x ? 0 : (k <= 2 ? Number(BigInt.asIntN(32, src)) : g.imm());
          const code = cls | op | (x ? 0x08 : 0);
          const expect = jmpRef({ code, off: 0, imm }, dst, src);
          const prog: Insn[] = [...lddw(1, dst)];
          if (x) prog.push(...lddw(2, src));
          prog.push(insn(0xb7, 0, 0, 0, 0), insn(code, 1, x ? 2 : 0, 1, imm), insn(0x95), insn(0xb7, 0, 0, 0, 1), insn(0x95));
          let got: string;
          try { got = run(vm, prog) === 1n ? 'taken' : 'not taken'; } catch (e) { got = `error ${(e as Error).message}`; }
          const want = expect ? 'taken' : 'not taken';
          total++;
          if (expect) taken++;
          if (got !== want && failures.length < 20) {
            failures.push(`seed ${SEED} ${label}: dst ${hex(dst)} ${x ? `src ${hex(src)}` : `imm ${imm}`} -> expected ${want}, got ${got}`);
          }
        }
      }
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
  // The operand bias must exercise both outcomes a fair share of the time.
  assert.ok(taken > total * 0.2 && taken < total * 0.8, `taken ${taken} of ${total}`);
});

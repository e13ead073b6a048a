// Tests for src/engine/alu64.ts: every function against a BigInt model, on edge operands (0, +-1, the 32-bit,
// 53-bit and 64-bit boundaries) crossed with each other, and on many random operands of mixed magnitudes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  res, mul64, udiv64, urem64, sdiv64, srem64, udivmod64, lsh64, rsh64, arsh64,
  udiv32, urem32, sdiv32, srem32, bswap16, bswap32,
} from '../src/engine/alu64.js';

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const lo = (x: bigint): number => Number(BigInt.asIntN(32, x));
const hi = (x: bigint): number => Number(BigInt.asIntN(32, x >> 32n));
const got = (): bigint => (BigInt(res[1] >>> 0) << 32n) | BigInt(res[0] >>> 0);
const gotRem = (): bigint => (BigInt(res[3] >>> 0) << 32n) | BigInt(res[2] >>> 0);

const EDGES: bigint[] = [];
for (const base of [0n, 1n << 16n, 1n << 31n, 1n << 32n, 1n << 52n, 1n << 53n, 1n << 63n, 1n << 21n, 1n << 48n]) {
  for (const d of [-2n, -1n, 0n, 1n, 2n]) { EDGES.push(u64(base + d)); EDGES.push(u64(-(base + d))); }
}
EDGES.push(0x123456789abcdef0n, 0xfedcba9876543210n, 0xffffffffn, 0x7fffffffffffffffn, 3n, 7n, 10n, 0xffffn);

// A small deterministic PRNG (xorshift64*) so failures reproduce.
let seed = 0x9e3779b97f4a7c15n;
function rnd(): bigint {
  seed ^= seed >> 12n; seed ^= u64(seed << 25n); seed ^= seed >> 27n;
  const v = u64(seed * 0x2545f4914f6cdd1dn);
  // Mixed magnitudes: keep a random number of low bits so small, 32-bit and 53-bit operands are common.
  const bits = BigInt(Number(v & 63n) + 1);
  return v >> (64n - bits);
}

function operands(): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const a of EDGES) for (const b of EDGES) out.push([a, b]);
  for (let i = 0; i < 20000; i++) out.push([rnd(), rnd()]);
  for (let i = 0; i < 2000; i++) out.push([rnd(), u64(-rnd())]);
  return out;
}
const PAIRS = operands();

function check(name: string, a: bigint, b: bigint, want: bigint, have: bigint): void {
  if (want !== have) assert.fail(`${name}(0x${a.toString(16)}, 0x${b.toString(16)}): want 0x${want.toString(16)}, got 0x${have.toString(16)}`);
}

test('mul64 equals BigInt product mod 2^64', () => {
  for (const [a, b] of PAIRS) { mul64(lo(a), hi(a), lo(b), hi(b)); check('mul64', a, b, (a * b) & M64, got()); }
});

test('udiv64 / urem64 / udivmod64 are exact, with /0 = 0 and %0 = dividend', () => {
  for (const [a, b] of PAIRS) {
    udiv64(lo(a), hi(a), lo(b), hi(b)); check('udiv64', a, b, b === 0n ? 0n : a / b, got());
    urem64(lo(a), hi(a), lo(b), hi(b)); check('urem64', a, b, b === 0n ? a : a % b, got());
    udivmod64(lo(a), hi(a), lo(b), hi(b));
    check('udivmod64.q', a, b, b === 0n ? 0n : a / b, got());
    check('udivmod64.r', a, b, b === 0n ? a : a % b, gotRem());
  }
});

test('sdiv64 / srem64 truncate toward zero; INT64_MIN / -1 wraps; /0 and %0 per RFC 9669', () => {
  for (const [ua, ub] of PAIRS) {
    const a = s64(ua), b = s64(ub);
    const q = b === 0n ? 0n : u64(a / b); // BigInt division truncates toward zero; u64 wraps INT64_MIN/-1
    const r = b === 0n ? ua : u64(a % b);
    sdiv64(lo(ua), hi(ua), lo(ub), hi(ub)); check('sdiv64', ua, ub, q, got());
    srem64(lo(ua), hi(ua), lo(ub), hi(ub)); check('srem64', ua, ub, r, got());
  }
  const MIN = 1n << 63n;
  sdiv64(lo(MIN), hi(MIN), -1, -1); assert.equal(got(), MIN);
  srem64(lo(MIN), hi(MIN), -1, -1); assert.equal(got(), 0n);
  srem64(-7, -1, 2, 0); assert.equal(s64(got()), -1n, 'remainder takes the dividend sign');
  srem64(7, 0, -2, -1); assert.equal(s64(got()), 1n);
});

test('64-bit shifts mask the count with 63', () => {
  const counts = [0, 1, 15, 31, 32, 33, 47, 63, 64, 65, 95, 127, -1];
  for (const [a] of PAIRS.slice(0, 3000)) {
    for (const n of counts) {
      const m = BigInt(n & 63);
      lsh64(lo(a), hi(a), n); check(`lsh64<<${n}`, a, m, (a << m) & M64, got());
      rsh64(lo(a), hi(a), n); check(`rsh64>>${n}`, a, m, a >> m, got());
      arsh64(lo(a), hi(a), n); check(`arsh64>>${n}`, a, m, u64(s64(a) >> m), got());
    }
  }
});

test('32-bit division helpers follow RFC 9669 at the edges', () => {
  const E32 = [0, 1, -1, 2, -2, 7, -7, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 123456789];
  for (const a of E32) for (const b of E32) {
    const ua = BigInt(a >>> 0), ub = BigInt(b >>> 0), sa = BigInt(a | 0), sb = BigInt(b | 0);
    assert.equal(BigInt(udiv32(a, b) >>> 0), ub === 0n ? 0n : ua / ub, `udiv32 ${a} ${b}`);
    assert.equal(BigInt(urem32(a, b) >>> 0), ub === 0n ? ua : ua % ub, `urem32 ${a} ${b}`);
    assert.equal(BigInt(sdiv32(a, b) >>> 0), sb === 0n ? 0n : BigInt.asUintN(32, sa / sb), `sdiv32 ${a} ${b}`);
    assert.equal(BigInt(srem32(a, b) >>> 0), sb === 0n ? ua : BigInt.asUintN(32, sa % sb), `srem32 ${a} ${b}`);
  }
  assert.equal(sdiv32(-0x80000000, -1), -0x80000000);
  assert.equal(srem32(-0x80000000, -1), 0);
  assert.ok(Object.is(srem32(-4, 2), 0), 'no negative zero');
});

test('byte swaps', () => {
  assert.equal(bswap16(0x12345678), 0x7856);
  assert.equal(bswap32(0x12345678) >>> 0, 0x78563412);
  assert.equal(bswap32(0x80000001) >>> 0, 0x01000080);
});

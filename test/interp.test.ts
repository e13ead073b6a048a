// Tests for the interpreter (src/engine/interp.ts) through the Vm API (src/engine/vm.ts): every opcode family
// against a BigInt model of RFC 9669 and tables of edge cases, memory access checks, bpf-to-bpf calls,
// helpers, the legacy packet loads, the budget, tracing and run-time traps of unchecked programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUncheckedSlots } from './gen/unchecked.js';
import { insn, lddw, type Insn } from '../src/isa/insn.js';
import { Vm, type TraceEvent } from '../src/engine/vm.js';
import { BpfError } from '../src/errors.js';
import { PERM_READ, PERM_RW } from '../src/vm/memory.js';

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u32 = (x: bigint): bigint => BigInt.asUintN(32, x);
const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);

// Instruction builders (opcode bytes from RFC 9669).
const I = insn;
const EXIT = I(0x95);
const mov64 = (d: number, imm: number): Insn => I(0xb7, d, 0, 0, imm);
const mov64r = (d: number, s: number): Insn => I(0xbf, d, s);
const mov32 = (d: number, imm: number): Insn => I(0xb4, d, 0, 0, imm);
const add64 = (d: number, imm: number): Insn => I(0x07, d, 0, 0, imm);
const call = (id: number): Insn => I(0x85, 0, 0, 0, id);
const callLocal = (rel: number): Insn => I(0x85, 0, 1, 0, rel);

function exec(prog: Insn[], r1 = 0n, r2 = 0n, setup?: (vm: Vm) => void): bigint {
  const vm = new Vm();
  setup?.(vm);
  return vm.run(vm.load(prog), r1, r2);
}

function throwsBpf(fn: () => unknown, code: string, msg: RegExp, insnIdx?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BpfError, `expected BpfError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, msg);
    if (insnIdx !== undefined) assert.equal(e.insn, insnIdx);
    return true;
  });
}

// ------------------------------------------------------------------------------------------ ALU model
const ALU_OPS = { add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0 } as const;

/** RFC 9669 ALU64 on unsigned 64-bit operands (b already sign-extended for K). */
function ref64(op: number, off: number, a: bigint, b: bigint): bigint {
  switch (op) {
    case 0x00: return u64(a + b);
    case 0x10: return u64(a - b);
    case 0x20: return u64(a * b);
    case 0x30: if (b === 0n) return 0n; return off === 0 ? a / b : u64(s64(a) / s64(b));
    case 0x40: return a | b;
    case 0x50: return a & b;
    case 0x60: return u64(a << (b & 63n));
    case 0x70: return a >> (b & 63n);
    case 0x90: if (b === 0n) return a; return off === 0 ? a % b : u64(s64(a) % s64(b));
    case 0xa0: return a ^ b;
    case 0xb0: return b;
    case 0xc0: return u64(s64(a) >> (b & 63n));
  }
  throw new Error('op');
}

/** RFC 9669 ALU (32-bit): operands are the low halves; the result is zero-extended. */
function ref32(op: number, off: number, a64: bigint, b64: bigint): bigint {
  const a = u32(a64), b = u32(b64);
  switch (op) {
    case 0x00: return u32(a + b);
    case 0x10: return u32(a - b);
    case 0x20: return u32(a * b);
    case 0x30: if (b === 0n) return 0n; return off === 0 ? a / b : u32(s32(a) / s32(b));
    case 0x40: return a | b;
    case 0x50: return a & b;
    case 0x60: return u32(a << (b & 31n));
    case 0x70: return a >> (b & 31n);
    case 0x90: if (b === 0n) return a; return off === 0 ? a % b : u32(s32(a) % s32(b));
    case 0xa0: return a ^ b;
    case 0xb0: return b;
    case 0xc0: return u32(s32(a) >> (b & 31n));
  }
  throw new Error('op');
}

const EDGE: bigint[] = [0n, 1n, 2n, 3n, 7n, 31n, 32n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn,
  0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1fffffffffffffn, 0x20000000000000n, 0x7fffffffffffffffn,
  0x8000000000000000n, M64, M64 - 1n, u64(-7n), u64(-0x80000000n), 0x123456789abcdef0n, 0xfedcba9876543210n];
let seed = 12345n;
function rnd(): bigint {
  seed = u64(seed * 6364136223846793005n + 1442695040888963407n);
  const bits = (seed >> 58n) + 1n;
  return u64(seed * 0x9e3779b97f4a7c15n) >> (64n - bits);
}
const PAIRS: [bigint, bigint][] = [];
for (const a of EDGE) for (const b of EDGE) PAIRS.push([a, b]);
for (let i = 0; i < 400; i++) PAIRS.push([rnd(), rnd()]);
const IMMS = [0, 1, -1, 2, -2, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xffff, -7, 12345];

test('ALU64 and ALU register forms match the RFC 9669 model on edge and random operands', () => {
  const vm = new Vm();
  for (const [name, op] of Object.entries(ALU_OPS)) {
    for (const off of op === 0x30 || op === 0x90 ? [0, 1] : [0]) {
      for (const [cls, ref] of [[0x07, ref64], [0x04, ref32]] as const) {
        const prog = vm.load([mov64r(0, 1), I(cls | 0x08 | op, 0, 2, off), EXIT]);
        for (const [a, b] of PAIRS) {
          const want = ref(op, off, a, b);
          const got = vm.run(prog, a, b);
          if (got !== want) assert.fail(`${name}${cls === 0x04 ? '32' : '64'} off=${off} 0x${a.toString(16)}, 0x${b.toString(16)}: want 0x${want.toString(16)} got 0x${got.toString(16)}`);
        }
      }
    }
  }
});

test('ALU64 and ALU immediate forms: imm is sign-extended for 64-bit ops, used as 32 bits for 32-bit ops', () => {
  const vm = new Vm();
  for (const [name, op] of Object.entries(ALU_OPS)) {
    for (const off of op === 0x30 || op === 0x90 ? [0, 1] : [0]) {
      for (const imm of IMMS) {
        for (const [cls, ref] of [[0x07, ref64], [0x04, ref32]] as const) {
          const prog = vm.load([mov64r(0, 1), I(cls | op, 0, 0, off, imm), EXIT]);
          for (const a of EDGE) {
            const want = ref(op, off, a, u64(BigInt(imm)));
            const got = vm.run(prog, a);
            if (got !== want) assert.fail(`${name}${cls === 0x04 ? '32' : '64'} off=${off} 0x${a.toString(16)}, imm ${imm}: want 0x${want.toString(16)} got 0x${got.toString(16)}`);
          }
        }
      }
    }
  }
});

// Named edge cases (the RFC's rules spelled out, so a failure reads as the rule broken).
const ALU_CASES: [string, Insn[], bigint][] = [
  ['add64 wraps', [...lddw(0, M64), add64(0, 1), EXIT], 0n],
  ['add64 carries into the high half', [mov32(0, -1), add64(0, 1), EXIT], 0x100000000n],
  ['add32 zeroes the upper half', [...lddw(0, 0x1_ffff_ffffn), I(0x04, 0, 0, 0, 1), EXIT], 0n],
  ['sub64 borrows', [...lddw(0, 0x100000000n), I(0x17, 0, 0, 0, 1), EXIT], 0xffffffffn],
  ['mul64 -1 * -1 = 1', [mov64(0, -1), mov64(1, -1), I(0x2f, 0, 1), EXIT], 1n],
  ['mul64 by negative imm', [mov64(0, 3), I(0x27, 0, 0, 0, -2), EXIT], u64(-6n)],
  ['div64 by zero register gives 0', [mov64(0, 9), mov64(1, 0), I(0x3f, 0, 1), EXIT], 0n],
  ['div64 by zero imm gives 0', [mov64(0, 9), I(0x37, 0, 0, 0, 0), EXIT], 0n],
  ['div32 by zero gives 0 (upper cleared)', [...lddw(0, 0x5_0000_0009n), I(0x34, 0, 0, 0, 0), EXIT], 0n],
  ['div64 imm -1 is 2^64-1 unsigned', [mov64(0, -1), I(0x37, 0, 0, 0, -1), EXIT], 1n],
  ['sdiv64 INT64_MIN / -1 = INT64_MIN', [...lddw(0, 1n << 63n), I(0x37, 0, 0, 1, -1), EXIT], 1n << 63n],
  ['sdiv64 truncates toward zero', [mov64(0, -7), I(0x37, 0, 0, 1, 2), EXIT], u64(-3n)],
  ['sdiv32 INT32_MIN / -1 = INT32_MIN', [mov32(0, -0x80000000), I(0x34, 0, 0, 1, -1), EXIT], 0x80000000n],
  ['mod64 by zero leaves dst', [...lddw(0, 0xdead_beef_0000_0005n), mov64(1, 0), I(0x9f, 0, 1), EXIT], 0xdead_beef_0000_0005n],
  ['mod32 by zero keeps the low half, zeroes the upper', [...lddw(0, 0xdead_beef_0000_0005n), mov64(1, 0), I(0x9c, 0, 1), EXIT], 5n],
  ['smod32 by zero keeps the low half, zeroes the upper', [...lddw(0, 0xdead_beef_8000_0005n), I(0x94, 0, 0, 1, 0), EXIT], 0x8000_0005n],
  ['smod64 INT64_MIN % -1 = 0', [...lddw(0, 1n << 63n), I(0x97, 0, 0, 1, -1), EXIT], 0n],
  ['smod64 takes the dividend sign', [mov64(0, -7), I(0x97, 0, 0, 1, 2), EXIT], u64(-1n)],
  ['smod32 INT32_MIN % -1 = 0', [mov32(0, -0x80000000), I(0x94, 0, 0, 1, -1), EXIT], 0n],
  ['lsh64 count masked to 63 (64 -> 0)', [mov64(0, 1), mov64(1, 64), I(0x6f, 0, 1), EXIT], 1n],
  ['lsh64 by 63', [mov64(0, 3), I(0x67, 0, 0, 0, 63), EXIT], 1n << 63n],
  ['rsh32 count masked to 31 (32 -> 0), upper cleared', [...lddw(0, 0x1_8000_0000n), mov64(1, 32), I(0x7c, 0, 1), EXIT], 0x8000_0000n],
  ['arsh64 keeps the sign', [mov64(0, -8), I(0xc7, 0, 0, 0, 1), EXIT], u64(-4n)],
  ['arsh32 sign-shifts the low half only', [mov32(0, -0x80000000), I(0xc4, 0, 0, 0, 4), EXIT], 0xf800_0000n],
  ['neg64', [mov64(0, 1), I(0x87, 0), EXIT], M64],
  ['neg64 of 2^32', [...lddw(0, 1n << 32n), I(0x87, 0), EXIT], u64(-(1n << 32n))],
  ['neg64 of 0', [mov64(0, 0), I(0x87, 0), EXIT], 0n],
  ['neg32', [...lddw(0, 0x7_0000_0001n), I(0x84, 0), EXIT], 0xffffffffn],
  ['mov32 imm -1 zero-extends', [mov32(0, -1), EXIT], 0xffffffffn],
  ['mov64 imm -1 sign-extends', [mov64(0, -1), EXIT], M64],
  ['mov32 reg truncates', [...lddw(1, 0x1234_5678_9abc_def0n), I(0xbc, 0, 1), EXIT], 0x9abc_def0n],
  ['movsx64 8', [mov64(1, 0x180), I(0xbf, 0, 1, 8), EXIT], u64(-128n)],
  ['movsx64 16', [mov64(1, 0x18000), I(0xbf, 0, 1, 16), EXIT], u64(-0x8000n)],
  ['movsx64 32', [mov32(1, -0x80000000), I(0xbf, 0, 1, 32), EXIT], u64(-0x80000000n)],
  ['movsx64 8 of a positive byte', [mov64(1, 0x17f), I(0xbf, 0, 1, 8), EXIT], 0x7fn],
  ['movsx32 8 zero-extends the 32-bit result', [mov64(1, 0x1ff80), I(0xbc, 0, 1, 8), EXIT], 0xffff_ff80n],
  ['movsx32 16', [mov64(1, 0x8001), I(0xbc, 0, 1, 16), EXIT], 0xffff_8001n],
  ['and64 imm sign-extends', [...lddw(0, 0x1_0000_0003n), I(0x57, 0, 0, 0, -2), EXIT], 0x1_0000_0002n],
  ['and32 clears the upper half', [...lddw(0, 0x1_0000_0003n), I(0x54, 0, 0, 0, -2), EXIT], 2n],
  ['or64 imm sign-extends', [mov64(0, 0), I(0x47, 0, 0, 0, -0x80000000), EXIT], 0xffff_ffff_8000_0000n],
  ['xor64 imm', [mov64(0, -1), I(0xa7, 0, 0, 0, 0x0f0f0f0f), EXIT], 0xffff_ffff_f0f0_f0f0n],
  ['lddw loads 64 bits', [...lddw(0, 0x0123_4567_89ab_cdefn), EXIT], 0x0123_4567_89ab_cdefn],
];
const V = 0x1122_3344_5566_7788n;
for (const [imm, le, be] of [[16, 0x7788n, 0x8877n], [32, 0x5566_7788n, 0x8877_6655n], [64, V, 0x8877_6655_4433_2211n]] as const) {
  ALU_CASES.push([`le${imm}`, [...lddw(0, V), I(0xd4, 0, 0, 0, imm), EXIT], le]);
  ALU_CASES.push([`be${imm}`, [...lddw(0, V), I(0xdc, 0, 0, 0, imm), EXIT], be]);
  ALU_CASES.push([`bswap${imm} (ALU64 END)`, [...lddw(0, V), I(0xd7, 0, 0, 0, imm), EXIT], be]);
}

for (const [name, prog, want] of ALU_CASES) {
  test(`alu: ${name}`, () => assert.equal(exec(prog), want));
}

// ------------------------------------------------------------------------------------------ jumps
const CONDS: [string, number, (a: bigint, b: bigint) => boolean, (a: bigint, b: bigint) => boolean][] = [
  ['jeq', 0x10, (a, b) => a === b, (a, b) => a === b],
  ['jgt', 0x20, (a, b) => a > b, (a, b) => a > b],
  ['jge', 0x30, (a, b) => a >= b, (a, b) => a >= b],
  ['jset', 0x40, (a, b) => (a & b) !== 0n, (a, b) => (a & b) !== 0n],
  ['jne', 0x50, (a, b) => a !== b, (a, b) => a !== b],
  ['jsgt', 0x60, (a, b) => s64(a) > s64(b), (a, b) => s32(a) > s32(b)],
  ['jsge', 0x70, (a, b) => s64(a) >= s64(b), (a, b) => s32(a) >= s32(b)],
  ['jlt', 0xa0, (a, b) => a < b, (a, b) => a < b],
  ['jle', 0xb0, (a, b) => a <= b, (a, b) => a <= b],
  ['jslt', 0xc0, (a, b) => s64(a) < s64(b), (a, b) => s32(a) < s32(b)],
  ['jsle', 0xd0, (a, b) => s64(a) <= s64(b), (a, b) => s32(a) <= s32(b)],
];
const JEDGE = [0n, 1n, 2n, M64, M64 - 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1_0000_0001n,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffff_ffff_0000_0000n, 0xffff_ffff_8000_0000n, 0x8000_0000_7fff_ffffn];

test('JMP and JMP32 conditionals, register form, on both sides of the signed/unsigned boundaries', () => {
  const vm = new Vm();
  for (const [name, op, c64, c32] of CONDS) {
    for (const [cls, cond] of [[0x05, c64], [0x06, c32]] as const) {
      // r0 = 0; if r1 OP r2 goto +1; exit; r0 = 1; exit
      const prog = vm.load([mov64(0, 0), I(cls | 0x08 | op, 1, 2, 1), EXIT, mov64(0, 1), EXIT]);
      for (const a of JEDGE) for (const b of JEDGE) {
        const want = (cls === 0x05 ? cond(a, b) : cond(u32(a), u32(b))) ? 1n : 0n;
        assert.equal(vm.run(prog, a, b), want, `${name}${cls === 0x06 ? '32' : ''} 0x${a.toString(16)}, 0x${b.toString(16)}`);
      }
    }
  }
});

test('JMP and JMP32 conditionals, immediate form (imm sign-extended to 64 bits for JMP)', () => {
  const vm = new Vm();
  for (const [name, op, c64, c32] of CONDS) {
    for (const imm of [0, 1, -1, 0x7fffffff, -0x80000000, 2]) {
      for (const [cls, cond] of [[0x05, c64], [0x06, c32]] as const) {
        const prog = vm.load([mov64(0, 0), I(cls | op, 1, 0, 1, imm), EXIT, mov64(0, 1), EXIT]);
        for (const a of JEDGE) {
          const b = cls === 0x05 ? u64(BigInt(imm)) : u32(BigInt(imm));
          const want = (cls === 0x05 ? cond(a, b) : cond(u32(a), b)) ? 1n : 0n;
          assert.equal(vm.run(prog, a), want, `${name}${cls === 0x06 ? '32' : ''} 0x${a.toString(16)}, imm ${imm}`);
        }
      }
    }
  }
});

test('ja, gotol (offset in imm) and a backward loop', () => {
  assert.equal(exec([mov64(0, 1), I(0x05, 0, 0, 1), mov64(0, 2), EXIT]), 1n);
  assert.equal(exec([mov64(0, 1), I(0x06, 0, 0, 0, 1), mov64(0, 2), EXIT]), 1n);
  // sum 1..10 with a backward jne
  const loop = [mov64(0, 0), mov64(1, 10), I(0x0f, 0, 1), I(0x17, 1, 0, 0, 1), I(0x55, 1, 0, -3, 0), EXIT];
  assert.equal(exec(loop), 55n);
});

// ------------------------------------------------------------------------------------------ memory
test('LDX/ST/STX in every size are little-endian; MEMSX sign-extends; ST DW sign-extends imm', () => {
  const store = [...lddw(1, 0x8877_6655_4433_2211n), I(0x7b, 10, 1, -8)];
  const cases: [string, Insn[], bigint][] = [
    ['ldxdw', [I(0x79, 0, 10, -8)], 0x8877_6655_4433_2211n],
    ['ldxw', [I(0x61, 0, 10, -4)], 0x8877_6655n],
    ['ldxh', [I(0x69, 0, 10, -7)], 0x3322n],
    ['ldxb', [I(0x71, 0, 10, -1)], 0x88n],
    ['ldxsw', [I(0x81, 0, 10, -4)], 0xffff_ffff_8877_6655n],
    ['ldxsh', [I(0x89, 0, 10, -2)], 0xffff_ffff_ffff_8877n],
    ['ldxsb', [I(0x91, 0, 10, -1)], u64(-0x78n)],
    ['ldxsb positive', [I(0x91, 0, 10, -8)], 0x11n],
    ['stw', [I(0x62, 10, 0, -8, -2), I(0x79, 0, 10, -8)], 0x8877_6655_ffff_fffen],
    ['sth', [I(0x6a, 10, 0, -8, 0x1_abcd), I(0x79, 0, 10, -8)], 0x8877_6655_4433_abcdn],
    ['stb', [I(0x72, 10, 0, -8, 0x1ff), I(0x79, 0, 10, -8)], 0x8877_6655_4433_22ffn],
    ['stdw sign-extends imm', [I(0x7a, 10, 0, -8, -2), I(0x79, 0, 10, -8)], u64(-2n)],
    ['stxw', [mov64(2, -1), I(0x63, 10, 2, -8), I(0x79, 0, 10, -8)], 0x8877_6655_ffff_ffffn],
    ['stxh', [mov64(2, -1), I(0x6b, 10, 2, -6), I(0x79, 0, 10, -8)], 0x8877_6655_ffff_2211n],
    ['stxb', [mov64(2, -1), I(0x73, 10, 2, -5), I(0x79, 0, 10, -8)], 0x8877_6655_ff33_2211n],
  ];
  for (const [name, body, want] of cases) assert.equal(exec([...store, ...body, EXIT]), want, name);
});

test('atomics: add/or/and/xor with and without fetch, xchg, cmpxchg, at 32 and 64 bits', () => {
  const init = 0x0000_00ff_f000_000fn;
  const ops: [string, number, (m: bigint, v: bigint) => bigint][] = [
    ['add', 0x00, (m, v) => m + v], ['or', 0x40, (m, v) => m | v], ['and', 0x50, (m, v) => m & v], ['xor', 0xa0, (m, v) => m ^ v],
  ];
  const val = 0x1_1000_0001n;
  for (const [name, op, f] of ops) {
    for (const fetch of [0, 1]) {
      for (const w of [8, 4]) {
        const code = w === 8 ? 0xdb : 0xc3;
        // [r10-8] = init; r1 = val; atomic [r10-8] op= r1; r0 = [r10-8]; r2 = r1 (fetched or not)
        const prog = [...lddw(2, init), I(0x7b, 10, 2, -8), ...lddw(1, val), I(code, 10, 1, -8, op | fetch), I(0x79, 0, 10, -8), EXIT];
        const mem = w === 8 ? u64(f(init, val)) : (init & 0xffff_ffff_0000_0000n) | u32(f(u32(init), u32(val)));
        assert.equal(exec(prog), mem, `${name}${fetch ? ' fetch' : ''} ${w * 8}-bit memory`);
        const progSrc = [...lddw(2, init), I(0x7b, 10, 2, -8), ...lddw(1, val), I(code, 10, 1, -8, op | fetch), mov64r(0, 1), EXIT];
        const src = fetch ? (w === 8 ? init : u32(init)) : val;
        assert.equal(exec(progSrc), src, `${name}${fetch ? ' fetch' : ''} ${w * 8}-bit src register`);
      }
    }
  }
  // xchg: memory gets src, src gets old (zero-extended for W)
  const xchg64 = [...lddw(2, init), I(0x7b, 10, 2, -8), mov64(1, -1), I(0xdb, 10, 1, -8, 0xe1)];
  assert.equal(exec([...xchg64, mov64r(0, 1), EXIT]), init);
  assert.equal(exec([...xchg64, I(0x79, 0, 10, -8), EXIT]), M64);
  const xchg32 = [...lddw(2, init), I(0x7b, 10, 2, -8), mov64(1, -1), I(0xc3, 10, 1, -8, 0xe1)];
  assert.equal(exec([...xchg32, mov64r(0, 1), EXIT]), 0xf000_000fn);
  assert.equal(exec([...xchg32, I(0x79, 0, 10, -8), EXIT]), 0x0000_00ff_ffff_ffffn);
  // cmpxchg: r0 compared with memory; r0 always gets the old value
  const cmpx = (code: number, r0: bigint, tail: Insn[]): bigint =>
    exec([...lddw(2, init), I(0x7b, 10, 2, -8), mov64(1, 7), ...lddw(0, r0), I(code, 10, 1, -8, 0xf1), ...tail, EXIT]);
  assert.equal(cmpx(0xdb, init, [I(0x79, 0, 10, -8)]), 7n, 'cmpxchg64 equal: stores');
  assert.equal(cmpx(0xdb, init + 1n, [I(0x79, 0, 10, -8)]), init, 'cmpxchg64 not equal: no store');
  assert.equal(cmpx(0xdb, 0n, []), init, 'cmpxchg64 r0 = old');
  assert.equal(cmpx(0xc3, 0xdead_0000_f000_000fn, [I(0x79, 0, 10, -8)]), 0x0000_00ff_0000_0007n, 'cmpxchg32 compares the low 32 bits of r0');
  assert.equal(cmpx(0xc3, 0n, [I(0x79, 0, 10, -8)]), init, 'cmpxchg32 not equal: no store');
  assert.equal(cmpx(0xc3, 0xdead_0000_0000_0000n, []), 0xf000_000fn, 'cmpxchg32 r0 = old, zero-extended');
});

test('memory faults stop the run with EFAULT naming the insn and address', () => {
  throwsBpf(() => exec([mov64(1, 0), I(0x79, 0, 1, 0), EXIT]), 'EFAULT', /insn 1: invalid memory access: read of 8 bytes at 0x0$/, 1);
  throwsBpf(() => exec([I(0x79, 0, 10, 0), EXIT]), 'EFAULT', /insn 0: .*read of 8 bytes/, 0); // just past the stack top
  throwsBpf(() => exec([I(0x61, 0, 10, -4097), EXIT]), 'EFAULT', /insn 0/, 0); // below the 8-frame stack
  throwsBpf(() => exec([mov64(0, 0), I(0x7b, 10, 0, -4), EXIT]), 'EFAULT', /insn 1: .*write of 8 bytes/, 1); // straddles the top
  // a pointer whose high half is non-zero is never valid, even if its low half is
  throwsBpf(() => exec([mov64r(1, 10), ...lddw(2, 1n << 32n), I(0x0f, 1, 2), I(0x71, 0, 1, -1), EXIT]), 'EFAULT', /insn 4: .*at 0x1[0-9a-f]{8}$/, 4);
  // read-only region: reads pass, writes and atomics fault
  let ro = 0;
  const setup = (vm: Vm): void => {
    ro = vm.space.alloc(64);
    vm.space.u8[ro + 3] = 0x5a;
    vm.space.mapRegion(ro, 64, PERM_READ);
  };
  const vm = new Vm(); setup(vm);
  assert.equal(vm.run(vm.load([I(0x71, 0, 1, 3), EXIT]), BigInt(ro)), 0x5an);
  throwsBpf(() => vm.run(vm.load([I(0x72, 1, 0, 3, 1), EXIT]), BigInt(ro)), 'EFAULT', /insn 0: .*write of 1 bytes/, 0);
  throwsBpf(() => vm.run(vm.load([mov64(2, 1), I(0xdb, 1, 2, 0, 0), EXIT]), BigInt(ro)), 'EFAULT', /read-modify-write of 8 bytes/, 1);
  throwsBpf(() => vm.run(vm.load([I(0x71, 0, 1, 64), EXIT]), BigInt(ro)), 'EFAULT', /read of 1 bytes/, 0);
});

test('the region cache never outlives a region change', () => {
  const vm = new Vm();
  const a = vm.space.alloc(16), b = vm.space.alloc(16);
  const ra = vm.space.mapRegion(a, 16, PERM_RW);
  vm.space.mapRegion(b, 16, PERM_RW);
  vm.space.u8[a] = 1; vm.space.u8[b] = 2;
  // read a, then b, then a again: three region switches in one run
  const p = vm.load([I(0x71, 3, 1, 0), I(0x71, 4, 2, 0), I(0x71, 5, 1, 0), mov64r(0, 3), I(0x0f, 0, 4), I(0x0f, 0, 5), EXIT]);
  assert.equal(vm.run(p, BigInt(a), BigInt(b)), 4n);
  const rd = vm.load([I(0x71, 0, 1, 8), EXIT]);
  assert.equal(vm.run(rd, BigInt(a)), 0n);
  vm.space.setRegion(ra, a, 8, PERM_RW); // shrink region a: the last hit must not let byte 8 through
  throwsBpf(() => vm.run(rd, BigInt(a)), 'EFAULT', /insn 0/, 0);
  vm.space.unmapRegion(ra);
  throwsBpf(() => vm.run(vm.load([I(0x71, 0, 1, 0), EXIT]), BigInt(a)), 'EFAULT', /insn 0/, 0);
});

// ------------------------------------------------------------------------------------------ calls
test('bpf-to-bpf calls pass r1-r5, preserve r6-r9, and give each frame its own 512-byte stack', () => {
  const sub = [ // sub: r0 = r1 + r5; clobber r6-r9; write its own stack; return
    mov64r(0, 1), I(0x0f, 0, 5), mov64(6, 100), mov64(7, 100), mov64(8, 100), mov64(9, 100),
    I(0x7a, 10, 0, -8, 0x22), EXIT,
  ];
  const main = (tail: Insn[]): Insn[] => [
    mov64(6, 1), mov64(7, 2), mov64(8, 3), mov64(9, 4), I(0x7a, 10, 0, -8, 0x11), mov64(1, 40), mov64(5, 2),
    callLocal(tail.length + 1), ...tail, EXIT, ...sub,
  ];
  assert.equal(exec(main([])), 42n, 'callee result in r0');
  assert.equal(exec(main([mov64r(0, 6), I(0x0f, 0, 7), I(0x0f, 0, 8), I(0x0f, 0, 9)])), 10n, 'r6-r9 restored');
  assert.equal(exec(main([I(0x79, 0, 10, -8)])), 0x11n, 'caller stack slot untouched by the callee');
  // r10 in the callee is 512 below the caller's
  assert.equal(exec([mov64r(6, 10), callLocal(3), I(0x1f, 6, 0), mov64r(0, 6), EXIT, mov64r(0, 10), EXIT]), 512n);
  // r10 restored after the callee returns
  const vm = new Vm();
  assert.equal(vm.run(vm.load([callLocal(2), mov64r(0, 10), EXIT, mov64(0, 0), EXIT])), BigInt(vm.stackTop()));
});

/** main: r1 = 0; call f; exit.  f: if r1 == depth goto out; r1 += 1; call f; out: exit */
function recursion(depth: number): Insn[] {
  return [mov64(1, 0), callLocal(1), EXIT, I(0x15, 1, 0, 2, depth), add64(1, 1), callLocal(-3), mov64r(0, 1), EXIT];
}

test('8 frames are allowed; a 9th stops with E2BIG naming the call', () => {
  assert.equal(exec(recursion(6)), 6n); // f runs 7 times deep (r1 = 0..6): 8 frames with main
  throwsBpf(() => exec(recursion(7)), 'E2BIG', /insn 5: the call stack of 9 frames is too deep/, 5);
  throwsBpf(() => exec(recursion(1000)), 'E2BIG', /insn 5/, 5);
});

test('helper calls: args in r1-r5, result in r0, r1-r5 left as the helper left them, halted stops at once', () => {
  const vm = new Vm();
  vm.helpers[7] = (v) => { v.lo[0] = (v.lo[1] + v.lo[2] + v.lo[5]) | 0; v.hi[0] = 0; };
  vm.helpers[9] = (v) => { v.lo[0] = 42; v.hi[0] = 0; v.halted = true; };
  vm.helpers[11] = (v) => { v.lo[3] = 77; };
  assert.equal(vm.run(vm.load([mov64(1, 1), mov64(2, 2), mov64(5, 3), call(7), EXIT])), 6n);
  assert.equal(vm.run(vm.load([call(9), mov64(0, 0), EXIT])), 42n);
  assert.equal(vm.run(vm.load([mov64(1, 5), call(11), mov64r(0, 1), I(0x0f, 0, 3), EXIT])), 82n);
  throwsBpf(() => vm.run(vm.load([mov64(0, 0), call(8), EXIT])), 'EINVAL', /insn 1: unknown helper id 8/, 1);
  // callx: the register named in dst holds the helper id
  assert.equal(vm.run(vm.load([mov64(1, 4), mov64(2, 5), mov64(5, 0), mov64(8, 7), I(0x8d, 8), EXIT])), 9n);
  throwsBpf(() => vm.run(vm.load([mov64(8, 3), I(0x8d, 8), EXIT])), 'EINVAL', /insn 1: unknown helper id 3/, 1);
  throwsBpf(() => vm.run(vm.load([...lddw(8, (1n << 32n) + 7n), I(0x8d, 8), EXIT])), 'EINVAL', /unknown helper id 4294967303/, 2);
  // a helper that grows the memory: the loop must see the new buffer
  vm.helpers[12] = (v) => { v.space.alloc(8 << 20); v.lo[0] = 0; v.hi[0] = 0; };
  assert.equal(vm.run(vm.load([I(0x7a, 10, 0, -8, 99), call(12), I(0x79, 0, 10, -8), EXIT])), 99n);
});

// ------------------------------------------------------------------------------------------ legacy packet loads
test('LD_ABS / LD_IND read big-endian from the packet, clobber r1-r5, and end with r0 = 0 out of bounds', () => {
  const vm = new Vm();
  const pkt = vm.space.alloc(16);
  vm.space.write(pkt, Uint8Array.from([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]));
  vm.setPacket(pkt, 10);
  const run = (prog: Insn[]): bigint => vm.run(vm.load(prog));
  assert.equal(run([I(0x20, 0, 0, 0, 1), EXIT]), 0x11223344n, 'ldabsw');
  assert.equal(run([I(0x28, 0, 0, 0, 8), EXIT]), 0x8899n, 'ldabsh');
  assert.equal(run([I(0x30, 0, 0, 0, 9), EXIT]), 0x99n, 'ldabsb');
  assert.equal(run([I(0x30, 0, 0, 0, 8), EXIT]), 0x88n, 'ldabsb high bit is not sign-extended');
  assert.equal(run([mov64(3, 2), I(0x40, 0, 3, 0, 4), EXIT]), 0x66778899n, 'ldindw adds src');
  assert.equal(run([mov64(3, -1), I(0x48, 0, 3, 0, 2), EXIT]), 0x1122n, 'ldindh with a negative src');
  assert.equal(run([mov64(3, 5), I(0x50, 0, 3, 0, 0), EXIT]), 0x55n, 'ldindb');
  assert.equal(run([mov64(1, 7), mov64(5, 7), I(0x30, 0, 0, 0, 0), I(0x0f, 0, 1), I(0x0f, 0, 5), EXIT]), 0n, 'r1-r5 clobbered');
  assert.equal(run([mov64(0, 5), I(0x20, 0, 0, 0, 7), mov64(0, 99), EXIT]), 0n, 'out of bounds ends the program with r0 = 0');
  assert.equal(run([I(0x20, 0, 0, 0, -1), mov64(0, 99), EXIT]), 0n, 'negative offset');
  assert.equal(run([mov64(3, -2), I(0x50, 0, 3, 0, 1), mov64(0, 99), EXIT]), 0n, 'ldind below the packet');
  throwsBpf(() => vm.setPacket(vm.space.memory.buffer.byteLength - 4, 8), 'EINVAL', /outside the address space/);
});

// ------------------------------------------------------------------------------------------ budget, trace, traps
test('an instruction budget stops a runaway program with EINTR', () => {
  const spin = [mov64(0, 0), add64(0, 1), I(0x55, 0, 0, -2, 0), EXIT]; // 2^32 iterations
  const vm = new Vm({ budget: 1000 });
  throwsBpf(() => vm.run(vm.load(spin)), 'EINTR', /instruction budget of 1000 exhausted at insn [12]/);
  const three = vm.load([mov64(0, 1), mov64(1, 2), EXIT]);
  vm.budget = 3; assert.equal(vm.run(three), 1n); assert.equal(vm.insnCount, 3);
  vm.budget = 2; throwsBpf(() => vm.run(three), 'EINTR', /budget of 2 exhausted at insn 2/, 2);
  vm.budget = undefined; assert.equal(vm.run(three), 1n);
});

test('trace reports each executed instruction with the registers it changed', () => {
  const vm = new Vm({ engine: 'interp' }); // trace is an interpreter feature
  const events: TraceEvent[] = [];
  vm.trace = (e) => events.push(e);
  const prog = [mov64(0, 1), mov64(1, -1), I(0x15, 0, 0, 1, 1), mov64(0, 5), ...lddw(2, 0x1_0000_0000n), EXIT];
  assert.equal(vm.run(vm.load(prog)), 1n);
  assert.deepEqual(events.map((e) => e.pc), [0, 1, 2, 4, 6]);
  assert.deepEqual(events[0].changed, [{ reg: 0, value: 1n }]);
  assert.deepEqual(events[1].changed, [{ reg: 1, value: M64 }]);
  assert.deepEqual(events[2].changed, []);
  assert.deepEqual(events[3].changed, [{ reg: 2, value: 0x1_0000_0000n }]);
  assert.equal(events[3].insn.code, 0x18);
  assert.equal(events[4].insn.code, 0x95);
  // a trace with a budget still enforces it
  vm.budget = 2; events.length = 0;
  throwsBpf(() => vm.run(vm.load(prog)), 'EINTR', /at insn 2/);
  assert.equal(events.length, 2);
});

test('unchecked programs trap at run time on unknown opcodes, bad slots, wild jumps and falling off the end', () => {
  const vm = new Vm();
  const run = (prog: Insn[]): bigint => vm.run(vm.loadUnchecked(prog));
  throwsBpf(() => run([mov64(0, 0), I(0xff), EXIT]), 'EINVAL', /insn 1: unknown opcode 0xff/, 1);
  throwsBpf(() => run([mov64(0, 0), I(0xb7, 11, 0, 0, 1), EXIT]), 'EINVAL', /insn 1: invalid dst register r11/, 1);
  throwsBpf(() => run([mov64(0, 0), I(0x05, 0, 0, 5), EXIT]), 'EINVAL', /insn 1: jump out of the program to insn 7/, 1);
  throwsBpf(() => run([mov64(0, 0), I(0x15, 0, 0, -3, 0), EXIT]), 'EINVAL', /insn 1: jump out of the program to insn -1/, 1);
  throwsBpf(() => run([mov64(0, 0), callLocal(3), EXIT]), 'EINVAL', /insn 1: jump out of the program to insn 5/, 1);
  throwsBpf(() => run([mov64(0, 0)]), 'EINVAL', /insn 1: fell off the end of the program/, 1);
  throwsBpf(() => run([I(0x05, 0, 0, 1), ...lddw(0, 1n), EXIT]), 'EINVAL', /insn 2: jump into the middle of lddw/, 2);
  throwsBpf(() => run([mov64(0, 0), I(0x18, 0, 0, 0, 1)]), 'EINVAL', /insn 1: lddw is missing its second slot/, 1);
  throwsBpf(() => run([I(0x85, 0, 2, 0, 1), EXIT]), 'EINVAL', /insn 0: kernel function calls/, 0);
  assert.equal(run([mov64(0, 3), EXIT, I(0xff)]), 3n, 'an invalid slot that is never reached is harmless');
});

test('load() validates: bad programs never run', () => {
  const vm = new Vm();
  throwsBpf(() => vm.load([mov64(0, 0)]), 'EINVAL', /insn 0: last insn is not an exit/, 0);
  throwsBpf(() => vm.load([I(0xff), EXIT]), 'EINVAL', /insn 0: unknown opcode/, 0);
});

test('a memory grown behind the space\'s back is picked up at the next run', () => {
  const vm = new Vm();
  const p = vm.load([I(0x7a, 10, 0, -8, 5), I(0x79, 0, 10, -8), EXIT]);
  vm.space.memory.grow(1); // detaches the cached views without refresh()
  assert.equal(vm.run(p), 5n);
});

test('run() takes and returns unsigned 64-bit BigInts; runRaw() returns halves', () => {
  const vm = new Vm();
  const p = vm.load([mov64r(0, 1), I(0x0f, 0, 2), EXIT]);
  assert.equal(vm.run(p, -1n, 2n), 1n);
  assert.equal(vm.run(p, 0xffff_ffffn, 1n), 0x1_0000_0000n);
  assert.equal(vm.runRaw(p, -1, 0x7fffffff, 1, 0), 0);
  assert.equal(vm.hi[0], -0x80000000);
});

test('random unchecked programs end with a value or a BpfError, never a crash or a hang', () => {
  const vm = new Vm({ budget: 2000 });
  const pkt = vm.space.alloc(64);
  vm.space.mapRegion(pkt, 64, PERM_RW);
  vm.setPacket(pkt, 64);
  vm.helpers[1] = (v) => { v.lo[0] = v.lo[1]; v.hi[0] = 0; };
  let state = 0x2545f491;
  const next = (): number => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return state >>> 0; };
  let values = 0, errors = 0;
  for (let iter = 0; iter < 3000; iter++) {
    const prog = randomUncheckedSlots(next);
    prog.push(EXIT);
    try {
      vm.run(vm.loadUnchecked(prog), BigInt(pkt), 64n);
      values++;
    } catch (e) {
      if (!(e instanceof BpfError)) assert.fail(`program ${JSON.stringify(prog)} threw ${String(e)}`);
      assert.match(e.message, /insn -?\d+/);
      errors++;
    }
  }
  assert.ok(values > 100 && errors > 100, `both outcomes exercised (${values} values, ${errors} errors)`);
});

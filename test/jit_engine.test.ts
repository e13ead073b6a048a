// The JIT engine (src/engine/jit/) against the interpreter, edge by edge: every ALU/JMP operation on edge
// operands, memory checks and their messages, region-cache invalidation, bpf-to-bpf calls and the frame
// limit, helpers (arguments, clobbers, halting, unknown ids, memory growth), LD_ABS/LD_IND, the budget (same
// error, same insn, same memory effects before it ran out), trace refusal, run-time traps of unchecked
// programs, irreducible control flow, and random unchecked programs. Also the wasm features the JIT relies
// on (tail calls, multiple results) and the LEB128 encoder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUncheckedSlots } from './gen/unchecked.js';
import { insn, lddw, type Insn } from '../src/isa/insn.js';
import { Vm, type Engine } from '../src/engine/vm.js';
import { BpfError } from '../src/errors.js';
import { AddressSpace, PERM_READ, PERM_RW } from '../src/vm/memory.js';
import { assemble } from '../src/isa/asm.js';
import { MapRegistry } from '../src/maps/map.js';
import { attachEnv } from '../src/helpers/table.js';
import { ManualClock } from '../src/helpers/env.js';
import { testRun } from '../src/hooks/index.js';
import { BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { Bytes } from '../src/engine/jit/wasm.js';

const I = insn;
const EXIT = I(0x95);
const mov64 = (d: number, imm: number): Insn => I(0xb7, d, 0, 0, imm);
const mov64r = (d: number, s: number): Insn => I(0xbf, d, s);
const add64 = (d: number, imm: number): Insn => I(0x07, d, 0, 0, imm);
const call = (id: number): Insn => I(0x85, 0, 0, 0, id);
const callLocal = (rel: number): Insn => I(0x85, 0, 1, 0, rel);
const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);

type Outcome = { r0: bigint } | { error: string; code: string; insn: number | undefined };

function outcome(fn: () => bigint): Outcome {
  try {
    return { r0: fn() };
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    return { error: e.message, code: e.code, insn: e.insn };
  }
}

/** Run the same program on both engines (fresh Vms set up alike); assert identical outcomes; return it. */
function both(prog: Insn[], opts: { r1?: bigint; r2?: bigint; setup?: (vm: Vm) => bigint | void; budget?: number; unchecked?: boolean } = {}): Outcome {
  const res: Outcome[] = [];
  for (const engine of ['interp', 'jit'] as Engine[]) {
    const vm = new Vm({ engine, budget: opts.budget });
    const r1 = opts.setup?.(vm) ?? opts.r1 ?? 0n;
    res.push(outcome(() => vm.run(opts.unchecked ? vm.loadUnchecked(prog) : vm.load(prog), r1, opts.r2 ?? 0n)));
  }
  assert.deepEqual(res[1], res[0], `jit differs from the interpreter on ${JSON.stringify(prog)}`);
  return res[0];
}

test('Node runs the wasm features the JIT relies on: tail calls (return_call) and multiple results', () => {
  // (func $f (result i64 i64) i64.const 1 i64.const 2) (func $g (export "g") (result i64 i64) return_call $f)
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 0x60, 0, 2, 0x7e, 0x7e, 3, 3, 2, 0, 0, 7, 5, 1, 1, 103, 0, 1,
    10, 13, 2, 6, 0, 0x42, 1, 0x42, 2, 0x0b, 4, 0, 0x12, 0, 0x0b]);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  assert.deepEqual((inst.exports.g as () => bigint[])(), [1n, 2n]);
});

test('LEB128: signed 64-bit immediates from int32 halves match a BigInt encoder', () => {
  const ref = (v: bigint): number[] => {
    const out: number[] = [];
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { out.push(b); return out; }
      out.push(b | 0x80);
    }
  };
  const vals = [0n, 1n, -1n, 63n, 64n, -64n, -65n, 0x7fffffffn, -0x80000000n, 0x80000000n, 0xffffffffn, 1n << 32n,
    (1n << 63n) - 1n, -(1n << 63n), 0x123456789abcdef0n, -0x123456789abcdefn, 0x00ff00ff00ff00ffn];
  for (const v of vals) {
    const b = new Bytes();
    const x = BigInt.asUintN(64, v);
    b.s64(Number(x & 0xffffffffn) | 0, Number(x >> 32n) | 0);
    assert.deepEqual([...b.result()], ref(v), `s64 ${v}`);
  }
});

const EDGE: bigint[] = [0n, 1n, 2n, 7n, 31n, 32n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n,
  0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n, u64(-7n), u64(-0x80000000n), 0x123456789abcdef0n];
const IMMS = [0, 1, -1, 2, -2, 8, 16, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xffff, -7];

/** Run one compiled program on many inputs on both engines. */
function sweep(prog: Insn[], inputs: [bigint, bigint][]): void {
  const vi = new Vm(), vj = new Vm({ engine: 'jit' });
  const pi = vi.load(prog), pj = vj.load(prog);
  for (const [a, b] of inputs) {
    const x = outcome(() => vi.run(pi, a, b)), y = outcome(() => vj.run(pj, a, b));
    if (JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v)) !== JSON.stringify(y, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))) {
      assert.fail(`${JSON.stringify(prog)} on 0x${a.toString(16)}, 0x${b.toString(16)}: interp ${JSON.stringify(x, (_k, v) => String(v))} jit ${JSON.stringify(y, (_k, v) => String(v))}`);
    }
  }
}

const PAIRS: [bigint, bigint][] = [];
for (const a of EDGE) for (const b of EDGE) PAIRS.push([a, b]);

test('every ALU/ALU64 operation, register and immediate forms, signed variants and movsx, on edge operands', () => {
  for (const cls of [0x04, 0x07]) {
    for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]) {
      const offs = op === 0x30 || op === 0x90 ? [0, 1] : op === 0xb0 ? (cls === 0x07 ? [0, 8, 16, 32] : [0, 8, 16]) : [0];
      for (const off of offs) {
        sweep([mov64r(0, 1), I(cls | 0x08 | op, 0, 2, off), EXIT], PAIRS);
        sweep([mov64r(0, 1), I(cls | 0x08 | op, 0, 0, off), EXIT], PAIRS.slice(0, EDGE.length)); // dst == src
        if (op === 0xb0 && off !== 0) continue;
        for (const k of IMMS) sweep([mov64r(0, 1), I(cls | op, 0, 0, off, k), EXIT], EDGE.map((a) => [a, 0n]));
      }
    }
    sweep([mov64r(0, 1), I(cls | 0x80, 0), EXIT], EDGE.map((a) => [a, 0n]));
  }
  for (const [code, widths] of [[0xd4, [16, 32, 64]], [0xdc, [16, 32, 64]], [0xd7, [16, 32, 64]]] as const) {
    for (const w of widths) sweep([mov64r(0, 1), I(code, 0, 0, 0, w), EXIT], EDGE.map((a) => [a, 0n]));
  }
});

test('every JMP/JMP32 condition, register and immediate forms, taken and not taken', () => {
  for (const cls of [0x05, 0x06]) {
    for (const op of [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]) {
      sweep([mov64(0, 1), I(cls | 0x08 | op, 1, 2, 1), mov64(0, 2), EXIT], PAIRS);
      for (const k of IMMS) sweep([mov64(0, 1), I(cls | op, 1, 0, 1, k), mov64(0, 2), EXIT], EDGE.map((a) => [a, 0n]));
    }
  }
});

test('loads and stores of every size, sign-extending loads, atomics, on the stack and in a buffer', () => {
  let buf = 0;
  const setup = (vm: Vm): bigint => {
    buf = vm.space.alloc(64);
    for (let i = 0; i < 64; i++) vm.space.u8[buf + i] = (i * 37 + 0x85) & 0xff;
    vm.space.mapRegion(buf, 64, PERM_RW);
    return BigInt(buf);
  };
  for (const c of [0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91]) {
    for (const o of [0, 3, 56, 60, 63, -1]) both([I(c, 0, 1, o), EXIT], { setup });
  }
  for (const [c, k] of [[0x62, -2], [0x6a, 0x1234], [0x72, 0x1ff], [0x7a, -3]] as const) {
    both([I(c, 1, 0, 8, k), I(0x79, 0, 1, 8), I(0x79, 2, 1, 0), I(0xaf, 0, 2), EXIT], { setup });
    both([I(c, 10, 0, -16, k), I(0x79, 0, 10, -16), EXIT]);
  }
  for (const c of [0x63, 0x6b, 0x73, 0x7b]) {
    both([...lddw(2, 0xfedcba9876543210n), I(c, 1, 2, 5), I(0x79, 0, 1, 0), I(0x79, 3, 1, 8), I(0xaf, 0, 3), EXIT], { setup });
  }
  for (const cls of [0xc3, 0xdb]) {
    for (const k of [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]) {
      for (const r0 of [0n, 0x9cfbdab985n, 0x85n]) {
        const prog = [...lddw(0, r0), ...lddw(2, 0x0123456789abcdefn), I(cls, 1, 2, 0, k), I(0x79, 3, 1, 0),
          I(0xaf, 0, 3), I(0xaf, 0, 2), EXIT];
        both(prog, { setup });
        both([...lddw(0, r0), I(0x7a, 10, 0, -8, 0x85), ...lddw(2, 0x0123456789abcdefn), I(cls, 10, 2, -8, k), I(0x79, 3, 10, -8), I(0xaf, 0, 3), I(0xaf, 0, 2), EXIT]);
      }
    }
  }
});

test('memory faults raise the interpreter\'s EFAULT: same message, same insn', () => {
  const cases: Insn[][] = [
    [mov64(1, 0), I(0x79, 0, 1, 0), EXIT],
    [I(0x79, 0, 10, 0), EXIT],
    [I(0x61, 0, 10, -4097), EXIT],
    [mov64(0, 0), I(0x7b, 10, 0, -4), EXIT],
    [mov64r(1, 10), ...lddw(2, 1n << 32n), I(0x0f, 1, 2), I(0x71, 0, 1, -1), EXIT],
    [...lddw(1, M64), I(0x71, 0, 1, 0x7fff), EXIT],
    [mov64r(1, 10), I(0x71, 0, 1, -4096), I(0x71, 0, 1, -4097), EXIT],
  ];
  for (const p of cases) assert.ok('error' in both(p));
  let ro = 0;
  const setup = (vm: Vm): bigint => { ro = vm.space.alloc(64); vm.space.u8[ro + 3] = 0x5a; vm.space.mapRegion(ro, 64, PERM_READ); return BigInt(ro); };
  assert.deepEqual(both([I(0x71, 0, 1, 3), EXIT], { setup }), { r0: 0x5an });
  assert.match((both([I(0x72, 1, 0, 3, 1), EXIT], { setup }) as { error: string }).error, /write of 1 bytes/);
  assert.match((both([mov64(2, 1), I(0xdb, 1, 2, 0, 0), EXIT], { setup }) as { error: string }).error, /read-modify-write of 8 bytes/);
  assert.match((both([I(0x71, 0, 1, 64), EXIT], { setup }) as { error: string }).error, /read of 1 bytes/);
});

test('the JIT\'s region cache never outlives a region change (between runs and inside a helper)', () => {
  const vm = new Vm({ engine: 'jit' });
  const a = vm.space.alloc(16), b = vm.space.alloc(16);
  const ra = vm.space.mapRegion(a, 16, PERM_RW);
  vm.space.mapRegion(b, 16, PERM_RW);
  vm.space.u8[a] = 1; vm.space.u8[b] = 2;
  const p = vm.load([I(0x71, 3, 1, 0), I(0x71, 4, 2, 0), I(0x71, 5, 1, 0), mov64r(0, 3), I(0x0f, 0, 4), I(0x0f, 0, 5), EXIT]);
  assert.equal(vm.run(p, BigInt(a), BigInt(b)), 4n);
  const rd = vm.load([I(0x71, 0, 1, 8), EXIT]);
  assert.equal(vm.run(rd, BigInt(a)), 0n);
  vm.space.setRegion(ra, a, 8, PERM_RW);
  assert.throws(() => vm.run(rd, BigInt(a)), /EFAULT: insn 0: invalid memory access: read of 1 bytes/);
  // a helper that unmaps the region the program just used: the next access must fault
  vm.space.setRegion(ra, a, 16, PERM_RW);
  vm.helpers[1] = (v) => { v.space.unmapRegion(ra); v.lo[0] = 0; v.hi[0] = 0; };
  const q = vm.load([I(0x71, 0, 1, 0), mov64r(6, 1), call(1), I(0x71, 0, 6, 1), EXIT]);
  assert.throws(() => vm.run(q, BigInt(a)), /EFAULT: insn 3: invalid memory access: read of 1 bytes/);
  // with the stack region moved away, r10 accesses are checked too (the fast path assumes it intact)
  const w = new Vm({ engine: 'jit' });
  const st = w.load([I(0x7a, 10, 0, -8, 7), I(0x79, 0, 10, -8), EXIT]);
  assert.equal(w.run(st), 7n);
  w.space.setRegion(w.stackRegion, w.stackBase, 4096 - 512, PERM_RW);
  assert.throws(() => w.run(st), /EFAULT: insn 0: invalid memory access: write of 8 bytes/);
});

test('AddressSpace.generation moves with every region-table change and memory growth, not with plain allocation', () => {
  const sp = new AddressSpace(2);
  const g0 = sp.generation;
  const a = sp.alloc(64);
  assert.equal(sp.generation, g0); // fits the initial pages: nothing a cache depends on changed
  const id = sp.mapRegion(a, 64, PERM_RW);
  const g1 = sp.generation;
  assert.ok(g1 > g0);
  sp.setRegion(id, a, 32, PERM_RW);
  const g2 = sp.generation;
  assert.ok(g2 > g1);
  sp.setRegion(id, a, 32, PERM_RW); // the same bounds again (a packet of the same size): nothing changed
  assert.equal(sp.generation, g2);
  sp.setRegion(id, a, 32, PERM_READ);
  assert.ok(sp.generation > g2);
  sp.setRegion(id, a, 32, PERM_RW);
  sp.unmapRegion(id);
  const g3 = sp.generation;
  assert.ok(g3 > g2);
  sp.alloc(4 * 65536); // grows the memory
  assert.ok(sp.generation > g3);
});

test('the JIT\'s region cache survives helpers that leave the region table alone and never a packet move (adjust_head/tail)', () => {
  // Each program first reads the packet (the JIT caches its region), calls a helper, then reads again.
  const run = (engine: Engine, text: string): Outcome => {
    const vm = new Vm({ engine });
    const reg = new MapRegistry(vm.space);
    attachEnv(vm, reg, { clock: new ManualClock(5), prandomSeed: 1 });
    const pkt = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
    return outcome(() => BigInt(testRun(vm, { type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, program: vm.load(assemble(text)) }, { dataIn: pkt }).retval));
  };
  const cmp = (text: string): Outcome => {
    // the engines lay the address space out differently (the JIT block): compare faults without the address
    const strip = (o: Outcome): Outcome => ('error' in o ? { ...o, error: o.error.replace(/ at 0x[0-9a-f]+$/, '') } : o);
    const i = strip(run('interp', text)), j = strip(run('jit', text));
    assert.deepEqual(j, i, `jit differs from the interpreter on ${text}`);
    return i;
  };
  const pre = `
    r6 = r1
    r7 = *(u32 *)(r6 + 0)
    r8 = *(u32 *)(r6 + 4)
    r0 = *(u8 *)(r7 + 0)
    r0 = *(u8 *)(r8 - 1)
    r1 = r6`;
  // bpf_ktime_get_ns changes nothing: the old bounds still hold and the reads after it see the packet
  assert.deepEqual(cmp(`${pre}\ncall 5\nr0 = *(u8 *)(r7 + 1)\nr1 = *(u8 *)(r8 - 1)\nr0 += r1\nexit`), { r0: 2n + 64n });
  // adjust_head(+14) shrinks from the front: the old data pointer is now below the packet region
  const head = cmp(`${pre}\nr2 = 14\ncall 44\nr0 = *(u8 *)(r7 + 0)\nexit`);
  assert.equal((head as { code: string }).code, 'EFAULT');
  assert.match((head as { error: string }).error, /^EFAULT: insn 8: invalid memory access: read of 1 bytes$/);
  // ... while the new data (old + 14) still reads
  assert.deepEqual(cmp(`${pre}\nr2 = 14\ncall 44\nr0 = *(u8 *)(r7 + 14)\nexit`), { r0: 15n });
  // adjust_tail(-10) shrinks the end: the old last byte is past the new data_end
  const tail = cmp(`${pre}\nr2 = -10\ncall 65\nr0 = *(u8 *)(r8 - 1)\nexit`);
  assert.equal((tail as { code: string }).code, 'EFAULT');
  assert.match((tail as { error: string }).error, /^EFAULT: insn 8: invalid memory access: read of 1 bytes$/);
  assert.deepEqual(cmp(`${pre}\nr2 = -10\ncall 65\nr0 = *(u8 *)(r8 - 11)\nexit`), { r0: 54n });
  // the caches also survive from one run to the next while the table is unchanged: a shorter packet on the
  // same Vm moves the packet region, and byte 40 of a 32-byte packet must fault on both engines
  const seq = (engine: Engine): Outcome[] => {
    const vm = new Vm({ engine });
    attachEnv(vm, new MapRegistry(vm.space), { clock: new ManualClock(5), prandomSeed: 1 });
    const prog = vm.load(assemble('r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 40)\nexit'));
    return [64, 64, 32, 64].map((n) => {
      const o = outcome(() => BigInt(testRun(vm, { type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, program: prog }, {
        dataIn: Uint8Array.from({ length: n }, (_, i) => i + 1),
      }).retval));
      return 'error' in o ? { ...o, error: o.error.replace(/ at 0x[0-9a-f]+$/, '') } : o;
    });
  };
  const s = seq('interp');
  assert.deepEqual(s[0], { r0: 41n });
  assert.equal((s[2] as { code: string }).code, 'EFAULT');
  assert.deepEqual(seq('jit'), s);
});

test('bpf-to-bpf calls: registers in and out, r6-r9 and r10 restored, own frames, 9th frame E2BIG', () => {
  const sub = [mov64r(0, 1), I(0x0f, 0, 5), mov64(6, 100), mov64(7, 100), mov64(8, 100), mov64(9, 100), I(0x7a, 10, 0, -8, 0x22), EXIT];
  const main = (tail: Insn[]): Insn[] => [
    mov64(6, 1), mov64(7, 2), mov64(8, 3), mov64(9, 4), I(0x7a, 10, 0, -8, 0x11), mov64(1, 40), mov64(5, 2),
    callLocal(tail.length + 1), ...tail, EXIT, ...sub,
  ];
  assert.deepEqual(both(main([])), { r0: 42n });
  assert.deepEqual(both(main([mov64r(0, 6), I(0x0f, 0, 7), I(0x0f, 0, 8), I(0x0f, 0, 9)])), { r0: 10n });
  assert.deepEqual(both(main([I(0x79, 0, 10, -8)])), { r0: 0x11n });
  assert.deepEqual(both([mov64r(6, 10), callLocal(3), I(0x1f, 6, 0), mov64r(0, 6), EXIT, mov64r(0, 10), EXIT]), { r0: 512n });
  // the callee sees the caller's r6-r9 and r0; r1-r5 come back as the callee left them
  assert.deepEqual(both([mov64(6, 5), mov64(0, 9), mov64(3, 1), callLocal(2), I(0x0f, 0, 3), EXIT, I(0x0f, 0, 6), mov64(3, 7), EXIT]), { r0: 21n });
  const rec = (depth: number): Insn[] => [mov64(1, 0), callLocal(1), EXIT, I(0x15, 1, 0, 2, depth), add64(1, 1), callLocal(-3), mov64r(0, 1), EXIT];
  assert.deepEqual(both(rec(6)), { r0: 6n });
  assert.deepEqual(both(rec(7)), { error: 'E2BIG: insn 5: the call stack of 9 frames is too deep (max 8)', code: 'E2BIG', insn: 5 });
  both(rec(1000));
  // a pointer to the caller's frame works in the callee; the callee's own frame is 512 lower
  both([I(0x7a, 10, 0, -8, 77), mov64r(1, 10), callLocal(2), I(0x79, 0, 10, -8), EXIT, I(0x79, 0, 1, -8), I(0x7b, 10, 0, -8), I(0x7a, 1, 0, -8, 5), EXIT]);
  // a call to the program's own entry
  both([I(0x55, 1, 0, 2, 0), mov64(0, 3), EXIT, mov64(1, 0), callLocal(-5), add64(0, 1), EXIT], { r1: 1n });
});

test('helpers: r1-r5 in, r0 out, r1-r5 as the helper left them, halted stops at once, unknown ids, callx, memory growth', () => {
  const setup = (vm: Vm): void => {
    vm.helpers[7] = (v) => { v.lo[0] = (v.lo[1] + v.lo[2] + v.lo[5]) | 0; v.hi[0] = v.hi[3]; };
    vm.helpers[9] = (v) => { v.lo[0] = 42; v.hi[0] = 0; v.halted = true; };
    vm.helpers[10] = (v) => { v.halted = true; }; // halts without touching r0
    vm.helpers[11] = (v) => { v.lo[3] = 77; v.hi[5] = -1; };
    vm.helpers[12] = (v) => { v.space.alloc(8 << 20); v.lo[0] = 0; v.hi[0] = 0; };
  };
  const s = (p: Insn[]): Outcome => both(p, { setup: (vm) => { setup(vm); } });
  assert.deepEqual(s([mov64(1, 1), mov64(2, 2), mov64(5, 3), mov64(3, -1), call(7), EXIT]), { r0: 0xffffffff00000006n });
  assert.deepEqual(s([call(9), mov64(0, 0), EXIT]), { r0: 42n });
  assert.deepEqual(s([mov64(0, 17), call(10), mov64(0, 0), EXIT]), { r0: 17n });
  assert.deepEqual(s([mov64(6, 3), callLocal(2), mov64(0, 0), EXIT, call(9), EXIT]), { r0: 42n }, 'halt from a subprogram');
  assert.deepEqual(s([mov64(1, 5), call(11), mov64r(0, 1), I(0x0f, 0, 3), I(0x0f, 0, 5), EXIT]), { r0: 0xffffffff00000052n });
  assert.deepEqual(s([mov64(0, 0), call(8), EXIT]), { error: 'EINVAL: insn 1: unknown helper id 8', code: 'EINVAL', insn: 1 });
  assert.deepEqual(s([call(-3), EXIT]), { error: 'EINVAL: insn 0: unknown helper id -3', code: 'EINVAL', insn: 0 });
  assert.deepEqual(s([mov64(1, 4), mov64(2, 5), mov64(5, 0), mov64(8, 7), I(0x8d, 8), EXIT]), { r0: 9n });
  s([mov64(8, 3), I(0x8d, 8), EXIT]);
  assert.deepEqual(s([...lddw(8, (1n << 32n) + 7n), I(0x8d, 8), EXIT]), { error: 'EINVAL: insn 2: unknown helper id 4294967303', code: 'EINVAL', insn: 2 });
  assert.deepEqual(s([I(0x7a, 10, 0, -8, 99), call(12), I(0x79, 0, 10, -8), EXIT]), { r0: 99n });
  // helpers see vm.pc = the call's insn
  const vm = new Vm({ engine: 'jit' });
  let seen = -1;
  vm.helpers[1] = (v) => { seen = v.pc; };
  vm.run(vm.load([mov64(0, 0), mov64(0, 0), call(1), EXIT]));
  assert.equal(seen, 2);
});

test('LD_ABS / LD_IND: big-endian, clobber r1-r5, out of bounds ends the program with r0 = 0 (even in a subprogram)', () => {
  const setup = (vm: Vm): void => {
    const pkt = vm.space.alloc(16);
    vm.space.write(pkt, Uint8Array.from([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]));
    vm.setPacket(pkt, 10);
  };
  const s = (p: Insn[]): Outcome => both(p, { setup: (vm) => { setup(vm); } });
  assert.deepEqual(s([I(0x20, 0, 0, 0, 1), EXIT]), { r0: 0x11223344n });
  assert.deepEqual(s([I(0x20, 0, 0, 0, 6), EXIT]), { r0: 0x66778899n });
  assert.deepEqual(s([I(0x28, 0, 0, 0, 8), EXIT]), { r0: 0x8899n });
  assert.deepEqual(s([I(0x30, 0, 0, 0, 8), EXIT]), { r0: 0x88n });
  assert.deepEqual(s([mov64(3, 2), I(0x40, 0, 3, 0, 4), EXIT]), { r0: 0x66778899n });
  assert.deepEqual(s([mov64(3, -1), I(0x48, 0, 3, 0, 2), EXIT]), { r0: 0x1122n });
  assert.deepEqual(s([mov64(1, 7), mov64(5, 7), I(0x30, 0, 0, 0, 0), I(0x0f, 0, 1), I(0x0f, 0, 5), EXIT]), { r0: 0n });
  assert.deepEqual(s([mov64(0, 5), I(0x20, 0, 0, 0, 7), mov64(0, 99), EXIT]), { r0: 0n });
  assert.deepEqual(s([I(0x20, 0, 0, 0, -1), mov64(0, 99), EXIT]), { r0: 0n });
  assert.deepEqual(s([...lddw(3, 0x7fffffffn), I(0x50, 0, 3, 0, 1), mov64(0, 99), EXIT]), { r0: 0n });
  assert.deepEqual(s([callLocal(2), mov64(0, 99), EXIT, I(0x20, 0, 0, 0, 9), EXIT]), { r0: 0n });
});

test('budget: same EINTR at the same insn, same insnCount, same memory effects before it ran out; trace is refused', () => {
  const spin = [mov64(0, 0), add64(0, 1), I(0x55, 0, 0, -2, 0), EXIT];
  for (const b of [1, 2, 3, 4, 5, 1000, 1001]) both(spin, { budget: b });
  const three = [mov64(0, 1), mov64(1, 2), EXIT];
  for (const b of [1, 2, 3, 4]) both(three, { budget: b });
  // stores interleaved with ALU: whatever budget, the buffer holds what the interpreter wrote
  const prog = [mov64(2, 1), I(0x7b, 10, 2, -8), add64(2, 1), add64(2, 1), I(0x7b, 10, 2, -16), add64(2, 1), I(0x7b, 10, 2, -24), EXIT];
  for (let b = 1; b <= 9; b++) {
    const snaps: string[] = [];
    for (const engine of ['interp', 'jit'] as Engine[]) {
      const vm = new Vm({ engine, budget: b });
      const o = outcome(() => vm.run(vm.load(prog)));
      snaps.push(JSON.stringify({ o: String('r0' in o ? o.r0 : o.error), count: vm.insnCount, mem: [...vm.space.read(vm.stackTop() - 24, 24)] }));
    }
    assert.equal(snaps[1], snaps[0], `budget ${b}`);
  }
  // budgets inside subprograms and through helper calls
  for (let b = 1; b <= 12; b++) {
    both([mov64(1, 1), callLocal(3), add64(0, 1), I(0x0f, 0, 6), EXIT, mov64r(0, 1), mov64(6, 5), call(1), add64(0, 2), EXIT],
      { budget: b, setup: (vm) => { vm.helpers[1] = (v) => { v.lo[0] = (v.lo[0] + 1) | 0; }; } });
  }
  const vm = new Vm({ engine: 'jit' });
  const p = vm.load(three);
  vm.trace = () => undefined;
  assert.throws(() => vm.run(p), (e: unknown) => e instanceof BpfError && e.code === 'EOPNOTSUPP' && /trace needs the interpreter engine/.test(e.message));
  vm.trace = undefined;
  vm.budget = 2;
  assert.throws(() => vm.run(p), /EINTR: instruction budget of 2 exhausted at insn 2/);
  vm.budget = undefined;
  assert.equal(vm.run(p), 1n);
});

test('unchecked programs: the same run-time traps as the interpreter', () => {
  const progs: Insn[][] = [
    [mov64(0, 0), I(0xff), EXIT],
    [mov64(0, 0), I(0xb7, 11, 0, 0, 1), EXIT],
    [mov64(0, 0), I(0x05, 0, 0, 5), EXIT],
    [mov64(0, 0), I(0x15, 0, 0, -3, 0), EXIT],
    [mov64(0, 0), callLocal(3), EXIT],
    [mov64(0, 0)],
    [I(0x05, 0, 0, 1), ...lddw(0, 1n), EXIT],
    [mov64(0, 0), I(0x18, 0, 0, 0, 1)],
    [I(0x85, 0, 2, 0, 1), EXIT],
    [mov64(0, 3), EXIT, I(0xff)],
    [mov64(0, 3), I(0xc3, 10, 0, -8, 0x33), EXIT],
    // a subprogram jumping into the main program's code, and main falling into a subprogram
    [mov64(0, 1), callLocal(2), EXIT, mov64(0, 7), I(0x05, 0, 0, -3)],
    [mov64(0, 1), callLocal(1), add64(0, 2), EXIT],
    // writes to r10, then a call: r10 comes back as the frame pointer
    [mov64(10, 5), callLocal(2), mov64r(0, 10), EXIT, EXIT],
    [I(0x07, 10, 0, 0, -8), I(0x7a, 10, 0, 0, 3), I(0x79, 0, 10, 0), EXIT],
  ];
  for (const p of progs) both(p, { unchecked: true });
});

test('irreducible control flow (two entries into one loop) runs through the dispatch loop', () => {
  // if r1 & 1 goto B; A: r0 += 1; if r0 > 20 goto out; B: r0 += 2; if r0 > 20 goto out; goto A
  const prog = [mov64(0, 0), I(0x45, 1, 0, 2, 1), add64(0, 1), I(0x25, 0, 0, 3, 20), add64(0, 2), I(0x25, 0, 0, 1, 20), I(0x05, 0, 0, -5), EXIT];
  assert.deepEqual(both(prog, { r1: 0n }), { r0: 21n });
  assert.deepEqual(both(prog, { r1: 1n }), { r0: 21n });
  both(prog, { r1: 1n, budget: 17 });
});

test('random unchecked programs: the JIT agrees with the interpreter on r0 or the error', () => {
  let state = 0x1234567;
  const next = (): number => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return state >>> 0; };
  const setup = (vm: Vm): bigint => {
    const pkt = vm.space.alloc(64);
    vm.space.mapRegion(pkt, 64, PERM_RW);
    vm.setPacket(pkt, 64);
    vm.helpers[1] = (v) => { v.lo[0] = v.lo[1]; v.hi[0] = 0; };
    return BigInt(pkt);
  };
  let errors = 0;
  for (let iter = 0; iter < 1500; iter++) {
    const prog = randomUncheckedSlots(next);
    prog.push(EXIT);
    const o = both(prog, { setup, r2: 64n, unchecked: true, budget: 2000 });
    if ('error' in o) errors++;
  }
  assert.ok(errors > 100 && errors < 1400, `both outcomes exercised (${errors} errors)`);
});

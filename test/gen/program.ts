// Random valid eBPF programs for differential testing of the engines (interpreter vs JIT). Each program runs
// in the case environment (test/gen/env.ts: r1 = a buffer, r2 = its length, the buffer is also the LD_ABS
// packet, helper 5 = unwind) so that a mismatch can be saved as a case file. Covered: every ALU/ALU64 operation
// in K and X forms (signed div/mod, movsx, le/be/bswap), every JMP/JMP32 condition, ja/gotol, lddw, loads
// (incl. sign-extending) and stores of every size on the stack and the buffer (rarely out of bounds), all
// atomics, LD_ABS/LD_IND, helper calls and callx, bounded loops, and local calls to subprograms (a DAG, so no
// recursion; a rare deep chain hits the 8-frame limit). With `tail`, also bpf_tail_call (helper 12, or callx)
// through a given prog array with a random index (sometimes out of range), from the program and from its
// subprograms, with r1 = the buffer as ctx.
//
// Register conventions (so that programs stay meaningful): r9 = the buffer (never written), r8 = loop
// counter (written only by loop headers/latches), r10 = frame pointer; random destinations are r0..r7.

import { insn, lddw, type Insn } from '../../src/isa/insn.js';

/** xorshift32: small, seedable, deterministic. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = (seed | 0) || 0x9e3779b9; }
  next(): number { let s = this.s; s ^= s << 13; s ^= s >>> 17; s ^= s << 5; this.s = s; return s >>> 0; }
  int(n: number): number { return this.next() % n; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  chance(p: number): boolean { return this.next() / 4294967296 < p; }
  /** A 32-bit immediate biased toward edges. */
  imm(): number {
    return this.pick([0, 1, -1, 2, 7, 8, 16, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, -0x80000000, -7, this.next() | 0, this.next() | 0]);
  }
  /** A 64-bit value biased toward edges. */
  big(): bigint {
    const edges = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 0xffffffffn, 0x80000000n, 0x100000000n];
    if (this.chance(0.3)) return this.pick(edges);
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

export interface GenProgram {
  insns: Insn[];
  mem: Uint8Array;
  budget: number;
}

export const BUF_LEN = 64;

const ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0];
const JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const ATOMIC_OPS = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];

/**
 * A function body under construction: slots plus forward jumps to patch. Labels are slot indices; a jump's
 * offset is fixed when its target is placed.
 */
class Body {
  readonly out: Insn[] = [];
  /** Pending forward jumps: slot of the jump and the label it waits for. */
  private readonly fixups: { at: number; label: number; long: boolean }[] = [];
  private nextLabel = 0;
  /** Labels placed: slot index. */
  private readonly placed = new Map<number, number>();
  /** Calls to patch: slot and the subprogram index they call. */
  readonly calls: { at: number; fn: number }[] = [];

  label(): number { return this.nextLabel++; }
  place(l: number): void { this.placed.set(l, this.out.length); }
  emit(...xs: Insn[]): void { this.out.push(...xs); }
  jump(code: number, dst: number, src: number, imm: number, l: number): void {
    this.fixups.push({ at: this.out.length, label: l, long: code === 0x06 });
    this.out.push(insn(code, dst, src, 0, imm));
  }
  finish(): Insn[] {
    for (const f of this.fixups) {
      const t = this.placed.get(f.label)!;
      const rel = t - f.at - 1;
      const j = this.out[f.at];
      this.out[f.at] = f.long ? insn(j.code, j.dst, j.src, 0, rel) : insn(j.code, j.dst, j.src, rel, j.imm);
    }
    return this.out;
  }
}

function reg(r: Rng): number { return r.int(8); } // r0..r7

function alu(r: Rng, b: Body): void {
  const cls = r.chance(0.5) ? 0x07 : 0x04;
  const op = r.pick(ALU_OPS);
  const d = reg(r);
  if (op === 0x80) { b.emit(insn(cls | op, d)); return; }
  if (r.chance(0.08)) { // byte swaps
    const code = r.pick([0xd4, 0xdc, 0xd7]);
    b.emit(insn(code, d, 0, 0, r.pick([16, 32, 64])));
    return;
  }
  let off = 0;
  if (op === 0x30 || op === 0x90) off = r.int(2);
  const x = r.chance(0.5);
  if (op === 0xb0 && x && r.chance(0.4)) off = r.pick(cls === 0x07 ? [8, 16, 32] : [8, 16]);
  // shifts by registers and immediates: immediates stay in range as the verifier demands
  let k = r.imm();
  if ((op === 0x60 || op === 0x70 || op === 0xc0) && !x) k = r.int(cls === 0x07 ? 64 : 32);
  if (x) b.emit(insn(cls | 0x08 | op, d, r.int(10), off));
  else b.emit(insn(cls | op, d, 0, off, k));
}

function memop(r: Rng, b: Body): void {
  const size = r.pick([1, 2, 4, 8]);
  const sz = size === 4 ? 0x00 : size === 2 ? 0x08 : size === 1 ? 0x10 : 0x18;
  const onStack = r.chance(0.5);
  const base = onStack ? 10 : 9;
  let off: number;
  if (r.chance(0.02)) off = onStack ? r.pick([0, -513 - r.int(8), -4096 - 8]) : r.pick([BUF_LEN - size + 1, -1, BUF_LEN]);
  else off = onStack ? -8 * (1 + r.int(8)) + r.int(8 - size + 1) : r.int(BUF_LEN - size + 1);
  const kind = r.int(4);
  if (kind === 0) {
    const sx = size !== 8 && r.chance(0.3);
    b.emit(insn((sx ? 0x81 : 0x61) | sz, reg(r), base, off));
  } else if (kind === 1) b.emit(insn(0x62 | sz, base, 0, off, r.imm()));
  else if (kind === 2) b.emit(insn(0x63 | sz, base, r.int(10), off));
  else {
    const w = r.chance(0.5) ? 8 : 4;
    const aoff = onStack ? -8 * (1 + r.int(8)) : w * r.int(BUF_LEN / w);
    const op = r.pick(ATOMIC_OPS);
    // cmpxchg writes r0, fetch ops write src: keep r8, r9 out of it
    b.emit(insn(w === 8 ? 0xdb : 0xc3, base, reg(r), aoff, op));
  }
}

function cond(r: Rng, b: Body, l: number): void {
  const cls = r.chance(0.5) ? 0x05 : 0x06;
  const op = r.pick(JMP_OPS);
  const d = r.int(10);
  if (r.chance(0.5)) b.jump(cls | 0x08 | op, d, r.int(11), 0, l);
  else b.jump(cls | op, d, 0, r.imm(), l);
}

/** A prog array the generated code tail-calls through: its handle and size. */
export interface TailOpts { handle: number; slots: number }

interface Ctx { fn: number; nfns: number; depth: number; tail?: TailOpts }

/** A random straight-line-or-branching region of about n instructions (recursive for loops/branches). */
function region(r: Rng, b: Body, n: number, c: Ctx, inLoop: boolean): void {
  for (let i = 0; i < n; i++) {
    const w = r.int(100);
    if (w < 40) alu(r, b);
    else if (w < 60) memop(r, b);
    else if (w < 70 && n - i > 2) { // forward conditional branch over a sub-region
      const l = b.label();
      cond(r, b, l);
      const m = 1 + r.int(Math.min(4, n - i));
      region(r, b, m, c, inLoop);
      i += m;
      b.place(l);
    } else if (w < 73 && n - i > 3) { // if/else with ja
      const le = b.label(), lend = b.label();
      cond(r, b, le);
      region(r, b, 1 + r.int(2), c, inLoop);
      if (r.chance(0.5)) b.jump(0x05, 0, 0, 0, lend); else b.jump(0x06, 0, 0, 0, lend);
      b.place(le);
      region(r, b, 1 + r.int(2), c, inLoop);
      b.place(lend);
      i += 4;
    } else if (w < 77 && !inLoop && n - i > 3) { // bounded loop on r8
      const head = b.label();
      b.emit(insn(0xb7, 8, 0, 0, 1 + r.int(4)));
      b.place(head);
      const at = b.out.length;
      const m = 1 + r.int(Math.min(5, n - i));
      region(r, b, m, c, true);
      b.emit(insn(0x07, 8, 0, 0, -1));
      b.out.push(insn(0x55, 8, 0, at - b.out.length - 1, 0)); // jne r8, 0, head
      i += m + 2;
    } else if (w < 80) b.emit(...lddw(reg(r), r.big()));
    else if (w < 84) { // helper 5 (unwind): halts when r1 == 0
      if (r.chance(0.1)) b.emit(insn(0xb7, 1, 0, 0, 0));
      if (r.chance(0.2)) b.emit(insn(0xb7, 6, 0, 0, 5), insn(0x8d, 6)); else b.emit(insn(0x85, 0, 0, 0, 5));
    } else if (w < 87) { // LD_ABS / LD_IND on the buffer as packet
      const code = r.pick([0x20, 0x28, 0x30, 0x40, 0x48, 0x50]);
      const k = r.chance(0.05) ? BUF_LEN - 1 : r.int(BUF_LEN - 4);
      if ((code & 0x40) !== 0) {
        const s = reg(r);
        if (r.chance(0.8)) b.emit(insn(0xb7, s, 0, 0, r.int(BUF_LEN) - 4));
        b.emit(insn(code, 0, s, 0, r.int(8) - 2));
      } else b.emit(insn(code, 0, 0, 0, k));
    } else if (w < 92 && c.fn + 1 < c.nfns) { // call a later subprogram (patched in finish)
      b.calls.push({ at: b.out.length, fn: c.fn + 1 + r.int(c.nfns - c.fn - 1) });
      b.emit(insn(0x85, 0, 1, 0, 0));
    } else if (c.tail !== undefined && w >= 92 && w < 96) { // bpf_tail_call(ctx = buffer, array, index)
      b.emit(insn(0xbf, 1, 9), ...lddw(2, BigInt(c.tail.handle)), insn(0xb7, 3, 0, 0, r.int(c.tail.slots + 2)));
      if (r.chance(0.2)) b.emit(insn(0xb7, 6, 0, 0, 12), insn(0x8d, 6)); else b.emit(insn(0x85, 0, 0, 0, 12));
    } else alu(r, b);
  }
}

/** One random valid program with its input buffer. */
export function generate(seed: number, size = 40, tail?: TailOpts): GenProgram {
  const r = new Rng(seed);
  const nfns = 1 + r.int(4);
  const bodies: Body[] = [];
  for (let f = 0; f < nfns; f++) {
    const b = new Body();
    if (f === 0) {
      b.emit(insn(0xbf, 9, 1)); // r9 = buffer
      for (let k = 0; k <= 8; k++) if (k !== 1 && r.chance(0.7)) b.emit(...lddw(k, r.big()));
    }
    region(r, b, f === 0 ? size : 3 + r.int(size / 2), { fn: f, nfns, depth: 0, tail }, false);
    // fold some state into r0 before the exit
    for (let k = 1; k <= 8; k++) if (r.chance(0.3)) b.emit(insn(r.pick([0x0f, 0xaf, 0x1f]), 0, k));
    b.emit(insn(0x95));
    bodies.push(b);
  }
  const mem = new Uint8Array(BUF_LEN);
  for (let i = 0; i < BUF_LEN; i++) mem[i] = r.int(256);
  return { insns: link(bodies), mem, budget: 100000 };
}

/** Lay out main then each subprogram, and patch the local calls. */
function link(bodies: Body[]): Insn[] {
  const starts: number[] = [];
  const insns: Insn[] = [];
  const finished = bodies.map((b) => b.finish());
  for (const f of finished) { starts.push(insns.length); for (const x of f) insns.push(x); }
  bodies.forEach((b, f) => {
    for (const c of b.calls) {
      const at = starts[f] + c.at;
      insns[at] = insn(0x85, 0, 1, 0, starts[c.fn] - at - 1);
    }
  });
  return insns;
}

/**
 * A large program for compile-time measurements: main calls `nfns` subprograms in turn, each a random
 * region of about `perFn` instructions (no further calls).
 */
export function generateLarge(seed: number, nfns: number, perFn: number): GenProgram {
  const r = new Rng(seed);
  const main = new Body();
  main.emit(insn(0xbf, 9, 1));
  for (let f = 1; f <= nfns; f++) { main.calls.push({ at: main.out.length, fn: f }); main.emit(insn(0x85, 0, 1, 0, 0)); }
  main.emit(insn(0x95));
  const bodies = [main];
  for (let f = 1; f <= nfns; f++) {
    const b = new Body();
    region(r, b, perFn, { fn: nfns, nfns: nfns + 1, depth: 0 }, false);
    b.emit(insn(0x95));
    bodies.push(b);
  }
  const mem = new Uint8Array(BUF_LEN);
  for (let i = 0; i < BUF_LEN; i++) mem[i] = r.int(256);
  return { insns: link(bodies), mem, budget: 100000 };
}

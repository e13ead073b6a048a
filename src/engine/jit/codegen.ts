// eBPF -> WebAssembly code generation: one wasm function per entry of the Cfg (cfg.ts), eBPF registers as
// i64 locals, control flow rebuilt as structured wasm (a stackifier over the dominator tree for reducible
// functions, after Ramsey's "Beyond Relooper"; a br_table dispatch loop for irreducible ones), memory
// accesses checked against a cached region with a slow-path import on a miss, helpers called through one
// import with r0-r5 spilled to the register scratch, and the budget counted per segment. Semantics match
// engine/interp.ts instruction for instruction, errors included (they are raised by the imports that
// runtime.ts provides, with the interpreter's messages).
//
// Signatures: the program's entry is `(r0..r10 i64, depth i32, tail_call_count i32) -> (r0..r5 i64,
// tail_call_count i32)` - one type (MAIN_PARAMS/MAIN_RESULTS) for every program, so that a tail call is a
// `return_call_indirect` through the Jit's shared table (runtime.ts) that hands every register to the
// target, as the interpreter does; a subprogram is `(its input registers..., depth i32, base i32, tail_call_count
// i32) -> (its output registers..., tail_call_count i32)` (cfg.ts computes both register sets). `depth` is
// the absolute frame depth (r10 = frame top of it), `base` the depth of the program's main frame (a program
// may nest 8 frames below it). The counter travels as a parameter and comes back as a result, so bpf-to-bpf
// calls share it. A tail call made from the main function replaces that function (the native stack does
// not grow); one made from a subprogram is a call_indirect whose r0 returns to the subprogram's caller.
//
// Tail calls: when the map argument is a constant (an lddw into r2 earlier in the block) naming a prog
// array, the kernel's checks are emitted inline against the Jit's per-array table of program numbers
// (table index = number * 4 + variant); otherwise, or when the runtime asks for notes (JB_SLOW), the helper
// import runs bpf_tail_call and returns the target's number. Chain calls ("native" model): when the Jit
// knows the program's chain slots at compile time, its exit at depth 0 hops to the successor with a
// return_call_indirect at a constant index (the Jit recompiles the program when its chain changes).

import { Code, I32, I64, ModuleBuilder, Op } from './wasm.js';
import {
  K_ALU, K_ATOMIC, K_CALL, K_CALLX, K_EXIT, K_JA, K_JCOND, K_LDABS, K_LDDW, K_LDX, K_ST, K_STX, KIND, TAIL_CALL_ID,
  callTarget, insnLen, regUse, sizeOf, type Cfg, type Func,
} from './cfg.js';


// Layout of the JIT block (an allocation in the address space that no region maps, so programs cannot
// reach it): register scratch for helper calls, the region caches, the budget counter, the packet.
export const JB_REGS = 0;
/**
 * Region caches: [start, end) as i64 pairs for read (1), write (2), read-write (3), two entries each (the
 * most recent first), so that a parser alternating between the packet and ctx or a map value does not
 * send every other access to the slow path. Entry 0 at JB_CACHE, entry 1 at JB_CACHE2.
 */
export const JB_CACHE = 96;
export const JB_LEFT = 144;
export const JB_PKT_ADDR = 152;
export const JB_PKT_LEN = 156;
/** Number of the last program entered by a tail call or chain hop (0: none yet); the stubs read it too. */
export const JB_TCNUM = 160;
/** Tail-call counter when the run returned. */
export const JB_TCC = 164;
/** Non-zero: tail calls go through the helper import (the runtime wants its bookkeeping), chains do not hop. */
export const JB_SLOW = 168;
/** Non-zero: a program's exit at depth 0 follows its chain slots. */
export const JB_CHAIN = 172;
/** ctx of the run (r1 of a chain hop). */
export const JB_CTX = 176;
/** CPU of the run (per-CPU array lookups). */
export const JB_CPU = 180;
export const JB_CACHE2 = 192;
export const JB_SIZE = 240;

/** The entry type every program shares: r0..r10, depth, tail-call count -> r0..r5, tail-call count. */
export const MAIN_PARAMS = [I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I32, I32];
export const MAIN_RESULTS = [I64, I64, I64, I64, I64, I64, I32];
/** MAX_TAIL_CALL_CNT */
const TC_MAX = 33;
/** Frames of one program (MAX_CALL_FRAMES) and of a run (vm.ts MAX_RUN_FRAMES). */
const FRAMES = 8, RUN_FRAMES = 8 + 33 * 7;
export const cacheOffset = (perm: number, entry = 0): number => (entry === 0 ? JB_CACHE : JB_CACHE2) + (perm - 1) * 16;

// Imports (function indices).
export const IMP_HELPER = 0, IMP_MEMSLOW = 1, IMP_TRAP = 2, IMP_FRAMETOP = 3;
// Trap kinds passed to IMP_TRAP(kind, pc, a, b); every one throws.
export const TRAP_INSN = 0, TRAP_JUMPOUT = 1, TRAP_CALLX = 2, TRAP_KFUNC = 3, TRAP_E2BIG = 4, TRAP_ATOMIC = 5,
  TRAP_LDABS = 6, TRAP_BUDGET = 7;

export interface CodegenOptions {
  /** Address of the JIT block. */
  jb: number;
  /** r10 of the main frame. */
  top: number;
  /** Count instructions against the budget at JB_LEFT. */
  budget: boolean;
  /**
   * Compact memory checks: a call to a small checker function per access instead of the inline compare
   * (about 10 bytes instead of 45), so that very large functions stay under V8's 7.65 MB function-body limit.
   */
  compact?: boolean;
  /** Variant key of this compilation (bit 0 budget, bit 1 r10 fast path): table index = number * 4 + key. */
  key: number;
  /** This program's number in the Jit's table (0: none yet, it is only run directly). */
  self: number;
  /** A prog array named by its handle: the address of its table of program numbers and its size, or null. */
  progArray: (handle: number) => { numbers: number; maxEntries: number } | null;
  /** An array map named by its handle, for an inline lookup (per-CPU: elemSize > 0), or null. */
  arrayMap: (handle: number) => { values: number; stride: number; maxEntries: number; percpu: boolean; elemSize: number } | null;
  /** Program numbers in the chain slots at compile time (slot 0 wildcard, slot r0 + 1 exact), or null. */
  chain: Int32Array | null;
  /**
   * Entries of chain successors (by number) compiled in this variant: their hops are direct `return_call`s
   * to the imported function (the Jit recompiles this program when one of them is recompiled). Successors
   * not here (one being compiled, in a cycle) are reached through the table.
   */
  chainFuncs: Map<number, WebAssembly.ExportValue>;
  /** Does helper 1 run the standard bpf_map_lookup_elem (then array lookups are emitted inline)? */
  inlineLookup: boolean;
  /**
   * Functions of more slots than this are split into regions of about this many slots, each its own wasm
   * function, driven by a dispatch loop (V8 refuses function bodies over 7,654,321 bytes).
   */
  splitAbove: number;
}

/** Region functions: r0..r10, depth, base, count, label -> label, r0..r10, count. */
const REGION_PARAMS = [...MAIN_PARAMS.slice(0, 11), I32, I32, I32, I32];
const REGION_RESULTS = [I32, ...MAIN_PARAMS.slice(0, 11), I32];
/** Region exits: -1 = the function exits; <= -2: tail call to program -2 - label (count already bumped). */
const EXIT_LABEL = -1;

const R = 1, W = 2, RW = 3;

// Opcode tables, indexed by ALU op >> 4 (0 = no single wasm instruction) and by load/store size bits.
const ALU64_OP = new Uint8Array(16), ALU32_OP = new Uint8Array(16);
for (const [op, w64, w32] of [[0x00, Op.i64_add, Op.i32_add], [0x10, Op.i64_sub, Op.i32_sub], [0x20, Op.i64_mul, Op.i32_mul],
  [0x40, Op.i64_or, Op.i32_or], [0x50, Op.i64_and, Op.i32_and], [0x60, Op.i64_shl, Op.i32_shl], [0x70, Op.i64_shr_u, Op.i32_shr_u],
  [0xa0, Op.i64_xor, Op.i32_xor], [0xc0, Op.i64_shr_s, Op.i32_shr_s]]) { ALU64_OP[op >> 4] = w64; ALU32_OP[op >> 4] = w32; }
const LDX_OP = [Op.i64_load32_u, Op.i64_load16_u, Op.i64_load8_u, Op.i64_load];
const LDSX_OP = [Op.i64_load32_s, Op.i64_load16_s, Op.i64_load8_s, Op.i64_load];
const ST_OP = [Op.i32_store, Op.i32_store16, Op.i32_store8, Op.i64_store];
const STX_OP = [Op.i64_store32, Op.i64_store16, Op.i64_store8, Op.i64_store];

/** Compile the program described by `cfg` into a module exporting `run(r1lo, r1hi, r2lo, r2hi) -> r0lo`. */
export function compileModule(cfg: Cfg, o: CodegenOptions): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importTable = true;
  mb.importFunc('env', 'helper', [I32, I32, I32, I32], [I32]);
  mb.importFunc('env', 'memslow', [I32, I32, I32, I32, I32, I32], []);
  mb.importFunc('env', 'trap', [I32, I32, I32, I32], []);
  mb.importFunc('env', 'frametop', [I32], [I32]);
  const direct = new Map<number, number>();
  for (const n of o.chainFuncs.keys()) direct.set(n, mb.importFunc('env', `c${n}`, MAIN_PARAMS, MAIN_RESULTS));

  const called = new Set<number>();
  for (const f of cfg.funcs.values()) for (const c of f.callees) called.add(c);
  const mainIdx = mb.declareFunc(MAIN_PARAMS, MAIN_RESULTS);
  const mainType = mb.type(MAIN_PARAMS, MAIN_RESULTS);
  const subIdx = new Map<number, number>();
  for (const e of [...called].sort((a, b) => a - b)) {
    const f = cfg.funcs.get(e)!;
    subIdx.set(e, mb.declareFunc([...f.params.map(() => I64), I32, I32, I32], [...f.results.map(() => I64), I32]));
  }
  const runIdx = mb.declareFunc([I32, I32, I32, I32, I32, I32, I32, I32, I32], [I32]);
  // Checkers for compact mode: (base i64, off i32, pc i32) -> address i32, one per permission and size.
  const checkers = new Map<number, number>();
  if (o.compact) {
    for (const perm of [R, W, RW]) {
      for (const size of [1, 2, 4, 8]) {
        const idx = mb.declareFunc([I64, I32, I32], [I32]);
        checkers.set(perm * 16 + size, idx);
        const k = new Code(64), at = o.jb + cacheOffset(perm), at2 = o.jb + cacheOffset(perm, 1);
        k.get(0).get(1).op(Op.i64_extend_i32_s).op(Op.i64_add).tee(3).i32(0).mem(Op.i64_load, at).op(Op.i64_lt_s);
        k.get(3).i64(size).op(Op.i64_add).i32(0).mem(Op.i64_load, at + 8).op(Op.i64_gt_s).op(Op.i32_or).if_();
        k.get(3).i32(0).mem(Op.i64_load, at2).op(Op.i64_lt_s);
        k.get(3).i64(size).op(Op.i64_add).i32(0).mem(Op.i64_load, at2 + 8).op(Op.i64_gt_s).op(Op.i32_or).if_();
        k.get(2).get(0).op(Op.i32_wrap_i64).get(0).i64(32).op(Op.i64_shr_u).op(Op.i32_wrap_i64).get(1).i32(size).i32(perm).call(IMP_MEMSLOW);
        k.end().end().get(3).op(Op.i32_wrap_i64).end();
        mb.setFunc(idx, [I64], k);
      }
    }
  }

  const gen = (f: Func, isMain: boolean, idx: number): void => {
    let slots = 0;
    for (let i = 0; i < f.blocks.length; i++) slots += cfg.bEnd[f.blocks[i]] - cfg.bStart[f.blocks[i]];
    const g = new FnGen(cfg, f, isMain ? M_MAIN : M_SUB, o, subIdx, checkers, mainType);
    g.direct = direct; g.mainIdx = mainIdx;
    if (slots <= o.splitAbove) { mb.setFunc(idx, g.locals, g.emit()); return; }
    // Regions: contiguous runs of blocks in reverse postorder of about splitAbove slots each.
    const starts: number[] = [];
    let acc = o.splitAbove, blocks = 0;
    for (let i = 0; i < f.blocks.length; i++) {
      const len = cfg.bEnd[f.blocks[i]] - cfg.bStart[f.blocks[i]];
      // a region's br_table stays under V8's 65,520 entries
      if ((acc + len > o.splitAbove && acc > 0) || blocks >= 30_000) { starts.push(i); acc = 0; blocks = 0; }
      acc += len; blocks++;
    }
    starts.push(f.blocks.length);
    const regions: number[] = [];
    for (let k = 0; k + 1 < starts.length; k++) regions.push(mb.declareFunc(REGION_PARAMS, REGION_RESULTS));
    mb.setFunc(idx, g.locals, g.emitDispatcher(starts, regions, mb.type(REGION_PARAMS, REGION_RESULTS)));
    for (let k = 0; k + 1 < starts.length; k++) {
      const r = new FnGen(cfg, f, M_REGION, o, subIdx, checkers, mainType);
      mb.setFunc(regions[k], r.locals, r.emitRegion(starts[k], starts[k + 1]));
    }
  };
  gen(cfg.funcs.get(0)!, true, mainIdx);
  for (const [e, idx] of subIdx) gen(cfg.funcs.get(e)!, false, idx);

  // run(r1lo, r1hi, r2lo, r2hi, tail_call_count, flags, packet address, packet length, cpu) -> r0lo: sets
  // up the JIT block for the run (stores from wasm cost less than typed-array writes from JS), calls the
  // entry, leaves r0 at JB_REGS and the final count at JB_TCC. flags: bit 0 JB_SLOW, bit 1 JB_CHAIN, bit 2
  // keep the region caches (the runtime knows the region table did not change since they were filled).
  const c = new Code(64);
  c.get(5).i32(4).op(Op.i32_and).op(Op.i32_eqz).if_();
  for (let perm = 1; perm <= 3; perm++) {
    for (let e = 0; e < 2; e++) c.i32(0).i64(1).mem(Op.i64_store, o.jb + cacheOffset(perm, e)).i32(0).i64(0).mem(Op.i64_store, o.jb + cacheOffset(perm, e) + 8);
  }
  c.end();
  c.i32(0).i32(0).mem(Op.i32_store, o.jb + JB_TCNUM);
  c.i32(0).get(0).mem(Op.i32_store, o.jb + JB_CTX);
  c.i32(0).get(5).i32(1).op(Op.i32_and).mem(Op.i32_store, o.jb + JB_SLOW);
  c.i32(0).get(5).i32(1).op(Op.i32_shr_u).i32(1).op(Op.i32_and).mem(Op.i32_store, o.jb + JB_CHAIN);
  c.i32(0).get(6).mem(Op.i32_store, o.jb + JB_PKT_ADDR);
  c.i32(0).get(7).mem(Op.i32_store, o.jb + JB_PKT_LEN);
  c.i32(0).get(8).mem(Op.i32_store, o.jb + JB_CPU);
  const half = (lo: number, hi: number): void => {
    c.get(lo).op(Op.i64_extend_i32_u).get(hi).op(Op.i64_extend_i32_u).i64(32).op(Op.i64_shl).op(Op.i64_or);
  };
  c.i64(0); half(0, 1); half(2, 3);
  for (let r = 3; r <= 9; r++) c.i64(0);
  c.i64(o.top, 0).i32(0).get(4).call(mainIdx);
  c.set(9); // count
  for (let r = 5; r >= 1; r--) c.op(Op.drop);
  c.set(10);
  c.i32(0).get(10).mem(Op.i64_store, o.jb + JB_REGS);
  c.i32(0).get(9).mem(Op.i32_store, o.jb + JB_TCC);
  c.get(10).op(Op.i32_wrap_i64).end();
  mb.setFunc(runIdx, [I32, I64], c);
  mb.export('run', runIdx);
  mb.export('main', mainIdx);
  return mb.encode();
}

/** What a FnGen emits: a program's main function, a subprogram, or one region of a split function. */
const M_MAIN = 0, M_SUB = 1, M_REGION = 2;

// Stackifier tasks.
const T_TREE = 0, T_WITHIN = 1, T_END = 2, T_BRANCH = 3, T_ELSE = 4;

class FnGen {
  readonly c = new Code(4096);
  /** Local index of each register r0..r10. */
  readonly reg = new Int32Array(11);
  /** Types of the declared (non-parameter) locals. */
  readonly locals: number[] = [];
  private depthL = -1;
  /** Depth of the program's main frame (= depthL in the main function). */
  private baseL = -1;
  private readonly tccL: number;
  private readonly hr: number;
  private readonly ea: number;
  private readonly t1: number;
  private readonly a32: number;
  private readonly b32: number;
  private readonly label: number;
  private nextLocal = 0;

  private readonly isMain: boolean;
  private readonly isRegion: boolean;
  /** Function indices of directly called chain successors, and of this program's entry. */
  direct = new Map<number, number>();
  mainIdx = -1;

  constructor(private readonly cfg: Cfg, private readonly f: Func, mode: number,
    private readonly o: CodegenOptions, private readonly subIdx: Map<number, number>,
    private readonly checkers: Map<number, number>, private readonly mainType: number) {
    this.reg.fill(-1);
    this.isMain = mode === M_MAIN;
    this.isRegion = mode === M_REGION;
    if (mode === M_REGION) {
      for (let r = 0; r <= 10; r++) this.reg[r] = r;
      this.depthL = 11; this.baseL = 12; this.tccL = 13;
      this.nextLocal = 15; // param 14: the label to start at
    } else if (mode === M_MAIN) {
      for (let r = 0; r <= 10; r++) this.reg[r] = r;
      this.depthL = this.baseL = 11;
      this.tccL = 12;
      this.nextLocal = 13;
    } else {
      f.params.forEach((r, i) => { this.reg[r] = i; });
      this.nextLocal = f.params.length;
      this.depthL = this.nextLocal++;
      this.baseL = this.nextLocal++;
      this.tccL = this.nextLocal++;
    }
    for (let r = 0; r <= 10; r++) if (this.reg[r] < 0) this.reg[r] = this.local(I64);
    this.hr = this.local(I32);
    this.ea = this.local(I64); this.t1 = this.local(I64);
    this.a32 = this.local(I32); this.b32 = this.local(I32);
    this.label = this.isRegion ? 14 : this.local(I32);
  }

  private local(t: number): number {
    this.locals.push(t);
    return this.nextLocal++;
  }

  emit(): Code {
    const c = this.c;
    this.prologue();
    if (this.f.reducible) this.structured(); else this.dispatch();
    c.op(Op.unreachable).end();
    return c;
  }

  /**
   * A split function: a loop that calls the region holding the current label (a br_table over all labels)
   * until a region reports an exit or a tail call.
   */
  emitDispatcher(starts: number[], regions: number[], regionType: number): Code {
    const c = this.c, R = regions.length;
    this.prologue();
    void regionType;
    c.block().loop();
    c.get(this.label).i32(0).op(Op.i32_lt_s).brIf(1);
    for (let k = 0; k < R; k++) c.block();
    // region of the label: the number of region starts at or below it
    c.i32(0);
    for (let k = 1; k < R; k++) c.get(this.label).i32(starts[k]).op(Op.i32_ge_s).op(Op.i32_add);
    c.op(Op.br_table).u32(R - 1);
    for (let k = 0; k < R - 1; k++) c.u32(k);
    c.u32(R - 1);
    for (let k = 0; k < R; k++) {
      c.end();
      for (let r = 0; r <= 10; r++) c.get(this.reg[r]);
      c.get(this.depthL).get(this.baseL).get(this.tccL).get(this.label).call(regions[k]);
      c.set(this.tccL);
      for (let r = 10; r >= 0; r--) c.set(this.reg[r]);
      c.set(this.label);
      c.br(R - 1 - k); // the loop
    }
    c.end().end();
    c.get(this.label).i32(EXIT_LABEL).op(Op.i32_eq).if_();
    this.ret();
    c.end();
    c.i32(-2).get(this.label).op(Op.i32_sub).set(this.hr);
    this.tailJump();
    c.op(Op.unreachable).end();
    return c;
  }

  /** One region of a split function: a dispatch loop over blocks [lo, hi) of the function's RPO. */
  emitRegion(lo: number, hi: number): Code {
    const f = this.f, c = this.c, m = hi - lo;
    c.loop();
    for (let i = 0; i < m; i++) c.block();
    c.get(this.label).i32(lo).op(Op.i32_sub).op(Op.br_table).u32(m - 1);
    for (let i = 0; i < m - 1; i++) c.u32(i);
    c.u32(m - 1);
    for (let j = 0; j < m; j++) {
      c.end();
      const top = m - 1 - j; // br depth of the loop from here
      const node = lo + j;
      const kind = this.body(node);
      const ss = f.succ[node];
      const goto = (t: number, extra: number): void => {
        if (t < 0) { this.jumpOut(node); return; }
        if (t >= lo && t < hi) { c.i32(t).set(this.label).br(top + extra); return; }
        this.leave(t);
      };
      if (kind === K_EXIT) this.ret();
      else if (kind === K_JCOND) {
        this.cond(this.cfg.bLast[f.blocks[node]]);
        c.if_(); goto(ss[0], 1); c.end();
        goto(ss[1], 0);
      } else if (ss.length === 1) goto(ss[0], 0);
    }
    c.end().op(Op.unreachable).end();
    return c;
  }

  /** Return from a region with `label` (pushed by `lab`) and the registers. */
  private leave(label: number, lab?: () => void): void {
    const c = this.c;
    if (lab) lab(); else c.i32(label);
    for (let r = 0; r <= 10; r++) c.get(this.reg[r]);
    c.get(this.tccL).op(Op.return);
  }

  private prologue(): void {
    const c = this.c;
    if (this.isMain) {
      // r10 arrives as a parameter (a tail call hands over the caller's). The r10 fast path assumes it is
      // this depth's frame pointer; when it is not (an unverified caller changed it), continue in the
      // variant that checks every access.
      // (A program without a number, self = 0, can only be entered by a run, with the right r10.)
      if ((this.o.key & 2) !== 0 && this.cfg.elided && this.o.self !== 0) {
        c.get(this.reg[10]); this.frameTop(); c.op(Op.i64_ne).if_();
        c.i32(0).i32(this.o.self).mem(Op.i32_store, this.o.jb + JB_TCNUM); // the stub reads the number there
        for (let r = 0; r <= 12; r++) c.get(r);
        c.i32(this.o.self * 4 + (this.o.key & 1)).returnCallIndirect(this.mainType);
        c.end();
      }
    } else if (this.f.uses & (1 << 10)) this.resetR10();
  }

  /** Push the i64 frame pointer of depth depthL (frames past 8 live in the Vm's extension region). */
  private frameTop(): void {
    const c = this.c;
    c.get(this.depthL).i32(FRAMES).op(Op.i32_lt_u).if_(I64);
    c.i64(this.o.top, 0).get(this.depthL).op(Op.i64_extend_i32_u).i64(9).op(Op.i64_shl).op(Op.i64_sub);
    c.op(Op.else).get(this.depthL).call(IMP_FRAMETOP).op(Op.i64_extend_i32_u).end();
  }

  /** r10 = the frame pointer of this call depth. */
  private resetR10(): void {
    this.frameTop();
    this.c.set(this.reg[10]);
  }

  // ------------------------------------------------------------------------------------------ control flow

  /** Ramsey's recursive translation, run on an explicit task stack (programs can have 1M instructions). */
  private structured(): void {
    const f = this.f, c = this.c;
    const N = f.blocks.length;
    const loopLbl = new Int32Array(N), blockLbl = new Int32Array(N);
    let lvl = 0;
    const tasks: number[] = [T_TREE, 0, 0];
    const push = (t: number, a: number, b: number): void => { tasks.push(t, a, b); };
    const simple = (x: number, t: number): boolean => t >= 0 && (t <= x || f.merge[t] === 1);
    const brTo = (x: number, t: number, cond = false): void => {
      const depth = lvl - 1 - (t <= x ? loopLbl[t] : blockLbl[t]);
      if (cond) c.brIf(depth); else c.br(depth);
    };
    while (tasks.length > 0) {
      const b = tasks.pop()!, a = tasks.pop()!, t = tasks.pop()!;
      switch (t) {
        case T_TREE:
          if (f.loopHeader[a]) { c.loop(); loopLbl[a] = lvl++; push(T_END, 0, 0); }
          push(T_WITHIN, a, 0);
          break;
        case T_WITHIN: {
          const ys = f.mergeKids[a];
          if (ys !== null && b < ys.length) {
            c.block(); blockLbl[ys[b]] = lvl++;
            push(T_TREE, ys[b], 0); push(T_END, 0, 0); push(T_WITHIN, a, b + 1);
            break;
          }
          const kind = this.body(a);
          const ss = f.succ[a];
          if (kind === K_EXIT) this.ret();
          else if (kind === K_JCOND) {
            const [tk, fl] = [ss[0], ss[1]];
            const last = this.cfg.bLast[f.blocks[a]];
            if (simple(a, tk)) { this.cond(last); brTo(a, tk, true); push(T_BRANCH, a, fl); } else if (simple(a, fl)) {
              this.cond(last); c.op(Op.i32_eqz); brTo(a, fl, true); push(T_BRANCH, a, tk);
            } else {
              this.cond(last); c.if_(); lvl++;
              push(T_END, 0, 0); push(T_BRANCH, a, fl); push(T_ELSE, 0, 0); push(T_BRANCH, a, tk);
            }
          } else if (ss.length === 1) push(T_BRANCH, a, ss[0]);
          // else: the block ended in a trap (already emitted)
          break;
        }
        case T_BRANCH:
          if (b < 0) this.jumpOut(a);
          else if (b <= a) brTo(a, b);
          else if (f.merge[b]) brTo(a, b);
          else push(T_TREE, b, 0);
          break;
        case T_ELSE: c.op(Op.else); break;
        case T_END: c.end(); lvl--; break;
      }
    }
  }

  /** Irreducible control flow: a loop around a br_table over all blocks; `label` holds the next block. */
  private dispatch(): void {
    const f = this.f, c = this.c;
    const N = f.blocks.length;
    c.loop();
    for (let i = 0; i < N; i++) c.block();
    c.get(this.label).op(Op.br_table).u32(N - 1);
    for (let i = 0; i < N - 1; i++) c.u32(i);
    c.u32(N - 1);
    for (let j = 0; j < N; j++) {
      c.end();
      const top = N - 1 - j; // br depth of the loop from here
      const kind = this.body(j);
      const ss = f.succ[j];
      const goto = (t: number, extra: number): void => {
        if (t < 0) { this.jumpOut(j); return; }
        c.i32(t).set(this.label).br(top + extra);
      };
      if (kind === K_EXIT) this.ret();
      else if (kind === K_JCOND) {
        this.cond(this.cfg.bLast[f.blocks[j]]);
        c.if_(); goto(ss[0], 1); c.end();
        goto(ss[1], 0);
      } else if (ss.length === 1) goto(ss[0], 0);
    }
    c.end();
  }

  private jumpOut(node: number): void {
    const last = this.cfg.bLast[this.f.blocks[node]];
    this.trap(TRAP_JUMPOUT, last, () => this.c.i32(this.cfg.p.tgt[last]));
  }

  private ret(): void {
    const c = this.c;
    if (this.isRegion) { this.leave(EXIT_LABEL); return; }
    if (this.isMain) {
      if (this.o.chain !== null) this.chainExit(this.o.chain);
      for (let r = 0; r <= 5; r++) c.get(this.reg[r]);
    } else for (const r of this.f.results) c.get(this.reg[r]);
    c.get(this.tccL).op(Op.return);
  }

  /**
   * The "native" chain-call exit at depth 0 (the run's top level), with the slots as they were at compile
   * time: next = slot[r0 + 1] when r0 < 7 and set, else slot[0]; a hop needs a free unit of the 33 budget
   * and enters the next program like a tail call (r1 = ctx, r10 = the main frame, other registers as left).
   */
  private chainExit(slots: Int32Array): void {
    const c = this.c;
    let any = false;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) any = true;
    if (!any) return;
    c.block();
    c.get(this.depthL).op(Op.i32_eqz).i32(0).mem(Op.i32_load, this.o.jb + JB_CHAIN).op(Op.i32_and).op(Op.i32_eqz).brIf(0);
    c.get(this.reg[0]).op(Op.i32_wrap_i64).set(this.a32);
    for (let i = 1; i < slots.length; i++) {
      if (slots[i] === 0) continue;
      c.get(this.a32).i32(i - 1).op(Op.i32_eq).if_();
      this.hop(slots[i]);
      c.br(1).end();
    }
    if (slots[0] !== 0) this.hop(slots[0]);
    c.end();
  }

  private hop(n: number): void {
    const c = this.c, jb = this.o.jb;
    const fn = n === this.o.self ? this.mainIdx : this.direct.get(n) ?? -1;
    c.get(this.tccL).i32(TC_MAX).op(Op.i32_lt_u).if_();
    c.get(this.tccL).i32(1).op(Op.i32_add).set(this.tccL);
    c.i32(0).i32(n).mem(Op.i32_store, jb + JB_TCNUM);
    c.i32(0).mem(Op.i64_load32_u, jb + JB_CTX).set(this.reg[1]);
    c.i64(this.o.top, 0).set(this.reg[10]);
    for (let r = 0; r <= 10; r++) c.get(this.reg[r]);
    c.i32(0).get(this.tccL);
    if (fn >= 0) c.returnCall(fn); // the letter's direct call
    else c.i32(n * 4 + this.o.key).returnCallIndirect(this.mainType);
    c.end();
  }

  /**
   * Continue in the program whose number is in local `hr` (a successful tail call; the counter is already
   * bumped): from the main function a return_call_indirect (this frame is replaced), from a subprogram a
   * call_indirect whose r0..r5 come back here and return to the subprogram's caller.
   */
  private tailJump(): void {
    const c = this.c;
    if (this.isRegion) { this.leave(0, () => c.i32(-2).get(this.hr).op(Op.i32_sub)); return; }
    c.i32(0).get(this.hr).mem(Op.i32_store, this.o.jb + JB_TCNUM);
    for (let r = 0; r <= 10; r++) c.get(this.reg[r]);
    c.get(this.depthL).get(this.tccL);
    c.get(this.hr).i32(2).op(Op.i32_shl).i32(this.o.key).op(Op.i32_or);
    if (this.isMain) { c.returnCallIndirect(this.mainType); return; }
    c.callIndirect(this.mainType);
    c.set(this.tccL);
    for (let r = 5; r >= 0; r--) c.set(this.reg[r]);
    this.ret();
  }

  /** A helper call through the import; `canTail`: the helper may be bpf_tail_call (then follow it). */
  private helperCall(pc: number, id: () => void, canTail: boolean): void {
    const c = this.c;
    this.spill();
    id(); c.i32(pc).get(this.tccL).i32(canTail ? 1 : 0).call(IMP_HELPER).set(this.hr);
    this.reload();
    if (canTail) {
      // negative: -(number * 64 + count) of the tail-call target
      c.get(this.hr).i32(0).op(Op.i32_lt_s).if_();
      c.i32(0).get(this.hr).op(Op.i32_sub).tee(this.hr).i32(63).op(Op.i32_and).set(this.tccL);
      c.get(this.hr).i32(6).op(Op.i32_shr_u).set(this.hr);
      this.tailJump();
      c.end();
    }
    c.get(this.hr).set(this.tccL);
  }

  /** bpf_tail_call at pc: the kernel's checks inline when the prog array is known, else the helper. */
  private tailCall(pc: number): void {
    const c = this.c, handle = this.constR(pc, 2);
    const pa = handle >= 0 ? this.o.progArray(handle) : null;
    if (pa === null) { this.helperCall(pc, () => c.i32(TAIL_CALL_ID), true); return; }
    c.i32(0).mem(Op.i32_load, this.o.jb + JB_SLOW).if_();
    this.helperCall(pc, () => c.i32(TAIL_CALL_ID), true);
    c.op(Op.else);
    // 1. index < max_entries; 2. count < 33; 3. the slot holds a program; 4. count += 1; 5. jump
    c.get(this.reg[3]).op(Op.i32_wrap_i64).tee(this.a32).i32(pa.maxEntries).op(Op.i32_lt_u)
      .get(this.tccL).i32(TC_MAX).op(Op.i32_lt_u).op(Op.i32_and).if_();
    c.get(this.a32).i32(2).op(Op.i32_shl).mem(Op.i32_load, pa.numbers).tee(this.hr).if_();
    c.get(this.tccL).i32(1).op(Op.i32_add).set(this.tccL);
    this.tailJump();
    c.end().end().end();
  }

  /** Emit a block's instructions except a final jump or exit; returns the kind of its last instruction. */
  private body(node: number): number {
    const cfg = this.cfg, p = cfg.p;
    const b = this.f.blocks[node];
    const last = cfg.bLast[b];
    for (let pc = cfg.bStart[b]; pc <= last; pc += insnLen(p, pc)) {
      if (this.o.budget && cfg.segCount[pc] > 0) this.budget(pc, cfg.segCount[pc]);
      const kind = pc < p.length ? KIND[p.code[pc]] : 0;
      if (pc === last && (kind === K_JCOND || kind === K_JA || kind === K_EXIT)) return kind;
      this.insn(pc);
      if (pc >= p.length) break;
    }
    return pc2kind(cfg, last);
  }

  private budget(pc: number, count: number): void {
    const c = this.c, at = this.o.jb + JB_LEFT;
    c.i32(0).mem(Op.i64_load, at).tee(this.t1).i64(count).op(Op.i64_lt_s).if_();
    c.i32(TRAP_BUDGET).i32(pc).get(this.t1).op(Op.i32_wrap_i64).i32(0).call(IMP_TRAP).op(Op.unreachable).end();
    c.i32(0).get(this.t1).i64(count).op(Op.i64_sub).mem(Op.i64_store, at);
  }

  /** Call the trap import (it throws). `a` pushes the first argument. */
  private trap(kind: number, pc: number, a?: () => void, b?: () => void): void {
    const c = this.c;
    c.i32(kind).i32(pc);
    if (a) a(); else c.i32(0);
    if (b) b(); else c.i32(0);
    c.call(IMP_TRAP).op(Op.unreachable);
  }

  // ------------------------------------------------------------------------------------------ instructions

  /** Push the i32 truth value of the conditional jump at pc. */
  private cond(pc: number): void {
    const c = this.c, p = this.cfg.p;
    const code = p.code[pc], op = code & 0xf0, x = (code & 0x08) !== 0, k = p.imm[pc];
    const d = this.reg[p.dst[pc]], s = this.reg[p.src[pc]];
    if ((code & 7) === 5) {
      c.get(d);
      if (x) c.get(s); else c.i64(k);
      switch (op) {
        case 0x10: c.op(Op.i64_eq); break;
        case 0x20: c.op(Op.i64_gt_u); break;
        case 0x30: c.op(Op.i64_ge_u); break;
        case 0x40: c.op(Op.i64_and).i64(0).op(Op.i64_ne); break;
        case 0x50: c.op(Op.i64_ne); break;
        case 0x60: c.op(Op.i64_gt_s); break;
        case 0x70: c.op(Op.i64_ge_s); break;
        case 0xa0: c.op(Op.i64_lt_u); break;
        case 0xb0: c.op(Op.i64_le_u); break;
        case 0xc0: c.op(Op.i64_lt_s); break;
        case 0xd0: c.op(Op.i64_le_s); break;
      }
    } else {
      c.get(d).op(Op.i32_wrap_i64);
      if (x) c.get(s).op(Op.i32_wrap_i64); else c.i32(k);
      switch (op) {
        case 0x10: c.op(Op.i32_eq); break;
        case 0x20: c.op(Op.i32_gt_u); break;
        case 0x30: c.op(Op.i32_ge_u); break;
        case 0x40: c.op(Op.i32_and); break;
        case 0x50: c.op(Op.i32_ne); break;
        case 0x60: c.op(Op.i32_gt_s); break;
        case 0x70: c.op(Op.i32_ge_s); break;
        case 0xa0: c.op(Op.i32_lt_u); break;
        case 0xb0: c.op(Op.i32_le_u); break;
        case 0xc0: c.op(Op.i32_lt_s); break;
        case 0xd0: c.op(Op.i32_le_s); break;
      }
    }
  }

  private insn(pc: number): void {
    const cfg = this.cfg, p = cfg.p, c = this.c;
    if (pc >= p.length) { this.trap(TRAP_INSN, pc); return; }
    const code = p.code[pc];
    const dr = p.dst[pc], sr = p.src[pc];
    const d = this.reg[dr], s = this.reg[sr], k = p.imm[pc], off = p.off[pc];
    switch (KIND[code]) {
      case K_ALU:
        if ((code & 7) === 7) this.alu64(code, d, s, k, off); else this.alu32(code, d, s, k, off);
        return;
      case K_JA: case K_JCOND: case K_EXIT:
        return; // handled by the control-flow emitters
      case K_LDDW: c.i64(k, p.imm2[pc]).set(d); return;
      case K_LDX: {
        const mo = this.addr(pc, sr, off, sizeOf(code), R);
        c.mem(((code & 0xe0) === 0x80 ? LDSX_OP : LDX_OP)[(code >> 3) & 3], mo).set(d);
        return;
      }
      case K_ST: {
        const mo = this.addr(pc, dr, off, sizeOf(code), W);
        if (code === 0x7a) c.i64(k).mem(Op.i64_store, mo);
        else c.i32(k).mem(ST_OP[(code >> 3) & 3], mo);
        return;
      }
      case K_STX: {
        const mo = this.addr(pc, dr, off, sizeOf(code), W);
        c.get(s).mem(STX_OP[(code >> 3) & 3], mo);
        return;
      }
      case K_ATOMIC: this.atomic(pc, code, dr, d, s, k, off); return;
      case K_LDABS: this.ldabs(pc, code, s, k); return;
      case K_CALL:
        if (sr === 0) {
          if (k === TAIL_CALL_ID) this.tailCall(pc);
          else if (k === 1 && this.o.inlineLookup) this.lookup(pc);
          else this.helperCall(pc, () => c.i32(k), false);
          return;
        }
        if (sr !== 1) { this.trap(TRAP_KFUNC, pc, () => c.i32(sr)); return; }
        this.localCall(pc);
        return;
      case K_CALLX:
        c.get(d).i64(32).op(Op.i64_shr_u).op(Op.i32_wrap_i64).if_();
        this.trap(TRAP_CALLX, pc, () => c.get(d).op(Op.i32_wrap_i64), () => c.get(d).i64(32).op(Op.i64_shr_u).op(Op.i32_wrap_i64));
        c.end();
        this.helperCall(pc, () => c.get(d).op(Op.i32_wrap_i64), true);
        return;
      default:
        this.trap(TRAP_INSN, pc);
    }
  }

  private spill(): void {
    const c = this.c, at = this.o.jb + JB_REGS;
    for (let r = 0; r <= 5; r++) c.i32(0).get(this.reg[r]).mem(Op.i64_store, at + 8 * r);
  }

  private reload(): void {
    const c = this.c, at = this.o.jb + JB_REGS;
    for (let r = 0; r <= 5; r++) c.i32(0).mem(Op.i64_load, at + 8 * r).set(this.reg[r]);
  }

  private localCall(pc: number): void {
    const c = this.c, cfg = this.cfg;
    // the interpreter checks the depth first, then the target
    c.get(this.depthL).get(this.baseL).op(Op.i32_sub).i32(FRAMES - 1).op(Op.i32_ge_u)
      .get(this.depthL).i32(RUN_FRAMES - 1).op(Op.i32_ge_u).op(Op.i32_or).if_();
    this.trap(TRAP_E2BIG, pc, () => c.get(this.depthL).get(this.baseL).op(Op.i32_sub));
    c.end();
    const t = callTarget(cfg.p, pc);
    if (t < 0) { this.trap(TRAP_JUMPOUT, pc, () => c.i32(cfg.p.tgt[pc])); return; }
    const g = cfg.funcs.get(t)!;
    for (const r of g.params) c.get(this.reg[r]);
    c.get(this.depthL).i32(1).op(Op.i32_add).get(this.baseL).get(this.tccL).call(this.subIdx.get(t)!);
    c.set(this.tccL);
    for (let i = g.results.length - 1; i >= 0; i--) c.set(this.reg[g.results[i]]);
    if (cfg.writesR10) this.resetR10();
  }

  /**
   * bpf_map_lookup_elem at pc on a known array or per-CPU array (r1 set by an lddw in the block): the
   * helper's own arithmetic inline. The key is read without a region check, as the helper does (u32At);
   * a key address outside the wasm memory takes the helper path, which reads it as 0 like the helper.
   */
  private lookup(pc: number): void {
    const c = this.c, handle = this.constR(pc, 1);
    const am = handle >= 0 ? this.o.arrayMap(handle) : null;
    if (am === null) { this.helperCall(pc, () => c.i32(1), false); return; }
    const r0 = this.reg[0], r2 = this.reg[2];
    // key address + 4 within the memory (high half zero)
    c.get(r2).i64(4).op(Op.i64_add).op(Op.memory_size).u32(0).op(Op.i64_extend_i32_u).i64(16).op(Op.i64_shl).op(Op.i64_gt_u)
      .get(r2).i64(32).op(Op.i64_shr_u).i64(0).op(Op.i64_ne).op(Op.i32_or).if_();
    this.helperCall(pc, () => c.i32(1), false);
    c.op(Op.else);
    c.get(r2).op(Op.i32_wrap_i64).mem(Op.i32_load, 0).tee(this.a32).i32(am.maxEntries).op(Op.i32_lt_u).if_(I64);
    c.i32(am.values).get(this.a32).i32(am.stride).op(Op.i32_mul).op(Op.i32_add);
    if (am.percpu) c.i32(0).mem(Op.i32_load, this.o.jb + JB_CPU).i32(am.elemSize).op(Op.i32_mul).op(Op.i32_add);
    c.op(Op.i64_extend_i32_u);
    c.op(Op.else).i64(0).end().set(r0);
    c.end();
  }

  /** The constant register `r` holds at `pc` when an lddw earlier in the same block set it. */
  private constR(pc: number, r: number): number {
    const cfg = this.cfg, p = cfg.p;
    let start = pc;
    while (start > 0 && cfg.blockAt[start] < 0) start--;
    let val = -1;
    for (let q = start; q < pc; q += insnLen(p, q)) {
      if (KIND[p.code[q]] === K_LDDW && p.dst[q] === r) { val = p.imm2[q] === 0 ? p.imm[q] >>> 0 : -1; continue; }
      if ((regUse(p, q).write & (1 << r)) !== 0) val = -1;
    }
    return val;
  }

  /**
   * Push the i32 address of [base + off, +size) after the interpreter's check (perm R, W or RW); returns the
   * memarg offset to use with it.
   */
  private addr(pc: number, base: number, off: number, size: number, perm: number): number {
    const c = this.c, b = this.reg[base];
    if (!this.cfg.checked[pc]) {
      c.get(b).op(Op.i32_wrap_i64);
      if (off >= 0) return off;
      c.i32(off).op(Op.i32_add);
      return 0;
    }
    if (this.o.compact) {
      c.get(b).i32(off).i32(pc).call(this.checkers.get(perm * 16 + size)!);
      return 0;
    }
    const at = this.o.jb + cacheOffset(perm), at2 = this.o.jb + cacheOffset(perm, 1);
    c.get(b);
    if (off !== 0) c.i64(off).op(Op.i64_add);
    c.tee(this.ea).i32(0).mem(Op.i64_load, at).op(Op.i64_lt_s);
    c.get(this.ea).i64(size).op(Op.i64_add).i32(0).mem(Op.i64_load, at + 8).op(Op.i64_gt_s);
    c.op(Op.i32_or).if_();
    c.get(this.ea).i32(0).mem(Op.i64_load, at2).op(Op.i64_lt_s);
    c.get(this.ea).i64(size).op(Op.i64_add).i32(0).mem(Op.i64_load, at2 + 8).op(Op.i64_gt_s);
    c.op(Op.i32_or).if_();
    c.i32(pc).get(b).op(Op.i32_wrap_i64).get(b).i64(32).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(off).i32(size).i32(perm).call(IMP_MEMSLOW);
    c.end();
    c.end();
    c.get(this.ea).op(Op.i32_wrap_i64);
    return 0;
  }

  private atomic(pc: number, code: number, dr: number, d: number, s: number, k: number, off: number): void {
    const c = this.c, r0 = this.reg[0];
    const wide = code === 0xdb;
    const mo = this.addr(pc, dr, off, wide ? 8 : 4, RW);
    c.set(this.a32);
    const op = k & ~1, fetch = (k & 1) !== 0;
    const valid = k === 0x00 || k === 0x01 || k === 0x40 || k === 0x41 || k === 0x50 || k === 0x51 || k === 0xa0 || k === 0xa1
      || k === 0xe1 || k === 0xf1;
    if (!valid) { this.trap(TRAP_ATOMIC, pc, () => c.i32(k)); return; }
    const a = this.a32;
    if (wide) {
      const old = this.t1;
      c.get(a).mem(Op.i64_load, mo).set(old);
      if (k === 0xf1) {
        c.get(old).get(r0).op(Op.i64_eq).if_().get(a).get(s).mem(Op.i64_store, mo).end();
        c.get(old).set(r0);
        return;
      }
      c.get(a);
      if (k === 0xe1) c.get(s);
      else c.get(old).get(s).op(op === 0x00 ? Op.i64_add : op === 0x40 ? Op.i64_or : op === 0x50 ? Op.i64_and : Op.i64_xor);
      c.mem(Op.i64_store, mo);
      if (fetch) c.get(old).set(s);
    } else {
      const old = this.b32;
      c.get(a).mem(Op.i32_load, mo).set(old);
      if (k === 0xf1) {
        c.get(old).get(r0).op(Op.i32_wrap_i64).op(Op.i32_eq).if_().get(a).get(s).op(Op.i32_wrap_i64).mem(Op.i32_store, mo).end();
        c.get(old).op(Op.i64_extend_i32_u).set(r0);
        return;
      }
      c.get(a);
      if (k === 0xe1) c.get(s).op(Op.i32_wrap_i64);
      else c.get(old).get(s).op(Op.i32_wrap_i64).op(op === 0x00 ? Op.i32_add : op === 0x40 ? Op.i32_or : op === 0x50 ? Op.i32_and : Op.i32_xor);
      c.mem(Op.i32_store, mo);
      if (fetch) c.get(old).op(Op.i64_extend_i32_u).set(s);
    }
  }

  /** LD_ABS / LD_IND: big-endian read from the packet; out of bounds ends the program with r0 = 0. */
  private ldabs(pc: number, code: number, s: number, k: number): void {
    const c = this.c, jb = this.o.jb, t = this.t1;
    const size = (code & 0x18) === 0 ? 4 : (code & 0x18) === 0x08 ? 2 : 1;
    c.i32(k);
    if ((code & 0x40) !== 0) c.get(s).op(Op.i32_wrap_i64).op(Op.i32_add);
    c.op(Op.i64_extend_i32_s).tee(t).i64(0).op(Op.i64_lt_s);
    c.get(t).i64(size).op(Op.i64_add).i32(0).mem(Op.i64_load32_u, jb + JB_PKT_LEN).op(Op.i64_gt_s);
    c.op(Op.i32_or).if_();
    this.trap(TRAP_LDABS, pc, () => c.get(this.tccL)); // the run ends here: hand over the tail-call count
    c.end();
    c.i32(0).mem(Op.i32_load, jb + JB_PKT_ADDR).get(t).op(Op.i32_wrap_i64).op(Op.i32_add);
    if (size === 1) c.mem(Op.i64_load8_u, 0);
    else if (size === 2) {
      c.mem(Op.i32_load16_u, 0).tee(this.a32).i32(8).op(Op.i32_shr_u).get(this.a32).i32(0xff).op(Op.i32_and).i32(8).op(Op.i32_shl)
        .op(Op.i32_or).op(Op.i64_extend_i32_u);
    } else { c.mem(Op.i32_load, 0); this.bswap32(); c.op(Op.i64_extend_i32_u); }
    c.set(this.reg[0]);
    for (let r = 1; r <= 5; r++) c.i64(0).set(this.reg[r]);
  }

  /** i32 on the stack -> its bytes reversed. */
  private bswap32(): void {
    const c = this.c, a = this.a32;
    c.tee(a).i32(8).op(Op.i32_rotl).i32(0x00ff00ff).op(Op.i32_and);
    c.get(a).i32(8).op(Op.i32_rotr).i32(0xff00ff00 | 0).op(Op.i32_and).op(Op.i32_or);
  }

  /** Byte swap of register local d at width 16, 32 or 64 (zero-extended). */
  private bswap(d: number, width: number): void {
    const c = this.c;
    if (width === 16) {
      c.get(d).i64(8).op(Op.i64_shr_u).i64(0xff).op(Op.i64_and).get(d).i64(0xff).op(Op.i64_and).i64(8).op(Op.i64_shl).op(Op.i64_or).set(d);
    } else if (width === 32) {
      c.get(d).op(Op.i32_wrap_i64); this.bswap32(); c.op(Op.i64_extend_i32_u).set(d);
    } else {
      const t = this.t1;
      c.get(d).tee(t).i64(0x00ff00ff, 0x00ff00ff).op(Op.i64_and).i64(8).op(Op.i64_shl)
        .get(t).i64(8).op(Op.i64_shr_u).i64(0x00ff00ff, 0x00ff00ff).op(Op.i64_and).op(Op.i64_or)
        .tee(t).i64(0x0000ffff, 0x0000ffff).op(Op.i64_and).i64(16).op(Op.i64_shl)
        .get(t).i64(16).op(Op.i64_shr_u).i64(0x0000ffff, 0x0000ffff).op(Op.i64_and).op(Op.i64_or)
        .i64(32).op(Op.i64_rotl).set(d);
    }
  }

  private alu64(code: number, d: number, s: number, k: number, off: number): void {
    const c = this.c, x = (code & 0x08) !== 0, op = code & 0xf0;
    const w = ALU64_OP[op >> 4];
    if (w !== 0) {
      c.get(d);
      if (x) c.get(s); else c.i64(k);
      c.op(w).set(d);
      return;
    }
    switch (op) {
      case 0x80: c.i64(0).get(d).op(Op.i64_sub).set(d); return;
      case 0xb0:
        if (!x) { c.i64(k).set(d); return; }
        c.get(s);
        if (off === 8) c.op(Op.i64_extend8_s); else if (off === 16) c.op(Op.i64_extend16_s); else if (off !== 0) c.op(Op.i64_extend32_s);
        c.set(d);
        return;
      case 0xd0: this.bswap(d, k === 16 ? 16 : k === 32 ? 32 : 64); return;
      case 0x30: case 0x90: {
        const signed = off !== 0, div = op === 0x30;
        if (!x) {
          if (k === 0) { if (div) c.i64(0).set(d); return; } // x/0 = 0, x%0 = x
          if (signed && k === -1) { if (div) c.i64(0).get(d).op(Op.i64_sub).set(d); else c.i64(0).set(d); return; }
          c.get(d).i64(k).op(div ? (signed ? Op.i64_div_s : Op.i64_div_u) : (signed ? Op.i64_rem_s : Op.i64_rem_u)).set(d);
          return;
        }
        c.get(s).op(Op.i64_eqz).if_(I64);
        if (div) c.i64(0); else c.get(d);
        c.op(Op.else);
        if (div && signed) {
          // INT64_MIN / -1 traps in wasm; the BPF result is the negation (wrapping)
          c.get(s).i64(-1).op(Op.i64_eq).if_(I64).i64(0).get(d).op(Op.i64_sub).op(Op.else).get(d).get(s).op(Op.i64_div_s).end();
        } else c.get(d).get(s).op(div ? Op.i64_div_u : signed ? Op.i64_rem_s : Op.i64_rem_u);
        c.end().set(d);
        return;
      }
    }
  }

  private alu32(code: number, d: number, s: number, k: number, off: number): void {
    const c = this.c, x = (code & 0x08) !== 0, op = code & 0xf0;
    const src = (): void => { if (x) c.get(s).op(Op.i32_wrap_i64); else c.i32(k); };
    const dst = (): void => { c.get(d).op(Op.i32_wrap_i64); };
    const done = (): void => { c.op(Op.i64_extend_i32_u).set(d); };
    const w = ALU32_OP[op >> 4];
    if (w !== 0) { dst(); src(); c.op(w); done(); return; }
    switch (op) {
      case 0x80: c.i32(0); dst(); c.op(Op.i32_sub); done(); return;
      case 0xb0:
        if (!x) { c.i64(k, 0).set(d); return; }
        c.get(s).op(Op.i32_wrap_i64);
        if (off === 8) c.op(Op.i32_extend8_s); else if (off !== 0) c.op(Op.i32_extend16_s);
        done();
        return;
      case 0xd0:
        if (code === 0xd4) { // le: truncate
          if (k === 16) c.get(d).i64(0xffff).op(Op.i64_and).set(d);
          else if (k === 32) { dst(); done(); }
          return;
        }
        this.bswap(d, k === 16 ? 16 : k === 32 ? 32 : 64);
        return;
      case 0x30: case 0x90: {
        const signed = off !== 0, div = op === 0x30;
        if (!x) {
          if (k === 0) { if (div) c.i64(0).set(d); else { dst(); done(); } return; }
          if (signed && k === -1) { if (div) { c.i32(0); dst(); c.op(Op.i32_sub); } else c.i32(0); done(); return; }
          dst(); c.i32(k).op(div ? (signed ? Op.i32_div_s : Op.i32_div_u) : (signed ? Op.i32_rem_s : Op.i32_rem_u)); done();
          return;
        }
        src(); c.op(Op.i32_eqz).if_(I32);
        if (div) c.i32(0); else dst();
        c.op(Op.else);
        if (div && signed) {
          src(); c.i32(-1).op(Op.i32_eq).if_(I32).i32(0); dst(); c.op(Op.i32_sub).op(Op.else); dst(); src(); c.op(Op.i32_div_s).end();
        } else { dst(); src(); c.op(div ? Op.i32_div_u : signed ? Op.i32_rem_s : Op.i32_rem_u); }
        c.end(); done();
        return;
      }
    }
  }
}

function pc2kind(cfg: Cfg, pc: number): number {
  return pc < cfg.p.length ? KIND[cfg.p.code[pc]] : 0;
}

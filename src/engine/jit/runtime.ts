// The JIT engine of one Vm: compiles programs (cfg.ts + codegen.ts) into wasm instances over the Vm's
// memory, caches them per program and variant, and provides the imports compiled code calls: the helper
// trampoline (r0-r5 travel through the register scratch in the JIT block, so helpers see vm.lo/vm.hi exactly
// as in the interpreter and no BigInt is ever created), the memory-check slow path (it refills the
// region cache), and the traps that raise the interpreter's BpfErrors.
//
// Variants: a program is compiled with or without budget counting (vm.budget can change between runs) and
// with or without the r10 fast path (valid only while the Vm's stack region is intact).
//
// Tail calls and chain hops: every program the Jit compiles gets a number n, and the main function of its
// variant `key` sits at index n * 4 + key of ONE WebAssembly.Table that every module imports. An index
// whose variant is not compiled yet holds a stub that compiles it (import `ensure`) and then continues
// there with a return_call_indirect, so a tail call never needs the target compiled in advance. Each prog
// array the compiled code names gets a block of u32 program numbers in the address space (outside every
// region, so programs cannot reach it), kept in step with the slots by a watcher on the map: the inline
// bpf_tail_call reads it with one load. The chain core (src/chain/core.ts) gives the Jit each program's
// chain slots (`chainOf`); a program compiled while it has a chain hops to its successors directly at its
// exit, and is recompiled - atomically, by swapping its cache entry and table entries, between packets -
// when its chain changes (`invalidate`). Choices:
// - vm.trace is an interpreter feature: a JIT run with a trace hook raises EOPNOTSUPP (no silent fallback);
// - vm.insnCount is exact when a budget is set; without one the JIT does not count and leaves it at 0;
// - a helper other than bpf_tail_call (helper 12, or callx) that asks for a tail call raises EOPNOTSUPP;
// - a packet in flight when a chain changes finishes on the code it started with (the interpreter reads
//   the slots at each hop); the chain core's recording mode (`notes`) reads them at each hop on both.

import { BpfError } from '../../errors.js';
import { MAX_CALL_FRAMES } from '../../isa/opcodes.js';
import { ArrayMap } from '../../maps/array.js';
import { ProgArrayMap } from '../../maps/fd_array.js';
import type { ProgRef } from '../../maps/map.js';
import { directResolvers, mapLookupElem, tailCall } from '../../helpers/maps.js';
import type { Program } from '../interp.js';
import type { Vm } from '../vm.js';
import { buildCfg, insnLen } from './cfg.js';
import {
  JB_CHAIN, JB_CPU, JB_CTX, JB_LEFT, JB_PKT_ADDR, JB_PKT_LEN, JB_REGS, JB_SIZE, JB_SLOW, JB_TCC, JB_TCNUM, MAIN_PARAMS,
  MAIN_RESULTS, TRAP_ATOMIC, TRAP_BUDGET, TRAP_CALLX, TRAP_E2BIG, TRAP_INSN, TRAP_JUMPOUT, TRAP_KFUNC, TRAP_LDABS,
  cacheOffset, compileModule,
} from './codegen.js';
import { Code, I32, ModuleBuilder, Op } from './wasm.js';

/** Thrown through the wasm frames to stop a program at once (vm.halted, LD_ABS out of bounds). */
const HALT = Object.freeze({ halt: true });

/** Regions starting below this are never cached (the inline check relies on it, see codegen addr()). */
const MIN_CACHED_START = 65536;

export interface CompiledProgram {
  run: (r1lo: number, r1hi: number, r2lo: number, r2hi: number, tailCalls: number, flags: number, pktAddr: number,
    pktLen: number, cpu: number) => number;
  /** The program's entry (the table holds it at number * 4 + key). */
  main: WebAssembly.ExportValue;
  /** Wall time of cfg + codegen + WebAssembly.Module, in ms. */
  compileMs: number;
  /** Size of the wasm module in bytes. */
  wasmBytes: number;
}

const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export class Jit {
  /**
   * Programs with more slots than this get compact memory checks (a call per access, see codegen.ts), which
   * keeps a 1M-instruction function under V8's function-size limit. Tests lower it to cover that mode.
   */
  static compactAbove = 200_000;
  /**
   * Functions of more slots than this are compiled as several wasm functions (regions of about this many
   * slots driven by a dispatch loop; codegen.ts). Tests lower it to cover that mode.
   */
  static splitAbove = 50_000;
  /** Address of the JIT block (register scratch, region caches, budget, packet). */
  readonly jb: number;
  private view: Int32Array;
  private readonly compiled = new WeakMap<Program, (CompiledProgram | undefined)[]>();
  /** The shared table: index number * 4 + key holds that variant's entry, or a stub that compiles it. */
  readonly table: WebAssembly.Table;
  private readonly stubs: WebAssembly.ExportValue[] = [];
  /** Programs by number (0: none) and numbers by program. */
  private readonly progs: (Program | null)[] = [null];
  private readonly numbers = new WeakMap<Program, number>();
  /** Per prog array: address of its u32 table of program numbers. */
  private readonly arrays = new Map<ProgArrayMap, number>();
  /** Set by the chain core while it records hops: tail calls through the helper, no compiled hops. */
  notes = false;
  /** The chain slots of a program (installed by the chain core in the "native" model). */
  chainOf: ((p: Program) => ProgArrayMap | null) | null = null;
  /** Resolver last found direct (RunEnv.resolveProg), to keep the per-run check cheap. */
  private directRes: unknown = null;

  constructor(private readonly vm: Vm) {
    this.jb = vm.space.alloc(JB_SIZE, 16);
    this.view = new Int32Array(vm.space.memory.buffer);
    this.table = new WebAssembly.Table({ element: 'anyfunc', initial: 4 });
    this.buildStubs();
  }

  /**
   * One stub per variant key: `ensure(number, key)` compiles the program whose number the caller left at
   * JB_TCNUM, then the stub continues in it (return_call_indirect: the stack does not grow).
   */
  private buildStubs(): void {
    const mb = new ModuleBuilder();
    mb.importTable = true;
    mb.importFunc('env', 'ensure', [I32, I32], []);
    const type = mb.type(MAIN_PARAMS, MAIN_RESULTS);
    for (let key = 0; key < 4; key++) {
      const idx = mb.declareFunc(MAIN_PARAMS, MAIN_RESULTS);
      const c = new Code(64);
      c.i32(0).mem(Op.i32_load, this.jb + JB_TCNUM).i32(key).call(0);
      for (let i = 0; i < MAIN_PARAMS.length; i++) c.get(i);
      c.i32(0).mem(Op.i32_load, this.jb + JB_TCNUM).i32(2).op(Op.i32_shl).i32(key).op(Op.i32_or).returnCallIndirect(type);
      c.end();
      mb.setFunc(idx, [], c);
      mb.export(`s${key}`, idx);
    }
    const inst = new WebAssembly.Instance(new WebAssembly.Module(mb.encode()), {
      env: { mem: this.vm.space.memory, tbl: this.table, ensure: (n: number, key: number) => this.ensure(n, key) },
    });
    for (let key = 0; key < 4; key++) this.stubs.push(inst.exports[`s${key}`]);
  }

  /**
   * The number of `p` in the table, assigned when `p` can first be entered through it (a prog-array slot,
   * a chain slot, a tail call through the helper); its four entries start as stubs. Only numbered programs
   * are held by the table, so programs that are only ever run directly stay collectable. Code compiled
   * before `p` had a number lacks its own index (the r10 check at entry needs it): it is dropped.
   */
  number(p: Program): number {
    let n = this.numbers.get(p);
    if (n !== undefined) return n;
    n = this.progs.length;
    this.progs.push(p);
    this.numbers.set(p, n);
    this.drop(p);
    const need = (n + 1) * 4 - this.table.length;
    if (need > 0) this.table.grow(Math.max(need, this.table.length));
    for (let key = 0; key < 4; key++) this.table.set(n * 4 + key, this.stubs[key]);
    return n;
  }

  /** The program entered last by a tail call or chain hop in the last run (null: none). */
  lastTarget(): Program | null {
    const n = this.v()[(this.jb + JB_TCNUM) >> 2];
    return n > 0 && n < this.progs.length ? this.progs[n] : null;
  }

  /** Drop the compiled forms of `p` (its chain changed): runs in flight finish on the old code. */
  invalidate(p: Program): void {
    this.drop(p);
  }

  /** Forget the compiled forms of `p` and of every program whose exit calls `p` directly. */
  private drop(p: Program): void {
    this.compiled.delete(p);
    if (this.lastP === p) this.lastP = null;
    const n = this.numbers.get(p);
    if (n !== undefined && n * 4 + 3 < this.table.length) for (let key = 0; key < 4; key++) this.table.set(n * 4 + key, this.stubs[key]);
    const users = this.directUsers.get(p);
    if (users !== undefined) {
      this.directUsers.delete(p);
      for (const u of users) this.drop(u);
    }
  }

  /** Programs whose compiled exits call a program directly (chain successors), by that program. */
  private readonly directUsers = new Map<Program, Set<Program>>();
  /** Programs being compiled (a chain cycle falls back to the table). */
  private readonly compiling = new Set<Program>();

  private ensure(n: number, key: number): void {
    const p = this.progs[n];
    if (p === null || p === undefined) throw new Error(`JIT: no program number ${n}`);
    this.get(p, (key & 1) !== 0, (key & 2) !== 0);
  }

  /** Address of the number table of prog array `m` (created on first use, then kept in step by a watcher). */
  private arrayNumbers(m: ProgArrayMap): number {
    let at = this.arrays.get(m);
    if (at !== undefined) return at;
    const base = this.vm.space.alloc(Math.max(4, m.maxEntries * 4), 4);
    this.arrays.set(m, base);
    const write = (i: number, ref: ProgRef | null): void => {
      this.vm.space.dv.setUint32(base + i * 4, this.refNumber(ref), true);
    };
    for (let i = 0; i < m.maxEntries; i++) write(i, m.progAt(i));
    m.watchers.push(write);
    return base;
  }

  private refNumber(ref: ProgRef | null): number {
    const p = ref === null ? undefined : (ref as { program?: Program }).program;
    return p === undefined || p === null || typeof p !== 'object' || !('code' in p) ? 0 : this.number(p);
  }

  private v(): Int32Array {
    // Growing the (non-shared) memory detaches the old buffer, which empties its views: the length says it
    // all, and asking memory.buffer (an API call of tens of ns) on every run and helper call is not needed.
    if (this.view.length === 0) this.view = new Int32Array(this.vm.space.memory.buffer);
    return this.view;
  }

  private stackSafe(): boolean {
    const sp = this.vm.space, id = this.vm.stackRegion, base = this.vm.stackBase;
    return sp.regStart[id] === base && sp.regEnd[id] === this.vm.stackTop() && (sp.regPerm[id] & 3) === 3;
  }

  private budgeted(): boolean {
    const b = this.vm.budget;
    return b !== undefined && b < Infinity;
  }

  /** The compiled form of `p` for the Vm's current budget setting and stack region (compiling on first use). */
  get(p: Program, budget = this.budgeted(), safe = this.stackSafe()): CompiledProgram {
    const key0 = (budget ? 1 : 0) | (safe ? 2 : 0);
    if (p === this.lastP && key0 === this.lastKey) return this.lastC!; // the packet loop's case: no WeakMap lookup
    const got = this.lookup(p, budget, safe);
    this.lastP = p; this.lastKey = key0; this.lastC = got;
    return got;
  }

  /** Last get(): program, variant and code (cleared whenever a compiled form is dropped). */
  private lastP: Program | null = null;
  private lastKey = -1;
  private lastC: CompiledProgram | null = null;

  private lookup(p: Program, budget: boolean, safe: boolean): CompiledProgram {
    let list = this.compiled.get(p);
    if (list === undefined) this.compiled.set(p, (list = []));
    const key = (budget ? 1 : 0) | (safe ? 2 : 0);
    let c = list[key];
    if (c === undefined) {
      list[key] = c = this.compile(p, budget, safe, key);
      const n = this.numbers.get(p);
      if (n !== undefined) this.table.set(n * 4 + key, c.main);
    }
    return c;
  }

  private compile(p: Program, budget: boolean, safe: boolean, key: number): CompiledProgram {
    const t0 = performance.now();
    const vm = this.vm, reg = vm.env?.registry;
    const self = this.numbers.get(p) ?? 0;
    const cfg = buildCfg(p, safe, p.length > Jit.splitAbove ? Jit.splitAbove : Infinity);
    const chainMap = this.chainOf === null ? null : this.chainOf(p);
    let chain: Int32Array | null = null;
    const chainFuncs = new Map<number, WebAssembly.ExportValue>();
    if (chainMap !== null) {
      chain = new Int32Array(chainMap.maxEntries);
      for (let i = 0; i < chain.length; i++) chain[i] = this.refNumber(chainMap.progAt(i));
      // successors compiled first (in this variant), so that the exit can call them directly
      this.compiling.add(p);
      try {
        for (const n of chain) {
          const t = this.progs[n];
          if (n === 0 || t === null || t === p || this.compiling.has(t) || chainFuncs.has(n)) continue;
          chainFuncs.set(n, this.get(t, budget, safe).main);
          let users = this.directUsers.get(t);
          if (users === undefined) this.directUsers.set(t, (users = new Set()));
          users.add(p);
        }
      } finally {
        this.compiling.delete(p);
      }
    }
    const bytes = compileModule(cfg, {
      jb: this.jb, top: vm.stackTop(), budget, compact: p.length > Jit.compactAbove, key, self, chain, chainFuncs,
      inlineLookup: vm.helpers[1] === mapLookupElem, splitAbove: Jit.splitAbove,
      progArray: (h) => {
        const m = vm.helpers[12] === tailCall ? reg?.byHandle(h) : undefined;
        return m instanceof ProgArrayMap ? { numbers: this.arrayNumbers(m), maxEntries: m.maxEntries } : null;
      },
      arrayMap: (h) => {
        const m = reg?.byHandle(h);
        if (!(m instanceof ArrayMap)) return null;
        return { values: m.values, stride: m.stride, maxEntries: m.maxEntries, percpu: m.percpu, elemSize: m.elemSize };
      },
    });
    let mod: WebAssembly.Module;
    try {
      mod = new WebAssembly.Module(bytes);
    } catch (e) {
      throw new BpfError('E2BIG', `JIT: the engine rejected the compiled program (${(e as Error).message})`);
    }
    const imports: Record<string, unknown> = {};
    for (const [n, f] of chainFuncs) imports[`c${n}`] = f;
    const inst = new WebAssembly.Instance(mod, {
      env: {
        ...imports,
        mem: this.vm.space.memory,
        tbl: this.table,
        helper: (id: number, pc: number, tcc: number, canTail: number) => this.helper(id, pc, tcc, canTail),
        frametop: (depth: number) => this.vm.frameTop(depth),
        memslow: (pc: number, blo: number, bhi: number, off: number, size: number, perm: number) => this.memslow(pc, blo, bhi, off, size, perm),
        trap: (kind: number, pc: number, a: number, b: number) => this.trap(p, kind, pc, a, b),
      },
    });
    const run = inst.exports.run as CompiledProgram['run'];
    return { run, main: inst.exports.main, compileMs: performance.now() - t0, wasmBytes: bytes.length };
  }

  /** Run `p`: r1 and r2 as given, other registers zero. Returns r0's low half; the high half goes to vm.hi[0]. */
  run(p: Program, r1lo: number, r1hi: number, r2lo: number, r2hi: number): number {
    const vm = this.vm;
    if (vm.trace !== undefined) throw new BpfError('EOPNOTSUPP', 'trace needs the interpreter engine');
    const budget = this.budgeted();
    const c = this.get(p, budget);
    const b = this.jb >> 2;
    if (budget) {
      const v = this.v();
      const left = Math.max(0, Math.floor(Math.min(vm.budget!, 2 ** 53)));
      v[b + (JB_LEFT >> 2)] = left % 4294967296; v[b + (JB_LEFT >> 2) + 1] = Math.floor(left / 4294967296);
    }
    // the rest of the JIT block is set up by the compiled run() (counters, flags; region caches emptied
    // unless the region table is the one they were last known consistent with, see cacheGen)
    const env = vm.env;
    let slow = 1, tcc = 0, cpu = 0;
    if (env !== undefined) {
      tcc = env.tailCallCount;
      cpu = env.registry.cpu;
      const res = env.resolveProg;
      if (res !== null && res !== this.directRes && directResolvers.has(res)) this.directRes = res;
      slow = this.notes || res === null || res !== this.directRes || vm.helpers[12] !== tailCall ? 1 : 0;
    }
    const sp = vm.space, keep = sp.generation === this.cacheGen ? 4 : 0;
    this.cacheGen = -1; // until this run ends normally, the caches may not match the table
    const flags = slow | (this.chainOf !== null && !this.notes ? 2 : 0) | keep;
    vm.halted = false;
    vm.insnCount = 0;
    let lo: number;
    try {
      lo = c.run(r1lo, r1hi, r2lo, r2hi, tcc, flags, vm.packetAddr, vm.packetLen, cpu);
      const w = this.v();
      vm.lo[0] = lo; vm.hi[0] = w[b + (JB_REGS >> 2) + 1];
      if (env !== undefined) env.tailCallCount = w[b + (JB_TCC >> 2)];
      // every helper that changed the table emptied the caches, so they hold only current bounds
      this.cacheGen = sp.generation;
    } catch (e) {
      if (e !== HALT) throw e;
      lo = vm.lo[0];
    }
    if (budget) vm.insnCount = Math.max(0, Math.floor(Math.min(vm.budget!, 2 ** 53))) - this.left();
    return lo;
  }

  /**
   * Region-table generation the region caches were consistent with when the last run ended normally (-1:
   * unknown, e.g. a run threw - possibly from a helper that changed the table before its caches were
   * emptied). The next run keeps the caches only if the generation is still this one.
   */
  private cacheGen = -1;

  private left(): number {
    const v = this.v(), i = (this.jb + JB_LEFT) >> 2;
    return v[i + 1] * 4294967296 + (v[i] >>> 0);
  }

  /** Empty the region caches, both entries of each (start 1 > end 0: nothing hits). */
  private emptyCaches(v: Int32Array): void {
    for (let perm = 1; perm <= 3; perm++) {
      for (let e = 0; e < 2; e++) {
        const i = (this.jb + cacheOffset(perm, e)) >> 2;
        v[i] = 1; v[i + 1] = 0; v[i + 2] = 0; v[i + 3] = 0;
      }
    }
  }

  /**
   * The helper trampoline: r0-r5 come through the register scratch, the tail-call counter as `tcc` (the
   * helpers read env.tailCallCount). Returns the counter afterwards, or, when the helper was a successful
   * bpf_tail_call, -(target number * 64 + counter): the compiled code then continues in the target.
   */
  private helper(id: number, pc: number, tcc: number, canTail: number): number {
    const vm = this.vm;
    const fn = vm.helpers[id];
    if (fn === undefined) throw new BpfError('EINVAL', `insn ${pc}: unknown helper id ${id}`, pc);
    let v = this.v();
    const b = (this.jb + JB_REGS) >> 2;
    const L = vm.lo, H = vm.hi;
    for (let r = 0; r <= 5; r++) { L[r] = v[b + 2 * r]; H[r] = v[b + 2 * r + 1]; }
    vm.pc = pc;
    const env = vm.env;
    if (env !== undefined) env.tailCallCount = tcc;
    const gen = vm.space.generation;
    fn(vm);
    let ret = env !== undefined ? env.tailCallCount : tcc;
    if (vm.halted) {
      if (env === undefined || env.pendingTailCall === null) throw HALT;
      const next = env.pendingTailCall;
      env.pendingTailCall = null;
      if (canTail === 0) {
        throw new BpfError('EOPNOTSUPP', `insn ${pc}: helper ${id} asked for a tail call; on the JIT only bpf_tail_call (helper 12) can`, pc);
      }
      vm.halted = false;
      ret = -(this.number(next) * 64 + ret);
    }
    v = this.v(); // the helper may have grown the memory
    for (let r = 0; r <= 5; r++) { v[b + 2 * r] = L[r]; v[b + 2 * r + 1] = H[r]; }
    // A cached region stays valid while the region table is unchanged: most helpers (map lookups, time,
    // random) leave it alone, and keeping the caches spares the next accesses the slow path. A helper that
    // moved a region (bpf_xdp_adjust_head/tail/meta via setRegion), unmapped one, or grew the memory bumped
    // the generation, and then no cached bounds may be trusted.
    if (vm.space.generation !== gen) this.emptyCaches(v);
    return ret;
  }

  private memslow(pc: number, blo: number, bhi: number, off: number, size: number, perm: number): void {
    const sp = this.vm.space;
    const a = (blo >>> 0) + off;
    if (bhi === 0) {
      const id = sp.findRegion(a, size, perm);
      if (id >= 0) {
        const start = sp.regStart[id];
        if (start >= MIN_CACHED_START) {
          // the found region becomes entry 0, the previous entry 0 moves to entry 1 (the older one goes)
          const v = this.v(), i = (this.jb + cacheOffset(perm)) >> 2, j = (this.jb + cacheOffset(perm, 1)) >> 2;
          v[j] = v[i]; v[j + 1] = v[i + 1]; v[j + 2] = v[i + 2]; v[j + 3] = v[i + 3];
          v[i] = start; v[i + 1] = 0; v[i + 2] = sp.regEnd[id]; v[i + 3] = 0;
        }
        return;
      }
    }
    const full = BigInt.asUintN(64, u64(blo, bhi) + BigInt(off));
    const kind = perm === 1 ? 'read' : perm === 2 ? 'write' : 'read-modify-write';
    throw new BpfError('EFAULT', `insn ${pc}: invalid memory access: ${kind} of ${size} bytes at 0x${full.toString(16)}`, pc);
  }

  private trap(p: Program, kind: number, pc: number, a: number, b: number): never {
    const vm = this.vm;
    switch (kind) {
      case TRAP_INSN: {
        const why = p.trap.get(pc) ?? `unknown opcode 0x${p.code[pc].toString(16).padStart(2, '0')}`;
        throw new BpfError('EINVAL', `insn ${pc}: ${why}`, pc);
      }
      case TRAP_JUMPOUT: throw new BpfError('EINVAL', `insn ${pc}: jump out of the program to insn ${a}`, pc);
      case TRAP_CALLX: throw new BpfError('EINVAL', `insn ${pc}: unknown helper id ${u64(a, b)}`, pc);
      case TRAP_KFUNC: throw new BpfError('EINVAL', `insn ${pc}: kernel function calls (call src=${a}) are not supported`, pc);
      case TRAP_E2BIG:
        throw new BpfError('E2BIG', `insn ${pc}: the call stack of ${a + 2} frames is too deep (max ${MAX_CALL_FRAMES})`, pc);
      case TRAP_ATOMIC: throw new BpfError('EINVAL', `insn ${pc}: invalid atomic operation 0x${(a >>> 0).toString(16)}`, pc);
      case TRAP_LDABS:
        vm.lo[0] = 0; vm.hi[0] = 0;
        if (vm.env !== undefined) vm.env.tailCallCount = a;
        throw HALT;
      case TRAP_BUDGET: {
        // the segment starting at pc could not be paid for: the first unpaid instruction is number `a` in it
        let at = pc;
        for (let i = 0; i < a; i++) at += insnLen(p, at);
        vm.insnCount = Math.max(0, Math.floor(Math.min(vm.budget!, 2 ** 53)));
        throw new BpfError('EINTR', `instruction budget of ${vm.budget} exhausted at insn ${at}`, at);
      }
    }
    throw new Error(`JIT: unknown trap kind ${kind}`);
  }
}

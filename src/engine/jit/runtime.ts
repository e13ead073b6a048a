// The JIT engine of one Vm: compiles programs (cfg.ts + codegen.ts) into wasm instances over the Vm's
// memory, caches them per program and variant, and provides the imports compiled code calls: the helper
// trampoline (r0-r5 travel through the register scratch in the JIT block, so helpers see vm.lo/vm.hi exactly
// as in the interpreter and no BigInt is ever created), the memory-check slow path (it refills the
// region cache), and the traps that raise the interpreter's BpfErrors.
//
// Variants: a program is compiled with or without budget counting (vm.budget can change between runs) and
// with or without the r10 fast path (valid only while the Vm's stack region is intact). Choices:
// - vm.trace is an interpreter feature: a JIT run with a trace hook raises EOPNOTSUPP (no silent fallback);
// - vm.insnCount is exact when a budget is set; without one the JIT does not count and leaves it at 0.

import { BpfError } from '../../errors.js';
import { MAX_CALL_FRAMES } from '../../isa/opcodes.js';
import type { Program } from '../interp.js';
import type { Vm } from '../vm.js';
import { buildCfg, insnLen } from './cfg.js';
import {
  JB_LEFT, JB_PKT_ADDR, JB_PKT_LEN, JB_REGS, JB_SIZE, TRAP_ATOMIC, TRAP_BUDGET, TRAP_CALLX, TRAP_E2BIG, TRAP_INSN,
  TRAP_JUMPOUT, TRAP_KFUNC, TRAP_LDABS, cacheOffset, compileModule,
} from './codegen.js';

/** Thrown through the wasm frames to stop a program at once (vm.halted, LD_ABS out of bounds). */
const HALT = Object.freeze({ halt: true });

/** Regions starting below this are never cached (the inline check relies on it, see codegen addr()). */
const MIN_CACHED_START = 65536;

export interface CompiledProgram {
  run: (r1lo: number, r1hi: number, r2lo: number, r2hi: number) => number;
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
  /** Address of the JIT block (register scratch, region caches, budget, packet). */
  readonly jb: number;
  private view: Int32Array;
  private readonly compiled = new WeakMap<Program, (CompiledProgram | undefined)[]>();

  constructor(private readonly vm: Vm) {
    this.jb = vm.space.alloc(JB_SIZE, 16);
    this.view = new Int32Array(vm.space.memory.buffer);
  }

  private v(): Int32Array {
    if (this.view.length === 0 || this.view.buffer !== this.vm.space.memory.buffer) this.view = new Int32Array(this.vm.space.memory.buffer);
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
    let list = this.compiled.get(p);
    if (list === undefined) this.compiled.set(p, (list = []));
    const key = (budget ? 1 : 0) | (safe ? 2 : 0);
    let c = list[key];
    if (c === undefined) list[key] = c = this.compile(p, budget, safe);
    return c;
  }

  private compile(p: Program, budget: boolean, safe: boolean): CompiledProgram {
    const t0 = performance.now();
    const cfg = buildCfg(p, safe);
    const bytes = compileModule(cfg, { jb: this.jb, top: this.vm.stackTop(), budget, compact: p.length > Jit.compactAbove });
    let mod: WebAssembly.Module;
    try {
      mod = new WebAssembly.Module(bytes);
    } catch (e) {
      throw new BpfError('E2BIG', `JIT: the engine rejected the compiled program (${(e as Error).message})`);
    }
    const inst = new WebAssembly.Instance(mod, {
      env: {
        mem: this.vm.space.memory,
        helper: (id: number, pc: number) => this.helper(id, pc),
        memslow: (pc: number, blo: number, bhi: number, off: number, size: number, perm: number) => this.memslow(pc, blo, bhi, off, size, perm),
        trap: (kind: number, pc: number, a: number, b: number) => this.trap(p, kind, pc, a, b),
      },
    });
    const run = inst.exports.run as CompiledProgram['run'];
    return { run, compileMs: performance.now() - t0, wasmBytes: bytes.length };
  }

  /** Run `p`: r1 and r2 as given, other registers zero. Returns r0's low half; the high half goes to vm.hi[0]. */
  run(p: Program, r1lo: number, r1hi: number, r2lo: number, r2hi: number): number {
    const vm = this.vm;
    if (vm.trace !== undefined) throw new BpfError('EOPNOTSUPP', 'trace needs the interpreter engine');
    const budget = this.budgeted();
    const c = this.get(p, budget);
    const v = this.v(), b = this.jb >> 2;
    this.invalidate(v);
    if (budget) {
      const left = Math.max(0, Math.floor(Math.min(vm.budget!, 2 ** 53)));
      v[b + (JB_LEFT >> 2)] = left % 4294967296; v[b + (JB_LEFT >> 2) + 1] = Math.floor(left / 4294967296);
    }
    v[b + (JB_PKT_ADDR >> 2)] = vm.packetAddr; v[b + (JB_PKT_LEN >> 2)] = vm.packetLen;
    vm.halted = false;
    vm.insnCount = 0;
    let lo: number;
    try {
      lo = c.run(r1lo, r1hi, r2lo, r2hi);
      const w = this.v();
      vm.lo[0] = lo; vm.hi[0] = w[b + (JB_REGS >> 2) + 1];
    } catch (e) {
      if (e !== HALT) throw e;
      lo = vm.lo[0];
    }
    if (budget) vm.insnCount = Math.max(0, Math.floor(Math.min(vm.budget!, 2 ** 53))) - this.left();
    return lo;
  }

  private left(): number {
    const v = this.v(), i = (this.jb + JB_LEFT) >> 2;
    return v[i + 1] * 4294967296 + (v[i] >>> 0);
  }

  /** Empty the three region caches (start 1 > end 0: nothing hits). */
  private invalidate(v: Int32Array): void {
    for (let perm = 1; perm <= 3; perm++) {
      const i = (this.jb + cacheOffset(perm)) >> 2;
      v[i] = 1; v[i + 1] = 0; v[i + 2] = 0; v[i + 3] = 0;
    }
  }

  private helper(id: number, pc: number): void {
    const vm = this.vm;
    const fn = vm.helpers[id];
    if (fn === undefined) throw new BpfError('EINVAL', `insn ${pc}: unknown helper id ${id}`, pc);
    let v = this.v();
    const b = (this.jb + JB_REGS) >> 2;
    const L = vm.lo, H = vm.hi;
    for (let r = 0; r <= 5; r++) { L[r] = v[b + 2 * r]; H[r] = v[b + 2 * r + 1]; }
    vm.pc = pc;
    fn(vm);
    if (vm.halted) {
      const env = vm.env;
      if (env !== undefined && env.pendingTailCall !== null) {
        // bpf_tail_call succeeded: the JIT does not jump to the target yet (issue 6); never run on silently
        env.pendingTailCall = null;
        throw new BpfError('EOPNOTSUPP', `insn ${pc}: tail calls are not supported by the JIT engine yet; use the interpreter`, pc);
      }
      throw HALT;
    }
    v = this.v(); // the helper may have grown the memory
    for (let r = 0; r <= 5; r++) { v[b + 2 * r] = L[r]; v[b + 2 * r + 1] = H[r]; }
    this.invalidate(v); // the helper may have changed the region table
  }

  private memslow(pc: number, blo: number, bhi: number, off: number, size: number, perm: number): void {
    const sp = this.vm.space;
    const a = (blo >>> 0) + off;
    if (bhi === 0) {
      const id = sp.findRegion(a, size, perm);
      if (id >= 0) {
        const start = sp.regStart[id];
        if (start >= MIN_CACHED_START) {
          const v = this.v(), i = (this.jb + cacheOffset(perm)) >> 2;
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

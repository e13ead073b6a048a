// The Vm: one interpreter instance over one AddressSpace. It owns the register file (two Int32Arrays of
// halves, never BigInts), the 8-frame stack region, the helper table the runtime fills in, and the optional
// instruction budget and trace hook. load() validates a program and pre-decodes it; run()/runRaw() execute it
// through engine/interp.ts. BigInt appears only in run()'s arguments and result.
//
// Error choices (documented here because the kernel has no run-time equivalent for some of them):
// - memory access outside every region with the needed permission: EFAULT;
// - a 9th call frame of one program: E2BIG (the verifier's "call stack of N frames is too deep" uses E2BIG too);
// - instruction budget exhausted: EINTR;
// - unknown opcode, jump out of the program, unknown helper id: EINVAL.
// Every one of them names the instruction index and carries it in BpfError.insn.

import { BpfError } from '../errors.js';
import { MAX_BPF_STACK, MAX_CALL_FRAMES } from '../isa/opcodes.js';
import { MAX_TAIL_CALL_CNT } from '../uapi/bpf.js';
import type { Insn } from '../isa/insn.js';
import { AddressSpace, PERM_RW } from '../vm/memory.js';
import { validate } from '../verifier/validate.js';
import { execute, predecode, type Program } from './interp.js';
import { Jit } from './jit/runtime.js';
import type { RunEnv } from '../helpers/env.js';

export type { Program } from './interp.js';

/**
 * A helper: arguments in r1..r5 (vm.lo[i], vm.hi[i]); it writes its result to r0 (vm.lo[0]/vm.hi[0]).
 * It may set vm.halted = true to stop the program at once with the current r0. r1-r5 are left as the
 * helper leaves them (the kernel's interpreter does not clear them; the verifier forbids reading them).
 */
export type HelperFn = (vm: Vm) => void;

export interface VmOptions {
  /** Address space to run in (a fresh 1 MiB one by default). */
  space?: AddressSpace;
  /** Most instructions one run may execute; unlimited by default. */
  budget?: number;
  /** Engine that runs programs: the WebAssembly JIT (engine/jit/) or the interpreter; see defaultEngine(). */
  engine?: Engine;
}

export type Engine = 'interp' | 'jit';

/**
 * The engine a Vm gets when none is named: TSBPF_ENGINE (interp|jit) from the environment, else the JIT
 * (the default since the whole test suite passes on it; CI runs the suite on both). Read at each
 * construction so that a test process can switch it.
 */
export function defaultEngine(): Engine {
  const e = typeof process === 'undefined' ? undefined : process.env.TSBPF_ENGINE;
  if (e === undefined || e === '') return 'jit';
  if (e !== 'interp' && e !== 'jit') throw new BpfError('EINVAL', `TSBPF_ENGINE must be interp or jit, not '${e}'`);
  return e;
}

/** One executed instruction, as reported to Vm.trace. Register values are unsigned 64-bit. */
export interface TraceEvent {
  pc: number;
  insn: Insn;
  changed: { reg: number; value: bigint }[];
}

/** Bytes of the stack region: one 512-byte frame per possible call depth. */
export const STACK_SIZE = MAX_BPF_STACK * MAX_CALL_FRAMES;

/**
 * Most frames one run can have live. A tail call reuses the frame it is made from, but when it is made from
 * a subprogram (depth d > 0) the target starts at depth d and may call 7 more levels (the kernel's JIT keeps
 * the callers' frames too; its verifier caps such frames at 256 bytes instead). So 33 tail calls from
 * subprograms can nest 8 + 33 * 7 frames. Frames 0..7 live in the stack region; deeper ones in an extension
 * region allocated the first time a run needs it (see Vm.frameTop).
 */
export const MAX_RUN_FRAMES = MAX_CALL_FRAMES + MAX_TAIL_CALL_CNT * (MAX_CALL_FRAMES - 1);

export class Vm {
  readonly space: AddressSpace;
  /** Register file r0..r10: low and high 32-bit halves. */
  readonly lo = new Int32Array(11);
  readonly hi = new Int32Array(11);
  /** Set by a helper to end the program at once with the current r0; cleared at the start of each run. */
  halted = false;
  /** Helper table indexed by helper id; the runtime owns it. */
  helpers: (HelperFn | undefined)[] = [];
  /** Runtime state the helpers read (maps, clock, current hook, trace sink); see helpers/env.ts. */
  env: RunEnv | undefined = undefined;
  budget: number | undefined;
  /** When set, called after each executed instruction (slow path; allocates). */
  trace: ((ev: TraceEvent) => void) | undefined;

  /** Index of the instruction being executed; valid while a helper runs (for helpers that report errors). */
  pc = 0;
  /** Instructions executed by the last run (for benchmarks). */
  insnCount = 0;

  /** Lowest address of the stack region; frame k's r10 is stackTop() - k * 512. */
  readonly stackBase: number;
  /** Region id of the stack in the space's region table. */
  readonly stackRegion: number;

  // Engine internals (used by interp.ts): bpf-to-bpf call frames and the legacy packet. Indexed by the
  // absolute depth of the caller; a run's frames can outnumber MAX_CALL_FRAMES only through tail calls made
  // from subprograms (MAX_RUN_FRAMES).
  /** Return pc of each pushed frame. */
  readonly frameRet = new Int32Array(MAX_RUN_FRAMES);
  /** Saved r6..r9 (lo, hi pairs) of each pushed frame. */
  readonly frameRegs = new Int32Array(MAX_RUN_FRAMES * 8);
  /**
   * Tail-call state of the interpreter, per pushed frame: the program to return into (a subprogram that
   * tail-called returns the target's r0 to its caller, which may be another program) and that program's
   * base depth (the depth of its main frame; its own bpf-to-bpf calls may go 7 levels below it). The
   * run-wide tail-call counter and the pending target live in the RunEnv (helpers/env.ts), because helper
   * 12 does the kernel's checks; the interpreter only performs the jump (engine/interp.ts, case 0x85).
   */
  readonly frameProg: (Program | null)[] = new Array<Program | null>(MAX_RUN_FRAMES).fill(null);
  readonly frameBase = new Int32Array(MAX_RUN_FRAMES);
  /** r10 of frame MAX_CALL_FRAMES (the first one in the extension region), 0 until allocated. */
  private extTop = 0;
  /** Register snapshot for the trace path. */
  readonly traceLo = new Int32Array(11);
  readonly traceHi = new Int32Array(11);
  /** Packet that LD_ABS/LD_IND read (address and length in the space). */
  packetAddr = 0;
  packetLen = 0;

  /** Engine chosen at construction; a JIT run with `trace` set raises EOPNOTSUPP (trace is interpreter-only). */
  readonly engine: Engine;
  private jitEngine: Jit | undefined;

  constructor(opts: VmOptions = {}) {
    this.space = opts.space ?? new AddressSpace();
    this.budget = opts.budget;
    this.engine = opts.engine ?? defaultEngine();
    this.stackBase = this.space.alloc(STACK_SIZE, 16);
    this.stackRegion = this.space.mapRegion(this.stackBase, STACK_SIZE, PERM_RW);
  }

  /** Validate (verifier/validate.ts) and pre-decode a program. Throws BpfError(EINVAL, "insn N: reason"). */
  load(insns: readonly Insn[]): Program {
    validate(insns);
    const p = predecode(insns, true);
    if (this.engine === 'jit') this.jit().get(p); // compile now: load-time cost and errors stay at load
    return p;
  }

  /** The JIT of this Vm (created on first use; it allocates its scratch block in the space). */
  jit(): Jit {
    const j = this.jitEngine;
    return j !== undefined ? j : (this.jitEngine = new Jit(this));
  }

  /**
   * Pre-decode without validation: invalid slots become traps that stop the run with EINVAL when reached
   * (for testing run-time checks, and for callers that validated elsewhere).
   */
  loadUnchecked(insns: readonly Insn[]): Program {
    return predecode(insns, false);
  }

  /** Run with r1, r2 as given (others zero); returns r0 as an unsigned 64-bit value. */
  run(prog: Program, r1 = 0n, r2 = 0n): bigint {
    const a = BigInt.asUintN(64, r1), b = BigInt.asUintN(64, r2);
    const lo = this.runRaw(prog, Number(a & 0xffffffffn) | 0, Number(a >> 32n) | 0, Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0);
    return (BigInt(this.hi[0] >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  /** Run without BigInt: returns r0's low half (as int32); r0's high half is left in vm.hi[0]. */
  runRaw(prog: Program, r1lo: number, r1hi: number, r2lo: number, r2hi: number): number {
    // the JIT passes registers to the compiled code itself (vm.lo/hi carry only helper arguments there)
    if (this.engine === 'jit') return this.jit().run(prog, r1lo, r1hi, r2lo, r2hi);
    const L = this.lo, H = this.hi;
    L.fill(0); H.fill(0);
    L[1] = r1lo; H[1] = r1hi; L[2] = r2lo; H[2] = r2hi;
    L[10] = this.stackTop();
    return execute(this, prog);
  }

  /** r10 of the main frame. */
  stackTop(): number {
    return this.stackBase + STACK_SIZE;
  }

  /**
   * r10 of the frame at absolute depth k (0 = main). Depths beyond MAX_CALL_FRAMES exist only under tail
   * calls from subprograms; their region is allocated once, on first use (the memory may grow then: callers
   * re-read the space's views).
   */
  frameTop(k: number): number {
    if (k < MAX_CALL_FRAMES) return this.stackTop() - k * MAX_BPF_STACK;
    if (this.extTop === 0) {
      const size = (MAX_RUN_FRAMES - MAX_CALL_FRAMES) * MAX_BPF_STACK;
      const base = this.space.alloc(size, 16);
      this.space.mapRegion(base, size, PERM_RW);
      this.extTop = base + size;
    }
    return this.extTop - (k - MAX_CALL_FRAMES) * MAX_BPF_STACK;
  }

  /** Name the packet LD_ABS/LD_IND read from ([addr, addr+len) must lie inside the space). */
  setPacket(addr: number, len: number): void {
    if (!Number.isInteger(addr) || !Number.isInteger(len) || addr < 0 || len < 0 || addr + len > this.space.memory.buffer.byteLength) {
      throw new BpfError('EINVAL', `packet [${addr}, +${len}) is outside the address space`);
    }
    this.packetAddr = addr;
    this.packetLen = len;
  }
}

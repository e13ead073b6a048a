// The chain-call core of one runtime: the chain slots of every program, the BPF_PROG_CHAIN_ADD/DEL/GET
// rules, and the run loop that follows chains. Two execution models (RuntimeOptions.chainMode):
//
// - "native" (default; the letter's recommendation and its v3): no rewriting, no load flag. After a program
//   returns, the run loop itself picks next = slot[ret + 1] if ret + 1 < 8 and that slot is set, else
//   slot[0]; it stops when there is none. The chain that applies is the one of the program that actually
//   exits: after a tail call, the target's (the same program the "inject" model's rewritten exit runs in).
//   Chain hops and tail calls share one budget of 33 per run (env.tailCallCount): a hop needs a free unit,
//   like the tail call it replaces. Each hop reads its slot when it happens, so a chain changed while
//   packets flow (even by a helper in the middle of a run) takes effect at the next hop, and a hop sees
//   either the old or the new program, never a mix. Any program can be a `prev`.
// - "inject" (the patch, RFC v2): programs loaded with BPF_F_INJECT_CHAIN_CALLS get their exits rewritten
//   (src/verifier/chain_inject.ts) into tail calls through their slots; only they can be a `prev`
//   (EOPNOTSUPP otherwise). The run loop only runs the entry program.
//
// Both models give the same verdicts and run the same programs in the same order (test/chain_diff.test.ts).
// Known difference, documented: a tail call made from inside a bpf-to-bpf subprogram. The target's exits are
// rewritten, so in "inject" its chain runs when it returns into the subprogram's caller, and the caller's
// chain runs again at the caller's exit; "native" follows only the chain of the last program entered.
//
// On the JIT engine (engine/jit/runtime.ts) the "native" hops run in compiled code: the Jit asks `chainOf`
// for a program's slots when it compiles it, the program's exit then hops to its successors directly, and
// ADD/DEL recompile the program (between packets; a packet in flight finishes on the code it started
// with). While the loop records (`record`, an observer), the Jit leaves hops and tail calls to this loop
// and to bpf_tail_call (`jit.notes`), so every hop is seen here.
//
// The loop also reports, without allocating: the programs that ran in order (`record`, for the CLI's
// "programs_run"), and one observer call per hop (entry program of the hop and its return value) for the
// per-program counters of virtual interfaces (src/net/runner.ts). A hop's own tail calls are folded into
// its entry program, as the default XDP runner does.

import { fail } from '../errors.js';
import { execute, type Program } from '../engine/interp.js';
import type { Vm } from '../engine/vm.js';
import type { RunEnv } from '../helpers/env.js';
import type { MapRegistry, ProgRef } from '../maps/map.js';
import type { ProgRunObserver } from '../net/runner.js';
import { directResolvers } from '../helpers/maps.js';
import type { Jit } from '../engine/jit/runtime.js';
import { BpfProg } from '../syscall/prog.js';
import { BPF_NUM_CHAIN_SLOTS, MAX_TAIL_CALL_CNT } from '../uapi/bpf.js';
import { ChainSlots, chainSlotIndex } from './slots.js';

export type ChainMode = 'native' | 'inject';

export const CHAIN_MODES: readonly ChainMode[] = ['native', 'inject'];

export function checkChainMode(mode: unknown): ChainMode {
  if (mode !== 'native' && mode !== 'inject') fail('EINVAL', `chain mode must be 'native' or 'inject', not '${String(mode)}'`);
  return mode;
}

export class ChainCore {
  readonly mode: ChainMode;
  readonly native: boolean;
  /** When non-null, every top-level run refills it with the programs that ran, in order. */
  record: BpfProg[] | null = null;
  /**
   * Entries of `record` written by the current run. The array is refilled in place and trimmed at the end of
   * a run: emptying it first (length = 0) would drop its backing store, and every run would allocate anew.
   */
  private recLen = 0;

  private readonly vm: Vm;
  private readonly env: RunEnv;
  private readonly registry: MapRegistry;
  /** Pre-decoded program -> its BpfProg (test runs hand the hook a Program). */
  private readonly owners = new Map<Program, BpfProg>();
  /** The program running now whose exit decides the next hop (the last one entered). */
  private exiting: BpfProg | null = null;
  /** Entry program of the current hop, and the observer of the current run (inject-model hop reports). */
  private hopEntry: BpfProg | null = null;
  private obs: ProgRunObserver | null = null;

  constructor(vm: Vm, env: RunEnv, registry: MapRegistry, mode: ChainMode = 'native') {
    this.vm = vm;
    this.env = env;
    this.registry = registry;
    this.mode = checkChainMode(mode);
    this.native = mode === 'native';
    directResolvers.add(this.resolveProg);
    if (vm.engine === 'jit') {
      this.jit = vm.jit();
      if (this.native) this.jit.chainOf = (p) => this.owners.get(p)?.chain?.table ?? null;
    }
  }

  /** The Vm's JIT when it runs on that engine. */
  private readonly jit: Jit | null = null;

  /** `prev`'s chain changed: its compiled exit names the old successors. */
  private changed(prev: BpfProg): void {
    if (this.jit !== null && this.native) this.jit.invalidate(prev.program);
  }

  // -------------------------------------------------------------------------------------------------------
  // Program lifetime (called by the bpf() layer).

  /** A new hidden slot table for `prog` (the inject model needs it before the BpfProg exists: see adopt). */
  newSlots(owner: BpfProg): ChainSlots {
    return new ChainSlots(this.registry, owner);
  }

  /** Register a loaded program (and the slots its load created, if any). */
  adopt(prog: BpfProg, slots: ChainSlots | null): void {
    prog.chain = slots;
    this.owners.set(prog.program, prog);
  }

  /** The programs `prog`'s slots hold (the collector follows them like a prog array's). */
  targets(prog: BpfProg): BpfProg[] {
    return prog.chain === null ? [] : prog.chain.targets();
  }

  /** `prog` was freed: drop its slots (and their references) and forget it. */
  release(prog: BpfProg): void {
    this.owners.delete(prog.program);
    if (prog.chain !== null) {
      prog.chain.destroy();
      prog.chain = null;
    }
    if (this.exiting === prog) this.exiting = null;
    if (this.hopEntry === prog) this.hopEntry = null;
  }

  // -------------------------------------------------------------------------------------------------------
  // BPF_PROG_CHAIN_* (the patch's bpf_prog_chain(), in its order of checks).

  /** Slot of `retcode` for `cmd`: EINVAL when not a u32, E2BIG when >= 8. */
  slotIndex(cmd: string, retcode: number): number {
    const idx = chainSlotIndex(retcode);
    if (idx < 0) fail('EINVAL', `${cmd}: retcode must be a u32 (or ~0 for the wildcard), got ${String(retcode)}`);
    if (idx >= BPF_NUM_CHAIN_SLOTS) {
      fail('E2BIG', `${cmd}: retcode ${retcode} names chain slot ${idx}; a program has ${BPF_NUM_CHAIN_SLOTS} (retcodes 0..${BPF_NUM_CHAIN_SLOTS - 2} and ~0)`);
    }
    return idx;
  }

  /** The slots of `prev` for `cmd`, created on demand in the native model (EOPNOTSUPP without the flag in inject). */
  slotsOf(cmd: string, prev: BpfProg, create: boolean): ChainSlots | null {
    if (prev.chain !== null) return prev.chain;
    if (!this.native) {
      fail('EOPNOTSUPP', `${cmd}: program '${prev.name}' (id ${prev.id}) was not loaded with BPF_F_INJECT_CHAIN_CALLS, so it cannot start a chain (chain mode 'inject')`);
    }
    if (!create) return null;
    const s = this.newSlots(prev);
    prev.chain = s;
    return s;
  }

  /** ADD: store `next` (an occupied slot is replaced silently; the caller drops the old reference). */
  add(cmd: string, prev: BpfProg, index: number, next: BpfProg): BpfProg | null {
    const old = this.slotsOf(cmd, prev, true)!.set(cmd, index, next);
    this.changed(prev);
    return old;
  }

  /** DEL: empty the slot (ENOENT when it is empty). */
  del(cmd: string, prev: BpfProg, index: number, retcode: number): BpfProg {
    const s = this.slotsOf(cmd, prev, false);
    const old = s === null ? null : s.delete(index);
    if (old === null) fail('ENOENT', `${cmd}: program '${prev.name}' (id ${prev.id}) has no chain for retcode ${retcodeText(retcode)}`);
    this.changed(prev);
    return old;
  }

  /** GET: the program in the slot (ENOENT when empty). */
  get(cmd: string, prev: BpfProg, index: number, retcode: number): BpfProg {
    const s = this.slotsOf(cmd, prev, false);
    const p = s === null ? null : s.at(index);
    if (p === null) fail('ENOENT', `${cmd}: program '${prev.name}' (id ${prev.id}) has no chain for retcode ${retcodeText(retcode)}`);
    return p;
  }

  // -------------------------------------------------------------------------------------------------------
  // Running.

  /**
   * RunEnv.resolveProg: a prog-array slot -> its code, called by bpf_tail_call exactly when the tail call
   * happens. It notes the target as the program that will exit, records it, and in the inject model turns
   * a tail call through the running program's own chain table into a hop report.
   */
  readonly resolveProg = (ref: ProgRef): Program | null => {
    if (!(ref instanceof BpfProg)) return null;
    const ex = this.exiting;
    if (this.obs !== null && ex !== null && ex.chain !== null) {
      const vm = this.vm;
      // The injected exit sequence holds the table in r2 and the verdict in r6 while it tail-calls.
      if ((vm.lo[2] >>> 0) === ex.chain.handle && vm.hi[2] === 0 && this.hopEntry !== null) {
        this.obs.progRan(this.hopEntry, vm.lo[6] >>> 0);
        this.hopEntry = ref;
      }
    }
    this.exiting = ref;
    if (this.record !== null) this.record[this.recLen++] = ref;
    return ref.program;
  };

  /** The hook's run loop (RunEnv.runHook): the program a test run or tracing hook hands over, by code. */
  readonly runHook = (program: Program, ctx: number): number => {
    const prog = this.owners.get(program);
    if (prog === undefined) return this.runPlain(program, ctx);
    return this.run(prog, ctx, null);
  };

  /** A program the core does not know (loaded on the Vm directly): run it and its tail calls. */
  private runPlain(program: Program, ctx: number): number {
    const vm = this.vm, env = this.env;
    this.exiting = null;
    let r = vm.runRaw(program, ctx, 0, 0, 0);
    while (env.pendingTailCall !== null) {
      const next = env.pendingTailCall;
      env.pendingTailCall = null;
      r = vm.runRaw(next, ctx, 0, 0, 0);
    }
    return r >>> 0;
  }

  /** Drop what a longer earlier run left past this run's entries (no-op when the lengths agree). */
  private trimRecord(rec: BpfProg[]): void {
    if (rec.length !== this.recLen) rec.length = this.recLen;
  }

  /**
   * One top-level run of `entry` on `ctx` and everything it chains to: returns the last program's r0 as a
   * u32. The per-run budget starts at zero here (the caller has cleared the other per-run records).
   */
  run(entry: BpfProg, ctx: number, obs: ProgRunObserver | null): number {
    const vm = this.vm, env = this.env, rec = this.record, native = this.native;
    env.tailCallCount = 0;
    env.pendingTailCall = null;
    if (rec !== null) { this.recLen = 0; rec[this.recLen++] = entry; }
    this.obs = obs;
    let cur = entry;
    let r = 0;
    const direct = vm.engine === 'interp';
    const jit = this.jit;
    if (jit !== null) {
      jit.notes = rec !== null || obs !== null;
      // Nothing to record: the compiled code makes every tail call and hop itself (its exits were compiled
      // with the chains as they are now: ADD/DEL recompile), so its return is the run's verdict.
      if (!jit.notes) { this.obs = null; return vm.runRaw(entry.program, ctx, 0, 0, 0) >>> 0; }
    }
    try {
      for (let hop = 0; ; hop++) {
        this.exiting = cur;
        this.hopEntry = cur;
        if (hop > 0 && direct) {
          // A hop enters the next program the way a tail call does: r1 = ctx, the main frame, the other
          // registers left as they are (verified programs cannot read them). This skips runRaw's register
          // clearing and halves the cost of a hop in the interpreter.
          const L = vm.lo, H = vm.hi;
          L[1] = ctx; H[1] = 0;
          L[10] = vm.stackTop(); H[10] = 0;
          r = execute(vm, cur.program);
        } else {
          r = vm.runRaw(cur.program, ctx, 0, 0, 0);
        }
        if (jit !== null) {
          // the compiled code made its tail calls and hops itself: the program that exited is the last one entered
          const last = jit.lastTarget();
          const bp = last === null ? undefined : this.owners.get(last);
          if (bp !== undefined) this.exiting = bp;
        }
        // Engines that return on a tail call (the interpreter continues in the target itself).
        while (env.pendingTailCall !== null) {
          const next = env.pendingTailCall;
          env.pendingTailCall = null;
          r = vm.runRaw(next, ctx, 0, 0, 0);
        }
        r >>>= 0;
        if (obs !== null) obs.progRan(this.hopEntry!, r);
        if (!native) break;
        const slots = this.exiting!.chain;
        if (slots === null) break;
        let next = r < BPF_NUM_CHAIN_SLOTS - 1 ? slots.at(r + 1) : null;
        if (next === null) next = slots.at(0);
        if (next === null || env.tailCallCount >= MAX_TAIL_CALL_CNT) break;
        env.tailCallCount++;
        cur = next;
        if (rec !== null) rec[this.recLen++] = cur;
      }
    } catch (e) {
      // a failed run still leaves exactly its own programs in the record
      this.obs = null;
      if (rec !== null) this.trimRecord(rec);
      throw e;
    }
    this.obs = null;
    if (rec !== null) this.trimRecord(rec);
    return r;
  }
}

function retcodeText(retcode: number): string {
  return retcode === -1 || retcode === 0xffffffff ? '~0 (wildcard)' : String(retcode);
}

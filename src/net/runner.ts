// How an XDP hook runs one program on the packet in the XDP buffer: the single pluggable point between the
// virtual network and the execution core. The default runs the program and the tail calls it asks for (each
// hop starts with r1 = ctx, sharing one 33-call counter). The chain-call core installs its own runner
// (setXdpProgramRunner) so that a program with chain slots runs its whole chain; every policy (a single
// program, libxdp's dispatcher, bpf_mprog) goes through this function for each of its programs.
//
// Contract of a runner: the hook has called env.beginRun(XDP, ctx) once for the packet (redirect record
// cleared); the runner runs `prog` (and whatever follows it), reports every program that ran to `obs` in
// order with its return value (u32), and returns the verdict as a u32. It must not allocate per packet.

import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import type { BpfProg } from '../syscall/prog.js';
import type { BpfRuntime } from '../syscall/runtime.js';

/** Receives one call per program that ran during a packet (per-program counters, "programs_run" lists). */
export interface ProgRunObserver {
  progRan(prog: BpfProg, retval: number): void;
}

export type XdpProgramRunner = (rt: BpfRuntime, prog: BpfProg, ctx: number, obs: ProgRunObserver | null) => number;

/** The default runner: the program, then the tail calls it requested (RunEnv.pendingTailCall). */
export const defaultXdpProgramRunner: XdpProgramRunner = (rt, prog, ctx, obs) => {
  const env = rt.env;
  env.tailCallCount = 0;
  env.pendingTailCall = null;
  let r = rt.vm.runRaw(prog.program, ctx, 0, 0, 0) >>> 0;
  if (rt.stats) prog.runCnt++;
  if (env.pendingTailCall === null) {
    if (obs !== null) obs.progRan(prog, r);
    return r;
  }
  // A tail call replaced the program: the verdict is the last target's. Observers see the entry program
  // with the final verdict, and only its run_cnt moves (as with BPF_PROG_TEST_RUN here).
  while (env.pendingTailCall !== null) {
    const next = env.pendingTailCall;
    env.pendingTailCall = null;
    r = rt.vm.runRaw(next, ctx, 0, 0, 0) >>> 0;
  }
  if (obs !== null) obs.progRan(prog, r);
  return r;
};

let current: XdpProgramRunner = defaultXdpProgramRunner;

/** Install the runner every XDP hook uses from now on (null: back to the default). */
export function setXdpProgramRunner(fn: XdpProgramRunner | null): void {
  current = fn ?? defaultXdpProgramRunner;
}

export function getXdpProgramRunner(): XdpProgramRunner {
  return current;
}

/** Run `prog` on the XDP buffer at `ctx` with the installed runner. */
export function runXdpProgram(rt: BpfRuntime, prog: BpfProg, ctx: number, obs: ProgRunObserver | null): number {
  return current(rt, prog, ctx, obs);
}

/** Is this a program an XDP hook can run (type XDP, not a devmap/cpumap egress program)? */
export function isXdpProg(prog: BpfProg): boolean {
  return prog.type === BPF_PROG_TYPE.BPF_PROG_TYPE_XDP;
}

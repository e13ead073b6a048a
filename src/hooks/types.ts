// Shared shapes of the program-type hooks: BPF_PROG_TEST_RUN options and results (named after the fields of
// `union bpf_attr`'s `test` member), the program a hook runs, and the run loop every hook uses (one
// top-level run, then the tail calls it requested, with the same ctx).

import type { Program } from '../engine/interp.js';
import type { Vm } from '../engine/vm.js';
import { BpfError } from '../errors.js';
import type { RunEnv } from '../helpers/env.js';

export type { ProgTypeOps, CtxAccessInfo } from '../verifier/types.js';

/** What a hook needs to know about a loaded program. */
export interface TestRunProg {
  /** BPF_PROG_TYPE_* */
  type: number;
  /** expected_attach_type given at load (XDP devmap/cpumap programs cannot be test-run). */
  expectedAttachType?: number;
  /** The verified, pre-decoded program (Vm.load / loadUnchecked of the xlated instructions). */
  program: Program;
}

/** BPF_PROG_TEST_RUN input (attr->test). */
export interface TestRunOpts {
  /** data_in: the packet. */
  dataIn?: Uint8Array;
  /** data_size_out: when non-zero and smaller than the output, the output is clamped and the result carries ENOSPC. */
  dataSizeOut?: number;
  /** ctx_in: the user-visible context (struct xdp_md, struct __sk_buff). */
  ctxIn?: Uint8Array;
  /** ctx_out requested (the kernel: a ctx_out buffer was given). */
  ctxOut?: boolean;
  /** ctx_size_out (default: the whole ctx). */
  ctxSizeOut?: number;
  /** repeat (0 counts as 1). */
  repeat?: number;
  /** flags (BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES ...). */
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

/** BPF_PROG_TEST_RUN output. */
export interface TestRunResult {
  /** retval: the program's return value (u32). */
  retval: number;
  /** duration: average ns per run, clamped to u32, as the kernel reports it. */
  duration: number;
  /** data_out (clamped to dataSizeOut when given). */
  dataOut: Uint8Array;
  /** data_size_out: the full output size, even when dataOut was clamped. */
  dataSizeOut: number;
  /** ctx_out when requested, else null. */
  ctxOut: Uint8Array | null;
  /** ENOSPC when an output was clamped (the kernel returns it after filling everything in), else null. */
  error: BpfError | null;
}

/** BPF_F_TEST_RUN_ON_CPU */
export const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
/** BPF_F_TEST_XDP_LIVE_FRAMES */
export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;

/**
 * Run `program` on `ctx` as one invocation of the hook: reset the per-run records (the tail-call counter
 * among them), run, and return r0 as a u32. No allocation. The interpreter performs tail calls itself, in
 * the caller's frame (engine/interp.ts); the loop serves engines that return to the host with a pending
 * target instead (each then starts with r1 = ctx).
 */
export function runProgram(vm: Vm, env: RunEnv, progType: number, program: Program, ctx: number): number {
  env.beginRun(progType, ctx);
  const hook = env.runHook; // the chain-call core's loop (src/chain/core.ts), when a runtime installed one
  if (hook !== null) return hook(program, ctx) >>> 0;
  let r = vm.runRaw(program, ctx, 0, 0, 0);
  while (env.pendingTailCall !== null) {
    const next = env.pendingTailCall;
    env.pendingTailCall = null;
    r = vm.runRaw(next, ctx, 0, 0, 0);
  }
  return r >>> 0;
}

/** Run `repeat` times (0 = 1) and measure: [retval of the last run, average ns per run clamped to u32]. */
export function timedRuns(vm: Vm, env: RunEnv, progType: number, program: Program, ctx: number, repeat: number): [number, number] {
  const n = repeat === 0 ? 1 : repeat;
  let retval = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) retval = runProgram(vm, env, progType, program, ctx);
  const ns = Math.floor(((performance.now() - t0) * 1e6) / n);
  return [retval, Math.min(ns, 0xffffffff)];
}

/** The Vm's RunEnv, or EINVAL when none was attached (helpers/table.ts attachEnv). */
export function requireEnv(vm: Vm): RunEnv {
  if (vm.env === undefined) throw new BpfError('EINVAL', 'the Vm has no RunEnv: call attachEnv(vm, registry) first');
  return vm.env;
}

/**
 * bpf_ctx_init's check of ctx_in (bpf_check_uarg_tail_zero): at most a page, and bytes past the kernel's
 * struct size must be zero (E2BIG otherwise). Returns the ctx zero-extended/truncated to `size` bytes.
 */
export function ctxInit(ctxIn: Uint8Array | undefined, size: number, what: string): Uint8Array {
  const out = new Uint8Array(size);
  if (ctxIn === undefined) return out;
  if (ctxIn.length > 4096) throw new BpfError('E2BIG', `ctx_in of ${ctxIn.length} bytes is larger than a page`);
  for (let i = size; i < ctxIn.length; i++) {
    if (ctxIn[i] !== 0) throw new BpfError('E2BIG', `ctx_in has non-zero byte ${i} past the end of ${what} (${size} bytes)`);
  }
  out.set(ctxIn.subarray(0, size));
  return out;
}

/** bpf_test_finish / bpf_ctx_finish clamping: the output, and ENOSPC when a size hint cut it short. */
export function finish(
  retval: number, duration: number, data: Uint8Array, dataSizeOut: number | undefined, ctx: Uint8Array | null, ctxSizeOut: number | undefined,
): TestRunResult {
  let error: BpfError | null = null;
  let dataOut = data;
  if (dataSizeOut !== undefined && dataSizeOut !== 0 && data.length > dataSizeOut) {
    dataOut = data.subarray(0, dataSizeOut);
    error = new BpfError('ENOSPC', `data_out needs ${data.length} bytes, data_size_out is ${dataSizeOut}`);
  }
  // The kernel copies ctx_out only when data_out was copied in full (bpf_ctx_finish runs after success).
  let ctxOut = error === null ? ctx : null;
  if (error === null && ctx !== null && ctxSizeOut !== undefined && ctx.length > ctxSizeOut) {
    ctxOut = ctx.subarray(0, ctxSizeOut);
    error = new BpfError('ENOSPC', `ctx_out needs ${ctx.length} bytes, ctx_size_out is ${ctxSizeOut}`);
  }
  return { retval, duration, dataOut, dataSizeOut: data.length, ctxOut, error };
}

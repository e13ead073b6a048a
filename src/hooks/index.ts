// Program types by number: their ProgTypeOps (for the verifier) and BPF_PROG_TEST_RUN (for the bpf() layer).
// Types without a kernel test_run (kprobe, tracepoint, ...) answer ENOTSUPP (524), as bpf_prog_test_run()
// does when prog->aux->ops->test_run is NULL; unknown or unsupported program types are EINVAL at load.

import type { Vm } from '../engine/vm.js';
import { BpfError } from '../errors.js';
import { BPF_PROG_TYPE, progTypeName } from '../uapi/bpf.js';
import type { ProgTypeOps } from '../verifier/types.js';
import { socketFilterOps, socketFilterTestRun } from './socket_filter.js';
import { kprobeOps, tracepointOps } from './tracing.js';
import type { TestRunOpts, TestRunProg, TestRunResult } from './types.js';
import { xdpOps, xdpTestRun } from './xdp.js';

export * from './types.js';
export { xdpOps, xdpTestRun, XdpBuffer, xdpBufferOf, XDP_MAX_DATA } from './xdp.js';
export { socketFilterOps, socketFilterTestRun, ethTypeTrans, SkbBuffer, SKB_MAX_DATA } from './socket_filter.js';
export { kprobeOps, tracepointOps, runKprobe, runTracepoint, encodePtRegs, PERF_MAX_TRACE_SIZE, type PtRegs } from './tracing.js';

/** The ops of a program type tsbpf supports, or undefined. */
export function progTypeOps(type: number, expectedAttachType = 0): ProgTypeOps | undefined {
  switch (type) {
    case BPF_PROG_TYPE.BPF_PROG_TYPE_XDP: return xdpOps(expectedAttachType);
    case BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER: return socketFilterOps;
    case BPF_PROG_TYPE.BPF_PROG_TYPE_KPROBE: return kprobeOps;
    case BPF_PROG_TYPE.BPF_PROG_TYPE_TRACEPOINT: return tracepointOps;
    default: return undefined;
  }
}

/** progTypeOps or EINVAL naming the type (what PROG_LOAD answers for a type tsbpf does not run). */
export function requireProgTypeOps(type: number, expectedAttachType = 0): ProgTypeOps {
  const ops = progTypeOps(type, expectedAttachType);
  if (ops === undefined) throw new BpfError('EINVAL', `program type ${progTypeName(type)} is not supported`);
  return ops;
}

/** BPF_PROG_TEST_RUN: dispatch by program type. */
export function testRun(vm: Vm, prog: TestRunProg, opts: TestRunOpts = {}): TestRunResult {
  switch (prog.type) {
    case BPF_PROG_TYPE.BPF_PROG_TYPE_XDP: return xdpTestRun(vm, prog, opts);
    case BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER: return socketFilterTestRun(vm, prog, opts);
    default:
      throw new BpfError('ENOTSUPP', `program type ${progTypeName(prog.type)} has no BPF_PROG_TEST_RUN in the kernel (use runKprobe/runTracepoint for tracing programs)`);
  }
}

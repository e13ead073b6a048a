// Public surface of lib/: the libbpf-like object API.
export { BpfObject, BpfProgram, BpfMapHandle } from './object.js';
export type { LoadOptions, TestRunOptions, RunResult, Bytes } from './object.js';

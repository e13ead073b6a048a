// Public surface of kernel/: the Linux kernel as an oracle, reached through bpftool (no native code).
export {
  kernelAvailable, loadObject, unloadObject, progRun, mapDump, mapUpdate, mapDelete, progArraySet, progArrayClear, mapInfo,
  progInfo, possibleCpus, cleanup, newPinDir, pinnedDirs, BPFFS,
} from './backend.js';
export type {
  KernelStatus, KernelObject, LoadObjectOptions, ProgRunOptions, KernelRunResult, KernelMapEntry, KernelMapInfo,
  UpdateFlag,
} from './backend.js';
export { bpftool, runTool, errnoOf, bpftoolPath, setBpftoolPath } from './bpftool.js';
export { libbpfMapName, libbpfPinName, libbpfObjectName, isGlobalDataName } from './names.js';
export { probeObject, PROBE_PROG_NAME } from './probe_object.js';

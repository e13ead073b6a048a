// Public surface of syscall/: the bpf() command layer.
export * from './runtime.js';
export { BpfProg, licenseIsGplCompatible, progTag } from './prog.js';
export { PinFs, BPFFS_ROOT } from './pins.js';
export { FdTable, FMODE_READ, FMODE_WRITE, FMODE_RW } from './fdtable.js';
export { resolvePseudoLdimm64, applyMapAddresses, MAX_USED_MAPS } from './fixup.js';

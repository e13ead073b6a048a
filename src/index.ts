// Public library entry point of tsbpf.
export { BpfError } from './errors.js';
export * from './isa/opcodes.js';
export * from './isa/insn.js';
export * from './isa/asm.js';
export * from './isa/disasm.js';
export * from './object/index.js';
export { Vm } from './engine/vm.js';
export type { HelperFn, VmOptions, TraceEvent, Program } from './engine/vm.js';
export { validate, subprogEntries } from './verifier/validate.js';
export { AddressSpace, PERM_READ, PERM_WRITE, PERM_RW } from './vm/memory.js';

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
export * from './lib/index.js';
export { BpfRuntime } from './syscall/runtime.js';
export { ERRNO, type ErrnoName } from './uapi/errno.js';
// Layers with many names of their own are exported as namespaces, so their constants cannot collide.
export * as uapi from './uapi/bpf.js';
export * as syscall from './syscall/index.js';
export * as maps from './maps/index.js';
export * as helpers from './helpers/index.js';
export * as hooks from './hooks/index.js';
export * as chain from './chain/index.js';
export * as net from './net/index.js';
export * as kernel from './kernel/index.js';

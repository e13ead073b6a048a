// Public library entry point of tsbpf.
export { BpfError } from './errors.js';
export * from './isa/opcodes.js';
export * from './isa/insn.js';
export * from './isa/asm.js';
export * from './isa/disasm.js';
export * from './object/index.js';

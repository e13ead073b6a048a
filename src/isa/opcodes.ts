// The eBPF instruction encoding of RFC 9669 (including cpu v4): classes, operation codes, sizes, modes
// and the pseudo source kinds of `lddw` and `call`. Only numbers and names live here.

/** Instruction classes: the low 3 bits of the opcode byte. */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

export const classOf = (code: number): number => code & 0x07;

/** Source bit of ALU/JMP instructions: K = use imm, X = use src register. For END: TO_LE / TO_BE. */
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

/** ALU operation codes (high 4 bits). */
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

/** JMP operation codes (high 4 bits). */
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;

export const opOf = (code: number): number => code & 0xf0;
export const srcBitOf = (code: number): number => code & 0x08;

/** Load/store sizes (bits 3-4). */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;
export const sizeOf = (code: number): number => code & 0x18;
/** Bytes moved by a load/store size code. */
export const sizeBytes = (size: number): number => (size === BPF_W ? 4 : size === BPF_H ? 2 : size === BPF_B ? 1 : 8);

/** Load/store modes (bits 5-7). */
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;
export const modeOf = (code: number): number => code & 0xe0;

/** Atomic operations, carried in imm of STX|ATOMIC. */
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;

/** `lddw` (LD|IMM|DW) source kinds (RFC 9669 table 8; include/uapi/linux/bpf.h BPF_PSEUDO_*). */
export const BPF_PSEUDO_IMM64 = 0;
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

/** `call` source kinds. */
export const BPF_CALL_HELPER = 0;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** Whole opcode bytes that are worth naming. */
export const OP_LDDW = BPF_LD | BPF_IMM | BPF_DW; // 0x18
export const OP_CALL = BPF_JMP | BPF_CALL; // 0x85
export const OP_CALLX = BPF_JMP | BPF_CALL | BPF_X; // 0x8d
export const OP_EXIT = BPF_JMP | BPF_EXIT; // 0x95
export const OP_JA = BPF_JMP | BPF_JA; // 0x05
export const OP_JA32 = BPF_JMP32 | BPF_JA; // 0x06, "gotol": offset in imm

/** Size of one instruction slot in bytes. */
export const INSN_SIZE = 8;
/** Stack bytes of one frame. */
export const MAX_BPF_STACK = 512;
/** Frames a bpf-to-bpf call chain may use (the main program counts as one). */
export const MAX_CALL_FRAMES = 8;

export const ALU_NAMES: Record<number, string> = {
  [BPF_ADD]: 'add', [BPF_SUB]: 'sub', [BPF_MUL]: 'mul', [BPF_DIV]: 'div', [BPF_OR]: 'or',
  [BPF_AND]: 'and', [BPF_LSH]: 'lsh', [BPF_RSH]: 'rsh', [BPF_NEG]: 'neg', [BPF_MOD]: 'mod',
  [BPF_XOR]: 'xor', [BPF_MOV]: 'mov', [BPF_ARSH]: 'arsh', [BPF_END]: 'end',
};

export const JMP_NAMES: Record<number, string> = {
  [BPF_JA]: 'ja', [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset',
  [BPF_JNE]: 'jne', [BPF_JSGT]: 'jsgt', [BPF_JSGE]: 'jsge', [BPF_CALL]: 'call', [BPF_EXIT]: 'exit',
  [BPF_JLT]: 'jlt', [BPF_JLE]: 'jle', [BPF_JSLT]: 'jslt', [BPF_JSLE]: 'jsle',
};

export const SIZE_SUFFIX: Record<number, string> = { [BPF_W]: 'w', [BPF_H]: 'h', [BPF_B]: 'b', [BPF_DW]: 'dw' };

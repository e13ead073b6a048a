// The disassembler: instruction slots to text, in two syntaxes.
//  - 'llvm': exactly what `llvm-objdump-19 -d` prints for BPF (pseudo-C: `r0 = *(u32 *)(r1 + 0x4)`), minus its
//    `<sym+off>` annotations. Where objdump's text would lose bits, we print a spelling of our own that
//    asm.ts reads back (see LLVM EXTENSIONS below), so disassembly always reassembles to the same bytes.
//  - 'mnemonic': the bpf_conformance / uBPF assembler form (`ldxw r0, [r1+4]`, `jgt r1, r2, +3`).
// asm.ts parses both; the spellings of both syntaxes are defined here and documented in asm.ts.
//
// LLVM EXTENSIONS (objdump prints these lossily or not at all):
//  - 32-bit atomics other than a plain add: objdump-19 without --mcpu prints `<unknown>` (and drops the fetch
//    bit of `atomic_fetch_add`); we print what `llvm-objdump --mcpu=v3` prints: `w2 = atomic_fetch_add((u32 *)
//    (r1 + 0x0), w2)`, `lock *(u32 *)(r1 + 0x0) |= w2`, `w2 = xchg32_32(r1 + 0x0, w2)`,
//    `w0 = cmpxchg32_32(r1 + 0x0, w0, w2)`.
//  - lddw with a pseudo source (objdump: `ld_pseudo r1, 0x2, 0x7`, upper half lost): `r1 = map_fd(0x3) ll`,
//    `r1 = map_value(0x3)+0x8 ll` (the `+N` is the second slot's imm), also btf_id, func, map_idx,
//    map_idx_value.
//  - LD_IND with a non-zero imm (objdump drops it): `r0 = *(u32 *)skb[r1 + 0x4]`.
//  - calls: `call 0x1` is a helper (src 0), `call -0x1` a local call (src 1, objdump's text for clang's
//    unrelocated calls). The other combinations: `call local 0x3` (src 1, imm >= 0), `call helper -0x5`
//    (src 0, imm < 0), `call kfunc 0x7` (src 2).
//  - any slot that is not a valid instruction (or an lddw without a clean second slot) prints as the raw
//    directive `.insn CODE, DST, SRC, OFF, IMM`, which asm.ts accepts in both syntaxes.

import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_ARSH, BPF_ATOMIC, BPF_CALL, BPF_CMPXCHG, BPF_DIV, BPF_END,
  BPF_EXIT, BPF_FETCH, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP, BPF_JMP32, BPF_JNE,
  BPF_JSET, BPF_JSGE, BPF_JSGT, BPF_JSLE, BPF_JSLT, BPF_LD, BPF_LDX, BPF_LSH, BPF_MEM, BPF_MEMSX, BPF_MOD, BPF_MOV,
  BPF_MUL, BPF_NEG, BPF_OR, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_W, BPF_X, BPF_XCHG, BPF_XOR, BPF_H, BPF_B,
  BPF_DW, OP_LDDW, SIZE_SUFFIX, classOf, modeOf, opOf, sizeOf, srcBitOf,
} from './opcodes.js';
import { type Insn, encode, insnError, lddwValue } from './insn.js';

export type AsmSyntax = 'llvm' | 'mnemonic';

// ---- Spelling tables shared with the assembler ----

/** llvm compound-assignment operator of each ALU op; [unsigned, signed (off=1)] for div/mod. */
export const LLVM_ALU_OPS: Record<number, string> = {
  [BPF_ADD]: '+=', [BPF_SUB]: '-=', [BPF_MUL]: '*=', [BPF_DIV]: '/=', [BPF_OR]: '|=', [BPF_AND]: '&=',
  [BPF_LSH]: '<<=', [BPF_RSH]: '>>=', [BPF_MOD]: '%=', [BPF_XOR]: '^=', [BPF_ARSH]: 's>>=',
};
export const LLVM_SIGNED_ALU_OPS: Record<number, string> = { [BPF_DIV]: 's/=', [BPF_MOD]: 's%=' };

/** llvm comparison operator of each conditional jump. */
export const LLVM_JMP_OPS: Record<number, string> = {
  [BPF_JEQ]: '==', [BPF_JGT]: '>', [BPF_JGE]: '>=', [BPF_JSET]: '&', [BPF_JNE]: '!=', [BPF_JSGT]: 's>',
  [BPF_JSGE]: 's>=', [BPF_JLT]: '<', [BPF_JLE]: '<=', [BPF_JSLT]: 's<', [BPF_JSLE]: 's<=',
};

/** Mnemonic names of ALU ops (bpf_conformance); a `32` suffix selects the ALU (32-bit) class. */
export const MNEMONIC_ALU_OPS: Record<number, string> = {
  [BPF_ADD]: 'add', [BPF_SUB]: 'sub', [BPF_MUL]: 'mul', [BPF_DIV]: 'div', [BPF_OR]: 'or', [BPF_AND]: 'and',
  [BPF_LSH]: 'lsh', [BPF_RSH]: 'rsh', [BPF_MOD]: 'mod', [BPF_XOR]: 'xor', [BPF_MOV]: 'mov', [BPF_ARSH]: 'arsh',
};
export const MNEMONIC_JMP_OPS: Record<number, string> = {
  [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset', [BPF_JNE]: 'jne', [BPF_JSGT]: 'jsgt',
  [BPF_JSGE]: 'jsge', [BPF_JLT]: 'jlt', [BPF_JLE]: 'jle', [BPF_JSLT]: 'jslt', [BPF_JSLE]: 'jsle',
};

/** Atomic operations (imm of STX|ATOMIC without the fetch bit) that have a llvm `lock ... op= reg` form. */
export const ATOMIC_ALU_OPS: Record<number, { llvm: string; name: string }> = {
  [BPF_ADD]: { llvm: '+=', name: 'add' }, [BPF_OR]: { llvm: '|=', name: 'or' },
  [BPF_AND]: { llvm: '&=', name: 'and' }, [BPF_XOR]: { llvm: '^=', name: 'xor' },
};

/** Names of the lddw pseudo source kinds (src 1..6), used as `kind(imm)` in both syntaxes. */
export const LDDW_KIND_NAMES: readonly string[] = ['', 'map_fd', 'map_value', 'btf_id', 'func', 'map_idx', 'map_idx_value'];

const LLVM_SIZE: Record<number, string> = { [BPF_W]: '32', [BPF_H]: '16', [BPF_B]: '8', [BPF_DW]: '64' };

// ---- Number formatting ----

/** llvm-objdump's immediates: signed hex, `0x10`, `-0x5`. */
function hexSigned(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}
function hexSigned64(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}
/** `+ 0x4` / `- 0x8` as objdump prints a memory offset. */
function llvmOff(off: number): string {
  return off < 0 ? `- 0x${(-off).toString(16)}` : `+ 0x${off.toString(16)}`;
}
/** `+0x2` / `-0x3` as objdump prints a jump offset. */
function llvmJump(off: number): string {
  return off < 0 ? `-0x${(-off).toString(16)}` : `+0x${off.toString(16)}`;
}
/** bpf_conformance's immediates: small and negative numbers in decimal, the rest in hex. */
function mnemonicImm(imm: number): string {
  if ((imm < 0 && imm !== -0x80000000) || (imm >= -10 && imm <= 10)) return String(imm);
  return `0x${(imm >>> 0).toString(16)}`;
}
const signedDec = (n: number): string => (n < 0 ? String(n) : `+${n}`);
const mem = (reg: number, off: number): string => `[r${reg}${signedDec(off)}]`;

/** The raw escape used for slots that are not valid instructions. */
function rawInsn(ins: Insn): string {
  return `.insn 0x${ins.code.toString(16).padStart(2, '0')}, ${ins.dst}, ${ins.src}, ${ins.off}, ${ins.imm}`;
}

/** True when `insns[pc]` is an lddw followed by a proper second slot (only imm may be non-zero). */
function wellFormedLddw(insns: readonly Insn[], pc: number): boolean {
  const next = insns[pc + 1];
  return next !== undefined && next.code === 0 && next.dst === 0 && next.src === 0 && next.off === 0;
}

/** Number of slots the instruction at `pc` takes in the text (2 for a well-formed lddw, else 1). */
export function insnSlots(insns: readonly Insn[], pc: number): number {
  const ins = insns[pc];
  return ins !== undefined && ins.code === OP_LDDW && insnError(ins) === null && wellFormedLddw(insns, pc) ? 2 : 1;
}

/** The text of the instruction at slot `pc` (an lddw reads the next slot too). */
export function formatInsn(insns: readonly Insn[], pc: number, syntax: AsmSyntax = 'llvm'): string {
  const ins = insns[pc];
  if (ins === undefined) throw new RangeError(`no instruction at slot ${pc} (program has ${insns.length})`);
  if (insnError(ins) !== null || (ins.code === OP_LDDW && !wellFormedLddw(insns, pc))) return rawInsn(ins);
  return syntax === 'llvm' ? formatLlvm(insns, pc, ins) : formatMnemonic(insns, pc, ins);
}

function lddwPseudo(ins: Insn, hi: number, llvm: boolean): string {
  const num = llvm ? hexSigned : (n: number): string => String(n);
  const tail = hi === 0 ? '' : hi < 0 ? `-${num(-hi)}` : `+${num(hi)}`;
  return `${LDDW_KIND_NAMES[ins.src]}(${num(ins.imm)})${tail}`;
}

function formatLlvm(insns: readonly Insn[], pc: number, ins: Insn): string {
  const { code, dst, src, off, imm } = ins;
  const cls = classOf(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const r = cls === BPF_ALU64 ? 'r' : 'w';
      const op = opOf(code);
      const x = srcBitOf(code) === BPF_X;
      const rhs = x ? `${r}${src}` : hexSigned(imm);
      if (op === BPF_END) {
        const name = cls === BPF_ALU64 ? 'bswap' : x ? 'be' : 'le';
        return `r${dst} = ${name}${imm} r${dst}`;
      }
      if (op === BPF_NEG) return `${r}${dst} = -${r}${dst}`;
      if (op === BPF_MOV) return off !== 0 ? `${r}${dst} = (s${off})${r}${src}` : `${r}${dst} = ${rhs}`;
      const sym = off === 1 ? LLVM_SIGNED_ALU_OPS[op] : LLVM_ALU_OPS[op];
      return `${r}${dst} ${sym} ${rhs}`;
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const op = opOf(code);
      if (op === BPF_EXIT) return 'exit';
      if (op === BPF_CALL) {
        if (srcBitOf(code) === BPF_X) return `callx r${dst}`;
        if (src === 0) return imm < 0 ? `call helper ${hexSigned(imm)}` : `call ${hexSigned(imm)}`;
        if (src === 1) return imm < 0 ? `call ${hexSigned(imm)}` : `call local ${hexSigned(imm)}`;
        return `call kfunc ${hexSigned(imm)}`;
      }
      if (op === BPF_JA) return cls === BPF_JMP ? `goto ${llvmJump(off)}` : `gotol ${llvmJump(imm)}`;
      const r = cls === BPF_JMP ? 'r' : 'w';
      const rhs = srcBitOf(code) === BPF_X ? `${r}${src}` : hexSigned(imm);
      return `if ${r}${dst} ${LLVM_JMP_OPS[op]} ${rhs} goto ${llvmJump(off)}`;
    }
    case BPF_LD: {
      if (code === OP_LDDW) {
        const next = insns[pc + 1];
        if (src !== 0) return `r${dst} = ${lddwPseudo(ins, next.imm, true)} ll`;
        return `r${dst} = ${hexSigned64(BigInt.asIntN(64, lddwValue(ins, next)))} ll`;
      }
      const sz = `u${LLVM_SIZE[sizeOf(code)]}`;
      if (modeOf(code) === BPF_ABS) return `r0 = *(${sz} *)skb[${hexSigned(imm)}]`;
      return imm === 0 ? `r0 = *(${sz} *)skb[r${src}]` : `r0 = *(${sz} *)skb[r${src} ${llvmOff(imm)}]`;
    }
    case BPF_LDX: {
      const sz = `${modeOf(code) === BPF_MEMSX ? 's' : 'u'}${LLVM_SIZE[sizeOf(code)]}`;
      return `r${dst} = *(${sz} *)(r${src} ${llvmOff(off)})`;
    }
    case BPF_ST:
      return `*(u${LLVM_SIZE[sizeOf(code)]} *)(r${dst} ${llvmOff(off)}) = ${hexSigned(imm)}`;
    case BPF_STX: {
      const bits = LLVM_SIZE[sizeOf(code)];
      if (modeOf(code) === BPF_MEM) return `*(u${bits} *)(r${dst} ${llvmOff(off)}) = r${src}`;
      // atomics: 64-bit forms as objdump prints them; 32-bit ones other than a plain add as --mcpu=v3 does.
      const is64 = sizeOf(code) === BPF_DW;
      const r = is64 ? 'r' : 'w';
      const addr = `r${dst} ${llvmOff(off)}`;
      if (imm === BPF_XCHG) return `${r}${src} = xchg${is64 ? '' : '32'}_${bits}(${addr}, ${r}${src})`;
      if (imm === BPF_CMPXCHG) return `${r}0 = cmpxchg${is64 ? '' : '32'}_${bits}(${addr}, ${r}0, ${r}${src})`;
      const a = ATOMIC_ALU_OPS[imm & ~BPF_FETCH];
      if ((imm & BPF_FETCH) !== 0) return `${r}${src} = atomic_fetch_${a.name}((u${bits} *)(${addr}), ${r}${src})`;
      const sreg = is64 || imm === BPF_ADD ? 'r' : 'w';
      return `lock *(u${bits} *)(${addr}) ${a.llvm} ${sreg}${src}`;
    }
  }
  return rawInsn(ins);
}

function formatMnemonic(insns: readonly Insn[], pc: number, ins: Insn): string {
  const { code, dst, src, off, imm } = ins;
  const cls = classOf(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const w = cls === BPF_ALU ? '32' : '';
      const op = opOf(code);
      const x = srcBitOf(code) === BPF_X;
      if (op === BPF_END) return `${cls === BPF_ALU64 ? 'swap' : x ? 'be' : 'le'}${imm} r${dst}`;
      if (op === BPF_NEG) return `neg${w} r${dst}`;
      if (op === BPF_MOV && off !== 0) return `movsx${off}${cls === BPF_ALU ? '32' : '64'} r${dst}, r${src}`;
      let name = MNEMONIC_ALU_OPS[op];
      if (off === 1) name = op === BPF_DIV ? 'sdiv' : 'smod';
      return `${name}${w} r${dst}, ${x ? `r${src}` : mnemonicImm(imm)}`;
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const op = opOf(code);
      if (op === BPF_EXIT) return 'exit';
      if (op === BPF_CALL) {
        if (srcBitOf(code) === BPF_X) return `callx r${dst}`;
        if (src === 0) return imm < 0 ? `call helper ${imm}` : `call ${mnemonicImm(imm)}`;
        if (src === 1) return `call local ${signedDec(imm)}`;
        return `call runtime ${mnemonicImm(imm)}`;
      }
      if (op === BPF_JA) return cls === BPF_JMP ? `ja ${signedDec(off)}` : `ja32 ${signedDec(imm)}`;
      const w = cls === BPF_JMP32 ? '32' : '';
      const rhs = srcBitOf(code) === BPF_X ? `r${src}` : mnemonicImm(imm);
      return `${MNEMONIC_JMP_OPS[op]}${w} r${dst}, ${rhs}, ${signedDec(off)}`;
    }
    case BPF_LD: {
      if (code === OP_LDDW) {
        const next = insns[pc + 1];
        if (src !== 0) return `lddw r${dst}, ${lddwPseudo(ins, next.imm, false)}`;
        return `lddw r${dst}, 0x${lddwValue(ins, next).toString(16)}`;
      }
      const sz = SIZE_SUFFIX[sizeOf(code)];
      if (modeOf(code) === BPF_ABS) return `ldabs${sz} ${mnemonicImm(imm)}`;
      return `ldind${sz} r${src}, ${mnemonicImm(imm)}`;
    }
    case BPF_LDX: {
      const sz = SIZE_SUFFIX[sizeOf(code)];
      return `ldx${sz}${modeOf(code) === BPF_MEMSX ? 'sx' : ''} r${dst}, ${mem(src, off)}`;
    }
    case BPF_ST:
      return `st${SIZE_SUFFIX[sizeOf(code)]} ${mem(dst, off)}, ${mnemonicImm(imm)}`;
    case BPF_STX: {
      if (modeOf(code) === BPF_MEM) return `stx${SIZE_SUFFIX[sizeOf(code)]} ${mem(dst, off)}, r${src}`;
      const w = sizeOf(code) === BPF_W ? '32' : '';
      let op: string;
      if (imm === BPF_XCHG) op = `xchg${w}`;
      else if (imm === BPF_CMPXCHG) op = `cmpxchg${w}`;
      else op = `${(imm & BPF_FETCH) !== 0 ? 'fetch ' : ''}${ATOMIC_ALU_OPS[imm & ~BPF_FETCH].name}${w}`;
      return `lock ${op} ${mem(dst, off)}, r${src}`;
    }
  }
  return rawInsn(ins);
}

export interface DisassembleOptions {
  syntax?: AsmSyntax;
  /** Prefix each line with the slot index, `%8d:\t`, as llvm-objdump does. */
  addresses?: boolean;
  /** Print the instruction's raw bytes (16 for an lddw) before the text, as llvm-objdump does. */
  bytes?: boolean;
  /** C source line of the instruction at `pc`, printed as `; <line>` before it (undefined: nothing). */
  lineInfo?: (pc: number) => string | undefined;
  /** Names of slots (function entries); printed as `name:` label lines, which the assembler reads back. */
  symbols?: Map<number, string>;
}

/** One line per instruction (the second slot of an lddw is not printed), joined with newlines. */
export function disassemble(insns: readonly Insn[], opts: DisassembleOptions = {}): string {
  const syntax = opts.syntax ?? 'llvm';
  const lines: string[] = [];
  for (let pc = 0; pc < insns.length;) {
    const name = opts.symbols?.get(pc);
    if (name !== undefined) lines.push(`${name}:`);
    const src = opts.lineInfo?.(pc);
    if (src !== undefined) lines.push(`; ${src}`);
    const n = insnSlots(insns, pc);
    let line = '';
    if (opts.addresses) line += `${String(pc).padStart(8)}:\t`;
    if (opts.bytes) line += `${insnBytesHex(insns, pc, n)}\t`;
    lines.push(line + formatInsn(insns, pc, syntax));
    pc += n;
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/** Bytes of `count` slots from `pc` as llvm-objdump prints them: `61 17 04 00 00 00 00 00`. */
export function insnBytesHex(insns: readonly Insn[], pc: number, count = 1): string {
  return Array.from(encode(insns.slice(pc, pc + count)), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

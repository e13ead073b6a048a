// The decoded instruction value, and the raw 8-byte encoding in both directions.
// A program is an array of slots, exactly like the kernel's `struct bpf_insn[]`: `lddw` takes two slots,
// the second one decoded as a plain slot whose `imm` holds the upper 32 bits. Jump offsets count slots.

import { BpfError } from '../errors.js';
import {
  BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_ARSH, BPF_ATOMIC, BPF_B, BPF_CALL, BPF_CMPXCHG, BPF_DIV, BPF_DW,
  BPF_END, BPF_EXIT, BPF_FETCH, BPF_H, BPF_IMM, BPF_IND, BPF_JA, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_LSH,
  BPF_MEM, BPF_MEMSX, BPF_MOD, BPF_MOV, BPF_MUL, BPF_NEG, BPF_OR, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_W,
  BPF_X, BPF_XCHG, BPF_XOR, BPF_ABS, INSN_SIZE, JMP_NAMES, OP_LDDW, classOf, modeOf, opOf, sizeOf, srcBitOf,
} from './opcodes.js';

/** One instruction slot. `off` is a signed 16-bit value, `imm` a signed 32-bit value. */
export interface Insn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
}

export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): Insn {
  return { code: code & 0xff, dst: dst & 0xf, src: src & 0xf, off: (off << 16) >> 16, imm: imm | 0 };
}

/** Decode raw bytes (little-endian, as clang emits for the bpfel target) into slots. */
export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new BpfError('EINVAL', `program is ${bytes.length} bytes, not a multiple of ${INSN_SIZE}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = new Array(bytes.length / INSN_SIZE);
  for (let i = 0; i < out.length; i++) {
    const o = i * INSN_SIZE;
    const regs = bytes[o + 1];
    out[i] = { code: bytes[o], dst: regs & 0xf, src: regs >> 4, off: dv.getInt16(o + 2, true), imm: dv.getInt32(o + 4, true) };
  }
  return out;
}

/** Encode slots back into raw little-endian bytes. */
export function encode(insns: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * INSN_SIZE);
  const dv = new DataView(bytes.buffer);
  insns.forEach((ins, i) => {
    const o = i * INSN_SIZE;
    bytes[o] = ins.code & 0xff;
    bytes[o + 1] = (ins.dst & 0xf) | ((ins.src & 0xf) << 4);
    dv.setInt16(o + 2, ins.off, true);
    dv.setInt32(o + 4, ins.imm, true);
  });
  return bytes;
}

/** The two slots of `lddw dst, imm64` (src kind 0 unless given). */
export function lddw(dst: number, value: bigint, srcKind = 0): [Insn, Insn] {
  const v = BigInt.asUintN(64, value);
  return [insn(OP_LDDW, dst, srcKind, 0, Number(BigInt.asIntN(32, v))), insn(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n)))];
}

/** The 64-bit immediate of an `lddw` whose first slot is `a` and second `b`, as an unsigned bigint. */
export function lddwValue(a: Insn, b: Insn): bigint {
  return (BigInt(b.imm >>> 0) << 32n) | BigInt(a.imm >>> 0);
}

export const isLddw = (ins: Insn): boolean => ins.code === OP_LDDW;

/** Jump target slot of a JMP/JMP32 branch at `pc` (gotol takes its offset from imm). */
export function jumpTarget(ins: Insn, pc: number): number {
  if (ins.code === (BPF_JMP32 | BPF_JA)) return pc + 1 + ins.imm;
  return pc + 1 + ins.off;
}

/** True for instructions whose `off` (or imm, for gotol) is a jump offset. */
export function isBranch(ins: Insn): boolean {
  const cls = classOf(ins.code);
  if (cls !== BPF_JMP && cls !== BPF_JMP32) return false;
  const op = opOf(ins.code);
  return op !== BPF_CALL && op !== BPF_EXIT;
}

const ALU_OPS = new Set([BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END]);
const ATOMIC_OPS = new Set([BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH, BPF_OR | BPF_FETCH, BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG]);

/**
 * Why a single slot is not a valid RFC 9669 instruction, or null when it is. Checks the opcode and the
 * fields the opcode gives meaning to (reserved fields must be zero, as the kernel demands). Does not check
 * registers against r10 writes or jump targets: that needs the whole program (verifier/validate.ts).
 * The second slot of an `lddw` is not an instruction; callers skip it.
 */
export function insnError(ins: Insn): string | null {
  const { code, dst, src, off, imm } = ins;
  const cls = classOf(code);
  if (dst > 10) return `invalid dst register r${dst}`;
  if (src > 10 && !(code === OP_LDDW)) return `invalid src register r${src}`;
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const op = opOf(code);
      if (!ALU_OPS.has(op)) return `unknown opcode 0x${hex2(code)}`;
      const x = srcBitOf(code) === BPF_X;
      if (op === BPF_END) {
        if (cls === BPF_ALU64 && x) return `unknown opcode 0x${hex2(code)}`;
        if (src !== 0 || off !== 0) return 'BPF_END uses reserved fields';
        if (imm !== 16 && imm !== 32 && imm !== 64) return `invalid byte swap width ${imm}`;
        return null;
      }
      if (op === BPF_NEG) {
        if (x || src !== 0 || off !== 0 || imm !== 0) return 'BPF_NEG uses reserved fields';
        return null;
      }
      if (op === BPF_DIV || op === BPF_MOD) {
        if (off !== 0 && off !== 1) return `invalid offset ${off} for div/mod`;
      } else if (op === BPF_MOV) {
        const ok = off === 0 || (x && (off === 8 || off === 16 || (off === 32 && cls === BPF_ALU64)));
        if (!ok) return `invalid offset ${off} for mov`;
      } else if (off !== 0) return 'BPF_ALU uses reserved fields';
      if (x ? imm !== 0 : src !== 0) return 'BPF_ALU uses reserved fields';
      return null;
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const op = opOf(code);
      const name = JMP_NAMES[op];
      if (name === undefined) return `unknown opcode 0x${hex2(code)}`;
      const x = srcBitOf(code) === BPF_X;
      if (op === BPF_EXIT) {
        if (cls === BPF_JMP32 || x || src !== 0 || dst !== 0 || off !== 0 || imm !== 0) return cls === BPF_JMP32 ? `unknown opcode 0x${hex2(code)}` : 'BPF_EXIT uses reserved fields';
        return null;
      }
      if (op === BPF_CALL) {
        if (cls === BPF_JMP32) return `unknown opcode 0x${hex2(code)}`;
        if (x) { // callx: register named in dst
          if (src !== 0 || off !== 0 || imm !== 0) return 'BPF_CALLX uses reserved fields';
          return null;
        }
        if (src > 2 || dst !== 0 || off !== 0) return 'BPF_CALL uses reserved fields';
        return null;
      }
      if (op === BPF_JA) {
        if (x || src !== 0 || dst !== 0) return 'BPF_JA uses reserved fields';
        if (cls === BPF_JMP ? imm !== 0 : off !== 0) return 'BPF_JA uses reserved fields';
        return null;
      }
      if (x ? imm !== 0 : src !== 0) return 'BPF_JMP/JMP32 uses reserved fields';
      return null;
    }
    case BPF_LD: {
      if (code === OP_LDDW) {
        if (src > 6) return `invalid lddw source kind ${src}`;
        if (off !== 0) return 'BPF_LD_IMM64 uses reserved fields';
        return null;
      }
      const mode = modeOf(code);
      if ((mode === BPF_ABS || mode === BPF_IND) && sizeOf(code) !== BPF_DW) {
        if (dst !== 0 || off !== 0 || (mode === BPF_ABS && src !== 0)) return 'BPF_LD_[ABS|IND] uses reserved fields';
        return null;
      }
      return `unknown opcode 0x${hex2(code)}`;
    }
    case BPF_LDX: {
      const mode = modeOf(code);
      if (mode === BPF_MEM) return imm !== 0 ? 'BPF_LDX uses reserved fields' : null;
      if (mode === BPF_MEMSX && sizeOf(code) !== BPF_DW) return imm !== 0 ? 'BPF_LDX uses reserved fields' : null;
      return `unknown opcode 0x${hex2(code)}`;
    }
    case BPF_ST: {
      if (modeOf(code) !== BPF_MEM) return `unknown opcode 0x${hex2(code)}`;
      return src !== 0 ? 'BPF_ST uses reserved fields' : null;
    }
    case BPF_STX: {
      const mode = modeOf(code);
      if (mode === BPF_MEM) return imm !== 0 ? 'BPF_STX uses reserved fields' : null;
      if (mode === BPF_ATOMIC) {
        const size = sizeOf(code);
        if (size !== BPF_W && size !== BPF_DW) return `invalid atomic operand size 0x${hex2(code)}`;
        if (!ATOMIC_OPS.has(imm)) return `invalid atomic operation 0x${hex2(imm & 0xff)}`;
        return null;
      }
      return `unknown opcode 0x${hex2(code)}`;
    }
  }
  return `unknown opcode 0x${hex2(code)}`;
}

const hex2 = (n: number): string => (n >>> 0).toString(16).padStart(2, '0');


// A slow, obviously-correct BigInt model of every ALU/ALU64 and JMP/JMP32 operation, written straight from
// RFC 9669 section 4 (arithmetic, byte swap, jump instructions). Tests use it as the oracle for the engines
// and to compute the expected results of generated case files; it must never borrow code from the engines.
// Registers are unsigned 64-bit bigints in [0, 2^64).

const M64 = (1n << 64n) - 1n;

/** The fields of an instruction the model needs: the opcode byte, `off` (sdiv/smod/movsx) and `imm`. */
export interface RefInsn {
  code: number;
  off: number;
  imm: number;
}

const u = (w: number, x: bigint): bigint => BigInt.asUintN(w, x);
const s = (w: number, x: bigint): bigint => BigInt.asIntN(w, x);

/** Reverse the byte order of the low `bits` bits of x (bits = 16, 32 or 64). */
export function byteSwap(x: bigint, bits: number): bigint {
  let out = 0n;
  for (let i = 0; i < bits / 8; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return out;
}

/**
 * Result of an ALU (class 0x04) or ALU64 (class 0x07) instruction: the new value of dst.
 * `src` is the source register's value; it is ignored for the K (immediate) form, which uses `insn.imm`.
 * Throws for encodings RFC 9669 does not define, so a generator cannot silently produce nonsense.
 */
export function aluRef(insn: RefInsn, dst: bigint, src: bigint): bigint {
  const cls = insn.code & 0x07;
  if (cls !== 0x04 && cls !== 0x07) throw new Error(`aluRef: class ${cls} is not ALU/ALU64`);
  const w = cls === 0x07 ? 64 : 32;
  const op = insn.code & 0xf0;
  const x = (insn.code & 0x08) !== 0;
  dst = u(64, dst);

  if (op === 0xd0) {
    // Byte swaps work on dst only. ALU class: TO_LE (x=0) converts to little endian, a truncation on this
    // little-endian machine; TO_BE (x=1) swaps. ALU64 class with x=0 is the unconditional bswap (cpu v4).
    const bits = insn.imm;
    if (bits !== 16 && bits !== 32 && bits !== 64) throw new Error(`aluRef: byte swap width ${bits}`);
    if (cls === 0x07 && x) throw new Error('aluRef: ALU64|END|X is not defined');
    const le = cls === 0x04 && !x;
    return le ? u(bits, dst) : byteSwap(dst, bits);
  }

  // The operand: "imm" is sign extended to 64 bits, then for 32-bit operations both operands are
  // truncated to 32 bits (section 4.1: ALU "uses 32-bit wide operands").
  const rawSrc = x ? u(64, src) : u(64, BigInt(insn.imm));
  const d = u(w, dst);
  const sv = u(w, rawSrc);
  const mask = BigInt(w - 1);
  const MIN = 1n << BigInt(w - 1); // INT_MIN / LLONG_MIN as an unsigned pattern

  let r: bigint;
  switch (op) {
    case 0x00: r = d + sv; break; // ADD
    case 0x10: r = d - sv; break; // SUB
    case 0x20: r = d * sv; break; // MUL
    case 0x30: // DIV (off 0, unsigned) / SDIV (off 1, signed): division by zero gives 0
      if (insn.off === 0) r = sv === 0n ? 0n : d / sv;
      else if (insn.off === 1) {
        if (sv === 0n) r = 0n;
        else if (d === MIN && s(w, sv) === -1n) r = MIN; // "LLONG_MIN divided by -1" -> LLONG_MIN (INT_MIN for ALU)
        else r = s(w, d) / s(w, sv); // BigInt division truncates toward zero, as C does
      } else throw new Error(`aluRef: div offset ${insn.off}`);
      break;
    case 0x40: r = d | sv; break; // OR
    case 0x50: r = d & sv; break; // AND
    case 0x60: r = d << (sv & mask); break; // LSH: shift count masked to 5 / 6 bits
    case 0x70: r = d >> (sv & mask); break; // RSH
    case 0x80: // NEG: dst = -dst
      if (x) throw new Error('aluRef: NEG with X source is not defined');
      r = -d;
      break;
    case 0x90: // MOD / SMOD: modulo by zero leaves dst (for ALU: its low 32 bits, upper zeroed)
      if (insn.off === 0) r = sv === 0n ? d : d % sv;
      else if (insn.off === 1) {
        if (sv === 0n) r = d;
        else if (d === MIN && s(w, sv) === -1n) r = 0n; // "LLONG_MIN modulo -1" -> 0
        else r = s(w, d) % s(w, sv); // truncated modulo: the sign of the dividend (-13 % 3 == -1)
      } else throw new Error(`aluRef: mod offset ${insn.off}`);
      break;
    case 0xa0: r = d ^ sv; break; // XOR
    case 0xb0: // MOV / MOVSX
      if (insn.off === 0) r = sv;
      else if (x && (insn.off === 8 || insn.off === 16 || (insn.off === 32 && w === 64))) r = s(insn.off, sv);
      else throw new Error(`aluRef: mov offset ${insn.off}`);
      break;
    case 0xc0: r = s(w, d) >> (sv & mask); break; // ARSH: sign-extending shift of the w-bit value
    default: throw new Error(`aluRef: op 0x${op.toString(16)} is not an ALU operation`);
  }
  // ALU results are zero-extended to 64 bits; ALU64 results wrap at 64 bits.
  return u(w, r);
}

/**
 * Is a conditional JMP (class 0x05) / JMP32 (class 0x06) branch taken? JMP32 compares the low 32 bits of
 * both operands; the K form compares against imm (sign extended to 64 bits for JMP).
 */
export function jmpRef(insn: RefInsn, dst: bigint, src: bigint): boolean {
  const cls = insn.code & 0x07;
  if (cls !== 0x05 && cls !== 0x06) throw new Error(`jmpRef: class ${cls} is not JMP/JMP32`);
  const w = cls === 0x05 ? 64 : 32;
  const x = (insn.code & 0x08) !== 0;
  const d = u(w, dst);
  const sv = u(w, x ? src : BigInt(insn.imm));
  switch (insn.code & 0xf0) {
    case 0x10: return d === sv; // JEQ
    case 0x20: return d > sv; // JGT (unsigned)
    case 0x30: return d >= sv; // JGE
    case 0x40: return (d & sv) !== 0n; // JSET
    case 0x50: return d !== sv; // JNE
    case 0x60: return s(w, d) > s(w, sv); // JSGT (signed)
    case 0x70: return s(w, d) >= s(w, sv); // JSGE
    case 0xa0: return d < sv; // JLT
    case 0xb0: return d <= sv; // JLE
    case 0xc0: return s(w, d) < s(w, sv); // JSLT
    case 0xd0: return s(w, d) <= s(w, sv); // JSLE
    default: throw new Error(`jmpRef: op 0x${(insn.code & 0xf0).toString(16)} is not a conditional jump`);
  }
}

/** Every ALU operation the model knows, as (op, off) pairs, with the mnemonic used in case files. */
export const ALU_OPS: ReadonlyArray<{ name: string; op: number; off: number }> = [
  { name: 'add', op: 0x00, off: 0 }, { name: 'sub', op: 0x10, off: 0 }, { name: 'mul', op: 0x20, off: 0 },
  { name: 'div', op: 0x30, off: 0 }, { name: 'sdiv', op: 0x30, off: 1 }, { name: 'or', op: 0x40, off: 0 },
  { name: 'and', op: 0x50, off: 0 }, { name: 'lsh', op: 0x60, off: 0 }, { name: 'rsh', op: 0x70, off: 0 },
  { name: 'mod', op: 0x90, off: 0 }, { name: 'smod', op: 0x90, off: 1 }, { name: 'xor', op: 0xa0, off: 0 },
  { name: 'mov', op: 0xb0, off: 0 }, { name: 'arsh', op: 0xc0, off: 0 },
];

/** Every conditional jump. */
export const JMP_OPS: ReadonlyArray<{ name: string; op: number }> = [
  { name: 'jeq', op: 0x10 }, { name: 'jgt', op: 0x20 }, { name: 'jge', op: 0x30 }, { name: 'jset', op: 0x40 },
  { name: 'jne', op: 0x50 }, { name: 'jsgt', op: 0x60 }, { name: 'jsge', op: 0x70 }, { name: 'jlt', op: 0xa0 },
  { name: 'jle', op: 0xb0 }, { name: 'jslt', op: 0xc0 }, { name: 'jsle', op: 0xd0 },
];

export const MASK64 = M64;

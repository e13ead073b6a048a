// Random, mostly valid, UNCHECKED instruction slots for the robustness tests of both engines: opcodes weighted
// toward valid ones (one slot in 20 arbitrary), fields shaped to what the opcode gives meaning to, memory
// operands based on r1 (a 64-byte packet) or r10. Programs built from them are loaded with loadUnchecked().

import { insn, type Insn } from '../../src/isa/insn.js';

// Opcode bytes weighted toward valid ones, plus arbitrary bytes.
const codes = [0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x57, 0x67, 0x6f, 0x77, 0x87, 0x97, 0x9f, 0xb7, 0xbf, 0xc7,
  0xd7, 0x04, 0x0c, 0x34, 0x3c, 0x94, 0x9c, 0xb4, 0xbc, 0xd4, 0xdc, 0x05, 0x06, 0x15, 0x1d, 0x25, 0x2d, 0x56, 0x6e, 0xa5,
  0xdd, 0x85, 0x8d, 0x95, 0x18, 0x20, 0x48, 0x61, 0x79, 0x81, 0x91, 0x62, 0x7a, 0x63, 0x7b, 0xc3, 0xdb];

/** 2 to 13 random slots followed by nothing (callers append an exit); `next` is the caller's seeded PRNG. */
export function randomUncheckedSlots(next: () => number): Insn[] {
  const n = 2 + (next() % 12);
  const prog: Insn[] = [];
  for (let i = 0; i < n; i++) {
    const r = next();
    const code = r % 20 === 0 ? r >>> 24 : codes[(r >>> 8) % codes.length];
    const cls = code & 7, op = code & 0xf0, x = (code & 8) !== 0;
    const mem = cls === 1 || cls === 2 || cls === 3;
    const base = next() % 4 === 0 ? next() % 11 : [1, 10][next() % 2];
    let dst = cls === 2 || cls === 3 ? base : next() % 10, src = cls === 1 ? base : next() % 11;
    let off = mem ? (next() % 80) - 40 : (next() % 9) - 4;
    let imm = [0, 1, -1, 7, 31, 63, 64, 0x7fffffff, -0x80000000, next() | 0][next() % 10];
    // Shape the fields the opcode gives meaning to, so most slots are valid (one in 20 stays arbitrary).
    if (next() % 20 !== 0) {
      if (cls === 4 || cls === 7) {
        off = op === 0x30 || op === 0x90 ? next() % 2 : op === 0xb0 && x ? [0, 0, 8, 16, cls === 7 ? 32 : 0][next() % 5] : 0;
        if (x) imm = 0; else src = 0;
        if (op === 0x80) { src = 0; imm = 0; }
        if (op === 0xd0) { src = 0; off = 0; imm = [16, 32, 64][next() % 3]; }
      } else if (cls === 5 || cls === 6) {
        if (x) imm = 0; else src = 0;
        if (op === 0x00) { dst = 0; src = 0; if (cls === 5) imm = 0; else { imm = off; off = 0; } }
        if (op === 0x80) { dst = x ? dst : 0; src = x ? 0 : next() % 2; off = 0; if (x) imm = 0; else if (src === 1) imm = (next() % 5) - 2; else imm = 1; }
        if (op === 0x90) { dst = 0; src = 0; off = 0; imm = 0; }
      } else if (cls === 0) {
        if (code !== 0x18) { dst = 0; off = 0; if ((code & 0xe0) === 0x20) src = 0; imm = next() % 70; } else { src = 0; off = 0; }
      } else if (cls === 1) imm = 0;
      else if (cls === 2) src = 0;
      else if (cls === 3) imm = (code & 0xe0) === 0xc0 ? [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1][next() % 10] : 0;
    }
    prog.push(insn(code, dst, src, off, imm));
  }
  return prog;
}

// Reading programs and memory for the CLI: a file may hold raw instruction bytes, assembly text,
// or hex bytes; memory is given as hex on the command line or as a raw file.

import { readFileSync } from 'node:fs';
import { BpfError } from '../errors.js';
import { decode, type Insn } from '../isa/insn.js';
import { assemble } from '../isa/asm.js';

/** Parse "aa bb 11", "aabb11" or "aa  bb  11  " (the conformance format) into bytes. */
export function parseHex(text: string, what = 'hex input'): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s,]+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new BpfError('EINVAL', `${what} is not a sequence of hex bytes`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array, sep = ''): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (i > 0 ? sep : '') + bytes[i].toString(16).padStart(2, '0');
  return s;
}

/** True when the bytes look like text (assembly) rather than raw instructions. */
function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 4096);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  return true;
}

/** Load a program file: raw little-endian instructions, or assembly text in either syntax. */
export function readProgram(path: string): Insn[] {
  const bytes = readFileSync(path);
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    throw new BpfError('EINVAL', `${path} is an ELF object: use 'tsbpf prog' commands for objects`);
  }
  if (bytes.length > 0 && looksLikeText(bytes)) return assemble(bytes.toString('utf8'));
  return decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

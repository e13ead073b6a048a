// `.BTF.ext` reader: per-section func_info (which BTF FUNC starts at which instruction) and line_info
// (source file, line text, line and column per instruction), as clang emits them into object files.
// Offsets in an object file are in bytes from the start of the ELF section; we turn them into
// instruction indexes. Names and source lines are strings of the `.BTF` string section.

import { BpfError } from '../errors.js';
import type { Btf } from './btf.js';
import { BTF_MAGIC } from './btf.js';

export interface FuncInfo { readonly insn: number; readonly typeId: number }
/** One line_info record: instruction index within its ELF section. */
export interface SecLineInfo { readonly insn: number; readonly file: string; readonly source: string; readonly line: number; readonly column: number }

export interface BtfExt {
  /** ELF section name -> records sorted by instruction. */
  readonly funcInfo: ReadonlyMap<string, readonly FuncInfo[]>;
  readonly lineInfo: ReadonlyMap<string, readonly SecLineInfo[]>;
}

const FUNC_INFO_MIN = 8;
const LINE_INFO_MIN = 16;
const INSN_SIZE = 8;

export function parseBtfExt(data: Uint8Array, btf: Btf, secName = '.BTF.ext'): BtfExt {
  const bad = (off: number, msg: string): never => {
    throw new BpfError('EINVAL', `corrupt BTF.ext in ${secName} at byte ${off}: ${msg}`);
  };
  if (data.length < 24) bad(0, `section is ${data.length} bytes, shorter than the 24-byte header`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic === 0x9feb) throw new BpfError('ENOEXEC', `${secName} is big-endian; only little-endian is supported`);
  if (magic !== BTF_MAGIC) bad(0, `bad magic 0x${magic.toString(16)}`);
  if (data[2] !== 1) bad(2, `unsupported version ${data[2]}`);
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < 24 || hdrLen > data.length) bad(4, `header length ${hdrLen} out of range`);

  // Subsection: u32 rec_size, then { u32 sec_name_off; u32 num_info; rec_size * num_info } repeated.
  const walk = (fieldAt: number, minRec: number, what: string, each: (sec: string, at: number) => void): void => {
    const off = dv.getUint32(fieldAt, true), len = dv.getUint32(fieldAt + 4, true);
    if (len === 0) return;
    const start = hdrLen + off, end = start + len;
    if (end > data.length || start > end) bad(fieldAt, `${what} (${off}+${len}) runs past the end of the section`);
    if (len < 4) bad(start, `${what} is too short for its record size`);
    const recSize = dv.getUint32(start, true);
    if (recSize < minRec || recSize % 4 !== 0 || recSize > 4096) bad(start, `${what} record size ${recSize} is invalid`);
    let p = start + 4;
    while (p < end) {
      if (p + 8 > end) bad(p, `${what} section header runs past the end`);
      const secNameOff = dv.getUint32(p, true);
      const num = dv.getUint32(p + 4, true);
      const sec = btf.str(secNameOff);
      if (num === 0) bad(p, `${what} for section '${sec}' has no records`);
      p += 8;
      if (num * recSize > end - p) bad(p, `${num} ${what} records for section '${sec}' run past the end`);
      for (let i = 0; i < num; i++, p += recSize) each(sec, p);
    }
  };

  const funcInfo = new Map<string, FuncInfo[]>();
  const lineInfo = new Map<string, SecLineInfo[]>();
  const insnOf = (at: number): number => {
    const byteOff = dv.getUint32(at, true);
    if (byteOff % INSN_SIZE !== 0) bad(at, `instruction offset ${byteOff} is not a multiple of ${INSN_SIZE}`);
    return byteOff / INSN_SIZE;
  };
  walk(8, FUNC_INFO_MIN, 'func_info', (sec, at) => {
    const list = funcInfo.get(sec) ?? [];
    list.push({ insn: insnOf(at), typeId: dv.getUint32(at + 4, true) });
    funcInfo.set(sec, list);
  });
  walk(16, LINE_INFO_MIN, 'line_info', (sec, at) => {
    const list = lineInfo.get(sec) ?? [];
    const lineCol = dv.getUint32(at + 12, true);
    list.push({
      insn: insnOf(at),
      file: btf.str(dv.getUint32(at + 4, true)),
      source: btf.str(dv.getUint32(at + 8, true)),
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
    });
    lineInfo.set(sec, list);
  });
  for (const l of funcInfo.values()) l.sort((a, b) => a.insn - b.insn);
  for (const l of lineInfo.values()) l.sort((a, b) => a.insn - b.insn);
  return { funcInfo, lineInfo };
}

// ELF64 little-endian reader for BPF relocatable objects (what `clang -target bpf -c` writes): the file
// header, section headers and their names, the symbol table, REL relocation sections and string tables.
// Every offset and size read from the file is checked against the file before use, so corrupt or
// truncated input ends in a BpfError naming the section and byte offset, never a RangeError or a hang.

import { BpfError } from '../errors.js';

/** ELF constants used here (elf.h). */
export const EM_BPF = 247;
export const ET_REL = 1;
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

/** BPF relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def). */
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_NODYLD32 = 4;
export const R_BPF_64_32 = 10;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** The section's bytes (a view into the file); empty for SHT_NOBITS, whose size is `size`. */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly bind: number;
  readonly type: number;
  readonly visibility: number;
  /** Section index the symbol is defined in (SHN_UNDEF for externs, SHN_ABS ...). */
  readonly shndx: number;
}

export interface ElfRel {
  /** Byte offset inside the target section. */
  readonly offset: number;
  readonly type: number;
  readonly sym: number;
}

export interface Elf {
  readonly bytes: Uint8Array;
  readonly sections: readonly ElfSection[];
  /** Symbols of the (single) SYMTAB section, index 0 being the null symbol; empty when there is none. */
  readonly symbols: readonly ElfSymbol[];
  /** Section by name (the first one when names repeat). */
  section(name: string): ElfSection | undefined;
  /** Relocation entries of a SHT_REL section. */
  rels(sec: ElfSection): ElfRel[];
}

const corrupt = (msg: string): never => {
  throw new BpfError('EINVAL', `corrupt ELF: ${msg}`);
};

/** Read a u64 that must fit a JS number safely (offsets and sizes); larger values are corrupt. */
function u64(dv: DataView, off: number, what: string): number {
  const lo = dv.getUint32(off, true);
  const hi = dv.getUint32(off + 4, true);
  if (hi > 0x1fffff) corrupt(`${what} at byte ${off} is too large (0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')})`);
  return hi * 0x100000000 + lo;
}

/** Longest name we accept: bounds the scan, so many symbols over one huge unterminated table stay linear. */
export const MAX_NAME_LEN = 4096;

/** A NUL-terminated string at `off` inside string table `tab` (named `tabName` for messages). */
export function cstring(tab: Uint8Array, off: number, tabName: string): string {
  if (off >= tab.length) {
    if (off === 0 && tab.length === 0) return '';
    corrupt(`string offset ${off} outside ${tabName} (${tab.length} bytes)`);
  }
  const limit = Math.min(tab.length, off + MAX_NAME_LEN);
  let end = off;
  while (end < limit && tab[end] !== 0) end++;
  if (end === limit) corrupt(`string at offset ${off} of ${tabName} is not NUL-terminated within ${limit - off} bytes`);
  return latin1(tab, off, end);
}

/** Bytes to a string without a decoder (names in BPF objects are ASCII; anything else stays visible). */
export function latin1(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i += 4096) s += String.fromCharCode(...b.subarray(i, Math.min(end, i + 4096)));
  return s;
}

export function parseElf(bytes: Uint8Array): Elf {
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new BpfError('ENOEXEC', 'not an ELF file (bad magic at byte 0)');
  }
  if (bytes[4] !== 2) throw new BpfError('ENOEXEC', `not a 64-bit ELF file (EI_CLASS ${bytes[4]} at byte 4)`);
  if (bytes[5] === 2) throw new BpfError('ENOEXEC', 'big-endian ELF (EI_DATA 2 at byte 5): only little-endian BPF objects (bpfel) are supported');
  if (bytes[5] !== 1) throw new BpfError('ENOEXEC', `unknown ELF data encoding ${bytes[5]} at byte 5`);
  if (bytes.length < EHDR_SIZE) corrupt(`file is ${bytes.length} bytes, shorter than the 64-byte ELF header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eType = dv.getUint16(16, true);
  const eMachine = dv.getUint16(18, true);
  if (eMachine !== EM_BPF) throw new BpfError('ENOEXEC', `not a BPF object: e_machine ${eMachine} at byte 18 (expected ${EM_BPF})`);
  if (eType !== ET_REL) throw new BpfError('ENOEXEC', `not a relocatable object: e_type ${eType} at byte 16 (expected ET_REL)`);
  const shoff = u64(dv, 40, 'e_shoff');
  const shentsize = dv.getUint16(58, true);
  let shnum = dv.getUint16(60, true);
  let shstrndx = dv.getUint16(62, true);
  if (shoff === 0) corrupt('no section header table (e_shoff 0 at byte 40)');
  if (shentsize !== SHDR_SIZE) corrupt(`e_shentsize ${shentsize} at byte 58 (expected ${SHDR_SIZE})`);
  if (shoff + SHDR_SIZE > bytes.length) corrupt(`section header table at byte ${shoff} lies outside the ${bytes.length}-byte file`);
  // Extended numbering: the real counts live in section header 0.
  if (shnum === 0) shnum = u64(dv, shoff + 32, 'section 0 sh_size (extended e_shnum)');
  if (shstrndx === SHN_XINDEX) shstrndx = dv.getUint32(shoff + 40, true);
  if (shnum === 0) corrupt('section header table is empty');
  if (shoff + shnum * SHDR_SIZE > bytes.length) {
    corrupt(`section header table (${shnum} entries at byte ${shoff}) runs past the end of the ${bytes.length}-byte file`);
  }

  interface RawSec { name: number; type: number; flags: number; offset: number; size: number; link: number; info: number; addralign: number; entsize: number }
  const raw: RawSec[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * SHDR_SIZE;
    const s: RawSec = {
      name: dv.getUint32(o, true),
      type: dv.getUint32(o + 4, true),
      flags: u64(dv, o + 8, `section ${i} sh_flags`),
      offset: u64(dv, o + 24, `section ${i} sh_offset`),
      size: u64(dv, o + 32, `section ${i} sh_size`),
      link: dv.getUint32(o + 40, true),
      info: dv.getUint32(o + 44, true),
      addralign: u64(dv, o + 48, `section ${i} sh_addralign`),
      entsize: u64(dv, o + 56, `section ${i} sh_entsize`),
    };
    if (i > 0 && s.type !== SHT_NOBITS && s.type !== SHT_NULL && s.offset + s.size > bytes.length) {
      corrupt(`section ${i} (header at byte ${o}) spans bytes ${s.offset}..${s.offset + s.size}, past the end of the ${bytes.length}-byte file`);
    }
    raw[i] = s;
  }
  if (shstrndx >= shnum) corrupt(`e_shstrndx ${shstrndx} at byte 62 is not a section (${shnum} sections)`);
  const shstr = raw[shstrndx];
  if (shstr.type !== SHT_STRTAB) corrupt(`section name table (section ${shstrndx}) is not a string table`);
  const shstrData = bytes.subarray(shstr.offset, shstr.offset + shstr.size);

  const sections: ElfSection[] = raw.map((s, i) => {
    const name = i === 0 ? '' : cstring(shstrData, s.name, `section name table (name of section ${i})`);
    const data = s.type === SHT_NOBITS || s.type === SHT_NULL ? new Uint8Array(0) : bytes.subarray(s.offset, s.offset + s.size);
    return { index: i, name, type: s.type, flags: s.flags, offset: s.offset, size: s.size, link: s.link, info: s.info, addralign: s.addralign, entsize: s.entsize, data };
  });

  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (s.index > 0 && !byName.has(s.name)) byName.set(s.name, s);

  // Symbol table: clang emits exactly one SYMTAB; its sh_link names the string table.
  let symbols: ElfSymbol[] = [];
  const symtabs = sections.filter((s) => s.type === SHT_SYMTAB);
  if (symtabs.length > 1) corrupt(`${symtabs.length} symbol tables (sections ${symtabs.map((s) => s.index).join(', ')}); expected one`);
  if (symtabs.length === 1) {
    const st = symtabs[0];
    if (st.size % SYM_SIZE !== 0) corrupt(`symbol table '${st.name}' size ${st.size} is not a multiple of ${SYM_SIZE}`);
    if (st.link === 0 || st.link >= shnum || sections[st.link].type !== SHT_STRTAB) {
      corrupt(`symbol table '${st.name}' links to section ${st.link}, which is not a string table`);
    }
    const strtab = sections[st.link];
    const n = st.size / SYM_SIZE;
    symbols = new Array(n);
    for (let i = 0; i < n; i++) {
      const o = st.offset + i * SYM_SIZE;
      const info = bytes[o + 4];
      let shndx = dv.getUint16(o + 6, true);
      if (shndx === SHN_XINDEX) corrupt(`symbol ${i} at byte ${o} uses SHN_XINDEX, which BPF objects never need`);
      if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= shnum) {
        corrupt(`symbol ${i} at byte ${o} is defined in section ${shndx}, but there are only ${shnum} sections`);
      }
      symbols[i] = {
        index: i,
        name: cstring(strtab.data, dv.getUint32(o, true), `string table '${strtab.name}' (name of symbol ${i} at byte ${o})`),
        value: u64(dv, o + 8, `symbol ${i} st_value`),
        size: u64(dv, o + 16, `symbol ${i} st_size`),
        bind: info >> 4,
        type: info & 0xf,
        visibility: bytes[o + 5] & 3,
        shndx,
      };
    }
  }

  return {
    bytes,
    sections,
    symbols,
    section: (name) => byName.get(name),
    rels(sec) {
      if (sec.type !== SHT_REL) corrupt(`section '${sec.name}' (${sec.index}) is not a REL section`);
      if (sec.size % REL_SIZE !== 0) corrupt(`relocation section '${sec.name}' size ${sec.size} is not a multiple of ${REL_SIZE}`);
      const n = sec.size / REL_SIZE;
      const out: ElfRel[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const o = sec.offset + i * REL_SIZE;
        const sym = dv.getUint32(o + 12, true);
        if (sym >= symbols.length) {
          corrupt(`relocation ${i} of '${sec.name}' at byte ${o} names symbol ${sym}, but there are ${symbols.length} symbols`);
        }
        out[i] = { offset: u64(dv, o, `relocation ${i} of '${sec.name}' r_offset`), type: dv.getUint32(o + 8, true), sym };
      }
      return out;
    },
  };
}

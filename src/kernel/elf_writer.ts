// Writer of minimal relocatable ELF64 BPF objects (what libbpf / `bpftool prog loadall` read), so that
// instruction sequences built in TypeScript - e.g. the instruction-level case corpus - can be loaded into the
// real kernel without clang. One object holds any number of programs; each program is given as one
// instruction array (main function first, bpf-to-bpf subprograms after it, calls as relative BPF_PSEUDO_CALLs,
// exactly the layout the kernel verifies). libbpf only links subprograms that live in `.text`, so the writer
// splits every program at its call targets: the main function goes to the program's section (a global
// STT_FUNC symbol), the subprograms to `.text` (local STT_FUNC symbols), and each call from the main function
// gets an R_BPF_64_32 relocation against its target's symbol. Calls between subprograms stay relative (they
// keep their distance inside `.text`), as clang leaves them. No BTF: the kernel does not need it for this.

import { fail } from '../errors.js';
import { encode, type Insn } from '../isa/insn.js';
import { BPF_PSEUDO_CALL, OP_CALL, OP_LDDW } from '../isa/opcodes.js';
import {
  EM_BPF, ET_REL, R_BPF_64_32, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS, SHT_REL, SHT_STRTAB, SHT_SYMTAB,
  STB_GLOBAL, STB_LOCAL, STT_FUNC, STT_OBJECT,
} from '../object/elf.js';

export interface ElfProgram {
  /** Symbol name: libbpf's program name, the name bpftool pins it under. */
  name: string;
  /** Section name, which tells libbpf the program type (`xdp`, `socket`, `tc`, ...). */
  section: string;
  /** Main function then subprograms; one Insn per 8-byte slot (an lddw is two). */
  insns: readonly Insn[];
}

export interface ElfObjectSpec {
  programs: readonly ElfProgram[];
  /** Contents of the `license` section; "GPL" by default (GPL-only helpers then load). */
  license?: string;
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const INSN_SIZE = 8;
const TEXT = '.text';

/** First slot of every function of `insns`: 0 and every bpf-to-bpf call target, sorted. */
export function functionStarts(insns: readonly Insn[], what = 'program'): number[] {
  const starts = new Set<number>([0]);
  for (let i = 0; i < insns.length; i++) {
    const ins = insns[i];
    if (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) {
      const t = i + 1 + ins.imm;
      if (t < 0 || t >= insns.length) fail('EINVAL', `${what}: insn ${i}: call target ${t} is outside the program (0..${insns.length - 1})`, i);
      if (t === 0) fail('EINVAL', `${what}: insn ${i}: a call to the main function cannot be written as an object (libbpf calls only .text)`, i);
      starts.add(t);
    }
    if (ins.code === OP_LDDW) i++;
  }
  return [...starts].sort((a, b) => a - b);
}

interface Sym { name: string; bind: number; type: number; shndx: number; value: number; size: number }
interface Sec { name: string; type: number; flags: number; body: Uint8Array; link: number; info: number; align: number; entsize: number }

/** The bytes of an ELF64 little-endian EM_BPF relocatable object holding `spec`'s programs. */
export function writeBpfObject(spec: ElfObjectSpec): Uint8Array {
  const names = new Set<string>();
  for (const p of spec.programs) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) fail('EINVAL', `program name '${p.name}' is not a C identifier`);
    if (names.has(p.name)) fail('EINVAL', `two programs are named '${p.name}'`);
    if (p.section === '' || p.section === TEXT || p.section.startsWith('.rel')) fail('EINVAL', `program '${p.name}': section '${p.section}' cannot hold an entry program`);
    if (p.insns.length === 0) fail('EINVAL', `program '${p.name}' has no instructions`);
    names.add(p.name);
  }

  // Lay out code: program sections in first-use order, then .text.
  const secOrder: string[] = [];
  const secCode = new Map<string, Insn[]>();
  const text: Insn[] = [];
  const globals: Array<Sym & { sec: string }> = [];
  const locals: Array<Sym & { sec: string }> = [];
  /** section name -> calls to patch: slot in section, target .text slot */
  const calls = new Map<string, Array<{ at: number; textSlot: number }>>();
  for (const p of spec.programs) {
    const starts = functionStarts(p.insns, `program '${p.name}'`);
    let code = secCode.get(p.section);
    if (code === undefined) {
      secOrder.push(p.section);
      secCode.set(p.section, (code = []));
      calls.set(p.section, []);
    }
    const mainEnd = starts.length > 1 ? starts[1] : p.insns.length;
    const mainAt = code.length;
    const textBase = text.length - mainEnd; // .text slot of original slot s (s >= mainEnd) is textBase + s
    globals.push({ name: p.name, bind: STB_GLOBAL, type: STT_FUNC, sec: p.section, shndx: 0, value: mainAt * INSN_SIZE, size: mainEnd * INSN_SIZE });
    for (let i = 0; i < mainEnd; i++) {
      const ins = p.insns[i];
      if (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) {
        calls.get(p.section)!.push({ at: mainAt + i, textSlot: textBase + i + 1 + ins.imm });
        code.push({ ...ins, imm: -1 }); // the relocation's symbol is the target; -1 cancels libbpf's +1
      } else code.push(ins);
    }
    for (let f = 1; f < starts.length; f++) {
      const end = f + 1 < starts.length ? starts[f + 1] : p.insns.length;
      locals.push({ name: `${p.name}__sub${starts[f]}`, bind: STB_LOCAL, type: STT_FUNC, sec: TEXT, shndx: 0, value: (textBase + starts[f]) * INSN_SIZE, size: (end - starts[f]) * INSN_SIZE });
    }
    for (let i = mainEnd; i < p.insns.length; i++) text.push(p.insns[i]);
  }

  // Sections: [0] null, [1] .strtab (names of sections and symbols), code sections, .text, license, .symtab, .rel*.
  const secs: Sec[] = [];
  const strtab: number[] = [0];
  const strOff = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let o = strOff.get(s);
    if (o === undefined) {
      o = strtab.length;
      strOff.set(s, o);
      for (const b of Buffer.from(s, 'utf8')) strtab.push(b);
      strtab.push(0);
    }
    return o;
  };
  const secIndex = new Map<string, number>();
  const addSec = (s: Sec): number => {
    secs.push(s);
    const idx = secs.length + 1; // + null section, + .strtab which is placed first
    secIndex.set(s.name, idx);
    return idx;
  };
  for (const name of secOrder) addSec({ name, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, body: encode(secCode.get(name)!), link: 0, info: 0, align: 8, entsize: 0 });
  if (text.length > 0) addSec({ name: TEXT, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, body: encode(text), link: 0, info: 0, align: 8, entsize: 0 });
  const license = Buffer.from(`${spec.license ?? 'GPL'}\0`, 'utf8');
  addSec({ name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, body: new Uint8Array(license), link: 0, info: 0, align: 1, entsize: 0 });
  globals.push({ name: '_license', bind: STB_GLOBAL, type: STT_OBJECT, sec: 'license', shndx: 0, value: 0, size: license.length });

  // Symbol table: null symbol, locals, then globals (sh_info = index of the first global).
  const syms = [...locals, ...globals];
  const symIndex = new Map<string, number>();
  const symBody = new Uint8Array((syms.length + 1) * SYM_SIZE);
  const sv = new DataView(symBody.buffer);
  syms.forEach((s, k) => {
    const o = (k + 1) * SYM_SIZE;
    symIndex.set(s.sec === TEXT ? `${TEXT}@${s.value}` : s.name, k + 1);
    sv.setUint32(o, str(s.name), true);
    symBody[o + 4] = (s.bind << 4) | s.type;
    sv.setUint16(o + 6, secIndex.get(s.sec)!, true);
    sv.setBigUint64(o + 8, BigInt(s.value), true);
    sv.setBigUint64(o + 16, BigInt(s.size), true);
  });
  const symtabIdx = addSec({ name: '.symtab', type: SHT_SYMTAB, flags: 0, body: symBody, link: 1, info: locals.length + 1, align: 8, entsize: SYM_SIZE });

  for (const name of secOrder) {
    const list = calls.get(name)!;
    if (list.length === 0) continue;
    const body = new Uint8Array(list.length * REL_SIZE);
    const rv = new DataView(body.buffer);
    list.forEach((c, k) => {
      const sym = symIndex.get(`${TEXT}@${c.textSlot * INSN_SIZE}`);
      if (sym === undefined) fail('EINVAL', `section '${name}': call at slot ${c.at} has no .text function at slot ${c.textSlot}`);
      rv.setBigUint64(k * REL_SIZE, BigInt(c.at * INSN_SIZE), true);
      rv.setBigUint64(k * REL_SIZE + 8, (BigInt(sym) << 32n) | BigInt(R_BPF_64_32), true);
    });
    addSec({ name: `.rel${name}`, type: SHT_REL, flags: 0, body, link: symtabIdx, info: secIndex.get(name)!, align: 8, entsize: REL_SIZE });
  }

  for (const s of secs) str(s.name);
  str('.strtab');
  const all: Sec[] = [{ name: '.strtab', type: SHT_STRTAB, flags: 0, body: Uint8Array.from(strtab), link: 0, info: 0, align: 1, entsize: 0 }, ...secs];

  // File: header, section bodies (8-aligned), section header table.
  const offsets: number[] = [];
  let off = EHDR_SIZE;
  for (const s of all) {
    off = (off + 7) & ~7;
    offsets.push(off);
    off += s.body.length;
  }
  const shoff = (off + 7) & ~7;
  const shnum = all.length + 1;
  const out = new Uint8Array(shoff + shnum * SHDR_SIZE);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  v.setUint16(16, ET_REL, true);
  v.setUint16(18, EM_BPF, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint16(52, EHDR_SIZE, true);
  v.setUint16(58, SHDR_SIZE, true);
  v.setUint16(60, shnum, true);
  v.setUint16(62, 1, true); // e_shstrndx: .strtab doubles as the section-name table
  all.forEach((s, k) => {
    out.set(s.body, offsets[k]);
    const o = shoff + (k + 1) * SHDR_SIZE;
    v.setUint32(o, strOff.get(s.name)!, true);
    v.setUint32(o + 4, s.type, true);
    v.setBigUint64(o + 8, BigInt(s.flags), true);
    v.setBigUint64(o + 24, BigInt(offsets[k]), true);
    v.setBigUint64(o + 32, BigInt(s.body.length), true);
    v.setUint32(o + 40, s.link, true);
    v.setUint32(o + 44, s.info, true);
    v.setBigUint64(o + 48, BigInt(s.align), true);
    v.setBigUint64(o + 56, BigInt(s.entsize), true);
  });
  return out;
}

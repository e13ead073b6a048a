// parseObject(): a clang-built BPF object file -> programs, maps and line info, with every relocation the
// object carries applied the way libbpf applies them, but without creating anything: map references in
// `lddw` become map *indexes* (BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE) into ObjectSpec.maps, which
// the syscall layer turns into real maps at load time; bpf-to-bpf calls and callback addresses are linked
// by appending each needed subprogram once after the program (depth first, as libbpf's reloc_code does)
// and pointing the call's imm at it.

import { BpfError } from '../errors.js';
import { type Insn, decode } from '../isa/insn.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, OP_CALL, OP_LDDW } from '../isa/opcodes.js';
import { BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS } from '../uapi/bpf.js';
import { type Btf, parseBtf } from './btf.js';
import { type BtfExt, type FuncInfo, type SecLineInfo, parseBtfExt } from './btf_ext.js';
import {
  type Elf, type ElfSection, type ElfSymbol, R_BPF_64_32, R_BPF_64_64, R_BPF_NONE, SHF_EXECINSTR, SHN_UNDEF, SHT_PROGBITS,
  SHT_REL, SHT_RELA, STB_LOCAL, STT_FUNC, STT_SECTION, parseElf,
} from './elf.js';
import { type MapSpec, collectMaps } from './maps.js';
import { sectionType } from './sections.js';

export type { MapSpec } from './maps.js';

export interface LineInfo { insn: number; file: string; line: number; column: number; source: string }

export interface MapRef { insn: number; map: number; kind: 'map' | 'map_value'; offset: number }

export interface ProgramSpec {
  name: string;
  section: string;
  type: number;
  expectedAttachType?: number;
  /** Linked instructions: the program, then each subprogram it needs. */
  insns: Insn[];
  lineInfo: LineInfo[];
  mapRefs: MapRef[];
  /** BTF FUNC of each function in the linked program (program first). */
  funcInfo: { insn: number; typeId: number }[];
  /** BPF_F_SLEEPABLE / BPF_F_XDP_HAS_FRAGS implied by the section name. */
  progFlags: number;
  /** false for SEC("?...") programs, which libbpf does not load unless asked. */
  autoload: boolean;
  /** Name of every function placed in `insns`, with its first slot. */
  functions: { name: string; insn: number }[];
}

export interface ObjectSpec {
  name: string;
  license: string;
  /** Contents of the `version` section (kernel version for old kprobes), when present. */
  version?: number;
  programs: ProgramSpec[];
  maps: MapSpec[];
  btf?: Btf;
}

const INSN_SIZE = 8;
const TEXT = '.text';

/** One function of an executable section, with its relocations already resolved. */
interface Func {
  readonly name: string;
  readonly sec: ElfSection;
  /** First slot within the section, and slot count. */
  readonly start: number;
  readonly count: number;
  readonly global: boolean;
  insns: Insn[];
  /** Calls and callback addresses: slot within the function -> target function. */
  refs: { at: number; target: Func }[];
  mapRefs: MapRef[];
  lines: LineInfo[];
  funcInfo?: FuncInfo;
}

/** Object name as libbpf derives it from a path: basename up to the first '.'. */
export function objectName(path: string | undefined): string {
  if (!path) return 'object';
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return (dot > 0 ? base.slice(0, dot) : base) || 'object';
}

export function parseObject(bytes: Uint8Array, name?: string): ObjectSpec {
  const elf = parseElf(bytes);
  const objName = objectName(name);
  const btfSec = elf.section('.BTF');
  const btf = btfSec && btfSec.type === SHT_PROGBITS ? parseBtf(btfSec.data, '.BTF') : undefined;
  const extSec = elf.section('.BTF.ext');
  const ext = btf && extSec && extSec.type === SHT_PROGBITS ? parseBtfExt(extSec.data, btf, '.BTF.ext') : undefined;

  const license = readLicense(elf);
  const version = readVersion(elf);
  const funcs = collectFunctions(elf);
  const programFuncs = funcs.all.filter((f) => f.sec.name !== TEXT);

  const programAt = (shndx: number, off: number): string | undefined => {
    const f = funcs.bySec.get(shndx)?.get(off / INSN_SIZE);
    return f && f.sec.name !== TEXT && off % INSN_SIZE === 0 ? f.name : undefined;
  };
  const { maps, locations, dataMaps } = collectMaps(elf, btf, objName, programAt);

  const mapAt = new Map<string, number>();
  locations.forEach((l, i) => {
    if (!dataMaps.has(l.shndx)) mapAt.set(`${l.shndx}:${l.offset}`, i);
  });
  const mapSections = new Set(locations.filter((l) => !dataMaps.has(l.shndx)).map((l) => l.shndx));

  relocateFunctions(elf, funcs, { mapAt, mapSections, dataMaps, maps });
  attachDebugInfo(funcs.all, ext);

  const programs = programFuncs.map((f) => linkProgram(f));
  return { name: objName, license, ...(version !== undefined ? { version } : {}), programs, maps, ...(btf ? { btf } : {}) };
}

function readLicense(elf: Elf): string {
  const sec = elf.section('license');
  if (!sec || sec.type !== SHT_PROGBITS) return '';
  let end = sec.data.indexOf(0);
  if (end < 0) end = sec.data.length;
  let s = '';
  for (let i = 0; i < Math.min(end, 128); i++) s += String.fromCharCode(sec.data[i]);
  return s;
}

function readVersion(elf: Elf): number | undefined {
  const sec = elf.section('version');
  if (!sec || sec.type !== SHT_PROGBITS) return undefined;
  if (sec.size !== 4) throw new BpfError('EINVAL', `section 'version' is ${sec.size} bytes, expected 4`);
  return new DataView(sec.data.buffer, sec.data.byteOffset, 4).getUint32(0, true);
}

interface Functions {
  all: Func[];
  /** section index -> first slot -> function */
  bySec: Map<number, Map<number, Func>>;
  /** section index -> decoded slots */
  code: Map<number, Insn[]>;
}

/** Every STT_FUNC symbol of every executable section, sorted by section then offset (libbpf's order). */
function collectFunctions(elf: Elf): Functions {
  const code = new Map<number, Insn[]>();
  for (const sec of elf.sections) {
    if (sec.type !== SHT_PROGBITS || !(sec.flags & SHF_EXECINSTR) || sec.size === 0) continue;
    if (sec.size % INSN_SIZE !== 0) throw new BpfError('EINVAL', `section '${sec.name}' is ${sec.size} bytes, not a multiple of ${INSN_SIZE}`);
    code.set(sec.index, decode(sec.data));
  }
  const all: Func[] = [];
  const bySec = new Map<number, Map<number, Func>>();
  const syms = elf.symbols.filter((s) => s.type === STT_FUNC && code.has(s.shndx)).sort((a, b) => a.shndx - b.shndx || a.value - b.value);
  for (const s of syms) {
    const sec = elf.sections[s.shndx];
    const where = `function '${s.name}' in section '${sec.name}'`;
    if (s.value % INSN_SIZE !== 0 || s.size % INSN_SIZE !== 0) throw new BpfError('EINVAL', `${where}: offset ${s.value} or size ${s.size} is not a multiple of ${INSN_SIZE}`);
    if (s.size === 0 || s.value + s.size > sec.size) throw new BpfError('EINVAL', `${where}: bytes ${s.value}..${s.value + s.size} lie outside the ${sec.size}-byte section`);
    if (sec.name !== TEXT && s.bind === STB_LOCAL) throw new BpfError('EOPNOTSUPP', `${where}: static programs are not supported (make it global, or move it to .text)`);
    const start = s.value / INSN_SIZE;
    let index = bySec.get(s.shndx);
    if (!index) bySec.set(s.shndx, (index = new Map()));
    if (index.has(start)) throw new BpfError('EINVAL', `${where}: another function already starts at byte ${s.value}`);
    const prev = all[all.length - 1];
    if (prev && prev.sec === sec && prev.start + prev.count > start) throw new BpfError('EINVAL', `${where}: overlaps function '${prev.name}'`);
    const f: Func = { name: s.name, sec, start, count: s.size / INSN_SIZE, global: s.bind !== STB_LOCAL, insns: code.get(s.shndx)!.slice(start, start + s.size / INSN_SIZE), refs: [], mapRefs: [], lines: [] };
    index.set(start, f);
    all.push(f);
  }
  return { all, bySec, code };
}

interface MapTables {
  mapAt: Map<string, number>;
  mapSections: Set<number>;
  dataMaps: Map<number, number>;
  maps: MapSpec[];
}

/** Apply data relocations in place and record call/callback targets of every function. */
function relocateFunctions(elf: Elf, funcs: Functions, t: MapTables): void {
  // Relocations per executable section, keyed by slot.
  const relsBySec = new Map<number, Map<number, { type: number; sym: ElfSymbol; index: number; secName: string }>>();
  for (const rs of elf.sections) {
    if (rs.type !== SHT_REL && rs.type !== SHT_RELA) continue;
    if (!funcs.code.has(rs.info)) continue; // debug info, BTF, .maps: not code
    const target = elf.sections[rs.info];
    if (rs.type === SHT_RELA) throw new BpfError('EINVAL', `section '${rs.name}': RELA relocations for code section '${target.name}' are not supported`);
    let m = relsBySec.get(rs.info);
    if (!m) relsBySec.set(rs.info, (m = new Map()));
    for (const [i, rel] of elf.rels(rs).entries()) {
      if (rel.offset % INSN_SIZE !== 0 || rel.offset >= target.size) {
        throw new BpfError('EINVAL', `relocation ${i} of '${rs.name}': offset ${rel.offset} is not an instruction of '${target.name}'`);
      }
      if (rel.type === R_BPF_NONE) continue;
      m.set(rel.offset / INSN_SIZE, { type: rel.type, sym: elf.symbols[rel.sym], index: i, secName: rs.name });
    }
  }

  const funcAt = (shndx: number, slot: number, what: string): Func => {
    const f = funcs.bySec.get(shndx)?.get(slot);
    if (!f) {
      const sec = elf.sections[shndx];
      throw new BpfError('EINVAL', `${what}: target is slot ${slot} of section '${sec ? sec.name : shndx}', which is not the start of a function`);
    }
    return f;
  };

  for (const f of funcs.all) {
    const rels = relsBySec.get(f.sec.index);
    for (let i = 0; i < f.count; i++) {
      const ins = f.insns[i];
      const secSlot = f.start + i;
      const what = `'${f.name}' insn ${i} (section '${f.sec.name}' slot ${secSlot})`;
      const rel = rels?.get(secSlot);
      const isLddw = ins.code === OP_LDDW;
      if (isLddw && i + 1 >= f.count) throw new BpfError('EINVAL', `${what}: lddw is missing its second slot`, i);
      if (isLddw && rels?.has(secSlot + 1)) throw new BpfError('EINVAL', `${what}: relocation on the second slot of an lddw`, i + 1);

      if (!rel) {
        if (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) {
          // A call inside one section needs no relocation: imm is already relative to this slot.
          f.refs.push({ at: i, target: funcAt(f.sec.index, secSlot + ins.imm + 1, what) });
        } else if (isLddw && ins.src === BPF_PSEUDO_FUNC) {
          throw new BpfError('EINVAL', `${what}: callback address without a relocation`, i);
        }
        if (isLddw) i++;
        continue;
      }

      const sym = rel.sym;
      // Section symbols have no name of their own: they go by their section's.
      const symName = sym.name || (sym.type === STT_SECTION && elf.sections[sym.shndx] ? elf.sections[sym.shndx].name : `symbol ${sym.index}`);
      const relWhat = `${what}, relocation ${rel.index} of '${rel.secName}' against '${symName}'`;
      if (sym.shndx === SHN_UNDEF) throw new BpfError('EOPNOTSUPP', `${relWhat}: extern symbols (kfuncs, ksyms, kconfig) are not supported`, i);
      if (rel.type === R_BPF_64_32) {
        if (ins.code !== OP_CALL || ins.src !== BPF_PSEUDO_CALL) throw new BpfError('EINVAL', `${relWhat}: R_BPF_64_32 on an instruction that is not a bpf-to-bpf call (opcode 0x${ins.code.toString(16)})`, i);
        if (!funcs.code.has(sym.shndx)) throw new BpfError('EINVAL', `${relWhat}: call target is not in a code section`, i);
        if (sym.value % INSN_SIZE !== 0) throw new BpfError('EINVAL', `${relWhat}: call target offset ${sym.value} is not a multiple of ${INSN_SIZE}`, i);
        // Global callee: symbol value = its offset, imm = -1; static callee: section symbol, imm = slot - 1.
        f.refs.push({ at: i, target: funcAt(sym.shndx, sym.value / INSN_SIZE + ins.imm + 1, relWhat) });
        continue;
      }
      if (rel.type !== R_BPF_64_64) throw new BpfError('EINVAL', `${relWhat}: unsupported relocation type ${rel.type} in code`, i);
      if (!isLddw) throw new BpfError('EINVAL', `${relWhat}: R_BPF_64_64 on opcode 0x${ins.code.toString(16)}, not lddw`, i);
      const hi = f.insns[i + 1];

      if (funcs.code.has(sym.shndx)) {
        // Address of a function (callback for bpf_loop & co.): byte offset = symbol value + imm.
        const byteOff = sym.value + ins.imm;
        if (byteOff % INSN_SIZE !== 0) throw new BpfError('EINVAL', `${relWhat}: callback offset ${byteOff} is not a multiple of ${INSN_SIZE}`, i);
        f.insns[i] = { ...ins, src: BPF_PSEUDO_FUNC };
        f.refs.push({ at: i, target: funcAt(sym.shndx, byteOff / INSN_SIZE, relWhat) });
      } else if (t.mapSections.has(sym.shndx)) {
        if (sym.type === STT_SECTION) throw new BpfError('EINVAL', `${relWhat}: map reference through a section symbol`, i);
        const idx = t.mapAt.get(`${sym.shndx}:${sym.value}`);
        if (idx === undefined) throw new BpfError('EINVAL', `${relWhat}: no map is defined at byte ${sym.value} of '${elf.sections[sym.shndx].name}'`, i);
        f.insns[i] = { ...ins, src: BPF_PSEUDO_MAP_IDX, imm: idx };
        f.insns[i + 1] = { ...hi, imm: 0 };
        f.mapRefs.push({ insn: i, map: idx, kind: 'map', offset: 0 });
      } else if (t.dataMaps.has(sym.shndx)) {
        const idx = t.dataMaps.get(sym.shndx)!;
        // Global variable: symbol value is its offset and imm is 0; static one: section symbol, offset in imm.
        const offset = sym.value + ins.imm;
        if (offset < 0 || offset > t.maps[idx].valueSize) {
          throw new BpfError('EINVAL', `${relWhat}: offset ${offset} is outside the ${t.maps[idx].valueSize}-byte section '${elf.sections[sym.shndx].name}'`, i);
        }
        f.insns[i] = { ...ins, src: BPF_PSEUDO_MAP_IDX_VALUE, imm: idx };
        f.insns[i + 1] = { ...hi, imm: offset };
        f.mapRefs.push({ insn: i, map: idx, kind: 'map_value', offset });
      } else {
        const sec = elf.sections[sym.shndx];
        throw new BpfError('EINVAL', `${relWhat}: section '${sec ? sec.name : sym.shndx}' is neither code, a map section nor global data`, i);
      }
      i++;
    }
  }
}

/** Hand each function its share of the section's line and func info, as offsets within the function. */
function attachDebugInfo(all: Func[], ext: BtfExt | undefined): void {
  if (!ext) return;
  for (const f of all) {
    const lines: readonly SecLineInfo[] = ext.lineInfo.get(f.sec.name) ?? [];
    const end = f.start + f.count;
    for (const l of lines) {
      if (l.insn >= f.start && l.insn < end) f.lines.push({ insn: l.insn - f.start, file: l.file, line: l.line, column: l.column, source: l.source });
    }
    const fi = (ext.funcInfo.get(f.sec.name) ?? []).find((x) => x.insn === f.start);
    if (fi) f.funcInfo = { insn: 0, typeId: fi.typeId };
  }
}

/** Program + every subprogram it reaches, each once, depth first in call order (libbpf's layout). */
function linkProgram(main: Func): ProgramSpec {
  const st = sectionType(main.sec.name);
  const insns: Insn[] = [];
  const lineInfo: LineInfo[] = [];
  const mapRefs: MapRef[] = [];
  const funcInfo: { insn: number; typeId: number }[] = [];
  const functions: { name: string; insn: number }[] = [];
  const placed = new Map<Func, number>();
  const place = (f: Func): number => {
    const base = insns.length;
    placed.set(f, base);
    for (const ins of f.insns) insns.push(ins);
    for (const l of f.lines) lineInfo.push({ ...l, insn: l.insn + base });
    for (const r of f.mapRefs) mapRefs.push({ ...r, insn: r.insn + base });
    if (f.funcInfo) funcInfo.push({ insn: base, typeId: f.funcInfo.typeId });
    functions.push({ name: f.name, insn: base });
    return base;
  };
  // Explicit stack instead of recursion: call graphs of corrupt objects may be arbitrarily deep.
  const stack: { f: Func; base: number; next: number }[] = [{ f: main, base: place(main), next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.next >= frame.f.refs.length) {
      stack.pop();
      continue;
    }
    const ref = frame.f.refs[frame.next++];
    let target = placed.get(ref.target);
    if (target === undefined) {
      target = place(ref.target);
      stack.push({ f: ref.target, base: target, next: 0 });
    }
    const at = frame.base + ref.at;
    insns[at] = { ...insns[at], imm: target - at - 1 };
  }
  const progFlags = (st.def?.sleepable ? BPF_F_SLEEPABLE : 0) | (st.def?.xdpFrags ? BPF_F_XDP_HAS_FRAGS : 0);
  return {
    name: main.name, section: main.sec.name, type: st.progType,
    ...(st.expectedAttachType !== undefined ? { expectedAttachType: st.expectedAttachType } : {}),
    insns, lineInfo, mapRefs, funcInfo, progFlags, autoload: st.autoload, functions,
  };
}

// Map specifications of a BPF object, read without creating anything: BTF-defined maps in `.maps`
// (libbpf's `__uint`/`__type`/`__array` convention, with inner-map templates and the static slot
// initialisers that `.rel.maps` carries), legacy `struct bpf_map_def` maps in `maps`, and the global-data
// sections (.data*, .rodata*, .bss*) that become single-element array maps. Field rules follow libbpf.

import { BpfError } from '../errors.js';
import { BPF_F_RDONLY_PROG, BPF_MAP_TYPE } from '../uapi/bpf.js';
import type { Btf, BtfType } from './btf.js';
import type { Elf, ElfSection } from './elf.js';
import { R_BPF_64_ABS64, SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS, SHT_REL, STT_FUNC, STT_SECTION } from './elf.js';

export interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** LIBBPF_PIN_NONE 0, LIBBPF_PIN_BY_NAME 1 */
  pinning: number;
  /** Template of the inner map of an array/hash of maps. */
  inner?: MapSpec;
  /** Initial value of a global-data map (the section's bytes; zeros for .bss). */
  initial?: Uint8Array;
  /** Static initialisers: prog array slot -> program name, map-in-map slot -> map name. */
  slots?: { index: number; prog?: string; map?: string }[];
  /** ELF section the map is defined in ('.maps', 'maps', '.data', ...). */
  section: string;
  readonlyForProgs: boolean;
  frozen: boolean;
  /** BTF type ids of key and value, when the definition names types. */
  btfKeyType?: number;
  btfValueType?: number;
  /** map_extra (bloom filter hash count ...), 0 when absent. */
  mapExtra?: number;
}

/** Where each map lives in the ELF file, so relocations can find it. */
export interface MapLocation { readonly shndx: number; readonly offset: number; readonly size: number }

export const LIBBPF_PIN_NONE = 0;
export const LIBBPF_PIN_BY_NAME = 1;

const isMapInMap = (t: number): boolean => t === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS;

const einval = (msg: string): never => {
  throw new BpfError('EINVAL', msg);
};

/** Global-data section kinds, as libbpf classifies section names. */
export function dataSectionKind(sec: ElfSection): 'data' | 'rodata' | 'bss' | undefined {
  const n = sec.name;
  if (sec.flags & SHF_EXECINSTR) return undefined;
  if (sec.type === SHT_PROGBITS && (n === '.data' || n.startsWith('.data.'))) return 'data';
  if (sec.type === SHT_PROGBITS && (n === '.rodata' || n.startsWith('.rodata.'))) return 'rodata';
  if (sec.type === SHT_NOBITS && (n === '.bss' || n.startsWith('.bss.'))) return 'bss';
  return undefined;
}

/** libbpf's name for an internal map: object-name prefix + section name, at most 15 characters. */
export function internalMapName(objName: string, secName: string): string {
  const sfxLen = Math.min(Math.max(7, secName.length), 15);
  // A section with a second dot ('.data.custom', '.rodata.str1.1') is a custom dot map: no prefix.
  const pfxLen = secName.indexOf('.', 1) >= 0 ? 0 : Math.min(16 - sfxLen - 1, objName.length);
  const name = (objName.slice(0, pfxLen) + secName.slice(0, sfxLen)).slice(0, 15);
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

interface BtfMapDef {
  type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; pinning: number;
  mapExtra: number; keyType?: number; valueType?: number; inner?: BtfMapDef; valuesBitOffset?: number; hasValues: boolean;
}

/** Parse one BTF map definition struct (libbpf's parse_btf_map_def). */
function parseBtfMapDef(btf: Btf, mapName: string, def: BtfType, isInner: boolean): BtfMapDef {
  if (def.kind !== 'struct') return einval(`map '${mapName}': definition is ${def.kind}, expected a struct`);
  const out: BtfMapDef = { type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, pinning: 0, mapExtra: 0, hasValues: false };
  const intField = (mname: string, type: number): number => {
    const t = btf.resolve(type);
    if (t.kind !== 'ptr') return einval(`map '${mapName}': attr '${mname}': expected a pointer, got ${t.kind}`);
    const arr = btf.type(t.type);
    if (arr.kind !== 'array') return einval(`map '${mapName}': attr '${mname}': expected a pointer to an array, got a pointer to ${arr.kind}`);
    return arr.nelems;
  };
  const members = def.members;
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    const f = m.name;
    switch (f) {
      case 'type': out.type = intField(f, m.type); break;
      case 'max_entries': out.maxEntries = intField(f, m.type); break;
      case 'map_flags': out.flags = intField(f, m.type); break;
      case 'numa_node': intField(f, m.type); break; // placement hint: meaningless here
      case 'pinning': {
        const v = intField(f, m.type);
        if (isInner) return einval(`map '${mapName}': inner map definitions cannot be pinned`);
        if (v !== LIBBPF_PIN_NONE && v !== LIBBPF_PIN_BY_NAME) return einval(`map '${mapName}': invalid pinning value ${v}`);
        out.pinning = v;
        break;
      }
      case 'map_extra': {
        const t = btf.resolve(m.type);
        if (t.kind === 'ptr') out.mapExtra = intField(f, m.type);
        else if (t.kind === 'enum' && t.values.length === 1) out.mapExtra = t.values[0].value >>> 0;
        else if (t.kind === 'enum64' && t.values.length === 1) out.mapExtra = Number(BigInt.asUintN(64, t.values[0].value));
        else return einval(`map '${mapName}': attr 'map_extra': unexpected ${t.kind}`);
        break;
      }
      case 'key_size': case 'value_size': {
        const v = intField(f, m.type);
        const cur = f === 'key_size' ? out.keySize : out.valueSize;
        if (cur && cur !== v) return einval(`map '${mapName}': conflicting ${f} ${cur} != ${v}`);
        if (f === 'key_size') out.keySize = v; else out.valueSize = v;
        break;
      }
      case 'key': case 'value': {
        const t = btf.type(m.type);
        if (t.kind !== 'ptr') return einval(`map '${mapName}': ${f} spec is not a pointer: ${t.kind}`);
        const sz = btf.sizeOf(t.type);
        const cur = f === 'key' ? out.keySize : out.valueSize;
        if (cur && cur !== sz) return einval(`map '${mapName}': conflicting ${f} size ${cur} != ${sz}`);
        if (f === 'key') { out.keySize = sz; out.keyType = t.type; } else { out.valueSize = sz; out.valueType = t.type; }
        break;
      }
      case 'values': {
        const mim = isMapInMap(out.type);
        const progArray = out.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY;
        if (isInner) return einval(`map '${mapName}': multi-level inner maps are not supported`);
        if (i !== members.length - 1) return einval(`map '${mapName}': 'values' must be the last member`);
        if (!mim && !progArray) return einval(`map '${mapName}': 'values' is only for map-in-map and prog-array maps`);
        if (out.valueSize && out.valueSize !== 4) return einval(`map '${mapName}': conflicting value size ${out.valueSize} != 4`);
        out.valueSize = 4;
        const arr = btf.type(m.type);
        if (arr.kind !== 'array' || arr.nelems !== 0) return einval(`map '${mapName}': 'values' must be a zero-sized array`);
        const ptr = btf.resolve(arr.type);
        if (ptr.kind !== 'ptr') return einval(`map '${mapName}': 'values' must be an array of pointers`);
        const target = btf.resolve(ptr.type);
        out.hasValues = true;
        out.valuesBitOffset = m.bitOffset;
        if (progArray) {
          if (target.kind !== 'func_proto') return einval(`map '${mapName}': prog-array 'values' must point to a function prototype`);
          break;
        }
        if (target.kind !== 'struct') return einval(`map '${mapName}': map-in-map inner type must be a struct`);
        out.inner = parseBtfMapDef(btf, `${mapName}.inner`, target, true);
        break;
      }
      default:
        return einval(`map '${mapName}': unknown field '${f}'`);
    }
  }
  if (isMapInMap(out.type) && !out.inner) return einval(`map '${mapName}': map-in-map needs an inner map definition ('values')`);
  return out;
}

const specOf = (name: string, d: BtfMapDef, section: string): MapSpec => ({
  name, type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.flags,
  pinning: d.pinning, section, readonlyForProgs: false, frozen: false,
  ...(d.inner ? { inner: specOf(`${name}.inner`, d.inner, section) } : {}),
  ...(d.keyType !== undefined ? { btfKeyType: d.keyType } : {}),
  ...(d.valueType !== undefined ? { btfValueType: d.valueType } : {}),
  ...(d.mapExtra ? { mapExtra: d.mapExtra } : {}),
});

export interface CollectedMaps {
  maps: MapSpec[];
  locations: MapLocation[];
  /** Global-data section index -> map index. */
  dataMaps: Map<number, number>;
}

/**
 * All maps of the object in libbpf's order: legacy `maps`, BTF `.maps` (DATASEC order), then global data
 * (section order). `programAt(shndx, byteOffset)` names the program starting there (for prog-array slots).
 */
export function collectMaps(elf: Elf, btf: Btf | undefined, objName: string, programAt: (shndx: number, off: number) => string | undefined): CollectedMaps {
  const maps: MapSpec[] = [];
  const locations: MapLocation[] = [];
  const dataMaps = new Map<number, number>();

  // Legacy `maps`: every named data symbol of the section is one struct bpf_map_def.
  const legacy = elf.section('maps');
  if (legacy && legacy.type === SHT_PROGBITS) {
    const syms = elf.symbols.filter((s) => s.shndx === legacy.index && s.type !== STT_SECTION && s.name !== '').sort((a, b) => a.value - b.value);
    if (syms.length > 0) {
      if (legacy.size === 0 || legacy.size % syms.length !== 0) {
        einval(`section 'maps': cannot determine map definition size (${legacy.size} bytes for ${syms.length} maps)`);
      }
      const defSize = legacy.size / syms.length;
      if (defSize < 4) einval(`section 'maps': map definition size ${defSize} is too small`);
      const dv = new DataView(legacy.data.buffer, legacy.data.byteOffset, legacy.data.byteLength);
      for (const s of syms) {
        if (s.value + defSize > legacy.size) einval(`section 'maps': map '${s.name}' at byte ${s.value} runs past the end of the section`);
        const field = (i: number): number => (i * 4 + 4 <= defSize ? dv.getUint32(s.value + i * 4, true) : 0);
        for (let b = 20; b < defSize; b++) {
          if (legacy.data[s.value + b] !== 0) einval(`section 'maps': map '${s.name}' has unrecognised non-zero byte ${b} in its definition (byte ${s.value + b})`);
        }
        maps.push({
          name: s.name, type: field(0), keySize: field(1), valueSize: field(2), maxEntries: field(3), flags: field(4),
          pinning: 0, section: 'maps', readonlyForProgs: false, frozen: false,
        });
        locations.push({ shndx: legacy.index, offset: s.value, size: defSize });
      }
    }
  }

  // BTF-defined maps in `.maps`.
  const mapsSec = elf.section('.maps');
  const btfMapIdx = new Map<string, number>();
  if (mapsSec) {
    if (!btf) einval("section '.maps' needs BTF, but the object has no .BTF section");
    const ds = btf!.datasec('.maps');
    if (!ds) einval("BTF has no DATASEC for section '.maps'");
    const valuesOffset = new Map<number, number>();
    for (const vi of ds!.vars) {
      const v = btf!.type(vi.type);
      if (v.kind !== 'var') einval(`.maps DATASEC entry ${vi.type} is ${v.kind}, not a variable`);
      const name = v.name;
      const sym = elf.symbols.find((s) => s.shndx === mapsSec.index && s.name === name && s.type !== STT_SECTION);
      if (!sym) einval(`map '${name}': no ELF symbol in section '.maps'`);
      const def = btf!.resolve((v as { type: number }).type);
      // The DATASEC size covers the initialised `values` elements, which the struct's own size does not.
      const size = Math.max(def.kind === 'struct' ? def.size : 0, vi.size);
      if (sym!.value + size > mapsSec.size) einval(`map '${name}': definition at byte ${sym!.value} (${size} bytes) runs past the end of '.maps'`);
      const parsed = parseBtfMapDef(btf!, name, def, false);
      if (parsed.valuesBitOffset !== undefined) valuesOffset.set(maps.length, parsed.valuesBitOffset / 8);
      btfMapIdx.set(name, maps.length);
      maps.push(specOf(name, parsed, '.maps'));
      locations.push({ shndx: mapsSec.index, offset: sym!.value, size });
    }
    // Static initialisers: 8-byte pointers inside a map's `values` array, relocated against programs or maps.
    for (const rs of elf.sections) {
      if (rs.type !== SHT_REL || rs.info !== mapsSec.index) continue;
      for (const [i, rel] of elf.rels(rs).entries()) {
        const where = `relocation ${i} of '${rs.name}' (byte ${rel.offset} of '.maps')`;
        if (rel.type !== R_BPF_64_ABS64) einval(`${where}: unexpected relocation type ${rel.type}`);
        const mi = locations.findIndex((l) => l.shndx === mapsSec.index && l.offset <= rel.offset && rel.offset + 8 <= l.offset + l.size);
        if (mi < 0) einval(`${where}: no map definition contains it`);
        const map = maps[mi];
        const vOff = valuesOffset.get(mi);
        if (vOff === undefined) einval(`${where}: map '${map.name}' has no 'values' member to initialise`);
        const rel0 = rel.offset - locations[mi].offset - vOff!;
        if (rel0 < 0 || rel0 % 8 !== 0) einval(`${where}: not at a slot of map '${map.name}'`);
        const index = rel0 / 8;
        if (index >= map.maxEntries) einval(`${where}: slot ${index} is beyond max_entries ${map.maxEntries} of map '${map.name}'`);
        const sym = elf.symbols[rel.sym];
        const slot: { index: number; prog?: string; map?: string } = { index };
        if (isMapInMap(map.type)) {
          if (sym.shndx !== mapsSec.index || !btfMapIdx.has(sym.name)) einval(`${where}: inner map '${sym.name}' is not a map in '.maps'`);
          if (map.type === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS && map.keySize !== 4) einval(`map '${map.name}': initialised hash of maps needs key size 4`);
          slot.map = sym.name;
        } else {
          const prog = sym.type === STT_FUNC ? programAt(sym.shndx, sym.value) : undefined;
          if (prog === undefined || prog !== sym.name) einval(`${where}: '${sym.name}' is not a program of this object`);
          slot.prog = prog;
        }
        const slots = (map.slots ??= []);
        const dup = slots.findIndex((s) => s.index === index);
        if (dup >= 0) slots[dup] = slot; else slots.push(slot);
      }
    }
    for (const m of maps) m.slots?.sort((a, b) => a.index - b.index);
  }

  // Global data: one single-element array map per non-empty section.
  for (const sec of elf.sections) {
    const kind = dataSectionKind(sec);
    if (!kind || sec.size === 0) continue;
    if (sec.size > 0x7fffffff) einval(`section '${sec.name}' is too large for a global-data map (${sec.size} bytes)`);
    const ro = kind === 'rodata';
    dataMaps.set(sec.index, maps.length);
    maps.push({
      name: internalMapName(objName, sec.name), type: BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: sec.size,
      maxEntries: 1, flags: ro ? BPF_F_RDONLY_PROG : 0, pinning: 0,
      initial: kind === 'bss' ? new Uint8Array(sec.size) : sec.data.slice(),
      section: sec.name, readonlyForProgs: ro, frozen: ro,
    });
    locations.push({ shndx: sec.index, offset: 0, size: sec.size });
  }
  return { maps, locations, dataMaps };
}

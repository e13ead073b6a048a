// BTF (BPF Type Format) parser: the `.BTF` section's header, type section (every kind the kernel knows,
// include/uapi/linux/btf.h) and string section, plus the lookups a loader needs: skip modifiers and
// typedefs, size of a type, members of a struct, a DATASEC by name. Every read is bounds-checked and every
// type-graph walk has a depth limit, so corrupt BTF gives a BpfError naming the byte offset, never a hang.

import { BpfError } from '../errors.js';
import { cstring } from './elf.js';

export const BTF_MAGIC = 0xeb9f;

/** enum btf_kind */
export const BTF_KIND = {
  UNKN: 0, INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

/** How deep a chain of modifiers/typedefs/arrays may go (the kernel's MAX_RESOLVE_DEPTH). */
export const MAX_RESOLVE_DEPTH = 32;

export interface BtfMember { readonly name: string; readonly type: number; readonly bitOffset: number; readonly bitfieldSize: number }
export interface BtfParam { readonly name: string; readonly type: number }
export interface BtfVarSecinfo { readonly type: number; readonly offset: number; readonly size: number }
export interface BtfEnumValue { readonly name: string; readonly value: number }
export interface BtfEnum64Value { readonly name: string; readonly value: bigint }

interface Base { readonly id: number; readonly name: string }
export type BtfType =
  | (Base & { readonly kind: 'void' })
  | (Base & { readonly kind: 'int'; readonly size: number; readonly encoding: number; readonly bitOffset: number; readonly bits: number })
  | (Base & { readonly kind: 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag'; readonly type: number })
  | (Base & { readonly kind: 'array'; readonly type: number; readonly indexType: number; readonly nelems: number })
  | (Base & { readonly kind: 'struct' | 'union'; readonly size: number; readonly members: readonly BtfMember[] })
  | (Base & { readonly kind: 'enum'; readonly size: number; readonly signed: boolean; readonly values: readonly BtfEnumValue[] })
  | (Base & { readonly kind: 'enum64'; readonly size: number; readonly signed: boolean; readonly values: readonly BtfEnum64Value[] })
  | (Base & { readonly kind: 'fwd'; readonly union: boolean })
  | (Base & { readonly kind: 'func'; readonly type: number; readonly linkage: number })
  | (Base & { readonly kind: 'func_proto'; readonly returnType: number; readonly params: readonly BtfParam[] })
  | (Base & { readonly kind: 'var'; readonly type: number; readonly linkage: number })
  | (Base & { readonly kind: 'datasec'; readonly size: number; readonly vars: readonly BtfVarSecinfo[] })
  | (Base & { readonly kind: 'float'; readonly size: number })
  | (Base & { readonly kind: 'decl_tag'; readonly type: number; readonly componentIdx: number });

export type BtfKindName = BtfType['kind'];

const MODIFIERS = new Set<BtfKindName>(['typedef', 'volatile', 'const', 'restrict', 'type_tag']);

export class Btf {
  /** types[id]; id 0 is void. */
  readonly types: readonly BtfType[];
  private readonly strs: Uint8Array;
  private readonly secName: string;

  constructor(types: BtfType[], strs: Uint8Array, secName: string) {
    this.types = types;
    this.strs = strs;
    this.secName = secName;
  }

  /** A string of the string section by offset (names in .BTF.ext point here too). */
  str(off: number): string {
    return cstring(this.strs, off, `${this.secName} string section`);
  }

  type(id: number): BtfType {
    const t = this.types[id];
    if (!Number.isInteger(id) || t === undefined) throw new BpfError('EINVAL', `${this.secName}: type id ${id} does not exist (${this.types.length - 1} types)`);
    return t;
  }

  /** Skip typedefs and cv/type-tag modifiers; returns the first other type (void stays void). */
  resolve(id: number): BtfType {
    let t = this.type(id);
    for (let depth = 0; MODIFIERS.has(t.kind); depth++) {
      if (depth >= MAX_RESOLVE_DEPTH) throw new BpfError('EINVAL', `${this.secName}: type ${id} is a loop or chain of more than ${MAX_RESOLVE_DEPTH} modifiers`);
      t = this.type((t as { type: number }).type);
    }
    return t;
  }

  /** Byte size of a type, like btf__resolve_size(): arrays multiply, pointers are 8 bytes. */
  sizeOf(id: number): number {
    let mult = 1;
    let t = this.type(id);
    for (let depth = 0; ; depth++) {
      if (depth > MAX_RESOLVE_DEPTH) throw new BpfError('EINVAL', `${this.secName}: size of type ${id} needs more than ${MAX_RESOLVE_DEPTH} steps`);
      switch (t.kind) {
        case 'int': case 'struct': case 'union': case 'enum': case 'enum64': case 'float': case 'datasec': {
          const size = t.size * mult;
          if (size > 0xffffffff) throw new BpfError('E2BIG', `${this.secName}: type ${id} is larger than 4 GiB`);
          return size;
        }
        case 'ptr':
          return 8 * mult;
        case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag': case 'var':
          t = this.type(t.type);
          continue;
        case 'array':
          mult *= t.nelems;
          if (mult > 0xffffffff) throw new BpfError('E2BIG', `${this.secName}: array type ${id} is larger than 4 GiB`);
          t = this.type(t.type);
          continue;
        default:
          throw new BpfError('EINVAL', `${this.secName}: type ${id} (${t.kind}${t.name ? ` '${t.name}'` : ''}) has no size`);
      }
    }
  }

  /** Members of a struct or union (after skipping modifiers). */
  members(id: number): readonly BtfMember[] {
    const t = this.resolve(id);
    if (t.kind !== 'struct' && t.kind !== 'union') throw new BpfError('EINVAL', `${this.secName}: type ${id} is ${t.kind}, not a struct or union`);
    return t.members;
  }

  /** First type of a kind with a name. */
  find(name: string, kind?: BtfKindName): BtfType | undefined {
    for (const t of this.types) if (t.name === name && (kind === undefined || t.kind === kind)) return t;
    return undefined;
  }

  /** The DATASEC describing an ELF section, e.g. '.maps' or '.rodata'. */
  datasec(name: string): Extract<BtfType, { kind: 'datasec' }> | undefined {
    const t = this.find(name, 'datasec');
    return t as Extract<BtfType, { kind: 'datasec' }> | undefined;
  }

  /** A short C-like name for messages: 'struct flow_key', 'u32', 'int *'. */
  describe(id: number): string {
    const t = this.type(id);
    switch (t.kind) {
      case 'void': return 'void';
      case 'struct': case 'union': case 'enum': case 'enum64': case 'fwd': return `${t.kind === 'enum64' ? 'enum' : t.kind === 'fwd' ? (t.union ? 'union' : 'struct') : t.kind} ${t.name || '(anon)'}`;
      case 'ptr': return 'pointer';
      case 'array': return `array[${t.nelems}]`;
      default: return t.name || t.kind;
    }
  }
}

const HDR_MIN = 24;

/** Parse a `.BTF` section's bytes (`secName` is only for messages). */
export function parseBtf(data: Uint8Array, secName = '.BTF'): Btf {
  const bad = (off: number, msg: string): never => {
    throw new BpfError('EINVAL', `corrupt BTF in ${secName} at byte ${off}: ${msg}`);
  };
  if (data.length < HDR_MIN) bad(0, `section is ${data.length} bytes, shorter than the ${HDR_MIN}-byte header`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic === 0x9feb) throw new BpfError('ENOEXEC', `${secName} is big-endian BTF; only little-endian is supported`);
  if (magic !== BTF_MAGIC) bad(0, `bad magic 0x${magic.toString(16)}`);
  if (data[2] !== 1) bad(2, `unsupported version ${data[2]}`);
  if (data[3] !== 0) bad(3, `unsupported flags 0x${data[3].toString(16)}`);
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < HDR_MIN || hdrLen > data.length) bad(4, `header length ${hdrLen} out of range`);
  // A longer header (a future version) must be zero past the fields we know, as the kernel demands.
  for (let i = HDR_MIN; i < hdrLen; i++) if (data[i] !== 0) bad(i, 'unknown non-zero header field');
  const typeOff = dv.getUint32(8, true), typeLen = dv.getUint32(12, true);
  const strOff = dv.getUint32(16, true), strLen = dv.getUint32(20, true);
  const body = data.length - hdrLen;
  if (typeOff % 4 !== 0) bad(8, `type section offset ${typeOff} is not 4-byte aligned`);
  if (typeOff + typeLen > body) bad(8, `type section (${typeOff}+${typeLen}) runs past the end (${body} bytes after the header)`);
  if (strOff + strLen > body) bad(16, `string section (${strOff}+${strLen}) runs past the end (${body} bytes after the header)`);
  if (typeOff < strOff + strLen && strOff < typeOff + typeLen) bad(8, 'type and string sections overlap');
  const strs = data.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
  if (strLen === 0 || strs[0] !== 0) bad(hdrLen + strOff, 'string section must start with an empty string');
  if (strs[strLen - 1] !== 0) bad(hdrLen + strOff + strLen - 1, 'string section is not NUL-terminated');

  const name = (off: number, at: number): string => {
    if (off >= strLen) bad(at, `name offset ${off} outside the ${strLen}-byte string section`);
    return cstring(strs, off, `${secName} string section`);
  };

  const types: BtfType[] = [{ id: 0, name: '', kind: 'void' }];
  let p = hdrLen + typeOff;
  const end = p + typeLen;
  const need = (at: number, n: number, what: string): void => {
    if (at + n > end) bad(at, `${what} runs past the end of the type section`);
  };
  while (p < end) {
    const id = types.length;
    const at = p;
    need(p, 12, `type ${id}`);
    const nameOff = dv.getUint32(p, true);
    const info = dv.getUint32(p + 4, true);
    const sizeOrType = dv.getUint32(p + 8, true);
    p += 12;
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kflag = (info >>> 31) === 1;
    const nm = name(nameOff, at);
    const base = { id, name: nm };
    let t: BtfType;
    switch (kind) {
      case BTF_KIND.INT: {
        need(p, 4, `int type ${id}`);
        const v = dv.getUint32(p, true);
        p += 4;
        t = { ...base, kind: 'int', size: sizeOrType, encoding: (v >>> 24) & 0xf, bitOffset: (v >>> 16) & 0xff, bits: v & 0xff };
        break;
      }
      case BTF_KIND.PTR: t = { ...base, kind: 'ptr', type: sizeOrType }; break;
      case BTF_KIND.TYPEDEF: t = { ...base, kind: 'typedef', type: sizeOrType }; break;
      case BTF_KIND.VOLATILE: t = { ...base, kind: 'volatile', type: sizeOrType }; break;
      case BTF_KIND.CONST: t = { ...base, kind: 'const', type: sizeOrType }; break;
      case BTF_KIND.RESTRICT: t = { ...base, kind: 'restrict', type: sizeOrType }; break;
      case BTF_KIND.TYPE_TAG: t = { ...base, kind: 'type_tag', type: sizeOrType }; break;
      case BTF_KIND.ARRAY: {
        need(p, 12, `array type ${id}`);
        t = { ...base, kind: 'array', type: dv.getUint32(p, true), indexType: dv.getUint32(p + 4, true), nelems: dv.getUint32(p + 8, true) };
        p += 12;
        break;
      }
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        need(p, vlen * 12, `members of type ${id}`);
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0; i < vlen; i++, p += 12) {
          const off = dv.getUint32(p + 8, true);
          members[i] = {
            name: name(dv.getUint32(p, true), p),
            type: dv.getUint32(p + 4, true),
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        t = { ...base, kind: kind === BTF_KIND.STRUCT ? 'struct' : 'union', size: sizeOrType, members };
        break;
      }
      case BTF_KIND.ENUM: {
        need(p, vlen * 8, `values of enum type ${id}`);
        const values: BtfEnumValue[] = new Array(vlen);
        for (let i = 0; i < vlen; i++, p += 8) {
          values[i] = { name: name(dv.getUint32(p, true), p), value: kflag ? dv.getInt32(p + 4, true) : dv.getUint32(p + 4, true) };
        }
        t = { ...base, kind: 'enum', size: sizeOrType, signed: kflag, values };
        break;
      }
      case BTF_KIND.ENUM64: {
        need(p, vlen * 12, `values of enum64 type ${id}`);
        const values: BtfEnum64Value[] = new Array(vlen);
        for (let i = 0; i < vlen; i++, p += 12) {
          const raw = (BigInt(dv.getUint32(p + 8, true)) << 32n) | BigInt(dv.getUint32(p + 4, true));
          values[i] = { name: name(dv.getUint32(p, true), p), value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        t = { ...base, kind: 'enum64', size: sizeOrType, signed: kflag, values };
        break;
      }
      case BTF_KIND.FWD: t = { ...base, kind: 'fwd', union: kflag }; break;
      case BTF_KIND.FUNC: t = { ...base, kind: 'func', type: sizeOrType, linkage: vlen }; break;
      case BTF_KIND.FUNC_PROTO: {
        need(p, vlen * 8, `parameters of type ${id}`);
        const params: BtfParam[] = new Array(vlen);
        for (let i = 0; i < vlen; i++, p += 8) params[i] = { name: name(dv.getUint32(p, true), p), type: dv.getUint32(p + 4, true) };
        t = { ...base, kind: 'func_proto', returnType: sizeOrType, params };
        break;
      }
      case BTF_KIND.VAR: {
        need(p, 4, `var type ${id}`);
        t = { ...base, kind: 'var', type: sizeOrType, linkage: dv.getUint32(p, true) };
        p += 4;
        break;
      }
      case BTF_KIND.DATASEC: {
        need(p, vlen * 12, `variables of datasec type ${id}`);
        const vars: BtfVarSecinfo[] = new Array(vlen);
        for (let i = 0; i < vlen; i++, p += 12) vars[i] = { type: dv.getUint32(p, true), offset: dv.getUint32(p + 4, true), size: dv.getUint32(p + 8, true) };
        t = { ...base, kind: 'datasec', size: sizeOrType, vars };
        break;
      }
      case BTF_KIND.FLOAT: t = { ...base, kind: 'float', size: sizeOrType }; break;
      case BTF_KIND.DECL_TAG: {
        need(p, 4, `decl_tag type ${id}`);
        t = { ...base, kind: 'decl_tag', type: sizeOrType, componentIdx: dv.getInt32(p, true) };
        p += 4;
        break;
      }
      default:
        return bad(at, `type ${id} has unknown kind ${kind}`);
    }
    types.push(t);
  }
  // Every reference must name an existing type, so later walks only meet real ids.
  const count = types.length;
  const check = (t: BtfType, ref: number, what: string): void => {
    if (ref >= count) throw new BpfError('EINVAL', `corrupt BTF in ${secName}: type ${t.id} (${t.kind}) refers to ${what} ${ref}, but there are ${count - 1} types`);
  };
  for (const t of types) {
    switch (t.kind) {
      case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag': case 'func': case 'var': case 'decl_tag':
        check(t, t.type, 'type'); break;
      case 'array': check(t, t.type, 'element type'); check(t, t.indexType, 'index type'); break;
      case 'struct': case 'union': for (const m of t.members) check(t, m.type, 'member type'); break;
      case 'func_proto': check(t, t.returnType, 'return type'); for (const a of t.params) check(t, a.type, 'parameter type'); break;
      case 'datasec': for (const v of t.vars) check(t, v.type, 'variable'); break;
      default: break;
    }
  }
  return new Btf(types, strs, secName);
}

// `tsbpf map dump OBJ --map NAME [--json]`: load an object's maps (and the programs its prog arrays' static
// slots name) and print one map's contents in bpftool's words: `key: .. value: ..` lines, each CPU's value
// of per-CPU maps, program ids and names for prog arrays, map ids and names for map-in-maps.
// Also the shared dump helpers that `tsbpf prog run --map-dump` uses.

import { parseArgs } from 'node:util';
import { BpfObject, type BpfMapHandle } from '../lib/index.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import { toHex } from './input.js';

/** bpftool's short type names: BPF_MAP_TYPE_PERCPU_ARRAY -> percpu_array. */
export const shortMapType = (name: string): string => name.replace(/^BPF_MAP_TYPE_/, '').toLowerCase();
export const shortProgType = (name: string): string => name.replace(/^BPF_PROG_TYPE_/, '').toLowerCase();

const spaced = (b: Uint8Array): string => toHex(b, ' ');

export interface DumpEntry {
  key: string;
  value?: string;
  values?: string[];
  /** Prog arrays: the program's id and name; map-in-maps: the inner map's. */
  id?: number;
  name?: string;
}

const isProgArray = (m: BpfMapHandle): boolean => m.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY;
const isMapInMap = (m: BpfMapHandle): boolean =>
  m.type === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS || m.type === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS;

/** Name of the object's program or map with this id (fd maps hold ids). */
function nameOfId(obj: BpfObject, m: BpfMapHandle, id: number): string | undefined {
  // A program of another object loaded into the same runtime (prog run --tail OTHER.o:NAME) has only its
  // kernel-style name (at most 15 characters).
  if (isProgArray(m)) return obj.programs().find((p) => p.loaded && p.id === id)?.name ?? obj.runtime?.programs().find((p) => p.id === id)?.name;
  return obj.maps().find((x) => x.fd >= 0 && x.id === id)?.name;
}

/** The map's elements in get_next_key order (queue/stack: the element a peek returns, if any). */
export function dumpEntries(obj: BpfObject, m: BpfMapHandle): DumpEntry[] {
  const out: DumpEntry[] = [];
  if (m.keySize === 0) {
    const v = m.valueSize > 0 ? m.get(null) : undefined;
    if (v !== undefined) out.push({ key: '', value: toHex(v) });
    return out;
  }
  for (const [k, v] of m.entries()) {
    const e: DumpEntry = { key: toHex(k) };
    if (m.percpu) e.values = m.getPerCpu(k)!.map((x) => toHex(x));
    else e.value = toHex(v);
    if (isProgArray(m) || isMapInMap(m)) {
      const id = new DataView(v.buffer, v.byteOffset).getUint32(0, true);
      e.id = id;
      const n = nameOfId(obj, m, id);
      if (n !== undefined) e.name = n;
    }
    out.push(e);
  }
  return out;
}

/** bpftool-like text: one `key: .. value: ..` line per element (per-CPU maps: one line per CPU). */
export function dumpText(obj: BpfObject, m: BpfMapHandle): string {
  const lines: string[] = [];
  const hexToSpaced = (h: string): string => spaced(Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16)));
  const entries = dumpEntries(obj, m);
  for (const e of entries) {
    if (e.values !== undefined) {
      lines.push(`key:\n${hexToSpaced(e.key)}`);
      e.values.forEach((v, cpu) => lines.push(`value (CPU ${String(cpu).padStart(2, '0')}): ${hexToSpaced(v)}`));
      continue;
    }
    let line = `key: ${hexToSpaced(e.key)}  value: ${hexToSpaced(e.value ?? '')}`;
    if (e.id !== undefined) line += `  ${isProgArray(m) ? 'prog' : 'map'}_id ${e.id}${e.name !== undefined ? `  name ${e.name}` : ''}`;
    lines.push(line);
  }
  lines.push(`Found ${entries.length} element${entries.length === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}

const USAGE = 'usage: tsbpf map dump OBJ --map NAME [--json]\n';

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'dump') {
    process.stderr.write(verb === undefined ? USAGE : `tsbpf map: unknown verb '${verb}'\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest, allowPositionals: true,
    options: { map: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1 || values.map === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  const obj = BpfObject.open(positionals[0]);
  obj.map(values.map); // ENOENT naming the maps before any load
  obj.load({ programs: [] });
  const m = obj.map(values.map);
  if (values.json) process.stdout.write(JSON.stringify(dumpEntries(obj, m)) + '\n');
  else process.stdout.write(dumpText(obj, m));
  return 0;
}

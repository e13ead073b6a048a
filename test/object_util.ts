// Shared helpers of the object/ tests: where the committed test objects live, and a parser of
// `llvm-objdump -dr` output (bytes per slot, function labels, relocation lines) used as the oracle.
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** test/progs, found from dist/test/ (compiled) or test/ (source). */
export const PROGS_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../test/progs/' : './progs/', import.meta.url));

export const objectNames = (): string[] => readdirSync(PROGS_DIR).filter((f) => f.endsWith('.o')).map((f) => f.slice(0, -2)).sort();
export const readObject = (name: string): Uint8Array => new Uint8Array(readFileSync(`${PROGS_DIR}${name}.o`));
export const readSource = (name: string): string[] => readFileSync(`${PROGS_DIR}${name}.c`, 'utf8').split('\n');

/** First command of the list that runs (`--version` exits 0), or undefined. */
export function findTool(...names: string[]): string | undefined {
  for (const n of names) {
    const r = spawnSync(n, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return n;
  }
  return undefined;
}

export interface DumpSlot { bytes: number[]; reloc?: { type: string; sym: string } }
export interface Dump {
  /** section -> slot -> bytes (8 per slot; an lddw's second slot has its own entry) */
  slots: Map<string, Map<number, DumpSlot>>;
  /** function name -> section and first slot */
  funcs: Map<string, { section: string; slot: number }>;
}

/** Parse `llvm-objdump -dr` of an object. */
export function objdump(tool: string, path: string): Dump {
  const r = spawnSync(tool, ['-dr', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr}`);
  const slots = new Map<string, Map<number, DumpSlot>>();
  const funcs = new Map<string, { section: string; slot: number }>();
  let sec = '';
  let last: DumpSlot | undefined;
  for (const line of r.stdout.split('\n')) {
    let m = /^Disassembly of section (.*):$/.exec(line);
    if (m) { sec = m[1]; slots.set(sec, new Map()); continue; }
    m = /^([0-9a-f]{16}) <(.*)>:$/.exec(line);
    if (m) { funcs.set(m[2], { section: sec, slot: parseInt(m[1], 16) / 8 }); continue; }
    m = /^\s+(\d+):\t((?:[0-9a-f]{2} )*[0-9a-f]{2})(?:\s|$)/.exec(line);
    if (m) {
      const idx = Number(m[1]);
      const bytes = m[2].trim().split(' ').map((h) => parseInt(h, 16));
      for (let k = 0; k < bytes.length / 8; k++) {
        const s: DumpSlot = { bytes: bytes.slice(k * 8, k * 8 + 8) };
        slots.get(sec)!.set(idx + k, s);
        if (k === 0) last = s;
      }
      continue;
    }
    m = /^\s+[0-9a-f]+:\s+(R_BPF_\w+)\s+(\S+)/.exec(line);
    if (m && last) last.reloc = { type: m[1], sym: m[2] };
  }
  return { slots, funcs };
}

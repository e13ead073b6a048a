// The kernel backend: loads clang-built objects into the running Linux kernel, test-runs their programs
// (BPF_PROG_TEST_RUN) and reads and writes their maps, all through bpftool. Tests use it as the oracle that
// tsbpf must agree with. Everything it pins lives under /sys/fs/bpf/tsbpf-<pid>-<n>/ and cleanup() removes
// it (also at process exit, as a safety net), so a run leaves nothing pinned behind.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfError, fail } from '../errors.js';
import { bpftool, runTool } from './bpftool.js';
import { libbpfPinName } from './names.js';
import { PROBE_PROG_NAME, probeObject } from './probe_object.js';

export const BPFFS = '/sys/fs/bpf';

export type KernelStatus = { ok: true } | { ok: false; why: string };

export interface LoadObjectOptions {
  /** Directory to pin into (must not exist yet); a fresh /sys/fs/bpf/tsbpf-<pid>-<n> by default. */
  pinDir?: string;
  /** Program type for every program (bpftool `type`), when the section names do not say it. */
  type?: string;
}

/** An object loaded into the kernel: its programs and maps pinned on bpffs. */
export interface KernelObject {
  path: string;
  pinDir: string;
  /** program name -> pin path */
  progs: Map<string, string>;
  /** pin file name (libbpf map name, '.' -> '_') -> pin path */
  maps: Map<string, string>;
  /** Pin path of program `name` (ENOENT if the kernel did not load it). */
  prog(name: string): string;
  /** Pin path of map `name`: the object's own name ('.rodata', 'flow_table') or the pin file name. */
  map(name: string): string;
}

export interface ProgRunOptions {
  dataIn?: Uint8Array;
  ctxIn?: Uint8Array;
  repeat?: number;
  /** CPU to run on (taskset -c): the kernel test-runs on the current CPU. Default 0; null = anywhere. */
  cpu?: number | null;
  /** data_out buffer size; bpftool's default is 32 KiB. */
  dataSizeOut?: number;
}

export interface KernelRunResult {
  retval: number;
  dataOut: Uint8Array;
  /** ctx_out when ctx_in was given */
  ctxOut: Uint8Array | null;
  /** average ns per run, as the kernel reports it */
  durationNs: number;
}

export interface KernelMapEntry {
  key: Uint8Array;
  /** non-per-CPU maps */
  value?: Uint8Array;
  /** per-CPU maps: one value per possible CPU, in CPU order */
  values?: Uint8Array[];
}

export interface KernelMapInfo {
  id: number;
  type: string;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** Pin directories this process created (removed by cleanup()). */
const ownedPins = new Set<string>();
let pinCounter = 0;
let scratch: string | undefined;
let exitHook = false;

function scratchDir(): string {
  if (scratch === undefined || !existsSync(scratch)) scratch = mkdtempSync(join(tmpdir(), 'tsbpf-kernel-'));
  return scratch;
}

function track(dir: string): void {
  ownedPins.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => cleanup());
  }
}

/** A fresh, unused pin directory path under /sys/fs/bpf (not created). */
export function newPinDir(): string {
  for (;;) {
    const d = `${BPFFS}/tsbpf-${process.pid}-${pinCounter++}`;
    if (!existsSync(d)) return d;
  }
}

/** Remove everything this process pinned, and its scratch files. Safe to call any number of times. */
export function cleanup(): void {
  for (const d of ownedPins) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // keep going: the other directories still have to go
    }
    if (!existsSync(d)) ownedPins.delete(d);
  }
  if (scratch !== undefined) {
    rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  }
}

/** Remove one loaded object's pins (the kernel frees its programs and maps once nothing else holds them). */
export function unloadObject(obj: KernelObject): void {
  rmSync(obj.pinDir, { recursive: true, force: true });
  if (!existsSync(obj.pinDir)) ownedPins.delete(obj.pinDir);
}

/** Pin directories created and not yet removed (for tests that check cleanup). */
export function pinnedDirs(): string[] {
  return [...ownedPins].filter((d) => existsSync(d));
}

function bpffsMounted(): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => {
      const f = l.split(' ');
      return f[1] === BPFFS && f[2] === 'bpf';
    });
  } catch {
    return false;
  }
}

let status: KernelStatus | undefined;

/**
 * Whether the kernel can be the oracle here: root, bpftool runs, bpffs is mounted at /sys/fs/bpf (mounted
 * now if it is not and we may), and a trivial XDP program loads and test-runs with XDP_PASS. Cached; pass
 * refresh to ask again.
 */
export function kernelAvailable(opts: { refresh?: boolean } = {}): KernelStatus {
  if (status !== undefined && !opts.refresh) return status;
  status = probe();
  return status;
}

function probe(): KernelStatus {
  if (process.platform !== 'linux') return { ok: false, why: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root (bpf() needs CAP_BPF/CAP_SYS_ADMIN)' };
  const v = runTool(['version']);
  if (v.error !== undefined || v.status !== 0) return { ok: false, why: `bpftool does not run (${v.error?.message ?? v.stderr.trim()})` };
  const t = runTool(['version'], { cpu: 0 });
  if (t.error !== undefined || t.status !== 0) return { ok: false, why: `taskset -c 0 bpftool does not run (${t.error?.message ?? t.stderr.trim()})` };
  if (!bpffsMounted()) {
    const m = runToolMount();
    if (m !== '') return { ok: false, why: `bpffs is not mounted at ${BPFFS} and mounting it failed: ${m}` };
  }
  const obj = join(scratchDir(), 'probe.o');
  writeFileSync(obj, probeObject());
  let o: KernelObject | undefined;
  try {
    o = loadObject(obj, { type: 'xdp' });
    const r = progRun(o.prog(PROBE_PROG_NAME), { dataIn: new Uint8Array(64), repeat: 1 });
    if (r.retval !== 2) return { ok: false, why: `the probe XDP program returned ${r.retval}, not XDP_PASS (2)` };
    if (r.dataOut.length !== 64) return { ok: false, why: `the probe XDP program's data_out has ${r.dataOut.length} bytes, not 64` };
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `a trivial XDP program does not load or run: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    // only the probe's own pins: objects the caller loaded before stay
    if (o !== undefined) unloadObject(o);
    rmSync(obj, { force: true });
  }
}

function runToolMount(): string {
  try {
    mkdirSync(BPFFS, { recursive: true });
  } catch (e) {
    return (e as Error).message;
  }
  const m = spawnSync('mount', ['-t', 'bpf', 'bpf', BPFFS], { encoding: 'utf8' });
  if (m.error !== undefined) return m.error.message;
  return m.status === 0 && bpffsMounted() ? '' : (m.stderr.trim() || `mount exited with ${m.status}`);
}

/**
 * `bpftool prog loadall OBJ DIR/progs [type T] pinmaps DIR/maps`: every program of the object, pinned by
 * name, and every map, pinned by libbpf's name. On failure nothing stays pinned.
 */
export function loadObject(path: string, opts: LoadObjectOptions = {}): KernelObject {
  if (!existsSync(path)) fail('ENOENT', `loadObject: no object file at ${path}`);
  const pinDir = opts.pinDir ?? newPinDir();
  if (existsSync(pinDir)) fail('EEXIST', `loadObject: pin directory ${pinDir} already exists`);
  track(pinDir);
  const progDir = `${pinDir}/progs`;
  const mapDir = `${pinDir}/maps`;
  try {
    mkdirSync(pinDir, { recursive: true });
    const args = ['prog', 'loadall', path, progDir];
    if (opts.type !== undefined) args.push('type', opts.type);
    args.push('pinmaps', mapDir);
    bpftool(args);
  } catch (e) {
    rmSync(pinDir, { recursive: true, force: true });
    ownedPins.delete(pinDir);
    throw e;
  }
  const list = (d: string): Map<string, string> => new Map(existsSync(d) ? readdirSync(d).sort().map((n) => [n, `${d}/${n}`]) : []);
  const progs = list(progDir);
  const maps = list(mapDir);
  return {
    path, pinDir, progs, maps,
    prog(name: string): string {
      const p = progs.get(name);
      if (p === undefined) fail('ENOENT', `kernel object ${path} has no program '${name}' pinned (pinned: ${[...progs.keys()].join(', ') || 'none'})`);
      return p;
    },
    map(name: string): string {
      const p = maps.get(name) ?? maps.get(libbpfPinName(name, path));
      if (p === undefined) fail('ENOENT', `kernel object ${path} has no map '${name}' pinned (pinned: ${[...maps.keys()].join(', ') || 'none'})`);
      return p;
    },
  };
}

let runCounter = 0;

/**
 * BPF_PROG_TEST_RUN through `bpftool prog run pinned P data_in F data_out G [ctx_in C ctx_out D] repeat N`,
 * pinned to one CPU (CPU 0 by default). A kernel refusal (e.g. EINVAL for a frame shorter than Ethernet's
 * header) raises a BpfError with the kernel's errno.
 */
export function progRun(pinnedProg: string, opts: ProgRunOptions = {}): KernelRunResult {
  const dir = scratchDir();
  const n = runCounter++;
  const fIn = join(dir, `data_in.${n}`);
  const fOut = join(dir, `data_out.${n}`);
  const cIn = join(dir, `ctx_in.${n}`);
  const cOut = join(dir, `ctx_out.${n}`);
  writeFileSync(fIn, opts.dataIn ?? new Uint8Array(0));
  const args = ['prog', 'run', 'pinned', pinnedProg, 'data_in', fIn, 'data_out', fOut];
  if (opts.dataSizeOut !== undefined) args.push('data_size_out', String(opts.dataSizeOut));
  if (opts.ctxIn !== undefined) {
    writeFileSync(cIn, opts.ctxIn);
    args.push('ctx_in', cIn, 'ctx_out', cOut);
  }
  args.push('repeat', String(opts.repeat ?? 1));
  try {
    const cpu = opts.cpu === undefined ? 0 : opts.cpu === null ? undefined : opts.cpu;
    const r = bpftool(args, { json: true, cpu }) as { retval?: unknown; duration?: unknown };
    if (typeof r !== 'object' || r === null || typeof r.retval !== 'number') {
      throw new BpfError('EPROTO', `bpftool prog run: unexpected output ${JSON.stringify(r)}`);
    }
    const read = (f: string): Uint8Array => (existsSync(f) ? new Uint8Array(readFileSync(f)) : new Uint8Array(0));
    return {
      retval: r.retval >>> 0,
      durationNs: typeof r.duration === 'number' ? r.duration : 0,
      dataOut: read(fOut),
      ctxOut: opts.ctxIn !== undefined ? read(cOut) : null,
    };
  } finally {
    for (const f of [fIn, fOut, cIn, cOut]) rmSync(f, { force: true });
  }
}

const hexBytes = (a: unknown, what: string): Uint8Array => {
  if (!Array.isArray(a)) throw new BpfError('EPROTO', `bpftool map dump: ${what} is not a byte list`);
  return Uint8Array.from(a.map((x) => parseInt(String(x), 16)));
};

/** Every entry of a pinned map (`bpftool -j map dump pinned M`), in the kernel's iteration order. */
export function mapDump(pinnedMap: string): KernelMapEntry[] {
  const raw = bpftool(['map', 'dump', 'pinned', pinnedMap], { json: true });
  if (!Array.isArray(raw)) throw new BpfError('EPROTO', `bpftool map dump pinned ${pinnedMap}: not a list`);
  return raw.map((e: { key?: unknown; value?: unknown; values?: unknown }) => {
    const key = hexBytes(e.key, 'key');
    if (Array.isArray(e.values)) {
      const vs = (e.values as Array<{ cpu: number; value: unknown }>).slice().sort((a, b) => a.cpu - b.cpu);
      return { key, values: vs.map((v) => hexBytes(v.value, 'per-CPU value')) };
    }
    return { key, value: hexBytes(e.value, 'value') };
  });
}

const hexArgs = (b: Uint8Array): string[] => ['hex', ...[...b].map((x) => x.toString(16).padStart(2, '0'))];

export type UpdateFlag = 'any' | 'exist' | 'noexist';

/**
 * Store `value` under `key` in a pinned map. Per-CPU maps take one value_size value, which bpftool copies to
 * every CPU.
 */
export function mapUpdate(pinnedMap: string, key: Uint8Array, value: Uint8Array, flag: UpdateFlag = 'any'): void {
  bpftool(['map', 'update', 'pinned', pinnedMap, 'key', ...hexArgs(key), 'value', ...hexArgs(value), flag]);
}

/** Delete `key` from a pinned map (ENOENT when it is not there). */
export function mapDelete(pinnedMap: string, key: Uint8Array): void {
  bpftool(['map', 'delete', 'pinned', pinnedMap, 'key', ...hexArgs(key)]);
}

/** Put a pinned program into slot `index` of a pinned prog array (or any fd map of programs). */
export function progArraySet(pinnedMap: string, index: number, pinnedProg: string): void {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, index >>> 0, true);
  bpftool(['map', 'update', 'pinned', pinnedMap, 'key', ...hexArgs(key), 'value', 'pinned', pinnedProg]);
}

/** Empty slot `index` of a prog array. */
export function progArrayClear(pinnedMap: string, index: number): void {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, index >>> 0, true);
  mapDelete(pinnedMap, key);
}

/** `bpftool -j map show pinned M`. */
export function mapInfo(pinnedMap: string): KernelMapInfo {
  const r = bpftool(['map', 'show', 'pinned', pinnedMap], { json: true }) as Record<string, unknown>;
  return {
    id: Number(r.id), type: String(r.type), name: String(r.name ?? ''), keySize: Number(r.bytes_key),
    valueSize: Number(r.bytes_value), maxEntries: Number(r.max_entries), flags: Number(r.flags ?? 0),
  };
}

/** `bpftool -j prog show pinned P`: id, type, name and the ids of the maps it uses. */
export function progInfo(pinnedProg: string): { id: number; type: string; name: string; mapIds: number[] } {
  const r = bpftool(['prog', 'show', 'pinned', pinnedProg], { json: true }) as Record<string, unknown>;
  return { id: Number(r.id), type: String(r.type), name: String(r.name ?? ''), mapIds: Array.isArray(r.map_ids) ? r.map_ids.map(Number) : [] };
}

/** Number of possible CPUs (the number of values per-CPU maps hold). */
export function possibleCpus(): number {
  const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  let n = 0;
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n = Math.max(n, (b ?? a) + 1);
  }
  return n;
}

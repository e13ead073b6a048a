// The libbpf-like API: open a clang-built object, load it into a runtime through the bpf() layer, then find
// programs and maps by name, test-run programs and read and write maps from TypeScript.
//
// load() does what libbpf's bpf_object__load does, in the same order:
// 1. maps, in object order: BTF `pinning: LIBBPF_PIN_BY_NAME` maps are reused from <pinRoot>/<name> when a
//    compatible one is pinned there (EINVAL when it is not compatible) and pinned there after creation
//    otherwise; map-in-map outer maps get a temporary inner template; global data maps (.data, .rodata, .bss,
//    .data.*) get their initial bytes, and .rodata is frozen (and read-only to programs); static map-in-map
//    slots are filled;
// 2. programs: every autoload program (or the ones named in `programs`, plus any program a prog array's
//    static slots name), with the object's map indexes as fd_array;
// 3. static prog-array slots.
// A failure closes everything the load created and rethrows: nothing half-loaded stays behind.

import { readFileSync } from 'node:fs';
import { BpfError, fail } from '../errors.js';
import { parseObject, objectName, type ObjectSpec, type ProgramSpec, type MapSpec } from '../object/index.js';
import { LIBBPF_PIN_BY_NAME } from '../object/maps.js';
import { BPF_MAP_TYPE, BPF_OBJ_NAME_LEN, mapTypeName, progTypeName } from '../uapi/bpf.js';
import { BpfRuntime, type MapInfo, type ProgInfo, type RuntimeOptions, type TestRunResult } from '../syscall/runtime.js';
import type { BpfMap } from '../maps/map.js';
import type { BpfProg } from '../syscall/prog.js';
import { BPFFS_ROOT } from '../syscall/pins.js';
import { ProgChain } from '../chain/api.js';

export interface LoadOptions extends RuntimeOptions {
  /** Load into this runtime (several objects can share one); a new one by default. */
  runtime?: BpfRuntime;
  /** Directory of LIBBPF_PIN_BY_NAME pins (libbpf's pin_root_path); created if missing. */
  pinRoot?: string;
  /** Verifier log level for every program (the log is kept on each program). */
  logLevel?: number;
  /** Load only these programs (plus programs that static prog-array slots name). */
  programs?: string[];
}

export interface TestRunOptions {
  dataIn?: Uint8Array;
  ctxIn?: Uint8Array;
  repeat?: number;
  /** data_out buffer size (ENOSPC when the output is longer); unlimited by default. */
  dataSizeOut?: number;
  ctxSizeOut?: number;
}

export interface RunResult {
  retval: number;
  dataOut: Uint8Array;
  ctxOut: Uint8Array | null;
  /** Average ns per run. */
  durationNs: number;
}

/** A key or value: raw bytes, or a number/bigint written little-endian into the field's size. */
export type Bytes = Uint8Array | number | bigint;

const truncName = (n: string): string => n.slice(0, BPF_OBJ_NAME_LEN - 1);

function toBytes(v: Bytes, size: number, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (size === 0 || size > 8) fail('EINVAL', `${what}: a number can only stand for a field of 1 to 8 bytes, this one is ${size}`);
  let b = BigInt.asUintN(size * 8, BigInt(v));
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) { out[i] = Number(b & 0xffn); b >>= 8n; }
  return out;
}

const isNoent = (e: unknown): boolean => e instanceof BpfError && e.code === 'ENOENT';

/** A program of an object. */
export class BpfProgram {
  readonly spec: ProgramSpec;
  readonly object: BpfObject;
  /** fd in the runtime, or -1 before load / when not loaded. */
  fd = -1;
  /** Whether load() loads it (libbpf: bpf_program__set_autoload). */
  autoload: boolean;
  /** The verifier log of the load (with LoadOptions.logLevel). */
  log = '';
  /**
   * prog_flags of the load (libbpf: bpf_program__set_flags); the section decides by default. Add
   * BPF_F_INJECT_CHAIN_CALLS here for a chain `prev` in a runtime with chainMode 'inject'.
   */
  progFlags: number;

  constructor(object: BpfObject, spec: ProgramSpec) {
    this.object = object;
    this.spec = spec;
    this.autoload = spec.autoload;
    this.progFlags = spec.progFlags;
  }

  get name(): string { return this.spec.name; }
  get section(): string { return this.spec.section; }
  get type(): number { return this.spec.type; }
  get typeName(): string { return progTypeName(this.spec.type); }
  get loaded(): boolean { return this.fd >= 0; }

  private rt(): BpfRuntime {
    if (this.fd < 0) fail('ENOENT', `program '${this.name}' is not loaded`);
    return this.object.runtime!;
  }

  /** The loaded program (runtime object). */
  get prog(): BpfProg {
    return this.rt().progFromFd('program', this.fd);
  }

  info(): ProgInfo {
    return this.rt().objGetInfoByFd({ bpfFd: this.fd }) as ProgInfo;
  }

  get id(): number {
    return this.info().id;
  }

  /** BPF_PROG_TEST_RUN. */
  testRun(opts: TestRunOptions = {}): RunResult {
    const r: TestRunResult = this.rt().progTestRun({
      progFd: this.fd, dataIn: opts.dataIn, ctxIn: opts.ctxIn, repeat: opts.repeat, dataSizeOut: opts.dataSizeOut,
      ctxSizeOut: opts.ctxSizeOut,
    });
    return { retval: r.retval, dataOut: r.dataOut, ctxOut: r.ctxOut, durationNs: r.duration };
  }

  /**
   * The program's chain (BPF_PROG_CHAIN_*): `prog.chain.set('pass', next)`, `.get('any')` (an id or null),
   * `.delete(2)`, `.clear()`, `.entries()`. Return codes are numbers, 'any' or XDP verdict names.
   */
  get chain(): ProgChain {
    return new ProgChain(this.rt(), this.fd);
  }

  /** Pin the program at `path` (under /sys/fs/bpf). */
  pin(path: string): void {
    this.rt().objPin({ bpfFd: this.fd, pathname: path });
  }
}

/** A map of an object, with typed element access. */
export class BpfMapHandle {
  readonly spec: MapSpec;
  readonly object: BpfObject;
  /** fd in the runtime, or -1 before load. */
  fd = -1;
  /** Reused from a pin instead of created (LIBBPF_PIN_BY_NAME). */
  reused = false;
  /** Where the map is pinned, when it is. */
  pinPath: string | undefined;
  /** Initial contents set before load (bpf_map__set_initial_value), for global data maps. */
  private initial: Uint8Array | undefined;

  constructor(object: BpfObject, spec: MapSpec) {
    this.object = object;
    this.spec = spec;
  }

  get name(): string { return this.spec.name; }
  get type(): number { return this.spec.type; }
  get typeName(): string { return mapTypeName(this.spec.type); }
  get keySize(): number { return this.spec.keySize; }
  get valueSize(): number { return this.spec.valueSize; }
  get maxEntries(): number { return this.spec.maxEntries; }

  private rt(): BpfRuntime {
    if (this.fd < 0) fail('ENOENT', `map '${this.name}' is not created (load the object first)`);
    return this.object.runtime!;
  }

  /**
   * Replace a global data map's initial contents before load (libbpf's bpf_map__set_initial_value): how
   * `const volatile` configuration in .rodata is set. EBUSY after load, EINVAL for a size mismatch or a map
   * that is not global data.
   */
  setInitialValue(bytes: Uint8Array): void {
    if (this.object.loaded || this.fd >= 0) fail('EBUSY', `map '${this.name}': initial value can only be set before load`);
    if (this.spec.initial === undefined) fail('EINVAL', `map '${this.name}' is not a global data map`);
    if (bytes.length !== this.spec.valueSize) fail('EINVAL', `map '${this.name}': initial value is ${bytes.length} bytes, value_size is ${this.spec.valueSize}`);
    this.initial = bytes.slice();
  }

  /** The initial contents load() writes (global data maps). */
  get initialValue(): Uint8Array | undefined {
    return this.initial ?? this.spec.initial;
  }

  /** Ring buffers: hand every committed record to `cb`, oldest first (ring_buffer__consume); returns how many. */
  consume(cb: (record: Uint8Array) => void): number {
    const m = this.map as BpfMap & { consume?: (f: (s: Uint8Array) => number | void) => number };
    if (typeof m.consume !== 'function') fail('EINVAL', `map '${this.name}' is not a ring buffer`);
    return m.consume((s) => { cb(s.slice()); });
  }

  /** The runtime's map object. */
  get map(): BpfMap {
    return this.rt().mapFromFd('map', this.fd);
  }

  /** Per-CPU maps: bytes of all CPUs' values in user layout. */
  get percpu(): boolean {
    return this.map.percpu;
  }

  info(): MapInfo {
    return this.rt().objGetInfoByFd({ bpfFd: this.fd }) as MapInfo;
  }

  get id(): number {
    return this.info().id;
  }

  private key(k: Bytes | null): Uint8Array | null {
    return k === null ? null : toBytes(k, this.map.keySize, `map '${this.name}' key`);
  }

  /** The value under `key` (all CPUs' for per-CPU maps, a program/map id for fd maps), or undefined. */
  get(key: Bytes | null): Uint8Array | undefined {
    try {
      return this.rt().mapLookupElem({ mapFd: this.fd, key: this.key(key) });
    } catch (e) {
      if (isNoent(e)) return undefined;
      throw e;
    }
  }

  /** The value as an unsigned little-endian number (values of 1..8 bytes), or undefined. */
  getNumber(key: Bytes | null): bigint | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    let n = 0n;
    for (let i = Math.min(v.length, 8) - 1; i >= 0; i--) n = (n << 8n) | BigInt(v[i]);
    return n;
  }

  /** Each CPU's value of a per-CPU map (value_size bytes each). */
  getPerCpu(key: Bytes | null): Uint8Array[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const m = this.map;
    if (!m.percpu) return [v];
    const stride = (m.valueSize + 7) & ~7;
    const out: Uint8Array[] = [];
    for (let c = 0; c < m.nCpus; c++) out.push(v.slice(c * stride, c * stride + m.valueSize));
    return out;
  }

  /**
   * Store `value` under `key` (flags BPF_ANY / BPF_NOEXIST / BPF_EXIST). Prog arrays take a BpfProgram or
   * a program fd; map-in-maps a BpfMapHandle or a map fd; per-CPU maps one value for every CPU (a single
   * value_size value is copied to all of them).
   */
  set(key: Bytes | null, value: Bytes | BpfProgram | BpfMapHandle, flags = 0): void {
    let v: Uint8Array;
    if (value instanceof BpfProgram || value instanceof BpfMapHandle) {
      v = toBytes(value.fd, 4, `map '${this.name}' value`);
    } else {
      const m = this.map;
      v = toBytes(value, m.valueSize, `map '${this.name}' value`);
      if (m.percpu && v.length === m.valueSize && m.userValueSize !== m.valueSize) {
        const stride = (m.valueSize + 7) & ~7;
        const all = new Uint8Array(m.userValueSize);
        for (let c = 0; c < m.nCpus; c++) all.set(v, c * stride);
        v = all;
      }
    }
    this.rt().mapUpdateElem({ mapFd: this.fd, key: this.key(key), value: v, flags });
  }

  /** Delete `key`; false when it was not there. */
  delete(key: Bytes | null): boolean {
    try {
      this.rt().mapDeleteElem({ mapFd: this.fd, key: this.key(key) });
      return true;
    } catch (e) {
      if (isNoent(e)) return false;
      throw e;
    }
  }

  /** Every key, in get_next_key order. */
  keys(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let k: Uint8Array | null = null;
    for (;;) {
      try {
        k = this.rt().mapGetNextKey({ mapFd: this.fd, key: k });
      } catch (e) {
        if (isNoent(e)) return out;
        throw e;
      }
      out.push(k);
    }
  }

  /** Every [key, value] pair (keys whose lookup fails, e.g. empty prog-array slots, are skipped). */
  entries(): Array<[Uint8Array, Uint8Array]> {
    const out: Array<[Uint8Array, Uint8Array]> = [];
    for (const k of this.keys()) {
      const v = this.get(k);
      if (v !== undefined) out.push([k, v]);
    }
    return out;
  }

  /** Queue/stack: push (update without key), pop (lookup-and-delete), peek (lookup). */
  push(value: Bytes, flags = 0): void {
    this.rt().mapUpdateElem({ mapFd: this.fd, key: null, value: toBytes(value, this.map.valueSize, `map '${this.name}' value`), flags });
  }

  pop(): Uint8Array | undefined {
    try {
      return this.rt().mapLookupAndDeleteElem({ mapFd: this.fd, key: null });
    } catch (e) {
      if (isNoent(e)) return undefined;
      throw e;
    }
  }

  freeze(): void {
    this.rt().mapFreeze({ mapFd: this.fd });
  }

  pin(path: string): void {
    this.rt().objPin({ bpfFd: this.fd, pathname: path });
    this.pinPath = path;
  }
}

export class BpfObject {
  readonly spec: ObjectSpec;
  runtime: BpfRuntime | undefined;
  private readonly progList: BpfProgram[];
  private readonly mapList: BpfMapHandle[];
  private loadedFlag = false;

  private constructor(spec: ObjectSpec) {
    this.spec = spec;
    this.progList = spec.programs.map((p) => new BpfProgram(this, p));
    this.mapList = spec.maps.map((m) => new BpfMapHandle(this, m));
  }

  /** Open an object from its bytes or a file path (bpf_object__open). Nothing is created yet. */
  static open(src: Uint8Array | string, opts: { name?: string } = {}): BpfObject {
    const bytes = typeof src === 'string' ? new Uint8Array(readFileSync(src)) : src;
    const name = opts.name ?? (typeof src === 'string' ? src : undefined);
    return new BpfObject(parseObject(bytes, name ?? objectName(undefined)));
  }

  get name(): string { return this.spec.name; }
  get license(): string { return this.spec.license; }
  get loaded(): boolean { return this.loadedFlag; }

  programs(): BpfProgram[] { return [...this.progList]; }
  maps(): BpfMapHandle[] { return [...this.mapList]; }

  /** The program called `name` (ENOENT when the object has none). */
  program(name: string): BpfProgram {
    const p = this.progList.find((x) => x.name === name);
    if (p === undefined) fail('ENOENT', `object '${this.name}' has no program '${name}' (it has: ${this.progList.map((x) => x.name).join(', ') || 'none'})`);
    return p;
  }

  /** The map called `name` (ENOENT when the object has none). */
  map(name: string): BpfMapHandle {
    const m = this.mapList.find((x) => x.name === name);
    if (m === undefined) fail('ENOENT', `object '${this.name}' has no map '${name}' (it has: ${this.mapList.map((x) => x.name).join(', ') || 'none'})`);
    return m;
  }

  /** Create the maps and load the programs (bpf_object__load). */
  load(opts: LoadOptions = {}): this {
    if (this.loadedFlag) fail('EINVAL', `object '${this.name}' is already loaded`);
    const rt = opts.runtime ?? new BpfRuntime({ nCpus: opts.nCpus, budget: opts.budget, stats: opts.stats, chainMode: opts.chainMode, engine: opts.engine });
    this.runtime = rt;
    try {
      this.createMaps(rt, opts.pinRoot ?? BPFFS_ROOT);
      this.loadPrograms(rt, opts);
      this.fillProgArrays(rt);
    } catch (e) {
      this.closeFds();
      throw e;
    }
    this.loadedFlag = true;
    return this;
  }

  /** Close every fd the object holds (objects pinned or referenced elsewhere stay). */
  close(): void {
    this.closeFds();
    this.loadedFlag = false;
  }

  private closeFds(): void {
    const rt = this.runtime;
    if (rt === undefined) return;
    for (const p of this.progList) if (p.fd >= 0) { rt.close(p.fd); p.fd = -1; }
    for (const m of this.mapList) if (m.fd >= 0) { rt.close(m.fd); m.fd = -1; }
  }

  private createMaps(rt: BpfRuntime, pinRoot: string): void {
    for (const h of this.mapList) {
      const s = h.spec;
      if (s.pinning === LIBBPF_PIN_BY_NAME) {
        const path = `${pinRoot.replace(/\/+$/, '')}/${s.name}`;
        h.pinPath = path;
        let fd = -1;
        try {
          fd = rt.objGet({ pathname: path });
        } catch (e) {
          if (!isNoent(e)) throw e;
        }
        if (fd >= 0) {
          h.fd = fd;
          const info = rt.objGetInfoByFd({ bpfFd: fd });
          const why = info.kind !== 'map' ? 'it is a program'
            : info.type !== s.type ? `type ${mapTypeName(info.type)} != ${mapTypeName(s.type)}`
            : info.keySize !== s.keySize ? `key_size ${info.keySize} != ${s.keySize}`
            : info.valueSize !== s.valueSize ? `value_size ${info.valueSize} != ${s.valueSize}`
            : info.maxEntries !== s.maxEntries ? `max_entries ${info.maxEntries} != ${s.maxEntries}`
            : info.mapFlags !== s.flags ? `map_flags 0x${info.mapFlags.toString(16)} != 0x${s.flags.toString(16)}` : '';
          if (why !== '') fail('EINVAL', `map '${s.name}': couldn't reuse pinned map at '${path}': ${why}`);
          h.reused = true;
          continue;
        }
      }
      h.fd = this.createMap(rt, s);
      const init = h.initialValue;
      if (init !== undefined) rt.mapUpdateElem({ mapFd: h.fd, key: new Uint8Array(4), value: init });
      if (s.frozen) rt.mapFreeze({ mapFd: h.fd });
      if (h.pinPath !== undefined) {
        rt.mkdir(pinRoot, true);
        rt.objPin({ bpfFd: h.fd, pathname: h.pinPath });
      }
    }
    // Static map-in-map slots (the inner maps all exist now).
    for (const h of this.mapList) {
      if (h.reused || h.spec.slots === undefined) continue;
      if (h.spec.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS && h.spec.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS) continue;
      for (const slot of h.spec.slots) {
        if (slot.map === undefined) continue;
        const inner = this.map(slot.map);
        rt.mapUpdateElem({ mapFd: h.fd, key: toBytes(slot.index, 4, 'slot'), value: toBytes(inner.fd, 4, 'slot') });
      }
    }
  }

  private createMap(rt: BpfRuntime, s: MapSpec): number {
    let innerFd = 0;
    if (s.inner !== undefined) {
      innerFd = this.createMap(rt, { ...s.inner, name: truncName(`${s.name}.inner`) });
    }
    try {
      return rt.mapCreate({
        mapType: s.type, keySize: s.keySize, valueSize: s.valueSize, maxEntries: s.maxEntries, mapFlags: s.flags,
        mapName: truncName(s.name), innerMapFd: innerFd, mapExtra: s.mapExtra ?? 0,
      });
    } finally {
      if (innerFd > 0) rt.close(innerFd);
    }
  }

  private loadPrograms(rt: BpfRuntime, opts: LoadOptions): void {
    let wanted: Set<string> | null = null;
    if (opts.programs !== undefined) {
      wanted = new Set(opts.programs);
      for (const n of opts.programs) this.program(n);
      for (const m of this.spec.maps) for (const s of m.slots ?? []) if (s.prog !== undefined) wanted.add(s.prog);
    }
    const fdArray = this.mapList.map((m) => m.fd);
    for (const p of this.progList) {
      if (wanted !== null ? !wanted.has(p.name) : !p.autoload) continue;
      const attr = {
        progType: p.type, insns: p.spec.insns, license: this.spec.license, progName: truncName(p.name),
        progFlags: p.progFlags, expectedAttachType: p.spec.expectedAttachType ?? 0, fdArray,
        lineInfo: p.spec.lineInfo, functions: p.spec.functions, logLevel: opts.logLevel ?? 0,
        logSize: opts.logLevel ? 1 << 24 : 0, logBuf: undefined as string | undefined,
      };
      try {
        p.fd = rt.progLoad(attr);
      } catch (e) {
        if (e instanceof BpfError) {
          const log = (e as BpfError & { log?: string }).log;
          const err = new BpfError(e.code, `program '${p.name}' (section '${p.section}'): ${e.message.replace(/^[A-Z0-9]+: /, '')}`, e.insn);
          if (log !== undefined) (err as BpfError & { log?: string }).log = log;
          throw err;
        }
        throw e;
      }
      p.log = attr.logBuf ?? '';
    }
  }

  private fillProgArrays(rt: BpfRuntime): void {
    for (const h of this.mapList) {
      if (h.reused || h.spec.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY || h.spec.slots === undefined) continue;
      for (const slot of h.spec.slots) {
        if (slot.prog === undefined) continue;
        const p = this.program(slot.prog);
        if (!p.loaded) continue;
        rt.mapUpdateElem({ mapFd: h.fd, key: toBytes(slot.index, 4, 'slot'), value: toBytes(p.fd, 4, 'slot') });
      }
    }
  }
}

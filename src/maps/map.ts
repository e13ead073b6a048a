// The common shape of every map: attributes, the handle a program holds, the registry that finds a map by
// handle or id, and the two APIs every map type speaks.
//
// - Program side (called by helpers and the engines on every packet): keys and values are addresses in the
//   runtime's AddressSpace, results are numbers (an address, 0 for NULL, or 0 / -errno). These paths allocate
//   nothing, use no BigInt and create no closures; failure reasons are string literals stored in `why`.
// - User side (called by the bpf() layer and the typed library API): keys and values are Uint8Arrays in the
//   layout the kernel copies to and from user memory, failures throw BpfError with the kernel's errno.
//   User calls stage their bytes in a per-map scratch area inside the address space and then run the very
//   same code as programs, so both sides share one implementation of each semantic rule.

import { AddressSpace } from '../vm/memory.js';
import { BpfError, fail } from '../errors.js';
import { ERRNO, type ErrnoName } from '../uapi/errno.js';
import { BPF_F_LOCK, BPF_F_RDONLY, BPF_F_WRONLY, mapTypeName } from '../uapi/bpf.js';

// Negative errnos as program-side results (what a helper returns in r0).
export const E_PERM = -ERRNO.EPERM;
export const E_NOENT = -ERRNO.ENOENT;
export const E_2BIG = -ERRNO.E2BIG;
export const E_BADF = -ERRNO.EBADF;
export const E_AGAIN = -ERRNO.EAGAIN;
export const E_NOMEM = -ERRNO.ENOMEM;
export const E_BUSY = -ERRNO.EBUSY;
export const E_EXIST = -ERRNO.EEXIST;
export const E_NODEV = -ERRNO.ENODEV;
export const E_INVAL = -ERRNO.EINVAL;
export const E_NOSPC = -ERRNO.ENOSPC;
export const E_OVERFLOW = -ERRNO.EOVERFLOW;
export const E_OPNOTSUPP = -ERRNO.EOPNOTSUPP;
/** The kernel-internal ENOTSUPP (524) that bpf() returns for operations a map type does not have. */
export const E_NOTSUPP = -ERRNO.ENOTSUPP;

const ERRNO_NAMES: Record<number, ErrnoName> = {};
for (const [name, no] of Object.entries(ERRNO)) ERRNO_NAMES[no] = name as ErrnoName;

/** errno name for a negative program-side result. */
export function errnoName(negErrno: number): ErrnoName {
  return ERRNO_NAMES[-negErrno] ?? 'EINVAL';
}

/** Largest kmalloc() (KMALLOC_MAX_SIZE on x86-64: 4 MiB); the kernel bounds several map sizes by it. */
export const KMALLOC_MAX_SIZE = 1 << 22;
/** Per-CPU values are bounded by PCPU_MIN_UNIT_SIZE (32 KiB). */
export const PCPU_MIN_UNIT_SIZE = 32768;
/** Kernel NR_CPUS of a default x86-64 config; cpumap max_entries is checked against it. */
export const NR_CPUS = 8192;
/** Most simulated CPUs a registry accepts. */
export const MAX_SIM_CPUS = 1024;

export const round8 = (n: number): number => (n + 7) & ~7;

/**
 * A loaded program as maps see it (prog arrays, devmap/cpumap programs). The program table of the runtime
 * implements it; `mode` lets it refuse mixing programs that cannot tail-call each other (e.g. engines),
 * the way the kernel records `owner.jited`.
 */
export interface ProgRef {
  readonly id: number;
  readonly type: number;
  readonly expectedAttachType?: number;
  readonly mode?: string;
}

/** Attributes of MAP_CREATE, named as in `union bpf_attr`. */
export interface MapAttr {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  name?: string;
  /** Template of the inner maps, for array_of_maps / hash_of_maps (`inner_map_fd` resolved). */
  inner?: BpfMap;
  /** Simulated CPUs for this map; defaults to the registry's. */
  nCpus?: number;
}

export interface BatchOpts {
  /** `elem_flags`: only BPF_F_LOCK is defined, and it needs a bpf_spin_lock in the value (never here). */
  elemFlags?: number;
  /** `flags`: must be 0. */
  flags?: number;
}

/**
 * Result of a lookup batch. The kernel writes `count` and `out_batch` back even when it returns an error
 * (notably ENOENT when the iteration reached the end), so the error is returned, not thrown: the bpf()
 * layer copies the data out and then fails with `error`.
 */
export interface LookupBatchResult {
  count: number;
  /** count * keySize bytes */
  keys: Uint8Array;
  /** count * userValueSize bytes */
  values: Uint8Array;
  /** Cursor to pass as the next `inBatch`; null when nothing was written back (count 0). */
  outBatch: Uint8Array | null;
  error: BpfError | null;
}

export interface WriteBatchResult {
  count: number;
  error: BpfError | null;
}

/** Size of the per-map handle block (see BpfMap.handle). */
export const HANDLE_SIZE = 32;
/** Offsets of the u32 fields in a handle block. */
export const HANDLE_TYPE = 0;
export const HANDLE_KEY_SIZE = 4;
export const HANDLE_VALUE_SIZE = 8;
export const HANDLE_MAX_ENTRIES = 12;
export const HANDLE_FLAGS = 16;
export const HANDLE_ID = 20;
/** For arrays: address of element 0 and bytes per element, so JIT'd code can inline lookups. */
export const HANDLE_VALUES = 24;
export const HANDLE_STRIDE = 28;

/**
 * All maps of one runtime (one AddressSpace). Finds a map by the handle a program holds in a register, or by
 * id; holds the simulated CPU count and the CPU the current run executes on; and holds the resolvers the
 * bpf() layer installs so that fd-carrying values written from user space (prog arrays, map-in-map,
 * devmap/cpumap programs) can be turned into objects.
 */
export class MapRegistry {
  readonly space: AddressSpace;
  /** Number of simulated CPUs (default for new maps). */
  readonly nCpus: number;
  /** CPU the current run executes on; per-CPU maps and bpf_get_smp_processor_id read it. */
  cpu = 0;
  /** fd -> program, installed by the bpf() layer. Throw BpfError (EBADF/EINVAL) for a bad fd. */
  resolveProgFd: ((fd: number) => ProgRef) | null = null;
  /** fd -> map, installed by the bpf() layer. */
  resolveMapFd: ((fd: number) => BpfMap) | null = null;
  /** Is there a network device with this ifindex? Null accepts every non-zero ifindex. */
  resolveIfindex: ((ifindex: number) => boolean) | null = null;

  private readonly handles = new Map<number, BpfMap>();
  private readonly ids = new Map<number, BpfMap>();
  /** Ring buffers by the address of their first page, to find one from a record (submit/discard). */
  readonly ringbufsByBase = new Map<number, BpfMap>();
  private nextId = 1;

  constructor(space: AddressSpace, opts: { nCpus?: number } = {}) {
    this.space = space;
    const n = opts.nCpus ?? 1;
    checkCpuCount(n);
    this.nCpus = n;
  }

  /** Select the CPU subsequent program-side calls run on. */
  setCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nCpus) {
      fail('EINVAL', `cpu ${cpu} out of range: the runtime simulates ${this.nCpus} CPU(s)`);
    }
    this.cpu = cpu;
  }

  /** The map whose handle a program passed (hot path: one Map lookup). */
  byHandle(handle: number): BpfMap | undefined {
    return this.handles.get(handle);
  }

  byId(id: number): BpfMap | undefined {
    return this.ids.get(id);
  }

  /** Every live map, by increasing id (MAP_GET_NEXT_ID order). */
  all(): BpfMap[] {
    return [...this.ids.values()].sort((a, b) => a.id - b.id);
  }

  /** @internal called by the BpfMap constructor */
  register(map: BpfMap): number {
    const id = this.nextId++;
    this.ids.set(id, map);
    return id;
  }

  /** @internal */
  registerHandle(handle: number, map: BpfMap): void {
    this.handles.set(handle, map);
  }

  /** @internal called by BpfMap.destroy() */
  unregister(map: BpfMap): void {
    this.ids.delete(map.id);
    this.handles.delete(map.handle);
  }
}

export function checkCpuCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_SIM_CPUS) {
    fail('EINVAL', `number of simulated CPUs must be an integer in 1..${MAX_SIM_CPUS}, got ${n}`);
  }
}

/**
 * One map. Subclasses implement the type's semantics in the `protected` hooks; the public user-side methods
 * here do what syscall.c does around them (permission checks, flag checks, copying).
 */
export abstract class BpfMap {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  readonly nCpus: number;
  /** One value per CPU? */
  readonly percpu: boolean;
  /** Bytes of one value as user space reads/writes it: valueSize, or round_up(valueSize, 8) * nCpus. */
  readonly userValueSize: number;
  /** Kernel-style map id (1, 2, ...), unique in the registry. */
  readonly id: number;
  /**
   * Address of this map's handle block: what `lddw rX, map_fd` loads into a register, like the kernel's
   * `struct bpf_map *`. It is allocated in the address space but not mapped as a region, so a program
   * cannot dereference it; helpers turn it back into the map with `registry.byHandle()`.
   */
  readonly handle: number;
  readonly registry: MapRegistry;
  readonly space: AddressSpace;
  /** Set by BPF_MAP_FREEZE: user space may no longer write. */
  frozen = false;
  /** Why the last program-side call failed (a string literal; for messages only). */
  why = '';

  /** Scratch areas in the address space for staging user-space keys and values. */
  protected readonly scratchKey: number;
  protected readonly scratchKey2: number;
  protected readonly scratchValue: number;
  private readonly blocks: Array<[number, number]> = [];
  private readonly regions: number[] = [];
  private destroyed = false;

  constructor(registry: MapRegistry, attr: MapAttr, percpu: boolean) {
    this.registry = registry;
    this.space = registry.space;
    this.type = attr.type;
    this.keySize = attr.keySize;
    this.valueSize = attr.valueSize;
    this.maxEntries = attr.maxEntries;
    this.flags = attr.flags ?? 0;
    this.name = attr.name ?? '';
    this.nCpus = attr.nCpus ?? registry.nCpus;
    this.percpu = percpu;
    this.userValueSize = percpu ? round8(this.valueSize) * this.nCpus : this.valueSize;
    this.scratchKey = this.allocBlock(Math.max(8, this.keySize));
    this.scratchKey2 = this.allocBlock(Math.max(8, this.keySize));
    this.scratchValue = this.allocBlock(Math.max(8, round8(this.valueSize) * this.nCpus));
    this.handle = this.allocBlock(HANDLE_SIZE);
    this.id = registry.register(this);
    registry.registerHandle(this.handle, this);
    const dv = this.space.dv;
    dv.setUint32(this.handle + HANDLE_TYPE, this.type, true);
    dv.setUint32(this.handle + HANDLE_KEY_SIZE, this.keySize, true);
    dv.setUint32(this.handle + HANDLE_VALUE_SIZE, this.valueSize, true);
    dv.setUint32(this.handle + HANDLE_MAX_ENTRIES, this.maxEntries, true);
    dv.setUint32(this.handle + HANDLE_FLAGS, this.flags, true);
    dv.setUint32(this.handle + HANDLE_ID, this.id, true);
  }

  get typeName(): string {
    return mapTypeName(this.type);
  }

  // ---------------------------------------------------------------------------------------------------
  // Storage helpers for subclasses.

  /** Allocate zeroed bytes owned by this map (freed by destroy()). */
  protected allocBlock(size: number, align = 8): number {
    const addr = this.space.alloc(size, align);
    this.blocks.push([addr, size]);
    return addr;
  }

  /** Make [start, start+len) reachable by programs, read-only for BPF_F_RDONLY_PROG maps. */
  protected mapValues(start: number, len: number, perm: number): void {
    this.regions.push(this.space.mapRegion(start, len, perm));
  }

  protected setHandleValues(base: number, stride: number): void {
    this.space.dv.setUint32(this.handle + HANDLE_VALUES, base, true);
    this.space.dv.setUint32(this.handle + HANDLE_STRIDE, stride, true);
  }

  /** Release the map's memory, regions and registry entries (last reference gone). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.release();
    for (const r of this.regions) this.space.unmapRegion(r);
    for (const [addr, size] of this.blocks) this.space.free(addr, size);
    this.registry.unregister(this);
  }

  /** Hook: drop references held in slots (prog arrays, map-in-map). */
  protected release(): void {}

  /** Read the u32 at `addr` (unaligned, little-endian) without a DataView call. */
  protected u32At(addr: number): number {
    const u8 = this.space.u8;
    return (u8[addr] | (u8[addr + 1] << 8) | (u8[addr + 2] << 16) | (u8[addr + 3] << 24)) >>> 0;
  }

  // ---------------------------------------------------------------------------------------------------
  // Program-side API (helpers 1, 2, 3, 87, 88, 89, 195). Defaults are for types that lack the operation;
  // the verifier rejects such calls at load, these results only guard unverified programs.

  /** bpf_map_lookup_elem: address of the value (this CPU's for per-CPU maps), or 0. */
  lookup(_keyAddr: number): number {
    this.why = 'lookup not supported by this map type';
    return 0;
  }

  /** bpf_map_update_elem: 0 or -errno. */
  update(_keyAddr: number, _valueAddr: number, _flags: number): number {
    this.why = 'update not supported by this map type';
    return E_NOTSUPP;
  }

  /** bpf_map_delete_elem: 0 or -errno. */
  delete(_keyAddr: number): number {
    this.why = 'delete not supported by this map type';
    return E_NOTSUPP;
  }

  /** bpf_map_push_elem (queue/stack). */
  push(_valueAddr: number, _flags: number): number {
    this.why = 'push not supported by this map type';
    return E_NOTSUPP;
  }

  /** bpf_map_pop_elem (queue/stack): value copied to valueAddr. */
  pop(_valueAddr: number): number {
    this.why = 'pop not supported by this map type';
    return E_NOTSUPP;
  }

  /** bpf_map_peek_elem (queue/stack). */
  peek(_valueAddr: number): number {
    this.why = 'peek not supported by this map type';
    return E_NOTSUPP;
  }

  /** bpf_map_lookup_percpu_elem: the value of `cpu`, or 0 (also 0 for maps that are not per-CPU). */
  lookupPercpu(_keyAddr: number, _cpu: number): number {
    return 0;
  }

  // ---------------------------------------------------------------------------------------------------
  // Hooks for the user-side API. `sysLookup` returns the address of the value in user layout (all CPUs for
  // per-CPU maps, stored contiguously), or 0; `sysUpdate` updates every CPU for per-CPU maps.

  protected sysLookup(_keyAddr: number): number {
    return E_NOTSUPP;
  }

  protected sysUpdate(keyAddr: number, valueAddr: number, flags: number): number {
    return this.update(keyAddr, valueAddr, flags);
  }

  protected sysDelete(keyAddr: number): number {
    return this.delete(keyAddr);
  }

  /** Write the key after `keyAddr` (or the first key when keyAddr is 0) to `nextAddr`: 0 or -errno. */
  protected sysGetNextKey(_keyAddr: number, _nextAddr: number): number {
    return E_NOTSUPP;
  }

  /** Which batch operations this type has (the kernel's bpf_map_ops batch members). */
  protected batchKind(): 'none' | 'array' | 'generic' | 'htab' {
    return 'none';
  }

  // ---------------------------------------------------------------------------------------------------
  // User-side API (BPF_MAP_* commands).

  protected describe(): string {
    return `${this.typeName} map${this.name ? ` '${this.name}'` : ''} (id ${this.id})`;
  }

  /** Throw the BpfError for a negative result of a hook, naming the command and the map. */
  protected raise(cmd: string, negErrno: number, detail?: string): never {
    const reason = detail ?? this.why;
    throw new BpfError(errnoName(negErrno), `${cmd} on ${this.describe()}${reason ? `: ${reason}` : ''}`);
  }

  protected checkRead(cmd: string): void {
    if (this.flags & BPF_F_WRONLY) this.raise(cmd, E_PERM, 'map was created with BPF_F_WRONLY');
  }

  protected checkWrite(cmd: string): void {
    if (this.frozen) this.raise(cmd, E_PERM, 'map is frozen');
    if (this.flags & BPF_F_RDONLY) this.raise(cmd, E_PERM, 'map was created with BPF_F_RDONLY');
  }

  /** attr->flags of lookup/update: only BPF_F_LOCK beyond the update flags, and it needs a spin lock. */
  protected checkLockFlag(cmd: string, flags: number): void {
    if (flags & BPF_F_LOCK) this.raise(cmd, E_INVAL, 'BPF_F_LOCK needs a bpf_spin_lock in the value');
  }

  /** Copy a user key into the scratch key area. Key-less maps (key_size 0) accept null/empty. */
  protected stageKey(cmd: string, key: Uint8Array | null, at = this.scratchKey): number {
    if (this.keySize === 0) return at;
    if (key === null || key.length < this.keySize) {
      this.raise(cmd, E_INVAL, `key is ${key === null ? 'missing' : `${key.length} bytes`}, key_size is ${this.keySize}`);
    }
    this.space.u8.set(key.length === this.keySize ? key : key.subarray(0, this.keySize), at);
    return at;
  }

  protected stageValue(cmd: string, value: Uint8Array): number {
    if (value.length < this.userValueSize) {
      this.raise(cmd, E_INVAL, `value is ${value.length} bytes, expected ${this.userValueSize}`);
    }
    this.space.u8.set(value.subarray(0, this.userValueSize), this.scratchValue);
    return this.scratchValue;
  }

  /** BPF_MAP_LOOKUP_ELEM. Per-CPU maps return every CPU's value, each padded to 8 bytes. */
  lookupElem(key: Uint8Array | null, flags = 0): Uint8Array {
    const cmd = 'BPF_MAP_LOOKUP_ELEM';
    if (flags & ~BPF_F_LOCK) this.raise(cmd, E_INVAL, `unknown flags 0x${flags.toString(16)}`);
    this.checkRead(cmd);
    this.checkLockFlag(cmd, flags);
    const k = this.stageKey(cmd, key);
    this.why = '';
    const addr = this.sysLookup(k);
    if (addr < 0) this.raise(cmd, addr);
    if (addr === 0) this.raise(cmd, E_NOENT, this.why || 'no such key');
    return this.space.read(addr, this.userValueSize);
  }

  /** BPF_MAP_UPDATE_ELEM with BPF_ANY / BPF_NOEXIST / BPF_EXIST. */
  updateElem(key: Uint8Array | null, value: Uint8Array, flags = 0): void {
    const cmd = 'BPF_MAP_UPDATE_ELEM';
    this.checkWrite(cmd);
    this.checkLockFlag(cmd, flags);
    const k = this.stageKey(cmd, key);
    const v = this.stageValue(cmd, value);
    const r = this.sysUpdate(k, v, flags);
    if (r < 0) this.raise(cmd, r);
  }

  /** BPF_MAP_DELETE_ELEM. */
  deleteElem(key: Uint8Array | null): void {
    const cmd = 'BPF_MAP_DELETE_ELEM';
    this.checkWrite(cmd);
    const k = this.stageKey(cmd, key);
    const r = this.sysDelete(k);
    if (r < 0) this.raise(cmd, r);
  }

  /** BPF_MAP_GET_NEXT_KEY: the key after `key`, the first key for null; ENOENT after the last. */
  getNextKey(key: Uint8Array | null): Uint8Array {
    const cmd = 'BPF_MAP_GET_NEXT_KEY';
    this.checkRead(cmd);
    const k = key === null ? 0 : this.stageKey(cmd, key);
    const r = this.sysGetNextKey(k, this.scratchKey2);
    if (r < 0) this.raise(cmd, r, r === E_NOENT ? 'no more keys' : undefined);
    return this.space.read(this.scratchKey2, this.keySize);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash maps; queue/stack pop). */
  lookupAndDeleteElem(key: Uint8Array | null, flags = 0): Uint8Array {
    const cmd = 'BPF_MAP_LOOKUP_AND_DELETE_ELEM';
    this.checkWrite(cmd);
    if (flags & ~BPF_F_LOCK) this.raise(cmd, E_INVAL, `unknown flags 0x${flags.toString(16)}`);
    this.checkLockFlag(cmd, flags);
    const k = this.stageKey(cmd, key);
    const r = this.sysLookupAndDelete(k, this.scratchValue, flags);
    if (r < 0) this.raise(cmd, r);
    return this.space.read(this.scratchValue, this.userValueSize);
  }

  /** Hook: copy the value (user layout) to `outAddr` and delete the element. */
  protected sysLookupAndDelete(_keyAddr: number, _outAddr: number, _flags: number): number {
    this.why = 'only hash, queue and stack maps support lookup-and-delete';
    return E_NOTSUPP;
  }

  /** BPF_MAP_FREEZE: user space can no longer write; programs still can (unless BPF_F_RDONLY_PROG). */
  freeze(): void {
    const cmd = 'BPF_MAP_FREEZE';
    if (this.flags & BPF_F_RDONLY) this.raise(cmd, E_PERM, 'map was created with BPF_F_RDONLY');
    if (this.frozen) this.raise(cmd, E_BUSY, 'map is already frozen');
    this.frozen = true;
  }

  // ---------------------------------------------------------------------------------------------------
  // Batch commands.

  private checkBatch(cmd: string, read: boolean, write: boolean, opts: BatchOpts): void {
    if (this.batchKind() === 'none') this.raise(cmd, E_NOTSUPP, 'map type has no batch operations');
    if (write) this.checkWrite(cmd);
    if (read) this.checkRead(cmd);
    const ef = opts.elemFlags ?? 0;
    if (ef & ~BPF_F_LOCK) this.raise(cmd, E_INVAL, `unknown elem_flags 0x${ef.toString(16)}`);
    this.checkLockFlag(cmd, ef);
  }

  /** BPF_MAP_LOOKUP_BATCH with the kernel's cursor: pass the previous `outBatch` as `inBatch`. */
  lookupBatch(inBatch: Uint8Array | null, count: number, opts: BatchOpts = {}): LookupBatchResult {
    return this.lookupBatchCmd('BPF_MAP_LOOKUP_BATCH', inBatch, count, opts, false);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_BATCH (hash maps). */
  lookupAndDeleteBatch(inBatch: Uint8Array | null, count: number, opts: BatchOpts = {}): LookupBatchResult {
    return this.lookupBatchCmd('BPF_MAP_LOOKUP_AND_DELETE_BATCH', inBatch, count, opts, true);
  }

  private lookupBatchCmd(cmd: string, inBatch: Uint8Array | null, count: number, opts: BatchOpts, del: boolean): LookupBatchResult {
    this.checkBatch(cmd, true, del, opts);
    const kind = this.batchKind();
    if (del && kind !== 'htab') this.raise(cmd, E_NOTSUPP, 'map type has no lookup-and-delete batch');
    const empty: LookupBatchResult = { count: 0, keys: new Uint8Array(0), values: new Uint8Array(0), outBatch: null, error: null };
    if (kind === 'htab') {
      if ((opts.flags ?? 0) !== 0) this.raise(cmd, E_INVAL, 'batch flags must be 0');
      if (count === 0) return empty;
      return this.htabBatch(cmd, inBatch, count, del);
    }
    if (count === 0) return empty;
    // generic_map_lookup_batch: walk get_next_key from the cursor key, copy each value.
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    let prev = inBatch === null ? 0 : this.stageKey(cmd, inBatch, this.scratchKey);
    let cur = this.scratchKey2;
    let err = 0;
    while (keys.length < count) {
      err = this.sysGetNextKey(prev, cur);
      if (err < 0) break;
      const addr = this.sysLookup(cur);
      if (addr > 0) {
        keys.push(this.space.read(cur, this.keySize));
        values.push(this.space.read(addr, this.userValueSize));
      }
      // swap(prev_key, key): the key just visited becomes the cursor.
      const t = prev === 0 ? this.scratchKey : prev;
      prev = cur;
      cur = t;
    }
    return {
      count: keys.length,
      keys: concat(keys, this.keySize),
      values: concat(values, this.userValueSize),
      outBatch: keys.length > 0 ? this.space.read(prev, this.keySize) : null,
      error: err < 0 ? new BpfError(errnoName(err), `${cmd} on ${this.describe()}: ${err === E_NOENT ? 'no more elements' : this.why}`) : null,
    };
  }

  /** Hook for hash maps (bucket cursor); see HashMap. */
  protected htabBatch(_cmd: string, _inBatch: Uint8Array | null, _count: number, _del: boolean): LookupBatchResult {
    return this.raise('batch', E_NOTSUPP);
  }

  /** BPF_MAP_UPDATE_BATCH: `keys` and `values` hold `count` elements back to back; stops at the first error. */
  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, opts: BatchOpts = {}): WriteBatchResult {
    const cmd = 'BPF_MAP_UPDATE_BATCH';
    this.checkBatch(cmd, false, true, opts);
    if (keys.length < count * this.keySize || values.length < count * this.userValueSize) {
      this.raise(cmd, E_INVAL, `buffers hold fewer than ${count} elements`);
    }
    for (let i = 0; i < count; i++) {
      const k = this.stageKey(cmd, keys.subarray(i * this.keySize, (i + 1) * this.keySize));
      const v = this.stageValue(cmd, values.subarray(i * this.userValueSize, (i + 1) * this.userValueSize));
      const r = this.sysUpdate(k, v, opts.elemFlags ?? 0);
      if (r < 0) return { count: i, error: new BpfError(errnoName(r), `${cmd} on ${this.describe()}: element ${i}: ${this.why}`) };
    }
    return { count, error: null };
  }

  /** BPF_MAP_DELETE_BATCH: stops at the first key that fails (e.g. ENOENT). */
  deleteBatch(keys: Uint8Array, count: number, opts: BatchOpts = {}): WriteBatchResult {
    const cmd = 'BPF_MAP_DELETE_BATCH';
    this.checkBatch(cmd, false, true, opts);
    if (this.batchKind() === 'array') this.raise(cmd, E_NOTSUPP, 'arrays have no delete batch');
    if (keys.length < count * this.keySize) this.raise(cmd, E_INVAL, `keys hold fewer than ${count} elements`);
    for (let i = 0; i < count; i++) {
      const k = this.stageKey(cmd, keys.subarray(i * this.keySize, (i + 1) * this.keySize));
      const r = this.sysDelete(k);
      if (r < 0) return { count: i, error: new BpfError(errnoName(r), `${cmd} on ${this.describe()}: element ${i}: ${this.why}`) };
    }
    return { count, error: null };
  }

  /** Every key/value pair in get_next_key order, skipping empty slots (for dumps and tests). */
  entries(): Array<[Uint8Array, Uint8Array]> {
    const out: Array<[Uint8Array, Uint8Array]> = [];
    let key: Uint8Array | null = null;
    for (;;) {
      try {
        key = this.getNextKey(key);
      } catch (e) {
        if (e instanceof BpfError && e.code === 'ENOENT') return out;
        throw e;
      }
      try {
        out.push([key, this.lookupElem(key)]);
      } catch (e) {
        // Slots of fd arrays and devmaps exist as keys but may be empty, like `bpftool map dump` skips them.
        if (!(e instanceof BpfError && e.code === 'ENOENT')) throw e;
      }
    }
  }
}

export function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(parts.length * size);
  for (let i = 0; i < parts.length; i++) out.set(parts[i], i * size);
  return out;
}

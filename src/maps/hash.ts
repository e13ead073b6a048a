// Hash maps (kernel/bpf/hashtab.c): BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and
// HASH_OF_MAPS. Storage is preallocated like the kernel's default: max_entries elements (+1 spare for the
// non-per-CPU types, the kernel's "extra_elems"), keys and values in the address space, the bucket lists,
// free list and LRU lists in typed arrays. Buckets: n_buckets = roundup_pow_of_two(max_entries), bucket =
// jhash(key, key_size, 0) & (n_buckets - 1), new elements go to the head of their bucket - so get_next_key
// order and batch cursors (bucket numbers) are the kernel's own for a zero hash seed.
//
// Replacing an element of a non-per-CPU map links a fresh element at the bucket head and unlinks the old one
// (as the kernel does), so a pointer a program obtained before the update keeps pointing at the old copy.
// Per-CPU maps update in place.
//
// LRU: a true least-recently-used list per map (or one per CPU with BPF_F_NO_COMMON_LRU, each holding
// max_entries / nCpus elements, the kernel's split). Program lookups and updates make an element the most
// recent; user-space lookups do not (the kernel's lookup_elem_sys does not mark either). When full, inserting
// a new key evicts the least recently used element. The kernel's LRU only approximates this: it tracks a
// reference bit and rotates active/inactive lists lazily, keeps per-CPU caches of free nodes (so it can evict
// before the map is full on multi-CPU systems), and may evict an element even when an update replaces an
// existing key. Here an update of an existing key never evicts, and eviction happens exactly when full.

import { BPF_EXIST, BPF_F_LOCK, BPF_F_NO_COMMON_LRU, BPF_MAP_TYPE, BPF_NOEXIST } from '../uapi/bpf.js';
import { BpfError } from '../errors.js';
import {
  BpfMap, E_2BIG, E_EXIST, E_INVAL, E_NOENT, E_NOSPC, E_NOTSUPP, errnoName, type LookupBatchResult, type MapAttr,
  type MapRegistry, concat, round8,
} from './map.js';
import { jhash32 } from './jhash.js';
import { progPerm } from './array.js';
import { checkInner, resolveInnerFd } from './map_in_map.js';

export function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class HashMap extends BpfMap {
  readonly lru: boolean;
  /** hash_of_maps: values hold inner map handles. */
  readonly inner: BpfMap | null;
  readonly nBuckets: number;
  /** Address of element 0's key / value; element i at keys + i * keyStride, values + i * valueStride. */
  readonly keys: number;
  readonly values: number;
  readonly keyStride: number;
  readonly elemSize: number;
  readonly valueStride: number;
  /** Live elements. */
  count = 0;

  private readonly mask: number;
  private readonly buckets: Int32Array;
  private readonly next: Int32Array;
  /** Full hash of each element (jhash32: signed, so that no call boxes it). */
  private readonly hashes: Int32Array;
  private readonly freeStack: Int32Array;
  private freeTop: number;
  /** Spare element used to replace an existing key (non-per-CPU types), -1 otherwise. */
  private extra: number;
  // LRU lists: doubly linked by element index, head = most recently used. One list, or one per CPU.
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private readonly lruHead: Int32Array;
  private readonly lruTail: Int32Array;
  private readonly lruCount: Int32Array;
  private readonly lruList: Uint16Array;
  private readonly lruCap: number;

  constructor(registry: MapRegistry, attr: MapAttr, percpu: boolean, lru: boolean, inner: BpfMap | null) {
    super(registry, attr, percpu);
    this.lru = lru;
    this.inner = inner;
    const n = this.maxEntries;
    const nElems = percpu ? n : n + 1;
    this.nBuckets = roundupPow2(n);
    this.mask = this.nBuckets - 1;
    this.keyStride = round8(this.keySize);
    this.elemSize = round8(this.valueSize);
    this.valueStride = percpu ? this.elemSize * this.nCpus : this.elemSize;
    this.keys = this.allocBlock(this.keyStride * nElems);
    this.values = this.allocBlock(this.valueStride * nElems);
    if (inner === null) this.mapValues(this.values, this.valueStride * nElems, progPerm(this.flags));
    this.buckets = new Int32Array(this.nBuckets).fill(-1);
    this.next = new Int32Array(nElems).fill(-1);
    this.hashes = new Int32Array(nElems);
    this.freeStack = new Int32Array(nElems);
    // Pop order hands out element 0 first.
    this.freeTop = 0;
    for (let i = n - 1; i >= 0; i--) this.freeStack[this.freeTop++] = i;
    this.extra = percpu ? -1 : n;
    const lists = lru && (this.flags & BPF_F_NO_COMMON_LRU) ? this.nCpus : 1;
    this.lruCap = lru ? n / lists : 0;
    this.lruPrev = new Int32Array(lru ? nElems : 0);
    this.lruNext = new Int32Array(lru ? nElems : 0);
    this.lruList = new Uint16Array(lru ? nElems : 0);
    this.lruHead = new Int32Array(lists).fill(-1);
    this.lruTail = new Int32Array(lists).fill(-1);
    this.lruCount = new Int32Array(lists);
  }

  // --- element plumbing --------------------------------------------------------------------------

  private hashKey(keyAddr: number): number {
    return jhash32(this.space.u8, keyAddr, this.keySize, 0);
  }

  private find(keyAddr: number, h: number): number {
    const u8 = this.space.u8;
    const ks = this.keySize;
    let i = this.buckets[h & this.mask];
    while (i >= 0) {
      if (this.hashes[i] === h) {
        const ka = this.keys + i * this.keyStride;
        let j = 0;
        while (j < ks && u8[ka + j] === u8[keyAddr + j]) j++;
        if (j === ks) return i;
      }
      i = this.next[i];
    }
    return -1;
  }

  private linkHead(i: number, h: number): void {
    const b = h & this.mask;
    this.hashes[i] = h;
    this.next[i] = this.buckets[b];
    this.buckets[b] = i;
  }

  private unlink(i: number): void {
    const b = this.hashes[i] & this.mask;
    let p = this.buckets[b];
    if (p === i) {
      this.buckets[b] = this.next[i];
    } else {
      while (this.next[p] !== i) p = this.next[p];
      this.next[p] = this.next[i];
    }
    this.next[i] = -1;
  }

  private lruPush(i: number, list: number): void {
    this.lruList[i] = list;
    this.lruPrev[i] = -1;
    const h = this.lruHead[list];
    this.lruNext[i] = h;
    if (h >= 0) this.lruPrev[h] = i;
    else this.lruTail[list] = i;
    this.lruHead[list] = i;
    this.lruCount[list]++;
  }

  private lruRemove(i: number): void {
    const list = this.lruList[i];
    const p = this.lruPrev[i];
    const n = this.lruNext[i];
    if (p >= 0) this.lruNext[p] = n;
    else this.lruHead[list] = n;
    if (n >= 0) this.lruPrev[n] = p;
    else this.lruTail[list] = p;
    this.lruCount[list]--;
  }

  private lruTouch(i: number): void {
    if (this.lruHead[this.lruList[i]] === i) return;
    const list = this.lruList[i];
    this.lruRemove(i);
    this.lruPush(i, list);
  }

  private lruListOf(): number {
    return this.lruHead.length === 1 ? 0 : this.registry.cpu;
  }

  /** A free element for a new key: from the free list, or (LRU) by evicting; -1 when full. */
  private allocElem(list: number): number {
    if (this.lru && this.lruCount[list] >= this.lruCap) {
      const victim = this.lruTail[list];
      this.unlink(victim);
      this.lruRemove(victim);
      this.count--;
      return victim;
    }
    if (this.freeTop === 0) return -1;
    return this.freeStack[--this.freeTop];
  }

  private freeElem(i: number): void {
    this.unlink(i);
    if (this.lru) this.lruRemove(i);
    this.freeStack[this.freeTop++] = i;
    this.count--;
  }

  private writeKey(i: number, keyAddr: number): void {
    const dst = this.keys + i * this.keyStride;
    this.space.u8.copyWithin(dst, keyAddr, keyAddr + this.keySize);
  }

  private writeValue(i: number, valueAddr: number, allCpus: boolean, fresh: boolean): void {
    const u8 = this.space.u8;
    const base = this.values + i * this.valueStride;
    if (!this.percpu) {
      u8.copyWithin(base, valueAddr, valueAddr + this.valueSize);
    } else if (allCpus) {
      u8.copyWithin(base, valueAddr, valueAddr + this.valueStride);
    } else {
      // pcpu_init_value: a new element gets the value on this CPU and zeros on the others.
      if (fresh) u8.fill(0, base, base + this.valueStride);
      const dst = base + this.registry.cpu * this.elemSize;
      u8.copyWithin(dst, valueAddr, valueAddr + this.valueSize);
    }
  }

  // --- program side --------------------------------------------------------------------------------

  override lookup(keyAddr: number): number {
    const i = this.find(keyAddr, this.hashKey(keyAddr));
    if (i < 0) return 0;
    if (this.lru) this.lruTouch(i);
    const base = this.values + i * this.valueStride;
    if (this.inner !== null) return this.u32At(base);
    return this.percpu ? base + this.registry.cpu * this.elemSize : base;
  }

  override lookupPercpu(keyAddr: number, cpu: number): number {
    if (!this.percpu || cpu >= this.nCpus) return 0;
    const i = this.find(keyAddr, this.hashKey(keyAddr));
    if (i < 0) return 0;
    return this.values + i * this.valueStride + cpu * this.elemSize;
  }

  override update(keyAddr: number, valueAddr: number, flags: number): number {
    if (this.inner !== null) {
      this.why = 'programs cannot update a map-in-map';
      return E_NOTSUPP;
    }
    return this.doUpdate(keyAddr, valueAddr, flags, false);
  }

  override delete(keyAddr: number): number {
    if (this.inner !== null) {
      this.why = 'programs cannot delete from a map-in-map';
      return E_NOTSUPP;
    }
    return this.doDelete(keyAddr);
  }

  private doDelete(keyAddr: number): number {
    const i = this.find(keyAddr, this.hashKey(keyAddr));
    if (i < 0) {
      this.why = 'no such key';
      return E_NOENT;
    }
    this.freeElem(i);
    return 0;
  }

  private doUpdate(keyAddr: number, valueAddr: number, flags: number, allCpus: boolean): number {
    const f = flags & ~BPF_F_LOCK;
    // flags is a u64 held in a double: anything outside 0..7 (high bits included) is unknown.
    if (f > BPF_EXIST || flags < 0 || flags > 7) {
      this.why = 'unknown flags';
      return E_INVAL;
    }
    if (flags & BPF_F_LOCK) {
      this.why = 'BPF_F_LOCK needs a bpf_spin_lock in the value';
      return E_INVAL;
    }
    const h = this.hashKey(keyAddr);
    const old = this.find(keyAddr, h);
    if (old >= 0 && f === BPF_NOEXIST) {
      this.why = 'BPF_NOEXIST: key exists';
      return E_EXIST;
    }
    if (old < 0 && f === BPF_EXIST) {
      this.why = 'BPF_EXIST: no such key';
      return E_NOENT;
    }
    if (old >= 0) {
      if (this.percpu) {
        this.writeValue(old, valueAddr, allCpus, false);
        if (this.lru) this.lruTouch(old);
        return 0;
      }
      // Link a fresh copy at the bucket head, then unlink the old one, which becomes the spare.
      const i = this.extra;
      this.writeKey(i, keyAddr);
      this.writeValue(i, valueAddr, allCpus, true);
      this.linkHead(i, h);
      this.unlink(old);
      if (this.lru) {
        const list = this.lruList[old];
        this.lruRemove(old);
        this.lruPush(i, list);
      }
      this.extra = old;
      return 0;
    }
    const list = this.lru ? this.lruListOf() : 0;
    const i = this.allocElem(list);
    if (i < 0) {
      this.why = 'map is full (max_entries elements)';
      return E_2BIG;
    }
    this.writeKey(i, keyAddr);
    this.writeValue(i, valueAddr, allCpus, true);
    // The LRU victim may have shared the new key's bucket: link after eviction.
    this.linkHead(i, h);
    if (this.lru) this.lruPush(i, list);
    this.count++;
    return 0;
  }

  // --- user side -----------------------------------------------------------------------------------

  /** Value in user layout for element i (inner map id for hash_of_maps). */
  private userValueAddr(i: number): number {
    const base = this.values + i * this.valueStride;
    if (this.inner === null) return base;
    const m = this.registry.byHandle(this.u32At(base));
    this.space.dv.setUint32(this.scratchValue, m === undefined ? 0 : m.id, true);
    return this.scratchValue;
  }

  protected override sysLookup(keyAddr: number): number {
    const i = this.find(keyAddr, this.hashKey(keyAddr));
    if (i < 0) {
      this.why = 'no such key';
      return 0;
    }
    return this.userValueAddr(i);
  }

  protected override sysUpdate(keyAddr: number, valueAddr: number, flags: number): number {
    if (this.inner !== null) {
      const m = resolveInnerFd(this, this.inner, valueAddr);
      if (typeof m === 'number') return m;
      this.space.dv.setUint32(valueAddr, m.handle, true);
    }
    return this.doUpdate(keyAddr, valueAddr, flags, this.percpu);
  }

  protected override sysDelete(keyAddr: number): number {
    return this.doDelete(keyAddr);
  }

  protected override sysLookupAndDelete(keyAddr: number, outAddr: number, _flags: number): number {
    if (this.inner !== null) {
      this.why = 'only hash, queue and stack maps support lookup-and-delete';
      return E_NOTSUPP;
    }
    const i = this.find(keyAddr, this.hashKey(keyAddr));
    if (i < 0) {
      this.why = 'no such key';
      return E_NOENT;
    }
    const src = this.values + i * this.valueStride;
    this.space.u8.copyWithin(outAddr, src, src + this.userValueSize);
    this.freeElem(i);
    return 0;
  }

  /** Store map `inner` under `key` (the typed form of an update whose value is an inner map fd). */
  updateInner(key: Uint8Array, inner: BpfMap, flags = 0): void {
    const cmd = 'BPF_MAP_UPDATE_ELEM';
    if (this.inner === null) this.raise(cmd, E_INVAL, 'not a map-in-map');
    this.checkWrite(cmd);
    const m = checkInner(this, this.inner, inner);
    if (typeof m === 'number') this.raise(cmd, m);
    const k = this.stageKey(cmd, key);
    this.space.dv.setUint32(this.scratchValue, m.handle, true);
    const r = this.doUpdate(k, this.scratchValue, flags, false);
    if (r < 0) this.raise(cmd, r);
  }

  /** The inner map stored under `key`, or null. */
  innerAt(key: Uint8Array): BpfMap | null {
    if (this.inner === null) return null;
    const k = this.stageKey('lookup', key);
    const i = this.find(k, this.hashKey(k));
    if (i < 0) return null;
    return this.registry.byHandle(this.u32At(this.values + i * this.valueStride)) ?? null;
  }

  protected override sysGetNextKey(keyAddr: number, nextAddr: number): number {
    let b = 0;
    if (keyAddr !== 0) {
      const h = this.hashKey(keyAddr);
      const i = this.find(keyAddr, h);
      if (i >= 0) {
        const n = this.next[i];
        if (n >= 0) return this.copyKeyOut(n, nextAddr);
        b = (h & this.mask) + 1;
      }
    }
    for (; b < this.nBuckets; b++) {
      const i = this.buckets[b];
      if (i >= 0) return this.copyKeyOut(i, nextAddr);
    }
    this.why = 'no more keys';
    return E_NOENT;
  }

  private copyKeyOut(i: number, nextAddr: number): number {
    const src = this.keys + i * this.keyStride;
    this.space.u8.copyWithin(nextAddr, src, src + this.keySize);
    return 0;
  }

  protected override batchKind(): 'htab' {
    return 'htab';
  }

  /** __htab_map_lookup_and_delete_batch: the cursor is a u32 bucket number; whole buckets are returned. */
  protected override htabBatch(cmd: string, inBatch: Uint8Array | null, count: number, del: boolean): LookupBatchResult {
    let batch = 0;
    if (inBatch !== null) {
      if (inBatch.length < 4) this.raise(cmd, E_INVAL, 'hash map batch cursor is a u32 bucket number');
      batch = (inBatch[0] | (inBatch[1] << 8) | (inBatch[2] << 16) | (inBatch[3] << 24)) >>> 0;
    }
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    const mk = (err: number, why: string): BpfError => new BpfError(errnoName(err), `${cmd} on ${this.describe()}: ${why}`);
    const result = (error: BpfError | null, withCursor: boolean): LookupBatchResult => {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, batch, true);
      return {
        count: keys.length,
        keys: concat(keys, this.keySize),
        values: concat(values, this.userValueSize),
        outBatch: withCursor ? out : null,
        error,
      };
    };
    if (batch >= this.nBuckets) return result(mk(E_NOENT, 'cursor past the last bucket'), false);
    for (;;) {
      let n = 0;
      for (let i = this.buckets[batch]; i >= 0; i = this.next[i]) n++;
      if (n > count - keys.length) {
        if (keys.length === 0) return result(mk(E_NOSPC, `bucket ${batch} holds ${n} elements, more than count ${count}`), true);
        return result(null, true);
      }
      for (let i = this.buckets[batch]; i >= 0; ) {
        const nx = this.next[i];
        keys.push(this.space.read(this.keys + i * this.keyStride, this.keySize));
        values.push(this.space.read(this.userValueAddr(i), this.userValueSize));
        if (del) this.freeElem(i);
        i = nx;
      }
      batch++;
      if (batch >= this.nBuckets) return result(mk(E_NOENT, 'no more elements'), true);
    }
  }
}

export const HASH_TYPES: readonly number[] = [
  BPF_MAP_TYPE.BPF_MAP_TYPE_HASH, BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS,
];

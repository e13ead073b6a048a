// Arrays whose slots hold kernel objects, written from user space as fds (kernel/bpf/arraymap.c fd_array_*):
// BPF_MAP_TYPE_PROG_ARRAY (programs, for bpf_tail_call), BPF_MAP_TYPE_ARRAY_OF_MAPS (inner maps) and
// BPF_MAP_TYPE_PERF_EVENT_ARRAY (perf buffers, for bpf_perf_event_output). Common rules: key u32, value u32,
// update only with BPF_ANY (else EINVAL), index >= max_entries is E2BIG on update and delete, delete of an
// empty slot is ENOENT, get_next_key walks indexes like an array.
//
// From user space `updateElem(key, fdBytes)` resolves the fd through the registry's resolvers (installed by
// the bpf() layer); the typed forms `setProg`, `setInner`, `setBuffer` take the objects directly.

import { BPF_ANY, BPF_PROG_TYPE } from '../uapi/bpf.js';
import {
  BpfMap, E_2BIG, E_BADF, E_INVAL, E_NOENT, E_NOSPC, E_NOTSUPP, E_OPNOTSUPP, type MapAttr, type MapRegistry, type ProgRef,
} from './map.js';
import { arrayNextKey } from './array.js';
import { checkInner, resolveInnerFd } from './map_in_map.js';

abstract class FdArrayMap<T> extends BpfMap {
  protected readonly slots: Array<T | null>;

  constructor(registry: MapRegistry, attr: MapAttr) {
    super(registry, attr, false);
    this.slots = new Array<T | null>(this.maxEntries).fill(null);
  }

  /** Resolve the u32 fd at `valueAddr` into a slot object, or a negative errno (why set). */
  protected abstract fromFd(valueAddr: number): T | number;
  /** Check an object before storing it; negative errno (why set) or 0. */
  protected abstract admit(obj: T): number;
  /** What user-space lookup returns for a slot (an id), or a negative errno. */
  protected abstract sysValue(obj: T): number;
  protected onStore(_index: number, _obj: T | null): void {}

  protected put(index: number, obj: T | null, flags: number): number {
    if (flags !== BPF_ANY) {
      this.why = 'only BPF_ANY is allowed';
      return E_INVAL;
    }
    if (index >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_2BIG;
    }
    if (obj !== null) {
      const r = this.admit(obj);
      if (r < 0) return r;
    }
    this.slots[index] = obj;
    this.onStore(index, obj);
    return 0;
  }

  protected override sysUpdate(keyAddr: number, valueAddr: number, flags: number): number {
    const index = this.u32At(keyAddr);
    if (flags !== BPF_ANY) {
      this.why = 'only BPF_ANY is allowed';
      return E_INVAL;
    }
    if (index >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_2BIG;
    }
    const obj = this.fromFd(valueAddr);
    if (typeof obj === 'number') return obj;
    return this.put(index, obj, flags);
  }

  protected override sysDelete(keyAddr: number): number {
    const index = this.u32At(keyAddr);
    if (index >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_2BIG;
    }
    if (this.slots[index] === null) {
      this.why = 'slot is empty';
      return E_NOENT;
    }
    this.slots[index] = null;
    this.onStore(index, null);
    return 0;
  }

  protected override sysLookup(keyAddr: number): number {
    const index = this.u32At(keyAddr);
    const obj = index < this.maxEntries ? this.slots[index] : null;
    if (obj === null) {
      this.why = index < this.maxEntries ? 'slot is empty' : 'index >= max_entries';
      return 0;
    }
    const v = this.sysValue(obj);
    if (v < 0) return v;
    this.space.dv.setUint32(this.scratchValue, v, true);
    return this.scratchValue;
  }

  protected override sysGetNextKey(keyAddr: number, nextAddr: number): number {
    return arrayNextKey(this, keyAddr, nextAddr);
  }

  override update(_k: number, _v: number, _f: number): number {
    this.why = 'programs cannot update this map type';
    return E_NOTSUPP;
  }

  override delete(_k: number): number {
    this.why = 'programs cannot delete from this map type';
    return E_NOTSUPP;
  }

  /** Empty every slot (the kernel does this when the last user reference to a prog array goes away). */
  clear(): void {
    for (let i = 0; i < this.maxEntries; i++) {
      if (this.slots[i] !== null) {
        this.slots[i] = null;
        this.onStore(i, null);
      }
    }
  }

  protected override release(): void {
    this.clear();
  }

  protected setTyped(cmd: string, index: number, obj: T | null, flags: number): void {
    this.checkWrite(cmd);
    const r = obj === null ? this.delSlot(index) : this.put(index >>> 0, obj, flags);
    if (r < 0) this.raise(cmd, r);
  }

  private delSlot(index: number): number {
    this.space.dv.setUint32(this.scratchKey, index >>> 0, true);
    return this.sysDelete(this.scratchKey);
  }
}

/**
 * BPF_MAP_TYPE_PROG_ARRAY. The first program stored (or `claim`ed by a program loaded against the map)
 * makes its type (and mode) the owner; programs of another type are refused with EINVAL.
 */
export class ProgArrayMap extends FdArrayMap<ProgRef> {
  /** Owner program type, or -1 while unowned. */
  ownerType = -1;
  ownerMode: string | undefined = undefined;

  /**
   * Called after every slot change (index, new program or null): the JIT keeps a table of compiled-program
   * numbers per prog array in step with the slots, so that its inline bpf_tail_call never calls out.
   */
  readonly watchers: ((index: number, prog: ProgRef | null) => void)[] = [];

  protected override onStore(index: number, prog: ProgRef | null): void {
    for (let i = 0; i < this.watchers.length; i++) this.watchers[i](index, prog);
  }

  /** The program in slot `index` or null (hot path for bpf_tail_call). */
  progAt(index: number): ProgRef | null {
    return index < this.maxEntries ? this.slots[index] : null;
  }

  /** bpf_prog_map_compatible: claim the map for `prog`'s type, or say whether it matches the owner. */
  claim(prog: ProgRef): boolean {
    if (prog.type === BPF_PROG_TYPE.BPF_PROG_TYPE_EXT) return false;
    if (this.ownerType < 0) {
      this.ownerType = prog.type;
      this.ownerMode = prog.mode;
      return true;
    }
    return this.ownerType === prog.type && this.ownerMode === prog.mode;
  }

  protected fromFd(valueAddr: number): ProgRef | number {
    const resolve = this.registry.resolveProgFd;
    if (resolve === null) {
      this.why = 'no fd table: use setProg() with a program object';
      return E_BADF;
    }
    return resolve(this.space.dv.getUint32(valueAddr, true));
  }

  protected admit(prog: ProgRef): number {
    if (!this.claim(prog)) {
      this.why = `program type ${prog.type}${prog.mode ? `/${prog.mode}` : ''} does not match the owner type ${this.ownerType}${this.ownerMode ? `/${this.ownerMode}` : ''}`;
      return E_INVAL;
    }
    return 0;
  }

  protected sysValue(prog: ProgRef): number {
    return prog.id;
  }

  /** Store `prog` in slot `index` (null empties it, ENOENT if already empty). */
  setProg(index: number, prog: ProgRef | null, flags = 0): void {
    this.setTyped('BPF_MAP_UPDATE_ELEM', index, prog, flags);
  }
}

/** BPF_MAP_TYPE_ARRAY_OF_MAPS: a program lookup returns the inner map's handle (or 0). */
export class ArrayOfMapsMap extends FdArrayMap<BpfMap> {
  readonly inner: BpfMap;
  /** Inner handles by index, for the program-side lookup. */
  readonly handles: Uint32Array;

  constructor(registry: MapRegistry, attr: MapAttr, inner: BpfMap) {
    super(registry, attr);
    this.inner = inner;
    this.handles = new Uint32Array(this.maxEntries);
  }

  override lookup(keyAddr: number): number {
    const index = this.u32At(keyAddr);
    return index < this.maxEntries ? this.handles[index] : 0;
  }

  protected fromFd(valueAddr: number): BpfMap | number {
    return resolveInnerFd(this, this.inner, valueAddr);
  }

  protected admit(map: BpfMap): number {
    const r = checkInner(this, this.inner, map);
    return typeof r === 'number' ? r : 0;
  }

  protected sysValue(map: BpfMap): number {
    return map.id;
  }

  protected override onStore(index: number, map: BpfMap | null): void {
    this.handles[index] = map === null ? 0 : map.handle;
  }

  /** Store `map` at `index` (null empties the slot). */
  setInner(index: number, map: BpfMap | null, flags = 0): void {
    this.setTyped('BPF_MAP_UPDATE_ELEM', index, map, flags);
  }

  innerAt(index: number): BpfMap | null {
    return index < this.maxEntries ? this.slots[index] : null;
  }
}

/** PERF_RECORD_SAMPLE, the only record type a BPF output event produces here. */
export const PERF_RECORD_SAMPLE = 9;
export const PERF_RECORD_LOST = 2;
/** BPF_F_CURRENT_CPU: index value of bpf_perf_event_output meaning "this CPU's slot". */
export const BPF_F_CURRENT_CPU = 0xffffffff;

/**
 * A perf event buffer opened for one CPU (a PERF_COUNT_SW_BPF_OUTPUT event as libbpf's perf_buffer opens
 * them): a ring of `pages` * 4096 bytes holding perf records. Each sample takes
 * 8 (perf_event_header) + 4 (raw size) + the data padded so the record is a multiple of 8 bytes; the
 * consumer sees the padded raw bytes, as libbpf's sample callback does. When the ring is full the sample is
 * lost (counted) and the helper returns -ENOSPC.
 */
export class PerfEventBuffer {
  readonly cpu: number;
  readonly ring: Uint8Array;
  private head = 0;
  private tail = 0;
  /** Samples dropped because the ring was full. */
  lost = 0;

  constructor(cpu: number, pages = 8) {
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new RangeError(`perf buffer pages must be a power of 2, got ${pages}`);
    }
    this.cpu = cpu;
    this.ring = new Uint8Array(pages * 4096);
  }

  /** Append a sample whose bytes are src[a..a+n) followed by src[b..b+m) (both from the address space). */
  write(src: Uint8Array, a: number, n: number, b: number, m: number): number {
    const raw = n + m;
    const rawPadded = ((raw + 4 + 7) & ~7) - 4;
    const size = 8 + 4 + rawPadded;
    if (size > 0xffff) return -7; // E2BIG: perf_event_header.size is a u16
    const cap = this.ring.length;
    if (this.head - this.tail + size > cap) {
      this.lost++;
      return E_NOSPC;
    }
    let p = this.head;
    this.put32(p, PERF_RECORD_SAMPLE);
    this.put32(p + 4, size << 16); // misc = 0, size
    this.put32(p + 8, rawPadded);
    p += 12;
    for (let i = 0; i < n; i++) this.ring[(p + i) % cap] = src[a + i];
    p += n;
    for (let i = 0; i < m; i++) this.ring[(p + i) % cap] = src[b + i];
    p += m;
    for (let i = raw; i < rawPadded; i++) this.ring[p++ % cap] = 0;
    this.head += size;
    return 0;
  }

  private put32(pos: number, v: number): void {
    const cap = this.ring.length;
    for (let i = 0; i < 4; i++) this.ring[(pos + i) % cap] = (v >>> (8 * i)) & 0xff;
  }

  private get32(pos: number): number {
    const cap = this.ring.length;
    let v = 0;
    for (let i = 3; i >= 0; i--) v = (v << 8) | this.ring[(pos + i) % cap];
    return v >>> 0;
  }

  /** Hand every pending sample (padded raw bytes) to `cb`, oldest first; returns how many. */
  consume(cb: (data: Uint8Array, cpu: number) => void): number {
    let n = 0;
    const cap = this.ring.length;
    while (this.tail < this.head) {
      const size = this.get32(this.tail + 4) >>> 16;
      const raw = this.get32(this.tail + 8);
      const data = new Uint8Array(raw);
      for (let i = 0; i < raw; i++) data[i] = this.ring[(this.tail + 12 + i) % cap];
      this.tail += size;
      cb(data, this.cpu);
      n++;
    }
    return n;
  }

  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.consume((d) => out.push(d));
    return out;
  }
}

/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY: slot i holds the perf buffer of an event (normally CPU i's).
 * bpf_perf_event_output writes to the slot of the given index (BPF_F_CURRENT_CPU: this CPU's); the event
 * must be bound to the CPU the program runs on (else EOPNOTSUPP), as in the kernel.
 */
export class PerfEventArrayMap extends FdArrayMap<PerfEventBuffer> {
  /** Resolver for perf event fds (the bpf() layer); null: use setBuffer()/openBuffers(). */
  resolveEventFd: ((fd: number) => PerfEventBuffer) | null = null;

  protected fromFd(valueAddr: number): PerfEventBuffer | number {
    if (this.resolveEventFd === null) {
      this.why = 'no perf event fd table: use setBuffer() or openBuffers()';
      return E_BADF;
    }
    return this.resolveEventFd(this.space.dv.getUint32(valueAddr, true));
  }

  protected admit(_b: PerfEventBuffer): number {
    return 0;
  }

  protected sysValue(_b: PerfEventBuffer): number {
    this.why = 'perf event arrays cannot be read from user space';
    return E_NOTSUPP;
  }

  setBuffer(index: number, buf: PerfEventBuffer | null, flags = 0): void {
    this.setTyped('BPF_MAP_UPDATE_ELEM', index, buf, flags);
  }

  /** Open one buffer per simulated CPU and store it at index = cpu (what libbpf's perf_buffer__new does). */
  openBuffers(pages = 8): PerfEventBuffer[] {
    const out: PerfEventBuffer[] = [];
    for (let cpu = 0; cpu < Math.min(this.nCpus, this.maxEntries); cpu++) {
      const b = new PerfEventBuffer(cpu, pages);
      this.setBuffer(cpu, b);
      out.push(b);
    }
    return out;
  }

  bufferAt(index: number): PerfEventBuffer | null {
    return index < this.maxEntries ? this.slots[index] : null;
  }

  /**
   * bpf_perf_event_output's core: `index` is flags & BPF_F_INDEX_MASK (0xffffffff = current CPU); the sample
   * is size bytes at dataAddr, followed by extraLen bytes at extraAddr (the packet bytes BPF_F_CTXLEN_MASK
   * asks for, which the helper resolves). Returns 0 or -errno.
   */
  output(index: number, dataAddr: number, size: number, extraAddr = 0, extraLen = 0): number {
    const cpu = this.registry.cpu;
    const i = index === BPF_F_CURRENT_CPU ? cpu : index;
    if (i >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_2BIG;
    }
    const buf = this.slots[i];
    if (buf === null) {
      this.why = 'no perf event in that slot';
      return E_NOENT;
    }
    if (buf.cpu !== cpu) {
      this.why = 'perf event is bound to another CPU';
      return E_OPNOTSUPP;
    }
    return buf.write(this.space.u8, dataAddr, size, extraAddr, extraLen);
  }
}

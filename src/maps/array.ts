// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c): max_entries preallocated, zeroed
// elements of round_up(value_size, 8) bytes, indexed by a u32 key. Elements always exist, so delete fails
// (EINVAL) and BPF_NOEXIST fails (EEXIST); an index past the end is E2BIG on update, ENOENT on lookup.
// Per-CPU arrays keep each element's CPU values next to each other (element i, cpu c at
// base + (i * nCpus + c) * stride), which is also exactly the layout user space reads and writes.

import { BPF_EXIST, BPF_F_LOCK, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_NOEXIST } from '../uapi/bpf.js';
import { PERM_READ, PERM_RW, PERM_WRITE } from '../vm/memory.js';
import { BpfMap, E_2BIG, E_EXIST, E_INVAL, E_NOENT, type MapAttr, type MapRegistry, round8 } from './map.js';

/** Region permission programs get on a map's values. */
export function progPerm(flags: number): number {
  if (flags & BPF_F_RDONLY_PROG) return PERM_READ;
  if (flags & BPF_F_WRONLY_PROG) return PERM_WRITE;
  return PERM_RW;
}

export class ArrayMap extends BpfMap {
  /** Address of element 0 (CPU 0). */
  readonly values: number;
  /** round_up(value_size, 8): bytes between CPU values / elements. */
  readonly elemSize: number;
  /** Bytes between elements: elemSize * nCpus for per-CPU arrays. */
  readonly stride: number;

  constructor(registry: MapRegistry, attr: MapAttr, percpu: boolean) {
    super(registry, attr, percpu);
    this.elemSize = round8(this.valueSize);
    this.stride = percpu ? this.elemSize * this.nCpus : this.elemSize;
    this.values = this.allocBlock(this.stride * this.maxEntries);
    this.mapValues(this.values, this.stride * this.maxEntries, progPerm(this.flags));
    this.setHandleValues(this.values, this.stride);
  }

  /** Address of element `index` for `cpu` (no bounds check: for loaders writing initial data). */
  valueAddr(index: number, cpu = 0): number {
    return this.values + index * this.stride + cpu * this.elemSize;
  }

  override lookup(keyAddr: number): number {
    const index = this.u32At(keyAddr);
    if (index >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return 0;
    }
    return this.values + index * this.stride + (this.percpu ? this.registry.cpu * this.elemSize : 0);
  }

  override lookupPercpu(keyAddr: number, cpu: number): number {
    if (!this.percpu || cpu >= this.nCpus) return 0;
    const index = this.u32At(keyAddr);
    if (index >= this.maxEntries) return 0;
    return this.values + index * this.stride + cpu * this.elemSize;
  }

  override update(keyAddr: number, valueAddr: number, flags: number): number {
    return this.doUpdate(keyAddr, valueAddr, flags, false);
  }

  private doUpdate(keyAddr: number, valueAddr: number, flags: number, allCpus: boolean): number {
    const index = this.u32At(keyAddr);
    // flags is a u64 held in a double: anything outside 0..7 (high bits included) is unknown.
    if (flags < 0 || flags > 7 || (flags & ~BPF_F_LOCK) > BPF_EXIST) {
      this.why = 'unknown flags';
      return E_INVAL;
    }
    if (index >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_2BIG;
    }
    if ((flags & ~BPF_F_LOCK) === BPF_NOEXIST) {
      this.why = 'BPF_NOEXIST: array elements always exist';
      return E_EXIST;
    }
    if (flags & BPF_F_LOCK) {
      this.why = 'BPF_F_LOCK needs a bpf_spin_lock in the value';
      return E_INVAL;
    }
    const u8 = this.space.u8;
    const base = this.values + index * this.stride;
    if (allCpus) {
      // bpf_percpu_array_update: every CPU's value from the user buffer, each padded to 8 bytes.
      u8.copyWithin(base, valueAddr, valueAddr + this.stride);
    } else {
      const dst = base + (this.percpu ? this.registry.cpu * this.elemSize : 0);
      u8.copyWithin(dst, valueAddr, valueAddr + this.valueSize);
    }
    return 0;
  }

  override delete(_keyAddr: number): number {
    this.why = 'array elements cannot be deleted';
    return E_INVAL;
  }

  protected override sysLookup(keyAddr: number): number {
    const index = this.u32At(keyAddr);
    if (index >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return 0;
    }
    return this.values + index * this.stride;
  }

  protected override sysUpdate(keyAddr: number, valueAddr: number, flags: number): number {
    return this.doUpdate(keyAddr, valueAddr, flags, this.percpu);
  }

  protected override sysGetNextKey(keyAddr: number, nextAddr: number): number {
    return arrayNextKey(this, keyAddr, nextAddr);
  }

  protected override batchKind(): 'array' {
    return 'array';
  }
}

/** array_map_get_next_key: index order; an out-of-range or missing key restarts at 0. */
export function arrayNextKey(map: BpfMap, keyAddr: number, nextAddr: number): number {
  const dv = map.space.dv;
  const index = keyAddr === 0 ? 0xffffffff : dv.getUint32(keyAddr, true);
  if (index >= map.maxEntries) {
    dv.setUint32(nextAddr, 0, true);
    return 0;
  }
  if (index === map.maxEntries - 1) {
    map.why = 'last index';
    return E_NOENT;
  }
  dv.setUint32(nextAddr, index + 1, true);
  return 0;
}

// Redirect targets (kernel/bpf/devmap.c, cpumap.c): BPF_MAP_TYPE_DEVMAP, DEVMAP_HASH and CPUMAP.
// The maps store where bpf_redirect_map() should send a frame; the redirect itself is the helpers' job,
// through `redirectTarget(key)`. Values live in the address space (programs may look them up; the kernel
// forces BPF_F_RDONLY_PROG on devmaps, so their region is read-only) in the kernel's layouts:
//   struct bpf_devmap_val { u32 ifindex; union { int fd; u32 id; } bpf_prog; }   (4 or 8 bytes)
//   struct bpf_cpumap_val { u32 qsize;   union { int fd; u32 id; } bpf_prog; }   (4 or 8 bytes)
// Written with a program fd, read back with the program id. Network devices are not modelled: any non-zero
// ifindex is accepted unless the registry's resolveIfindex says otherwise.

import { BPF_ATTACH_TYPE, BPF_EXIST, BPF_NOEXIST, BPF_PROG_TYPE } from '../uapi/bpf.js';
import { PERM_READ } from '../vm/memory.js';
import {
  BpfMap, E_2BIG, E_BADF, E_EXIST, E_INVAL, E_NODEV, E_NOENT, E_OVERFLOW, type MapAttr, type MapRegistry, type ProgRef,
} from './map.js';
import { arrayNextKey } from './array.js';
import { roundupPow2 } from './hash.js';

/** Where a devmap slot sends frames. */
export interface DevTarget {
  readonly ifindex: number;
  /** Program to run on the egress device (BPF_XDP_DEVMAP), if any. */
  readonly prog: ProgRef | null;
}

/** Where a cpumap slot sends frames. */
export interface CpuTarget {
  readonly cpu: number;
  readonly qsize: number;
  readonly prog: ProgRef | null;
}

/** Resolve the optional program fd of a devmap/cpumap value (second u32). */
function valueProg(map: BpfMap, valueAddr: number, attach: number, noFdAllowed: boolean): ProgRef | null | number {
  if (map.valueSize < 8) return null;
  const fd = map.space.dv.getInt32(valueAddr + 4, true);
  if (fd <= 0) return null;
  if (noFdAllowed) {
    map.why = 'a program fd needs a non-zero ifindex';
    return E_INVAL;
  }
  const resolve = map.registry.resolveProgFd;
  if (resolve === null) {
    map.why = 'no fd table to resolve the program fd';
    return E_BADF;
  }
  const prog = resolve(fd);
  if (prog.type !== BPF_PROG_TYPE.BPF_PROG_TYPE_XDP || prog.expectedAttachType !== attach) {
    map.why = 'the program must be XDP with the matching expected_attach_type';
    return E_INVAL;
  }
  return prog;
}

function checkIfindex(map: BpfMap, ifindex: number): number {
  const r = map.registry.resolveIfindex;
  if (r !== null && !r(ifindex)) {
    map.why = `no network device with ifindex ${ifindex}`;
    return E_INVAL;
  }
  return 0;
}

/**
 * The part DEVMAP and CPUMAP share: an array of redirect targets indexed by u32, whose 8-byte values programs
 * may read (lookup) but never write, update or delete (the kernel's -ENOTSUPP, 524).
 */
abstract class RedirectArrayMap<T> extends BpfMap {
  readonly values: number;
  protected readonly targets: Array<T | null>;

  constructor(registry: MapRegistry, attr: MapAttr, private readonly kind: string, private readonly slotKind: string) {
    super(registry, attr, false);
    this.values = this.allocBlock(8 * this.maxEntries);
    this.mapValues(this.values, 8 * this.maxEntries, PERM_READ);
    this.targets = new Array<T | null>(this.maxEntries).fill(null);
  }

  /** The target for `key` (bpf_redirect_map's lookup), or null. */
  redirectTarget(key: number): T | null {
    return key >>> 0 < this.maxEntries ? this.targets[key >>> 0] : null;
  }

  override lookup(keyAddr: number): number {
    const i = this.u32At(keyAddr);
    return i < this.maxEntries && this.targets[i] !== null ? this.values + 8 * i : 0;
  }

  protected override sysLookup(keyAddr: number): number {
    const r = this.lookup(keyAddr);
    if (r === 0) this.why = `no ${this.slotKind} in that slot`;
    return r;
  }

  override update(_k: number, _v: number, _f: number): number {
    this.why = `programs cannot update a ${this.kind}`;
    return -524;
  }

  override delete(_k: number): number {
    this.why = `programs cannot delete from a ${this.kind}`;
    return -524;
  }
}

/** BPF_MAP_TYPE_DEVMAP: an array of devices indexed by u32. */
export class DevMap extends RedirectArrayMap<DevTarget> {
  constructor(registry: MapRegistry, attr: MapAttr) {
    super(registry, attr, 'devmap', 'device');
  }

  protected override sysUpdate(keyAddr: number, valueAddr: number, flags: number): number {
    const i = this.u32At(keyAddr);
    if (flags > BPF_EXIST || flags < 0) {
      this.why = 'unknown flags';
      return E_INVAL;
    }
    if (i >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_2BIG;
    }
    if (flags === BPF_NOEXIST) {
      this.why = 'BPF_NOEXIST: devmap slots always exist';
      return E_EXIST;
    }
    const dv = this.space.dv;
    const ifindex = dv.getUint32(valueAddr, true);
    let target: DevTarget | null = null;
    if (ifindex === 0) {
      const p = valueProg(this, valueAddr, BPF_ATTACH_TYPE.BPF_XDP_DEVMAP, true);
      if (typeof p === 'number') return p;
    } else {
      const c = checkIfindex(this, ifindex);
      if (c < 0) return c;
      const p = valueProg(this, valueAddr, BPF_ATTACH_TYPE.BPF_XDP_DEVMAP, false);
      if (typeof p === 'number') return p;
      target = { ifindex, prog: p };
    }
    this.targets[i] = target;
    dv.setUint32(this.values + 8 * i, target === null ? 0 : ifindex, true);
    dv.setUint32(this.values + 8 * i + 4, target?.prog?.id ?? 0, true);
    return 0;
  }

  protected override sysDelete(keyAddr: number): number {
    const i = this.u32At(keyAddr);
    if (i >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_INVAL;
    }
    this.targets[i] = null;
    this.space.u8.fill(0, this.values + 8 * i, this.values + 8 * i + 8);
    return 0;
  }

  protected override sysGetNextKey(keyAddr: number, nextAddr: number): number {
    return arrayNextKey(this, keyAddr, nextAddr);
  }
}

/** BPF_MAP_TYPE_DEVMAP_HASH: devices keyed by any u32, max_entries of them, hashed by key & (n_buckets-1). */
export class DevMapHash extends BpfMap {
  readonly values: number;
  readonly nBuckets: number;
  private readonly buckets: Int32Array;
  private readonly next: Int32Array;
  private readonly idx: Uint32Array;
  private readonly targets: Array<DevTarget | null>;
  private readonly freeStack: Int32Array;
  private freeTop: number;
  count = 0;

  constructor(registry: MapRegistry, attr: MapAttr) {
    super(registry, attr, false);
    const n = this.maxEntries;
    this.values = this.allocBlock(8 * n);
    this.mapValues(this.values, 8 * n, PERM_READ);
    this.nBuckets = roundupPow2(n);
    this.buckets = new Int32Array(this.nBuckets).fill(-1);
    this.next = new Int32Array(n).fill(-1);
    this.idx = new Uint32Array(n);
    this.targets = new Array<DevTarget | null>(n).fill(null);
    this.freeStack = new Int32Array(n);
    this.freeTop = 0;
    for (let i = n - 1; i >= 0; i--) this.freeStack[this.freeTop++] = i;
  }

  private find(key: number): number {
    for (let i = this.buckets[key & (this.nBuckets - 1)]; i >= 0; i = this.next[i]) {
      if (this.idx[i] === key) return i;
    }
    return -1;
  }

  redirectTarget(key: number): DevTarget | null {
    const i = this.find(key >>> 0);
    return i < 0 ? null : this.targets[i];
  }

  override lookup(keyAddr: number): number {
    const i = this.find(this.u32At(keyAddr));
    return i < 0 ? 0 : this.values + 8 * i;
  }

  protected override sysLookup(keyAddr: number): number {
    const r = this.lookup(keyAddr);
    if (r === 0) this.why = 'no such key';
    return r;
  }

  override update(_k: number, _v: number, _f: number): number {
    this.why = 'programs cannot update a devmap';
    return -524;
  }

  override delete(_k: number): number {
    this.why = 'programs cannot delete from a devmap';
    return -524;
  }

  protected override sysUpdate(keyAddr: number, valueAddr: number, flags: number): number {
    const key = this.u32At(keyAddr);
    const dv = this.space.dv;
    const ifindex = dv.getUint32(valueAddr, true);
    if (flags > BPF_EXIST || flags < 0 || ifindex === 0) {
      this.why = ifindex === 0 ? 'ifindex must not be 0' : 'unknown flags';
      return E_INVAL;
    }
    const old = this.find(key);
    if (old >= 0 && flags & BPF_NOEXIST) {
      this.why = 'BPF_NOEXIST: key exists';
      return E_EXIST;
    }
    const c = checkIfindex(this, ifindex);
    if (c < 0) return c;
    const p = valueProg(this, valueAddr, BPF_ATTACH_TYPE.BPF_XDP_DEVMAP, false);
    if (typeof p === 'number') return p;
    let i = old;
    if (i < 0) {
      if (this.count >= this.maxEntries || this.freeTop === 0) {
        this.why = 'map is full';
        return E_2BIG;
      }
      i = this.freeStack[--this.freeTop];
      this.idx[i] = key;
      const b = key & (this.nBuckets - 1);
      this.next[i] = this.buckets[b];
      this.buckets[b] = i;
      this.count++;
    }
    this.targets[i] = { ifindex, prog: p };
    dv.setUint32(this.values + 8 * i, ifindex, true);
    dv.setUint32(this.values + 8 * i + 4, p?.id ?? 0, true);
    return 0;
  }

  protected override sysDelete(keyAddr: number): number {
    const key = this.u32At(keyAddr);
    const i = this.find(key);
    if (i < 0) {
      this.why = 'no such key';
      return E_NOENT;
    }
    const b = key & (this.nBuckets - 1);
    if (this.buckets[b] === i) this.buckets[b] = this.next[i];
    else {
      let p = this.buckets[b];
      while (this.next[p] !== i) p = this.next[p];
      this.next[p] = this.next[i];
    }
    this.targets[i] = null;
    this.freeStack[this.freeTop++] = i;
    this.count--;
    return 0;
  }

  protected override sysGetNextKey(keyAddr: number, nextAddr: number): number {
    const dv = this.space.dv;
    let b = 0;
    if (keyAddr !== 0) {
      const key = this.u32At(keyAddr);
      const i = this.find(key);
      if (i >= 0) {
        if (this.next[i] >= 0) {
          dv.setUint32(nextAddr, this.idx[this.next[i]], true);
          return 0;
        }
        b = (key & (this.nBuckets - 1)) + 1;
      }
    }
    for (; b < this.nBuckets; b++) {
      const i = this.buckets[b];
      if (i >= 0) {
        dv.setUint32(nextAddr, this.idx[i], true);
        return 0;
      }
    }
    this.why = 'no more keys';
    return E_NOENT;
  }
}

/** Largest cpumap queue size the kernel accepts. */
export const CPUMAP_MAX_QSIZE = 16384;

/** BPF_MAP_TYPE_CPUMAP: index = destination CPU, value = queue size (+ program). */
export class CpuMap extends RedirectArrayMap<CpuTarget> {
  constructor(registry: MapRegistry, attr: MapAttr) {
    super(registry, attr, 'cpumap', 'CPU entry');
  }

  protected override sysUpdate(keyAddr: number, valueAddr: number, flags: number): number {
    const cpu = this.u32At(keyAddr);
    const dv = this.space.dv;
    const qsize = dv.getUint32(valueAddr, true);
    if (flags > BPF_EXIST || flags < 0) {
      this.why = 'unknown flags';
      return E_INVAL;
    }
    if (cpu >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_2BIG;
    }
    if (flags === BPF_NOEXIST) {
      this.why = 'BPF_NOEXIST: cpumap slots always exist';
      return E_EXIST;
    }
    if (qsize > CPUMAP_MAX_QSIZE) {
      this.why = `qsize ${qsize} > ${CPUMAP_MAX_QSIZE}`;
      return E_OVERFLOW;
    }
    if (cpu >= this.nCpus) {
      this.why = `cpu ${cpu} does not exist (${this.nCpus} simulated)`;
      return E_NODEV;
    }
    let target: CpuTarget | null = null;
    if (qsize !== 0) {
      const p = valueProg(this, valueAddr, BPF_ATTACH_TYPE.BPF_XDP_CPUMAP, false);
      if (typeof p === 'number') return p;
      target = { cpu, qsize, prog: p };
    }
    this.targets[cpu] = target;
    dv.setUint32(this.values + 8 * cpu, qsize, true);
    dv.setUint32(this.values + 8 * cpu + 4, target?.prog?.id ?? 0, true);
    return 0;
  }

  protected override sysDelete(keyAddr: number): number {
    const i = this.u32At(keyAddr);
    if (i >= this.maxEntries) {
      this.why = 'index >= max_entries';
      return E_INVAL;
    }
    this.targets[i] = null;
    this.space.u8.fill(0, this.values + 8 * i, this.values + 8 * i + 8);
    return 0;
  }

  protected override sysGetNextKey(keyAddr: number, nextAddr: number): number {
    return arrayNextKey(this, keyAddr, nextAddr);
  }
}

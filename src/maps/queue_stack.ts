// BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK (kernel/bpf/queue_stack_maps.c): key_size 0, a ring of
// max_entries + 1 value slots in the address space (one slot stays empty to tell full from empty).
// push with BPF_EXIST overwrites the oldest element when full (else E2BIG); pop/peek of an empty map give
// ENOENT and zero the destination, as the kernel does. From user space: update = push, lookup = peek,
// lookup-and-delete = pop; delete and get_next_key are EINVAL.

import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import { BpfMap, E_2BIG, E_INVAL, E_NOENT, type MapAttr, type MapRegistry } from './map.js';

export class QueueStackMap extends BpfMap {
  readonly isStack: boolean;
  private readonly size: number;
  private readonly elements: number;
  private head = 0;
  private tail = 0;

  constructor(registry: MapRegistry, attr: MapAttr, isStack: boolean) {
    super(registry, attr, false);
    this.isStack = isStack;
    this.size = this.maxEntries + 1;
    this.elements = this.allocBlock(this.size * this.valueSize);
  }

  /** Number of elements held. */
  get length(): number {
    return (this.head - this.tail + this.size) % this.size;
  }

  override push(valueAddr: number, flags: number): number {
    if (flags & BPF_NOEXIST || flags > BPF_EXIST || flags < 0) {
      this.why = 'only BPF_ANY and BPF_EXIST are allowed';
      return E_INVAL;
    }
    if (this.length === this.maxEntries) {
      if (!(flags & BPF_EXIST)) {
        this.why = 'map is full (BPF_EXIST overwrites the oldest element)';
        return E_2BIG;
      }
      if (++this.tail >= this.size) this.tail = 0;
    }
    const dst = this.elements + this.head * this.valueSize;
    this.space.u8.copyWithin(dst, valueAddr, valueAddr + this.valueSize);
    if (++this.head >= this.size) this.head = 0;
    return 0;
  }

  private get(valueAddr: number, del: boolean): number {
    const u8 = this.space.u8;
    if (this.head === this.tail) {
      u8.fill(0, valueAddr, valueAddr + this.valueSize);
      this.why = 'map is empty';
      return E_NOENT;
    }
    let idx: number;
    if (this.isStack) {
      idx = this.head - 1;
      if (idx < 0) idx = this.size - 1;
      if (del) this.head = idx;
    } else {
      idx = this.tail;
      if (del && ++this.tail >= this.size) this.tail = 0;
    }
    const src = this.elements + idx * this.valueSize;
    u8.copyWithin(valueAddr, src, src + this.valueSize);
    return 0;
  }

  override pop(valueAddr: number): number {
    return this.get(valueAddr, true);
  }

  override peek(valueAddr: number): number {
    return this.get(valueAddr, false);
  }

  override lookup(_keyAddr: number): number {
    this.why = 'use peek';
    return 0;
  }

  override update(_k: number, _v: number, _f: number): number {
    this.why = 'use push';
    return E_INVAL;
  }

  override delete(_k: number): number {
    this.why = 'use pop';
    return E_INVAL;
  }

  protected override sysLookup(_keyAddr: number): number {
    const r = this.get(this.scratchValue, false);
    return r < 0 ? 0 : this.scratchValue;
  }

  protected override sysUpdate(_k: number, valueAddr: number, flags: number): number {
    return this.push(valueAddr, flags);
  }

  protected override sysGetNextKey(_k: number, _n: number): number {
    this.why = 'queue and stack maps have no keys';
    return E_INVAL;
  }

  protected override sysLookupAndDelete(_k: number, outAddr: number, flags: number): number {
    if (flags !== 0) {
      this.why = 'flags must be 0';
      return E_INVAL;
    }
    return this.get(outAddr, true);
  }
}

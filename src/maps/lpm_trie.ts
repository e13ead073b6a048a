// BPF_MAP_TYPE_LPM_TRIE (kernel/bpf/lpm_trie.c): longest-prefix match over keys
// `struct bpf_lpm_trie_key { u32 prefixlen; u8 data[]; }` with data in network (big-endian) bit order.
// The same unbalanced binary trie as the kernel: each node holds a prefix; intermediate nodes (flag IM)
// have exactly two children and no value. Nodes live in typed arrays (prefix bytes included), values in
// the address space. get_next_key walks the trie in the kernel's postorder (more specific prefixes first).
// Update flags follow current kernels (6.13+): BPF_NOEXIST on an existing prefix is EEXIST, BPF_EXIST on a
// missing one ENOENT, adding to a full trie ENOSPC (replacing an existing prefix works when full).

import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import { BpfMap, E_EXIST, E_INVAL, E_NOENT, E_NOSPC, type MapAttr, type MapRegistry, round8 } from './map.js';
import { progPerm } from './array.js';

const IM = 1;

export class LpmTrieMap extends BpfMap {
  readonly dataSize: number;
  readonly maxPrefixlen: number;
  readonly values: number;
  readonly valueStride: number;
  /** Prefixes stored (intermediate nodes excluded). */
  count = 0;
  private root = -1;
  private readonly child0: Int32Array;
  private readonly child1: Int32Array;
  private readonly plen: Uint32Array;
  private readonly nflags: Uint8Array;
  private readonly ndata: Uint8Array;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  private readonly stack: Int32Array;

  constructor(registry: MapRegistry, attr: MapAttr) {
    super(registry, attr, false);
    this.dataSize = this.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    // Up to max_entries prefixes, max_entries - 1 intermediate nodes, and one node being swapped in.
    const cap = 2 * this.maxEntries + 1;
    this.valueStride = round8(this.valueSize);
    this.values = this.allocBlock(cap * this.valueStride);
    this.mapValues(this.values, cap * this.valueStride, progPerm(this.flags));
    this.child0 = new Int32Array(cap).fill(-1);
    this.child1 = new Int32Array(cap).fill(-1);
    this.plen = new Uint32Array(cap);
    this.nflags = new Uint8Array(cap);
    this.ndata = new Uint8Array(cap * this.dataSize);
    this.freeStack = new Int32Array(cap);
    for (let i = cap - 1; i >= 0; i--) this.freeStack[this.freeTop++] = i;
    this.stack = new Int32Array(this.maxPrefixlen + 2);
  }

  private child(n: number, bit: number): number {
    return bit ? this.child1[n] : this.child0[n];
  }

  /** Bits of node `n`'s prefix that match the key data at `kd`, up to min(node, key) prefix lengths. */
  private match(n: number, kd: number, keyLen: number): number {
    const u8 = this.space.u8;
    const limit = Math.min(this.plen[n], keyLen);
    const nd = n * this.dataSize;
    let len = 0;
    for (let i = 0; i < this.dataSize; i++) {
      const diff = this.ndata[nd + i] ^ u8[kd + i];
      const b = diff === 0 ? 8 : Math.clz32(diff) - 24;
      len += b;
      if (len >= limit) return limit;
      if (b < 8) break;
    }
    return len;
  }

  private keyBit(kd: number, index: number): number {
    return (this.space.u8[kd + (index >>> 3)] >>> (7 - (index & 7))) & 1;
  }

  private nodeBit(n: number, index: number): number {
    return (this.ndata[n * this.dataSize + (index >>> 3)] >>> (7 - (index & 7))) & 1;
  }

  /** Point the slot (parent's child `dir`, or the root when parent < 0) at `n`. */
  private setSlot(parent: number, dir: number, n: number): void {
    if (parent < 0) this.root = n;
    else if (dir) this.child1[parent] = n;
    else this.child0[parent] = n;
  }

  private allocNode(): number {
    const n = this.freeStack[--this.freeTop];
    this.child0[n] = -1;
    this.child1[n] = -1;
    this.nflags[n] = 0;
    return n;
  }

  private freeNode(n: number): void {
    this.freeStack[this.freeTop++] = n;
  }

  override lookup(keyAddr: number): number {
    const keyLen = this.u32At(keyAddr);
    const kd = keyAddr + 4;
    let found = -1;
    for (let n = this.root; n >= 0; ) {
      const m = this.match(n, kd, keyLen);
      if (m === this.maxPrefixlen) {
        found = n;
        break;
      }
      if (m < this.plen[n]) break;
      if (!(this.nflags[n] & IM)) found = n;
      n = this.child(n, this.keyBit(kd, this.plen[n]));
    }
    if (found < 0) {
      this.why = 'no matching prefix';
      return 0;
    }
    return this.values + found * this.valueStride;
  }

  override update(keyAddr: number, valueAddr: number, flags: number): number {
    if (flags > BPF_EXIST || flags < 0) {
      this.why = 'unknown flags';
      return E_INVAL;
    }
    const keyLen = this.u32At(keyAddr);
    if (keyLen > this.maxPrefixlen) {
      this.why = 'prefixlen > max_prefixlen';
      return E_INVAL;
    }
    const kd = keyAddr + 4;
    let parent = -1;
    let dir = 0;
    let n = this.root;
    let m = 0;
    while (n >= 0) {
      m = this.match(n, kd, keyLen);
      const pl = this.plen[n];
      if (pl !== m || pl === keyLen || pl === this.maxPrefixlen) break;
      parent = n;
      dir = this.keyBit(kd, pl);
      n = this.child(n, dir);
    }
    const exact = n >= 0 && this.plen[n] === m;
    if (exact && !(this.nflags[n] & IM)) {
      if (flags === BPF_NOEXIST) {
        this.why = 'BPF_NOEXIST: prefix exists';
        return E_EXIST;
      }
    } else {
      if (flags === BPF_EXIST) {
        this.why = 'BPF_EXIST: no such prefix';
        return E_NOENT;
      }
      if (this.count === this.maxEntries) {
        this.why = 'trie is full (max_entries prefixes)';
        return E_NOSPC;
      }
      this.count++;
    }
    const nn = this.allocNode();
    this.plen[nn] = keyLen;
    const u8 = this.space.u8;
    for (let i = 0, d = nn * this.dataSize; i < this.dataSize; i++) this.ndata[d + i] = u8[kd + i];
    const va = this.values + nn * this.valueStride;
    u8.copyWithin(va, valueAddr, valueAddr + this.valueSize);
    if (n < 0) {
      this.setSlot(parent, dir, nn);
    } else if (exact) {
      // Replace the node (a fresh copy, like the kernel; old value pointers keep the old copy).
      this.child0[nn] = this.child0[n];
      this.child1[nn] = this.child1[n];
      this.setSlot(parent, dir, nn);
      this.freeNode(n);
    } else if (m === keyLen) {
      // The new prefix contains the node's: insert it above.
      if (this.nodeBit(n, m)) this.child1[nn] = n;
      else this.child0[nn] = n;
      this.setSlot(parent, dir, nn);
    } else {
      const im = this.allocNode();
      this.plen[im] = m;
      this.nflags[im] = IM;
      this.ndata.copyWithin(im * this.dataSize, n * this.dataSize, (n + 1) * this.dataSize);
      if (this.keyBit(kd, m)) {
        this.child0[im] = n;
        this.child1[im] = nn;
      } else {
        this.child0[im] = nn;
        this.child1[im] = n;
      }
      this.setSlot(parent, dir, im);
    }
    return 0;
  }

  override delete(keyAddr: number): number {
    const keyLen = this.u32At(keyAddr);
    if (keyLen > this.maxPrefixlen) {
      this.why = 'prefixlen > max_prefixlen';
      return E_INVAL;
    }
    const kd = keyAddr + 4;
    // trim = slot of the node (parent, dir); trim2 = slot of the parent (gp, gdir).
    let parent = -1;
    let dir = 0;
    let gp = -1;
    let gdir = 0;
    let n = this.root;
    let m = 0;
    while (n >= 0) {
      m = this.match(n, kd, keyLen);
      if (this.plen[n] !== m || this.plen[n] === keyLen) break;
      gp = parent;
      gdir = dir;
      parent = n;
      dir = this.keyBit(kd, this.plen[n]);
      n = this.child(n, dir);
    }
    if (n < 0 || this.plen[n] !== keyLen || this.plen[n] !== m || this.nflags[n] & IM) {
      this.why = 'no such prefix';
      return E_NOENT;
    }
    this.count--;
    const c0 = this.child0[n];
    const c1 = this.child1[n];
    if (c0 >= 0 && c1 >= 0) {
      this.nflags[n] |= IM;
      return 0;
    }
    if (parent >= 0 && this.nflags[parent] & IM && c0 < 0 && c1 < 0) {
      const sibling = this.child0[parent] === n ? this.child1[parent] : this.child0[parent];
      this.setSlot(gp, gdir, sibling);
      this.freeNode(parent);
      this.freeNode(n);
      return 0;
    }
    this.setSlot(parent, dir, c0 >= 0 ? c0 : c1);
    this.freeNode(n);
    return 0;
  }

  protected override sysLookup(keyAddr: number): number {
    return this.lookup(keyAddr);
  }

  protected override sysGetNextKey(keyAddr: number, nextAddr: number): number {
    let searchRoot = this.root;
    if (searchRoot < 0) {
      this.why = 'trie is empty';
      return E_NOENT;
    }
    let next = -1;
    const keyLen = keyAddr === 0 ? 0 : this.u32At(keyAddr);
    findExact: if (keyAddr !== 0 && keyLen <= this.maxPrefixlen) {
      const kd = keyAddr + 4;
      const st = this.stack;
      let sp = -1;
      let n = searchRoot;
      while (n >= 0) {
        st[++sp] = n;
        const m = this.match(n, kd, keyLen);
        if (this.plen[n] !== m || this.plen[n] === keyLen) break;
        n = this.child(n, this.keyBit(kd, this.plen[n]));
      }
      if (n < 0 || this.plen[n] !== keyLen || this.nflags[n] & IM) break findExact;
      // Found the key: the next node in postorder.
      n = st[sp];
      while (sp > 0) {
        const p = st[sp - 1];
        if (this.child0[p] === n && this.child1[p] >= 0) {
          searchRoot = this.child1[p];
          return this.copyOut(this.leftmost(searchRoot), nextAddr);
        }
        if (!(this.nflags[p] & IM)) return this.copyOut(p, nextAddr);
        n = p;
        sp--;
      }
      this.why = 'no more keys';
      return E_NOENT;
    }
    next = this.leftmost(searchRoot);
    return this.copyOut(next, nextAddr);
  }

  /** First node of `n`'s subtree in postorder that is not intermediate. */
  private leftmost(n: number): number {
    let next = -1;
    while (n >= 0) {
      if (this.nflags[n] & IM) {
        n = this.child0[n];
      } else {
        next = n;
        n = this.child0[n] >= 0 ? this.child0[n] : this.child1[next];
      }
    }
    return next;
  }

  private copyOut(n: number, nextAddr: number): number {
    this.space.dv.setUint32(nextAddr, this.plen[n], true);
    this.space.u8.set(this.ndata.subarray(n * this.dataSize, (n + 1) * this.dataSize), nextAddr + 4);
    return 0;
  }

  protected override batchKind(): 'generic' {
    return 'generic';
  }
}

// The address space of one runtime instance: a single WebAssembly.Memory that holds every byte a program
// can reach (stacks, ctx, packets, map values, global data). A pointer is a plain offset into that memory;
// the first GUARD_SIZE bytes are never handed out, so NULL and small integers are never valid pointers.
// The region table says which byte ranges a program may read or write; engines check every access
// against it (the interpreter per access, the JIT where the verifier cannot prove the access safe).

import { BpfError } from '../errors.js';

export const PAGE = 65536;
/** Bytes at the bottom of memory that are never valid (catches NULL + small offsets). */
export const GUARD_SIZE = PAGE;
/** Largest address space a runtime may grow to (wasm32 limit is 4 GiB; keep well under). */
export const MAX_PAGES = 16384; // 1 GiB

export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_RW = PERM_READ | PERM_WRITE;

/** Most regions one address space can track; each map, stack, ctx and packet buffer takes one. */
const MAX_REGIONS = 4096;

export class AddressSpace {
  readonly memory: WebAssembly.Memory;
  /** Views over the memory; replaced after every grow, so read them fresh (not cached across alloc()). */
  u8!: Uint8Array;
  dv!: DataView;

  private top = GUARD_SIZE;
  /** Free blocks by exact size, for allocations that come and go (e.g. per-element map values). */
  private readonly freeLists = new Map<number, number[]>();

  // Region table: parallel typed arrays, slot i valid when perm[i] != 0. `count` is one past the last used slot.
  readonly regStart = new Float64Array(MAX_REGIONS);
  readonly regEnd = new Float64Array(MAX_REGIONS);
  readonly regPerm = new Uint8Array(MAX_REGIONS);
  regCount = 0;
  /**
   * Bumped by every change to the region table (map, move/resize, unmap) and by memory growth, so that an
   * engine holding a copy of some region's bounds (the JIT's region caches) can keep it across a helper call
   * that left the generation unchanged, and must drop it otherwise.
   */
  generation = 0;
  private readonly freeRegions: number[] = [];

  constructor(initialPages = 16) {
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES });
    this.refresh();
  }

  /** Re-create the views after the memory grew. */
  refresh(): void {
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
  }

  /** Allocate `size` zeroed bytes aligned to `align` (a power of two). Never returns 0. */
  alloc(size: number, align = 8): number {
    if (!Number.isInteger(size) || size < 0) throw new BpfError('EINVAL', `bad allocation size ${size}`);
    const rounded = Math.max(8, (size + 7) & ~7);
    const list = this.freeLists.get(rounded);
    if (list !== undefined && list.length > 0 && align <= 8) {
      const addr = list.pop()!;
      this.u8.fill(0, addr, addr + rounded);
      return addr;
    }
    const addr = (this.top + align - 1) & ~(align - 1);
    const end = addr + rounded;
    if (end > this.memory.buffer.byteLength) {
      const need = Math.ceil((end - this.memory.buffer.byteLength) / PAGE);
      const cur = this.memory.buffer.byteLength / PAGE;
      const grow = Math.max(need, Math.min(cur, 256));
      if (cur + need > MAX_PAGES) throw new BpfError('ENOMEM', `address space exhausted allocating ${size} bytes`);
      this.memory.grow(Math.min(grow, MAX_PAGES - cur));
      this.refresh();
      this.generation++;
    }
    this.top = end;
    return addr;
  }

  /** Return a block from alloc() so that a later alloc() of the same size can reuse it. */
  free(addr: number, size: number): void {
    const rounded = Math.max(8, (size + 7) & ~7);
    let list = this.freeLists.get(rounded);
    if (list === undefined) this.freeLists.set(rounded, (list = []));
    list.push(addr);
  }

  /** Make [start, start+len) accessible with `perm`; returns a region id for update/unmap. */
  mapRegion(start: number, len: number, perm: number): number {
    const id = this.freeRegions.length > 0 ? this.freeRegions.pop()! : this.regCount++;
    if (id >= MAX_REGIONS) throw new BpfError('ENOMEM', 'too many memory regions');
    this.setRegion(id, start, len, perm);
    return id;
  }

  /** Move or resize a region in place (used for packet buffers whose bounds change per run). */
  setRegion(id: number, start: number, len: number, perm: number): void {
    // the same bounds again (a packet of the same geometry each run) change nothing a cache relies on
    if (this.regStart[id] === start && this.regEnd[id] === start + len && this.regPerm[id] === perm && perm !== 0) return;
    this.regStart[id] = start;
    this.regEnd[id] = start + len;
    this.regPerm[id] = perm;
    this.generation++;
  }

  unmapRegion(id: number): void {
    this.regPerm[id] = 0;
    this.regStart[id] = 0;
    this.regEnd[id] = 0;
    this.freeRegions.push(id);
    this.generation++;
  }

  /**
   * Is [addr, addr+len) inside one region that grants `perm`? `addr` is a double holding the pointer's
   * value (callers reject pointers with non-zero upper 32 bits first). Returns the region id or -1.
   */
  findRegion(addr: number, len: number, perm: number): number {
    const end = addr + len;
    const n = this.regCount;
    for (let i = 0; i < n; i++) {
      if (addr >= this.regStart[i] && end <= this.regEnd[i] && (this.regPerm[i] & perm) === perm) return i;
    }
    return -1;
  }

  /** Copy bytes in (for ctx, packets, map values from user space). */
  write(addr: number, bytes: Uint8Array): void {
    this.u8.set(bytes, addr);
  }

  /** Copy bytes out. */
  read(addr: number, len: number): Uint8Array {
    return this.u8.slice(addr, addr + len);
  }
}

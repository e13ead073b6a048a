// BPF_MAP_TYPE_RINGBUF (kernel/bpf/ringbuf.c) with a user-space consumer (libbpf's ring_buffer__consume).
//
// Layout in the address space mirrors `struct bpf_ringbuf`: a page-aligned block whose page 0 is bookkeeping,
// page 1 the consumer position, page 2 the producer position, and data from page 3 (RINGBUF_DATA_PGOFF).
// The kernel maps the data pages twice in a row so a record that runs past the end stays contiguous; here
// the data area is simply 2 * size bytes long: a record is written (and read back) contiguously starting at
// (pos & mask), and never overlaps another live record's logical positions, so no copying is needed.
//
// Records: an 8-byte header { u32 len; u32 pg_off } then the sample, rounded up to 8 bytes. len carries
// BPF_RINGBUF_BUSY_BIT while reserved and BPF_RINGBUF_DISCARD_BIT once discarded; pg_off is the header's page
// offset from the block start, which is how submit/discard find the ring from a bare record pointer.
// Space rule (as the kernel): a reservation fails when it would put the producer more than size - 1 bytes
// ahead of the consumer, or of the oldest record still busy.

import { PERM_RW } from '../vm/memory.js';
import { BpfMap, E_AGAIN, E_INVAL, E_NOTSUPP, type MapAttr, type MapRegistry } from './map.js';

export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;
/** bpf_ringbuf_output/submit/discard flags. */
export const BPF_RB_NO_WAKEUP = 1;
export const BPF_RB_FORCE_WAKEUP = 2;
/** bpf_ringbuf_query flags. */
export const BPF_RB_AVAIL_DATA = 0;
export const BPF_RB_RING_SIZE = 1;
export const BPF_RB_CONS_POS = 2;
export const BPF_RB_PROD_POS = 3;
export const RINGBUF_PAGE = 4096;
/** Page index of the data area inside the ring's block (bookkeeping, consumer and producer pages first). */
export const RINGBUF_DATA_PGOFF = 3;
const RINGBUF_MAX_RECORD_SZ = Math.floor(0xffffffff / 4);

export class RingBufMap extends BpfMap {
  /** Page-aligned start of the ring's block. */
  readonly base: number;
  /** Start of the data area (base + 3 pages). */
  readonly data: number;
  readonly mask: number;
  consumerPos = 0;
  producerPos = 0;
  private pendingPos = 0;
  /** Wakeups the producer side requested (what would wake a poll()ing consumer). */
  wakeups = 0;

  constructor(registry: MapRegistry, attr: MapAttr) {
    super(registry, attr, false);
    const size = this.maxEntries;
    this.mask = size - 1;
    this.base = this.allocBlock(RINGBUF_DATA_PGOFF * RINGBUF_PAGE + 2 * size, RINGBUF_PAGE);
    this.data = this.base + RINGBUF_DATA_PGOFF * RINGBUF_PAGE;
    this.mapValues(this.data, 2 * size, PERM_RW);
    registry.ringbufsByBase.set(this.base, this);
    this.syncPositions();
  }

  protected override release(): void {
    this.registry.ringbufsByBase.delete(this.base);
  }

  private syncPositions(): void {
    const dv = this.space.dv;
    // unsigned long positions, written as two u32 halves (exact below 2^53).
    const c = this.consumerPos;
    const p = this.producerPos;
    dv.setUint32(this.base + RINGBUF_PAGE, c >>> 0, true);
    dv.setUint32(this.base + RINGBUF_PAGE + 4, Math.floor(c / 4294967296), true);
    dv.setUint32(this.base + 2 * RINGBUF_PAGE, p >>> 0, true);
    dv.setUint32(this.base + 2 * RINGBUF_PAGE + 4, Math.floor(p / 4294967296), true);
  }

  /** bpf_ringbuf_reserve core: address of the sample, or 0 when it does not fit. */
  reserve(size: number, flags: number): number {
    if (flags !== 0) {
      this.why = 'flags must be 0';
      return 0;
    }
    if (size > RINGBUF_MAX_RECORD_SZ || size < 0) {
      this.why = 'record too large';
      return 0;
    }
    const len = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    if (len > this.mask + 1) {
      this.why = 'record larger than the ring';
      return 0;
    }
    const dv = this.space.dv;
    let pend = this.pendingPos;
    const prod = this.producerPos;
    // Advance past records that are no longer busy (committed or discarded).
    while (pend < prod) {
      const hdrLen = dv.getUint32(this.data + (pend & this.mask), true);
      if (hdrLen & BPF_RINGBUF_BUSY_BIT) break;
      pend += ((hdrLen & ~BPF_RINGBUF_DISCARD_BIT) + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    }
    this.pendingPos = pend;
    const newProd = prod + len;
    if (newProd - this.consumerPos > this.mask || newProd - pend > this.mask) {
      this.why = 'ring buffer full';
      return 0;
    }
    const off = prod & this.mask;
    const hdr = this.data + off;
    dv.setUint32(hdr, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    dv.setUint32(hdr + 4, (RINGBUF_DATA_PGOFF * RINGBUF_PAGE + off) >>> 12, true);
    this.producerPos = newProd;
    this.syncPositions();
    return hdr + BPF_RINGBUF_HDR_SZ;
  }

  /** bpf_ringbuf_submit / bpf_ringbuf_discard on a sample of this ring. */
  commit(sample: number, flags: number, discard: boolean): void {
    const dv = this.space.dv;
    const hdr = sample - BPF_RINGBUF_HDR_SZ;
    let len = (dv.getUint32(hdr, true) ^ BPF_RINGBUF_BUSY_BIT) >>> 0;
    if (discard) len = (len | BPF_RINGBUF_DISCARD_BIT) >>> 0;
    dv.setUint32(hdr, len, true);
    const recPos = hdr - this.data;
    if (flags & BPF_RB_FORCE_WAKEUP) this.wakeups++;
    else if ((this.consumerPos & this.mask) === recPos && !(flags & BPF_RB_NO_WAKEUP)) this.wakeups++;
  }

  /** bpf_ringbuf_output: copy `size` bytes at dataAddr into a new record; 0 or -errno. */
  output(dataAddr: number, size: number, flags: number): number {
    if (flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) {
      this.why = 'unknown flags';
      return E_INVAL;
    }
    const rec = this.reserve(size, 0);
    if (rec === 0) return E_AGAIN;
    this.space.u8.copyWithin(rec, dataAddr, dataAddr + size);
    this.commit(rec, flags, false);
    return 0;
  }

  /** bpf_ringbuf_query. */
  query(flags: number): number {
    switch (flags) {
      case BPF_RB_AVAIL_DATA:
        return this.producerPos - this.consumerPos;
      case BPF_RB_RING_SIZE:
        return this.mask + 1;
      case BPF_RB_CONS_POS:
        return this.consumerPos;
      case BPF_RB_PROD_POS:
        return this.producerPos;
      default:
        return 0;
    }
  }

  /**
   * Consume committed records in order, as libbpf's ring_buffer__consume: stops at a record still busy;
   * discarded records are skipped. A callback returning a negative number stops after that record.
   * Returns the number of samples handed to `cb`.
   */
  consume(cb: (sample: Uint8Array) => number | void): number {
    const dv = this.space.dv;
    let n = 0;
    while (this.consumerPos < this.producerPos) {
      const hdr = this.data + (this.consumerPos & this.mask);
      const len = dv.getUint32(hdr, true);
      if (len & BPF_RINGBUF_BUSY_BIT) break;
      const sampleLen = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      this.consumerPos += (sampleLen + BPF_RINGBUF_HDR_SZ + 7) & ~7;
      if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
        const r = cb(this.space.read(hdr + BPF_RINGBUF_HDR_SZ, sampleLen));
        n++;
        if (typeof r === 'number' && r < 0) break;
      }
    }
    this.syncPositions();
    return n;
  }

  /** Every committed sample, consumed. */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.consume((s) => {
      out.push(s);
    });
    return out;
  }

  // Ring buffers have no elements: every element command is ENOTSUPP.
  override lookup(_k: number): number {
    this.why = 'ring buffers have no elements';
    return 0;
  }

  protected override sysLookup(_k: number): number {
    this.why = 'ring buffers have no elements';
    return E_NOTSUPP;
  }

  protected override sysUpdate(_k: number, _v: number, _f: number): number {
    this.why = 'ring buffers have no elements';
    return E_NOTSUPP;
  }

  protected override sysGetNextKey(_k: number, _n: number): number {
    this.why = 'ring buffers have no elements';
    return E_NOTSUPP;
  }
}

/**
 * Find the ring a sample pointer belongs to (bpf_ringbuf_restore_from_rec): the header's pg_off gives the
 * page distance to the ring's block. Returns null when `sample` is not a live record of any ring.
 */
export function ringbufFromSample(registry: MapRegistry, sample: number): RingBufMap | null {
  const hdr = sample - BPF_RINGBUF_HDR_SZ;
  if (hdr < 0 || hdr + 8 > registry.space.u8.length) return null;
  const pgOff = registry.space.dv.getUint32(hdr + 4, true);
  const base = (hdr & ~(RINGBUF_PAGE - 1)) - pgOff * RINGBUF_PAGE;
  const rb = registry.ringbufsByBase.get(base);
  return rb instanceof RingBufMap ? rb : null;
}

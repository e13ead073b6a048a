// Fault-tolerant reads of the address space for helpers that take "unsafe" pointers (probe_read, %s in
// trace_printk): how far from an address memory stays readable, and reading C strings and small blobs.

import { PERM_READ, type AddressSpace } from '../vm/memory.js';

export const E_FAULT_NEG = -14;

/**
 * One past the last readable byte of the region containing `addr` (regions may be adjacent: the walk
 * continues into a region that starts exactly where the previous ends), or `addr` when it is unreadable.
 */
export function readableEnd(space: AddressSpace, addr: number): number {
  let end = addr;
  for (let guard = 0; guard < 64; guard++) {
    let next = end;
    const n = space.regCount;
    for (let i = 0; i < n; i++) {
      if ((space.regPerm[i] & PERM_READ) !== 0 && end >= space.regStart[i] && end < space.regEnd[i] && space.regEnd[i] > next) {
        next = space.regEnd[i];
      }
    }
    if (next === end) return end;
    end = next;
  }
  return end;
}

/** Read a NUL-terminated string of at most `max` bytes at `addr`; null when it faults before the NUL. */
export function readCString(space: AddressSpace, addr: number, max: number): Uint8Array | null {
  if (addr <= 0) return null;
  const end = readableEnd(space, addr);
  const u8 = space.u8;
  for (let i = 0; i < max; i++) {
    if (addr + i >= end) return null;
    if (u8[addr + i] === 0) return u8.subarray(addr, addr + i);
  }
  return u8.subarray(addr, addr + max);
}

/** `len` readable bytes at `addr`, or null. */
export function readBytes(space: AddressSpace, addr: number, len: number): Uint8Array | null {
  if (addr <= 0 || readableEnd(space, addr) < addr + len) return null;
  return space.u8.subarray(addr, addr + len);
}

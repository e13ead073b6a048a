// Bob Jenkins' lookup3 hash as the kernel's include/linux/jhash.h computes it. Hash maps pick their bucket
// with it (hash & (n_buckets - 1)), exactly like kernel/bpf/hashtab.c, so that with a zero seed
// (BPF_F_ZERO_SEED in the kernel; always, here) the buckets - and so get_next_key order - match the kernel's.
// Reads the key bytes in place from the address space: no allocation.

export const JHASH_INITVAL = 0xdeadbeef;

const rol32 = (w: number, s: number): number => (w << s) | (w >>> (32 - s));

/** jhash(key, length, initval) over `u8[addr .. addr+length)`, as an unsigned 32-bit number. */
export function jhash(u8: Uint8Array, addr: number, length: number, initval: number): number {
  return jhash32(u8, addr, length, initval) >>> 0;
}

/**
 * jhash() as a signed 32-bit number: the form hot paths use, because a uint32 of 2^31 or more does not fit a
 * small integer and returning one from a call allocates a heap number (per lookup, per packet).
 */
export function jhash32(u8: Uint8Array, addr: number, length: number, initval: number): number {
  let a = (JHASH_INITVAL + length + initval) | 0;
  let b = a;
  let c = a;
  let k = addr;
  while (length > 12) {
    a = (a + (u8[k] | (u8[k + 1] << 8) | (u8[k + 2] << 16) | (u8[k + 3] << 24))) | 0;
    b = (b + (u8[k + 4] | (u8[k + 5] << 8) | (u8[k + 6] << 16) | (u8[k + 7] << 24))) | 0;
    c = (c + (u8[k + 8] | (u8[k + 9] << 8) | (u8[k + 10] << 16) | (u8[k + 11] << 24))) | 0;
    // __jhash_mix
    a = (a - c) | 0; a ^= rol32(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol32(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 4); b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c | 0;
  // The tail: bytes 0..3 into a, 4..7 into b, 8..11 into c, little-endian within each word.
  for (let i = length - 1; i >= 0; i--) {
    const v = u8[k + i] << ((i & 3) * 8);
    if (i >= 8) c = (c + v) | 0;
    else if (i >= 4) b = (b + v) | 0;
    else a = (a + v) | 0;
  }
  // __jhash_final
  c ^= b; c = (c - rol32(b, 14)) | 0;
  a ^= c; a = (a - rol32(c, 11)) | 0;
  b ^= a; b = (b - rol32(a, 25)) | 0;
  c ^= b; c = (c - rol32(b, 16)) | 0;
  a ^= c; a = (a - rol32(c, 4)) | 0;
  b ^= a; b = (b - rol32(a, 14)) | 0;
  c ^= b; c = (c - rol32(b, 24)) | 0;
  return c;
}

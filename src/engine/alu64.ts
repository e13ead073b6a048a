// Exact 64-bit integer arithmetic over two signed 32-bit halves (lo, hi), for the interpreter's hot path:
// no BigInt, no allocation, and no double that could round. Results come back through the module-level
// scratch `res` (res[0] = lo, res[1] = hi; the *divmod* functions also leave the remainder in res[2..3]),
// so a caller reads them right after the call and before calling again.
//
// Division follows RFC 9669: division by zero gives 0, modulo by zero leaves the dividend, and signed
// division truncates toward zero (INT64_MIN / -1 = INT64_MIN, INT64_MIN % -1 = 0) with the remainder taking
// the dividend's sign.

/** Scratch result: [lo, hi, remainderLo, remainderHi]. */
export const res = new Int32Array(4);

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product of two unsigned 32-bit numbers (as a signed int32). */
function mulhu32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16;
  const b0 = b & 0xffff, b1 = b >>> 16;
  // Each partial product is < 2^32, so doubles hold them exactly; carries are summed below 2^34.
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536)) | 0;
}

/** res = low 64 bits of a * b (signedness does not matter for the low half). */
export function mul64(alo: number, ahi: number, blo: number, bhi: number): void {
  res[0] = Math.imul(alo, blo);
  res[1] = (mulhu32(alo, blo) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

/** Count of leading zero bits of the unsigned 64-bit value. */
function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

/**
 * Unsigned 64-bit division: res[0..1] = a / b, res[2..3] = a % b. b = 0 gives quotient 0 and remainder a
 * (the BPF rule for both). Exact for every operand.
 */
export function udivmod64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (bhi === 0) {
    const b = blo >>> 0;
    if (b === 0) { res[0] = 0; res[1] = 0; res[2] = alo; res[3] = ahi; return; }
    const ah = ahi >>> 0, al = alo >>> 0;
    if (ah < 0x200000) {
      // Dividend below 2^53: one double division is exact (the rounding error of a/b is below 1/b, so the
      // floor cannot cross an integer), and q * b <= a stays exact too.
      const a = ah * TWO32 + al;
      const q = Math.floor(a / b);
      const r = a - q * b;
      res[0] = q | 0; res[1] = Math.floor(q / TWO32) | 0; res[2] = r | 0; res[3] = 0;
      return;
    }
    // Schoolbook division in base 2^16: each partial dividend r*2^16 + digit stays below 2^48.
    let r = 0;
    let x = r * 65536 + (ah >>> 16);
    const q3 = Math.floor(x / b); r = x - q3 * b;
    x = r * 65536 + (ah & 0xffff);
    const q2 = Math.floor(x / b); r = x - q2 * b;
    x = r * 65536 + (al >>> 16);
    const q1 = Math.floor(x / b); r = x - q1 * b;
    x = r * 65536 + (al & 0xffff);
    const q0 = Math.floor(x / b); r = x - q0 * b;
    res[0] = (q1 << 16) | q0; res[1] = (q3 << 16) | q2; res[2] = r | 0; res[3] = 0;
    return;
  }
  // Divisor >= 2^32: the quotient fits in 32 bits. Shift-and-subtract, at most 32 rounds.
  let rlo = alo, rhi = ahi;
  if ((ahi >>> 0) < (bhi >>> 0) || (ahi === bhi && (alo >>> 0) < (blo >>> 0))) {
    res[0] = 0; res[1] = 0; res[2] = alo; res[3] = ahi; return;
  }
  const shift = clz64(blo, bhi) - clz64(alo, ahi); // 0..31
  let dlo: number, dhi: number; // divisor << shift
  if (shift === 0) { dlo = blo; dhi = bhi; } else { dhi = (bhi << shift) | (blo >>> (32 - shift)); dlo = blo << shift; }
  let q = 0;
  for (let i = shift; i >= 0; i--) {
    // if r >= d: r -= d, set quotient bit i
    if ((rhi >>> 0) > (dhi >>> 0) || (rhi === dhi && (rlo >>> 0) >= (dlo >>> 0))) {
      const nlo = (rlo - dlo) | 0;
      rhi = (rhi - dhi - ((rlo >>> 0) < (dlo >>> 0) ? 1 : 0)) | 0;
      rlo = nlo;
      q |= 1 << i;
    }
    dlo = (dlo >>> 1) | (dhi << 31);
    dhi = dhi >>> 1;
  }
  res[0] = q; res[1] = 0; res[2] = rlo; res[3] = rhi;
}

/** res = a / b unsigned (0 when b = 0). */
export function udiv64(alo: number, ahi: number, blo: number, bhi: number): void {
  udivmod64(alo, ahi, blo, bhi);
}

/** res = a % b unsigned (a when b = 0). */
export function urem64(alo: number, ahi: number, blo: number, bhi: number): void {
  udivmod64(alo, ahi, blo, bhi);
  res[0] = res[2]; res[1] = res[3];
}

/**
 * Signed 64-bit division truncating toward zero: res[0..1] = quotient, res[2..3] = remainder (sign of the
 * dividend). b = 0 gives 0 and a; INT64_MIN / -1 wraps to INT64_MIN with remainder 0.
 */
export function sdivmod64(alo: number, ahi: number, blo: number, bhi: number): void {
  const an = ahi < 0, bn = bhi < 0;
  // |x| as an unsigned 64-bit value (|INT64_MIN| = 2^63 has the same bits, read unsigned).
  let ualo = alo, uahi = ahi, ublo = blo, ubhi = bhi;
  if (an) { ualo = (-alo) | 0; uahi = (~ahi + (alo === 0 ? 1 : 0)) | 0; }
  if (bn) { ublo = (-blo) | 0; ubhi = (~bhi + (blo === 0 ? 1 : 0)) | 0; }
  udivmod64(ualo, uahi, ublo, ubhi);
  if (an !== bn) { const lo = res[0]; res[0] = (-lo) | 0; res[1] = (~res[1] + (lo === 0 ? 1 : 0)) | 0; }
  if (an) { const lo = res[2]; res[2] = (-lo) | 0; res[3] = (~res[3] + (lo === 0 ? 1 : 0)) | 0; }
}

/** res = a / b signed (0 when b = 0). */
export function sdiv64(alo: number, ahi: number, blo: number, bhi: number): void {
  if ((blo | bhi) === 0) { res[0] = 0; res[1] = 0; return; }
  sdivmod64(alo, ahi, blo, bhi);
}

/** res = a % b signed, sign of the dividend (a when b = 0). */
export function srem64(alo: number, ahi: number, blo: number, bhi: number): void {
  if ((blo | bhi) === 0) { res[0] = alo; res[1] = ahi; return; }
  sdivmod64(alo, ahi, blo, bhi);
  res[0] = res[2]; res[1] = res[3];
}

/** res = a << (n & 63). */
export function lsh64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) { res[0] = lo; res[1] = hi; } else if (n < 32) { res[1] = (hi << n) | (lo >>> (32 - n)); res[0] = lo << n; } else { res[1] = lo << (n - 32); res[0] = 0; }
}

/** res = a >>> (n & 63) (logical). */
export function rsh64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) { res[0] = lo; res[1] = hi; } else if (n < 32) { res[0] = (lo >>> n) | (hi << (32 - n)); res[1] = hi >>> n; } else { res[0] = hi >>> (n - 32); res[1] = 0; }
}

/** res = a >> (n & 63) (arithmetic). */
export function arsh64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) { res[0] = lo; res[1] = hi; } else if (n < 32) { res[0] = (lo >>> n) | (hi << (32 - n)); res[1] = hi >> n; } else { res[0] = hi >> (n - 32); res[1] = hi >> 31; }
}

/** Unsigned 32-bit division with the BPF rules (0 when b = 0), as an int32. */
export function udiv32(a: number, b: number): number {
  const d = b >>> 0;
  return d === 0 ? 0 : Math.floor((a >>> 0) / d) | 0;
}

/** Unsigned 32-bit modulo (a when b = 0), as an int32. */
export function urem32(a: number, b: number): number {
  const d = b >>> 0;
  return d === 0 ? a | 0 : ((a >>> 0) % d) | 0;
}

/** Signed 32-bit division truncating toward zero (0 when b = 0, INT32_MIN / -1 = INT32_MIN). */
export function sdiv32(a: number, b: number): number {
  return (b | 0) === 0 ? 0 : Math.trunc((a | 0) / (b | 0)) | 0;
}

/** Signed 32-bit modulo with the dividend's sign (a when b = 0, INT32_MIN % -1 = 0). */
export function srem32(a: number, b: number): number {
  return (b | 0) === 0 ? a | 0 : ((a | 0) % (b | 0)) | 0;
}

/** Byte-reverse a 32-bit value. */
export function bswap32(x: number): number {
  return ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24)) | 0;
}

/** Byte-reverse the low 16 bits, zero-extended. */
export function bswap16(x: number): number {
  return ((x >>> 8) & 0xff) | ((x & 0xff) << 8);
}

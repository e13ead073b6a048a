// Bounds arithmetic for scalar values and variable pointer offsets (the kernel's umin/umax/smin/smax
// tracking, without tnums): every operation returns a conservative range of what the instruction can
// produce. Values are BigInts because 64-bit bounds must be exact; the verifier runs once per load, not per
// packet, so this is not a hot path.

export const U64_MAX = (1n << 64n) - 1n;
export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const U32_MAX = (1n << 32n) - 1n;
export const S32_MIN = -(1n << 31n);
export const S32_MAX = (1n << 31n) - 1n;

/** A range of 64-bit values, seen both as unsigned and as signed. Both views always hold. */
export interface Bounds {
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
}

export const unknownBounds = (): Bounds => ({ umin: 0n, umax: U64_MAX, smin: S64_MIN, smax: S64_MAX });

export function constBounds(v: bigint): Bounds {
  const u = BigInt.asUintN(64, v);
  const s = BigInt.asIntN(64, v);
  return { umin: u, umax: u, smin: s, smax: s };
}

/** Values fitting in `bytes` bytes, zero-extended (what a narrow load or a 32-bit ALU result gives). */
export function sizedBounds(bytes: number): Bounds {
  if (bytes >= 8) return unknownBounds();
  const max = (1n << BigInt(bytes * 8)) - 1n;
  return { umin: 0n, umax: max, smin: 0n, smax: max };
}

export const isConst = (b: Bounds): boolean => b.umin === b.umax;

/** Make the unsigned and signed views agree (the kernel's __reg_bound_offset / reg_bounds_sync). */
export function sync(b: Bounds): Bounds {
  let { umin, umax, smin, smax } = b;
  // unsigned range that does not cross the sign boundary tells the signed range
  if (umax <= S64_MAX || umin > S64_MAX) {
    const lo = BigInt.asIntN(64, umin), hi = BigInt.asIntN(64, umax);
    if (lo > smin) smin = lo;
    if (hi < smax) smax = hi;
  }
  // signed range of one sign tells the unsigned range
  if (smin >= 0n || smax < 0n) {
    const lo = BigInt.asUintN(64, smin), hi = BigInt.asUintN(64, smax);
    if (lo > umin) umin = lo;
    if (hi < umax) umax = hi;
  }
  if (umin > umax || smin > smax) return unknownBounds(); // contradiction: dead path, stay conservative
  return { umin, umax, smin, smax };
}

/** Bounds from a signed range alone. */
function fromSigned(smin: bigint, smax: bigint): Bounds {
  if (smin < S64_MIN || smax > S64_MAX) return unknownBounds();
  return sync({ umin: 0n, umax: U64_MAX, smin, smax });
}
/** Bounds from an unsigned range alone. */
function fromUnsigned(umin: bigint, umax: bigint): Bounds {
  if (umin < 0n || umax > U64_MAX) return unknownBounds();
  return sync({ umin, umax, smin: S64_MIN, smax: S64_MAX });
}

/** Intersect unsigned and signed results (both must be valid over-approximations). */
function both(u: Bounds, s: Bounds): Bounds {
  return sync({ umin: u.umin > s.umin ? u.umin : s.umin, umax: u.umax < s.umax ? u.umax : s.umax,
    smin: u.smin > s.smin ? u.smin : s.smin, smax: u.smax < s.smax ? u.smax : s.smax });
}

/** The low 32 bits of a 64-bit range, as a zero-extended range. */
export function lower32(b: Bounds): Bounds {
  if (isConst(b)) return constBounds(b.umin & U32_MAX);
  if (b.umax <= U32_MAX) return { ...b };
  // the low half of a range that stays inside one 4 GiB block is the range of the low halves
  if (b.umin >> 32n === b.umax >> 32n) return fromUnsigned(b.umin & U32_MAX, b.umax & U32_MAX);
  return sizedBounds(4);
}

/** Signed 32-bit view of a zero-extended 32-bit range. */
function s32(b: Bounds): [bigint, bigint] {
  if (b.umax <= S32_MAX) return [b.umin, b.umax];
  if (b.umin > S32_MAX) return [b.umin - (1n << 32n), b.umax - (1n << 32n)];
  return [S32_MIN, S32_MAX];
}

const bitMask = (v: bigint): bigint => { let m = 0n; while (m < v) m = (m << 1n) | 1n; return m; };

/**
 * dst = dst OP src for an ALU operation (BPF_ADD ... BPF_ARSH) at width 64 or 32 (32-bit results are
 * zero-extended). `signed` selects sdiv/smod. Both operands are scalars.
 */
export function aluBounds(op: number, a: Bounds, b: Bounds, is64: boolean, signed: boolean): Bounds {
  if (!is64) {
    const a32 = lower32(a), b32 = lower32(b);
    if (isConst(a32) && isConst(b32)) return constBounds(BigInt.asUintN(32, constOp32(op, a32.umin, b32.umin, signed)));
    const r = rangeOp(op, a32, b32, 32, signed);
    return r.umax <= U32_MAX && r.umin >= 0n ? r : sizedBounds(4);
  }
  if (isConst(a) && isConst(b)) return constBounds(constOp64(op, a.umin, b.umin, signed));
  return rangeOp(op, a, b, 64, signed);
}

// Operation codes (high nibble), duplicated here to keep this module free of imports.
const ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70,
  MOD = 0x90, XOR = 0xa0, ARSH = 0xc0;

function constOp64(op: number, x: bigint, y: bigint, signed: boolean): bigint {
  const sx = BigInt.asIntN(64, x), sy = BigInt.asIntN(64, y);
  switch (op) {
    case ADD: return x + y;
    case SUB: return x - y;
    case MUL: return x * y;
    case DIV: if (y === 0n) return 0n; return signed ? (sy === -1n ? -sx : sx / sy) : x / y;
    case MOD: if (y === 0n) return x; return signed ? (sy === -1n ? 0n : sx % sy) : x % y;
    case OR: return x | y;
    case AND: return x & y;
    case XOR: return x ^ y;
    case LSH: return x << (y & 63n);
    case RSH: return x >> (y & 63n);
    case ARSH: return sx >> (y & 63n);
  }
  return 0n;
}

function constOp32(op: number, x: bigint, y: bigint, signed: boolean): bigint {
  const sx = BigInt.asIntN(32, x), sy = BigInt.asIntN(32, y);
  switch (op) {
    case DIV: if (y === 0n) return 0n; return signed ? (sy === -1n ? -sx : sx / sy) : x / y;
    case MOD: if (y === 0n) return x; return signed ? (sy === -1n ? 0n : sx % sy) : x % y;
    case LSH: return x << (y & 31n);
    case RSH: return x >> (y & 31n);
    case ARSH: return sx >> (y & 31n);
  }
  return constOp64(op, x, y, signed);
}

function rangeOp(op: number, a: Bounds, b: Bounds, width: 32 | 64, signed: boolean): Bounds {
  const UMAX = width === 64 ? U64_MAX : U32_MAX;
  const unknown = width === 64 ? unknownBounds() : sizedBounds(4);
  const [asmin, asmax] = width === 64 ? [a.smin, a.smax] : s32(a);
  const [bsmin, bsmax] = width === 64 ? [b.smin, b.smax] : s32(b);
  const SMIN = width === 64 ? S64_MIN : S32_MIN, SMAX = width === 64 ? S64_MAX : S32_MAX;
  const fitsU = (lo: bigint, hi: bigint): boolean => lo >= 0n && hi <= UMAX;
  const fitsS = (lo: bigint, hi: bigint): boolean => lo >= SMIN && hi <= SMAX;
  const res = (ulo: bigint | null, uhi: bigint | null, slo: bigint | null, shi: bigint | null): Bounds => {
    const u = ulo !== null && uhi !== null && fitsU(ulo, uhi) ? fromUnsigned(ulo, uhi) : null;
    let s: Bounds | null = null;
    if (slo !== null && shi !== null && fitsS(slo, shi)) {
      // 32-bit signed results are stored zero-extended: only usable when they do not cross zero
      if (width === 64) s = fromSigned(slo, shi);
      else if (slo >= 0n) s = fromUnsigned(slo, shi);
      else if (shi < 0n) s = fromUnsigned(slo + (1n << 32n), shi + (1n << 32n));
    }
    if (u && s) return both(u, s);
    return u ?? s ?? unknown;
  };
  switch (op) {
    case ADD: return res(a.umin + b.umin, a.umax + b.umax, asmin + bsmin, asmax + bsmax);
    case SUB: return res(a.umin >= b.umax ? a.umin - b.umax : null, a.umin >= b.umax ? a.umax - b.umin : null,
      asmin - bsmax, asmax - bsmin);
    case MUL: return res(a.umin * b.umin, a.umax * b.umax, null, null);
    case DIV:
      if (signed) return unknown;
      if (b.umin === 0n) return res(0n, a.umax, null, null);
      return res(a.umin / b.umax, a.umax / b.umin, null, null);
    case MOD:
      if (signed) return unknown;
      if (b.umin === 0n) return res(0n, a.umax, null, null);
      return res(0n, a.umax < b.umax - 1n ? a.umax : b.umax - 1n, null, null);
    case AND: return res(0n, a.umax < b.umax ? a.umax : b.umax, null, null);
    case OR: {
      const lo = a.umin > b.umin ? a.umin : b.umin;
      return res(lo, bitMask(a.umax > b.umax ? a.umax : b.umax), null, null);
    }
    case XOR: return res(0n, bitMask(a.umax > b.umax ? a.umax : b.umax), null, null);
    case LSH: {
      if (!isConst(b)) return unknown;
      const k = b.umin & BigInt(width - 1);
      return res(a.umin << k, a.umax << k, null, null);
    }
    case RSH: {
      if (!isConst(b)) return res(0n, a.umax, null, null);
      const k = b.umin & BigInt(width - 1);
      return res(a.umin >> k, a.umax >> k, null, null);
    }
    case ARSH: {
      if (!isConst(b)) return unknown;
      const k = b.umin & BigInt(width - 1);
      return res(null, null, asmin >> k, asmax >> k);
    }
  }
  return unknown;
}

/** -x */
export function negBounds(a: Bounds, is64: boolean): Bounds {
  if (is64) return isConst(a) ? constBounds(-a.umin) : unknownBounds();
  const a32 = lower32(a);
  return isConst(a32) ? constBounds(BigInt.asUintN(32, -a32.umin)) : sizedBounds(4);
}

/** Byte swap / truncation of BPF_END (to_le at width 16/32 truncates, to_be swaps). */
export function endBounds(a: Bounds, width: number, toBe: boolean, bswap64: boolean): Bounds {
  const bytes = width / 8;
  if (!isConst(a)) {
    if (!toBe && !bswap64 && a.umax < (1n << BigInt(width))) return { ...a };
    return sizedBounds(bytes);
  }
  let v = a.umin & ((1n << BigInt(width)) - 1n);
  if (toBe || bswap64) {
    let r = 0n;
    for (let i = 0; i < bytes; i++) { r = (r << 8n) | (v & 0xffn); v >>= 8n; }
    v = r;
  }
  return constBounds(v);
}

/** Sign-extend the low `bits` bits (movsx, ldsx). */
export function signExtendBounds(a: Bounds, bits: number, is64: boolean): Bounds {
  const half = 1n << BigInt(bits - 1);
  let r: Bounds;
  if (isConst(a)) r = constBounds(BigInt.asIntN(bits, a.umin));
  else if (a.umax < half) r = { ...a };
  else r = fromSigned(-half, half - 1n);
  return is64 ? r : lower32(r);
}

/** Smallest range holding both (for joining states). */
export function hull(a: Bounds, b: Bounds): Bounds {
  return {
    umin: a.umin < b.umin ? a.umin : b.umin, umax: a.umax > b.umax ? a.umax : b.umax,
    smin: a.smin < b.smin ? a.smin : b.smin, smax: a.smax > b.smax ? a.smax : b.smax,
  };
}

/** Is every value of `b` inside `a`? */
export const within = (a: Bounds, b: Bounds): boolean =>
  a.umin <= b.umin && b.umax <= a.umax && a.smin <= b.smin && b.smax <= a.smax;

export const sameBounds = (a: Bounds, b: Bounds): boolean =>
  a.umin === b.umin && a.umax === b.umax && a.smin === b.smin && a.smax === b.smax;

// ---------------------------------------------------------------------------------------------------
// Conditional jumps on scalars: which way a branch can go, and what each side learns.

const JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40, JNE = 0x50, JSGT = 0x60, JSGE = 0x70, JLT = 0xa0,
  JLE = 0xb0, JSLT = 0xc0, JSLE = 0xd0;

/** The comparison that holds on the fall-through side of `op` (JSET has none: -1). */
export function invertJmp(op: number): number {
  switch (op) {
    case JEQ: return JNE; case JNE: return JEQ;
    case JGT: return JLE; case JLE: return JGT;
    case JGE: return JLT; case JLT: return JGE;
    case JSGT: return JSLE; case JSLE: return JSGT;
    case JSGE: return JSLT; case JSLT: return JSGE;
  }
  return -1;
}

/** Views of a comparison operand at a jump's width: [umin, umax, smin, smax]. */
function view(b: Bounds, is64: boolean): Bounds {
  if (is64) return b;
  const l = lower32(b);
  const [smin, smax] = s32(l);
  return { umin: l.umin, umax: l.umax, smin, smax };
}

/** 1: the jump is always taken, 0: never, -1: depends (kernel: is_branch_taken). */
export function branchTaken(op: number, a0: Bounds, b0: Bounds, is64: boolean): number {
  const a = view(a0, is64), b = view(b0, is64);
  switch (op) {
    case JEQ:
      if (isConst(a) && isConst(b)) return a.umin === b.umin ? 1 : 0;
      if (a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin) return 0;
      return -1;
    case JNE: { const r = branchTaken(JEQ, a, b, true); return r < 0 ? r : 1 - r; }
    case JSET:
      if (isConst(a) && isConst(b)) return (a.umin & b.umin) !== 0n ? 1 : 0;
      if (isConst(b) && a.umax < (b.umin & -b.umin)) return 0; // all of a's bits below b's lowest set bit
      return -1;
    case JGT: return a.umin > b.umax ? 1 : a.umax <= b.umin ? 0 : -1;
    case JGE: return a.umin >= b.umax ? 1 : a.umax < b.umin ? 0 : -1;
    case JLT: return a.umax < b.umin ? 1 : a.umin >= b.umax ? 0 : -1;
    case JLE: return a.umax <= b.umin ? 1 : a.umin > b.umax ? 0 : -1;
    case JSGT: return a.smin > b.smax ? 1 : a.smax <= b.smin ? 0 : -1;
    case JSGE: return a.smin >= b.smax ? 1 : a.smax < b.smin ? 0 : -1;
    case JSLT: return a.smax < b.smin ? 1 : a.smin >= b.smax ? 0 : -1;
    case JSLE: return a.smax <= b.smin ? 1 : a.smin > b.smax ? 0 : -1;
  }
  return -1;
}

/**
 * What `a OP b` being true tells about a and b (64-bit values). Returns the refined pair, or null when the
 * condition cannot hold. For 32-bit jumps, refine only when both values are known to fit in 31 bits, where
 * the 32-bit and 64-bit comparisons agree.
 */
export function refineCmp(op: number, a: Bounds, b: Bounds, is64: boolean): [Bounds, Bounds] | null {
  if (!is64 && !(a.umax <= S32_MAX && b.umax <= S32_MAX)) {
    return branchTaken(op, a, b, false) === 0 ? null : [a, b];
  }
  let x = { ...a }, y = { ...b };
  const mx = (p: bigint, q: bigint): bigint => (p > q ? p : q);
  const mn = (p: bigint, q: bigint): bigint => (p < q ? p : q);
  switch (op) {
    case JEQ: {
      const r = { umin: mx(x.umin, y.umin), umax: mn(x.umax, y.umax), smin: mx(x.smin, y.smin), smax: mn(x.smax, y.smax) };
      x = r; y = { ...r }; break;
    }
    case JNE:
      if (isConst(y)) {
        if (x.umin === y.umin) x.umin++; else if (x.umax === y.umin) x.umax--;
        const sv = y.smin;
        if (x.smin === sv) x.smin++; else if (x.smax === sv) x.smax--;
      } else if (isConst(x)) {
        const r = refineCmp(JNE, y, x, true); return r === null ? null : [r[1], r[0]];
      }
      break;
    case JSET: break;
    case JGT: x.umin = mx(x.umin, y.umin + 1n); y.umax = mn(y.umax, x.umax - 1n); break;
    case JGE: x.umin = mx(x.umin, y.umin); y.umax = mn(y.umax, x.umax); break;
    case JLT: x.umax = mn(x.umax, y.umax - 1n); y.umin = mx(y.umin, x.umin + 1n); break;
    case JLE: x.umax = mn(x.umax, y.umax); y.umin = mx(y.umin, x.umin); break;
    case JSGT: x.smin = mx(x.smin, y.smin + 1n); y.smax = mn(y.smax, x.smax - 1n); break;
    case JSGE: x.smin = mx(x.smin, y.smin); y.smax = mn(y.smax, x.smax); break;
    case JSLT: x.smax = mn(x.smax, y.smax - 1n); y.smin = mx(y.smin, x.smin + 1n); break;
    case JSLE: x.smax = mn(x.smax, y.smax); y.smin = mx(y.smin, x.smin); break;
  }
  if (x.umin > x.umax || x.smin > x.smax || y.umin > y.umax || y.smin > y.smax) return null;
  const sx = syncOrNull(x), sy = syncOrNull(y);
  if (sx === null || sy === null) return null;
  return [sx, sy];
}

function syncOrNull(b: Bounds): Bounds | null {
  const r = sync(b);
  // sync() answers "unknown" on a contradiction; detect it by checking r still lies inside b
  if (!within(b, r)) return null;
  return r;
}

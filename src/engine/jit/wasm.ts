// A small WebAssembly binary encoder, just what the eBPF JIT needs: a growable byte buffer with LEB128,
// the opcode numbers it emits, and a module builder (types, imports of functions and one memory, functions
// with locals, a funcref table (defined or imported), exports). No dependencies; the JIT's output goes straight to
// `new WebAssembly.Module(bytes)`.

/** Value types. */
export const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c;
/** Block type of a block/loop/if without results. */
export const VOID = 0x40;

/** Opcodes (WebAssembly core 2.0 plus the tail-call proposal). */
export const Op = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, br_table: 0x0e, return: 0x0f, call: 0x10, call_indirect: 0x11,
  return_call: 0x12, return_call_indirect: 0x13, drop: 0x1a, select: 0x1b,
  memory_size: 0x3f, local_get: 0x20, local_set: 0x21, local_tee: 0x22, global_get: 0x23, global_set: 0x24,
  i32_load: 0x28, i64_load: 0x29, i32_load8_u: 0x2d, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a, i32_store16: 0x3b,
  i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b,
  i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55, i64_gt_u: 0x56,
  i64_le_s: 0x57, i64_le_u: 0x58, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70,
  i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76, i32_rotl: 0x77, i32_rotr: 0x78,
  i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80, i64_rem_s: 0x81, i64_rem_u: 0x82,
  i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85, i64_shl: 0x86, i64_shr_s: 0x87, i64_shr_u: 0x88, i64_rotl: 0x89, i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7, i64_trunc_f64_s: 0xb0, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0, i32_extend16_s: 0xc1, i64_extend8_s: 0xc2, i64_extend16_s: 0xc3, i64_extend32_s: 0xc4,
} as const;

/** A growable byte buffer with the encodings wasm uses. */
export class Bytes {
  buf: Uint8Array<ArrayBuffer>;
  len = 0;

  constructor(cap = 256) {
    this.buf = new Uint8Array(cap);
  }

  private grow(need: number): void {
    let cap = Math.max(64, this.buf.length * 2);
    while (cap < this.len + need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  byte(b: number): this {
    if (this.len + 1 > this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    if (this.len + bs.length > this.buf.length) this.grow(bs.length);
    this.buf.set(bs, this.len);
    this.len += bs.length;
    return this;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  u32(v: number): this {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of an int32. */
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { this.byte(b); return this; }
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of a 64-bit value given as two int32 halves (no BigInt). */
  s64(lo: number, hi: number): this {
    if (hi === lo >> 31) return this.s32(lo); // the value fits in 32 bits signed
    lo >>>= 0; hi |= 0;
    for (;;) {
      const b = lo & 0x7f;
      // arithmetic shift right by 7 of the 64-bit pair
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>= 7;
      const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === 0xffffffff && (b & 0x40) !== 0);
      if (done) { this.byte(b); return this; }
      this.byte(b | 0x80);
    }
  }

  str(s: string): this {
    const u = new TextEncoder().encode(s);
    this.u32(u.length);
    return this.bytes(u);
  }

  /** Append another buffer prefixed by its length (section and function bodies). */
  sized(b: Bytes): this {
    this.u32(b.len);
    return this.bytes(b.buf.subarray(0, b.len));
  }

  result(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.len);
  }
}

/** Opcode helpers on a Bytes body (the code of one function). */
export class Code extends Bytes {
  op(o: number): this { return this.byte(o); }
  get(l: number): this { return this.byte(Op.local_get).u32(l); }
  set(l: number): this { return this.byte(Op.local_set).u32(l); }
  tee(l: number): this { return this.byte(Op.local_tee).u32(l); }
  i32(v: number): this { return this.byte(Op.i32_const).s32(v); }
  /** i64.const of the 64-bit value (lo, hi). */
  i64(lo: number, hi = lo >> 31): this { return this.byte(Op.i64_const).s64(lo, hi); }
  call(f: number): this { return this.byte(Op.call).u32(f); }
  /** return_call f (tail-call proposal): the callee replaces this frame. */
  returnCall(f: number): this { return this.byte(Op.return_call).u32(f); }
  /** call_indirect through table 0 with function type `type` (the index is on the stack). */
  callIndirect(type: number): this { return this.byte(Op.call_indirect).u32(type).u32(0); }
  /** return_call_indirect through table 0: a tail call that does not grow the native stack. */
  returnCallIndirect(type: number): this { return this.byte(Op.return_call_indirect).u32(type).u32(0); }
  br(depth: number): this { return this.byte(Op.br).u32(depth); }
  brIf(depth: number): this { return this.byte(Op.br_if).u32(depth); }
  /** Memory access with alignment hint 0 (any alignment) and a constant offset. */
  mem(o: number, offset = 0): this { return this.byte(o).byte(0).u32(offset); }
  block(type = VOID): this { return this.byte(Op.block).byte(type); }
  loop(type = VOID): this { return this.byte(Op.loop).byte(type); }
  if_(type = VOID): this { return this.byte(Op.if).byte(type); }
  end(): this { return this.byte(Op.end); }
}

export interface FuncType { params: number[]; results: number[] }

interface Func { type: number; locals: number[]; body: Code }

/** Builds one module: imported memory "env.mem", imported functions, defined functions, exports, a table. */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly imports: { module: string; name: string; type: number }[] = [];
  private readonly funcs: Func[] = [];
  private readonly exports: { name: string; func: number }[] = [];
  /** Function indices placed in the table (element segment at 0), when non-empty. */
  tableFuncs: number[] = [];
  /** Import table 0 (funcref) as env.tbl instead of defining one: the JIT's shared program table. */
  importTable = false;

  type(params: number[], results: number[]): number {
    const key = params.join(',') + '>' + results.join(',');
    let t = this.typeKeys.get(key);
    if (t === undefined) {
      t = this.types.length;
      this.types.push({ params, results });
      this.typeKeys.set(key, t);
    }
    return t;
  }

  /** Import a function; must be called before any defineFunc(). Returns its function index. */
  importFunc(module: string, name: string, params: number[], results: number[]): number {
    if (this.funcs.length > 0) throw new Error('imports must come before defined functions');
    this.imports.push({ module, name, type: this.type(params, results) });
    return this.imports.length - 1;
  }

  /** Reserve a function index; fill its body with setFunc(). */
  declareFunc(params: number[], results: number[]): number {
    this.funcs.push({ type: this.type(params, results), locals: [], body: new Code(0) });
    return this.imports.length + this.funcs.length - 1;
  }

  setFunc(index: number, locals: number[], body: Code): void {
    const f = this.funcs[index - this.imports.length];
    f.locals = locals;
    f.body = body;
  }

  export(name: string, func: number): void {
    this.exports.push({ name, func });
  }

  /** Encode the module. The memory is imported as env.mem (min 1 page, no maximum declared). */
  encode(): Uint8Array<ArrayBuffer> {
    const out = new Bytes(1024);
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, body: Bytes): void => { out.byte(id).sized(body); };

    const ty = new Bytes();
    ty.u32(this.types.length);
    for (const t of this.types) {
      ty.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
    }
    section(1, ty);

    const im = new Bytes();
    im.u32(this.imports.length + 1 + (this.importTable ? 1 : 0));
    im.str('env').str('mem').byte(0x02).byte(0x00).u32(1);
    if (this.importTable) im.str('env').str('tbl').byte(0x01).byte(0x70).byte(0x00).u32(0);
    for (const i of this.imports) im.str(i.module).str(i.name).byte(0x00).u32(i.type);
    section(2, im);

    const fn = new Bytes();
    fn.u32(this.funcs.length);
    for (const f of this.funcs) fn.u32(f.type);
    section(3, fn);

    if (this.tableFuncs.length > 0 && !this.importTable) {
      const tb = new Bytes();
      tb.u32(1).byte(0x70).byte(0x00).u32(this.tableFuncs.length);
      section(4, tb);
    }

    const ex = new Bytes();
    ex.u32(this.exports.length);
    for (const e of this.exports) ex.str(e.name).byte(0x00).u32(e.func);
    section(7, ex);

    if (this.tableFuncs.length > 0) {
      const el = new Bytes();
      el.u32(1).u32(0).byte(Op.i32_const).s32(0).byte(Op.end).u32(this.tableFuncs.length);
      for (const f of this.tableFuncs) el.u32(f);
      section(9, el);
    }

    const co = new Bytes(1024);
    co.u32(this.funcs.length);
    for (const f of this.funcs) {
      const head = new Bytes(32);
      // locals: run-length groups of equal types
      const groups: [number, number][] = [];
      for (const t of f.locals) {
        if (groups.length > 0 && groups[groups.length - 1][1] === t) groups[groups.length - 1][0]++;
        else groups.push([1, t]);
      }
      head.u32(groups.length);
      for (const [n, t] of groups) head.u32(n).byte(t);
      co.u32(head.len + f.body.len);
      co.bytes(head.buf.subarray(0, head.len));
      co.bytes(f.body.buf.subarray(0, f.body.len));
    }
    section(10, co);
    return out.result();
  }
}

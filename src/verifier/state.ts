// Abstract state of the checker (the kernel's bpf_reg_state / bpf_func_state / bpf_verifier_state):
// register kinds with offsets and bounds, the stack of each call frame byte by byte with spilled registers,
// and the operations on whole states: copy, print (verifier log), "is this state covered by one already
// explored" (states_equal) and the join used to stop path explosion at merge points.

import type { BpfMap } from '../maps/map.js';
import type { RegType } from './types.js';
import { type Bounds, S64_MAX, S64_MIN, U64_MAX, constBounds, hull, isConst, sameBounds, unknownBounds, within } from './scalar.js';

export const MAX_BPF_STACK = 512;
export const STACK_SLOTS = MAX_BPF_STACK / 8;

/** One register. Pointers keep a fixed offset `off` and a variable offset in the bounds `b`. */
export class Reg {
  type: RegType = 'NOT_INIT';
  off = 0;
  /** Scalars: the value. Pointers: the variable part of the offset. */
  b: Bounds = constBounds(0n);
  /** Packet pointers: pointers with the same id share their variable part. *_OR_NULL: null-check group. */
  id = 0;
  /** Packet pointers: bytes known to be inside the packet from the variable part on. */
  range = 0;
  map: BpfMap | null = null;
  /** PTR_TO_MEM: bytes of the memory. */
  memSize = 0;
  /** PTR_TO_MEM from bpf_ringbuf_reserve: reference to release (0: none). */
  refId = 0;
  /** PTR_TO_STACK: which call frame's stack. */
  frameno = 0;
  /** PTR_TO_FUNC: first instruction of the function. */
  subprog = 0;

  clone(): Reg {
    const r = new Reg();
    r.type = this.type; r.off = this.off; r.b = this.b; r.id = this.id; r.range = this.range; r.map = this.map;
    r.memSize = this.memSize; r.refId = this.refId; r.frameno = this.frameno; r.subprog = this.subprog;
    return r;
  }

  static notInit(): Reg { return new Reg(); }
  static scalar(b: Bounds = unknownBounds()): Reg { const r = new Reg(); r.type = 'SCALAR_VALUE'; r.b = b; return r; }
  static ptr(type: RegType, off = 0): Reg { const r = new Reg(); r.type = type; r.off = off; return r; }

  get isPtr(): boolean { return this.type !== 'NOT_INIT' && this.type !== 'SCALAR_VALUE'; }
  get isConst(): boolean { return this.type === 'SCALAR_VALUE' && isConst(this.b); }
  get isNull(): boolean { return this.type === 'SCALAR_VALUE' && this.b.umin === 0n && this.b.umax === 0n; }
}

export const isPkt = (t: RegType): boolean => t === 'PTR_TO_PACKET' || t === 'PTR_TO_PACKET_META';
export const isOrNull = (t: RegType): boolean =>
  t === 'PTR_TO_MAP_VALUE_OR_NULL' || t === 'CONST_PTR_TO_MAP_OR_NULL' || t === 'PTR_TO_MEM_OR_NULL';

/** Byte kinds of the stack (enum bpf_stack_slot_type). */
export const STACK_INVALID = 0, STACK_MISC = 1, STACK_ZERO = 2, STACK_SPILL = 3;

/** One 8-byte stack slot: a kind per byte, and the register spilled into bytes [spillOff, spillOff+spillSize). */
export class Slot {
  readonly kinds = new Uint8Array(8);
  spill: Reg | null = null;
  spillOff = 0;
  spillSize = 0;
  clone(): Slot {
    const s = new Slot();
    s.kinds.set(this.kinds); s.spill = this.spill; s.spillOff = this.spillOff; s.spillSize = this.spillSize;
    return s;
  }
}

/** One call frame (bpf_func_state). */
export class Frame {
  regs: Reg[];
  /** Slot i covers bytes [-8(i+1), -8i) from the frame pointer (only as long as the deepest slot used). */
  stack: (Slot | undefined)[];
  /** Instruction of the call that created this frame (-1 for the main program). */
  callsite: number;
  /** First instruction of the function this frame runs. */
  subprog: number;
  /** Frame of a callback (bpf_loop): on exit, return to the helper's caller. */
  callback: boolean;

  constructor(callsite: number, subprog: number, callback = false) {
    this.regs = new Array(11);
    for (let i = 0; i < 11; i++) this.regs[i] = Reg.notInit();
    this.stack = [];
    this.callsite = callsite;
    this.subprog = subprog;
    this.callback = callback;
  }

  clone(): Frame {
    const f = new Frame(this.callsite, this.subprog, this.callback);
    for (let i = 0; i < 11; i++) f.regs[i] = this.regs[i];
    f.stack = this.stack.slice();
    return f;
  }
}

/** Registers and slots are treated as immutable values once placed, so a state copy is shallow. */
export class VState {
  frames: Frame[];
  pc: number;
  /** Latest checkpoint on this path (for the branch counts of explored states). */
  parent: Checkpoint | null = null;
  /** Unreleased references (ringbuf records): id -> instruction that acquired it. */
  refs: Map<number, number>;

  constructor(frames: Frame[], pc: number, refs = new Map<number, number>()) {
    this.frames = frames;
    this.pc = pc;
    this.refs = refs;
  }

  get cur(): Frame { return this.frames[this.frames.length - 1]; }

  clone(): VState {
    const s = new VState(this.frames.map((f) => f.clone()), this.pc, new Map(this.refs));
    s.parent = this.parent;
    return s;
  }
}

/** An explored state kept at a prune point. `branches`: paths from it still being explored. */
export interface Checkpoint {
  /** null once dropped from the explored list (the node stays for the branch counts of its children). */
  state: VState | null;
  branches: number;
  parent: Checkpoint | null;
}

// ---------------------------------------------------------------------------------------------------
// Log text, in the kernel's style ("R1=ctx() R2=pkt(off=14,r=14) R10=fp0").

const TYPE_STR: Record<RegType, string> = {
  NOT_INIT: '?', SCALAR_VALUE: 'scalar', PTR_TO_CTX: 'ctx', CONST_PTR_TO_MAP: 'map_ptr',
  CONST_PTR_TO_MAP_OR_NULL: 'map_ptr_or_null', PTR_TO_MAP_VALUE: 'map_value', PTR_TO_MAP_VALUE_OR_NULL: 'map_value_or_null',
  PTR_TO_MAP_KEY: 'map_key', PTR_TO_STACK: 'fp', PTR_TO_PACKET_META: 'pkt_meta', PTR_TO_PACKET: 'pkt',
  PTR_TO_PACKET_END: 'pkt_end', PTR_TO_MEM: 'mem', PTR_TO_MEM_OR_NULL: 'mem_or_null', PTR_TO_FUNC: 'func',
};

export function regTypeStr(r: Reg): string {
  if (r.refId !== 0 && (r.type === 'PTR_TO_MEM' || r.type === 'PTR_TO_MEM_OR_NULL')) return `ringbuf_${TYPE_STR[r.type]}`;
  return TYPE_STR[r.type];
}

export function boundsStr(b: Bounds): string {
  if (isConst(b)) return `${BigInt.asIntN(64, b.umin)}`;
  const parts: string[] = [];
  if (b.smin !== S64_MIN) parts.push(`smin=${b.smin}`);
  if (b.smax !== S64_MAX) parts.push(`smax=${b.smax}`);
  if (b.umin !== 0n) parts.push(`umin=${b.umin}`);
  if (b.umax !== U64_MAX) parts.push(`umax=${b.umax}`);
  return parts.join(',');
}

export function regStr(r: Reg): string {
  if (r.type === 'SCALAR_VALUE') return isConst(r.b) ? boundsStr(r.b) : `scalar(${boundsStr(r.b)})`;
  if (r.type === 'PTR_TO_STACK' && isConst(r.b) && r.b.umin === 0n) return `fp${r.off}`;
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refId) parts.push(`ref_obj_id=${r.refId}`);
  if (r.map) parts.push(`map=${r.map.name || `#${r.map.id}`}`, `ks=${r.map.keySize}`, `vs=${r.map.valueSize}`);
  if (r.off) parts.push(`off=${r.off}`);
  if (isPkt(r.type)) parts.push(`r=${r.range}`);
  if (r.memSize) parts.push(`mem_size=${r.memSize}`);
  if (!(isConst(r.b) && r.b.umin === 0n)) parts.push(boundsStr(r.b));
  if (r.type === 'PTR_TO_FUNC') parts.push(`insn=${r.subprog}`);
  return `${regTypeStr(r)}(${parts.join(',')})`;
}

export function stateStr(s: VState): string {
  const out: string[] = [];
  s.frames.forEach((f, fi) => {
    const parts: string[] = [];
    if (s.frames.length > 1) parts.push(`frame${fi}:`);
    f.regs.forEach((r, i) => { if (r.type !== 'NOT_INIT') parts.push(`R${i}=${regStr(r)}`); });
    for (let i = 0; i < f.stack.length; i++) {
      const sl = f.stack[i];
      if (!sl) continue;
      const off = -8 * (i + 1);
      if (sl.spill && sl.spillSize === 8) parts.push(`fp${off}=${regStr(sl.spill)}`);
      else {
        const k = Array.from(sl.kinds, (x, j) => (sl.spill && j >= sl.spillOff && j < sl.spillOff + sl.spillSize ? 'r' : '?mz'[x] ?? '?')).reverse().join('');
        if (k !== '????????') parts.push(`fp${off}=${k}`);
      }
    }
    out.push(parts.join(' '));
  });
  return out.join(' ');
}

// ---------------------------------------------------------------------------------------------------
// Pruning: is `cur` covered by the explored `old` (every continuation of cur also one of old)?

type IdMap = Map<number, number>;

function idsMatch(old: number, cur: number, idmap: IdMap): boolean {
  if (old === 0) return cur === 0;
  const m = idmap.get(old);
  if (m === undefined) { idmap.set(old, cur); return true; }
  return m === cur;
}

export function regSafe(old: Reg, cur: Reg, idmap: IdMap, exact: boolean): boolean {
  if (old.type === 'NOT_INIT') return exact ? cur.type === 'NOT_INIT' : true;
  if (old.type !== cur.type) return false;
  const bOk = exact ? sameBounds(old.b, cur.b) : within(old.b, cur.b);
  switch (old.type) {
    case 'SCALAR_VALUE': return bOk;
    case 'PTR_TO_PACKET': case 'PTR_TO_PACKET_META':
      return old.off === cur.off && bOk && (exact ? old.range === cur.range : cur.range >= old.range) && idsMatch(old.id, cur.id, idmap);
    case 'PTR_TO_PACKET_END': case 'PTR_TO_CTX': return old.off === cur.off;
    case 'PTR_TO_STACK': return old.off === cur.off && old.frameno === cur.frameno && bOk;
    case 'PTR_TO_FUNC': return old.subprog === cur.subprog;
    default:
      return old.map === cur.map && old.off === cur.off && bOk && old.memSize === cur.memSize &&
        idsMatch(old.id, cur.id, idmap) && idsMatch(old.refId, cur.refId, idmap);
  }
}

function slotSafe(old: Slot | undefined, cur: Slot | undefined, idmap: IdMap, exact: boolean): boolean {
  if (old === undefined) {
    if (cur === undefined) return true;
    if (exact) return false;
    return cur.spill === null || cur.spill.type === 'SCALAR_VALUE';
  }
  if (cur === undefined) return !exact && old.spill === null && old.kinds.every((k) => k === STACK_INVALID);
  if (old.spill) {
    if (!cur.spill || cur.spillOff !== old.spillOff || cur.spillSize !== old.spillSize) return false;
    if (!regSafe(old.spill, cur.spill, idmap, exact)) return false;
  } else if (cur.spill && cur.spill.type !== 'SCALAR_VALUE') return false;
  for (let i = 0; i < 8; i++) {
    const o = old.kinds[i], c = cur.kinds[i];
    if (o === c) continue;
    if (exact) return false;
    if (o === STACK_SPILL) return false;
    if (o === STACK_INVALID) continue;
    if (o === STACK_MISC && (c === STACK_ZERO || c === STACK_INVALID || c === STACK_SPILL)) continue;
    return false;
  }
  return true;
}

/** states_equal: `exact` compares for equality (infinite-loop detection), otherwise for coverage. */
export function statesEqual(old: VState, cur: VState, exact: boolean): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  if (old.refs.size !== cur.refs.size) return false;
  const idmap: IdMap = new Map();
  for (let fi = 0; fi < old.frames.length; fi++) {
    const fo = old.frames[fi], fc = cur.frames[fi];
    if (fo.callsite !== fc.callsite || fo.callback !== fc.callback) return false;
    for (let i = 0; i < 10; i++) if (!regSafe(fo.regs[i], fc.regs[i], idmap, exact)) return false;
    const ns = Math.max(fo.stack.length, fc.stack.length);
    for (let i = 0; i < ns; i++) if (!slotSafe(fo.stack[i], fc.stack[i], idmap, exact)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Join: a state covering both, when they differ only in scalar values (null when they differ in pointers).

function joinReg(a: Reg, b: Reg, idmap: IdMap): Reg | null {
  if (a.type === 'NOT_INIT' || b.type === 'NOT_INIT') return Reg.notInit();
  if (a.type === 'SCALAR_VALUE' && b.type === 'SCALAR_VALUE') {
    if (sameBounds(a.b, b.b)) return a;
    return Reg.scalar(hull(a.b, b.b));
  }
  return regSafe(a, b, idmap, true) ? a : null;
}

export function joinStates(a: VState, b: VState): VState | null {
  if (a.frames.length !== b.frames.length || a.refs.size !== b.refs.size) return null;
  const idmap: IdMap = new Map();
  const out = a.clone();
  for (let fi = 0; fi < a.frames.length; fi++) {
    const fa = a.frames[fi], fb = b.frames[fi], fo = out.frames[fi];
    if (fa.callsite !== fb.callsite || fa.callback !== fb.callback) return null;
    for (let i = 0; i < 10; i++) {
      const r = joinReg(fa.regs[i], fb.regs[i], idmap);
      if (r === null) return null;
      fo.regs[i] = r;
    }
    const ns = Math.max(fa.stack.length, fb.stack.length);
    for (let i = 0; i < ns; i++) {
      const sa = fa.stack[i], sb = fb.stack[i];
      if (sa === sb) continue;
      const s = new Slot();
      if (sa?.spill && sb?.spill && sa.spillOff === sb.spillOff && sa.spillSize === sb.spillSize) {
        const r = joinReg(sa.spill, sb.spill, idmap);
        if (r === null) return null;
        if (r.type !== 'NOT_INIT') { s.spill = r; s.spillOff = sa.spillOff; s.spillSize = sa.spillSize; }
      } else if ((sa?.spill && sa.spill.type !== 'SCALAR_VALUE') || (sb?.spill && sb.spill.type !== 'SCALAR_VALUE')) {
        return null;
      }
      for (let j = 0; j < 8; j++) {
        const ka = sa ? sa.kinds[j] : STACK_INVALID, kb = sb ? sb.kinds[j] : STACK_INVALID;
        const inSpill = s.spill !== null && j >= s.spillOff && j < s.spillOff + s.spillSize;
        s.kinds[j] = inSpill ? STACK_SPILL : ka === kb && ka !== STACK_SPILL ? ka : ka === STACK_INVALID && kb === STACK_INVALID ? STACK_INVALID : STACK_MISC;
      }
      fo.stack[i] = s;
    }
  }
  return out;
}

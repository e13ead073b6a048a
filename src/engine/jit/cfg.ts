// The JIT's view of a pre-decoded program: instruction kinds, basic blocks, the wasm functions to emit (one
// per entry point: the program and every bpf-to-bpf call target, each holding the blocks reachable from its
// entry without crossing a call), their register signatures, and per function the reverse postorder,
// dominator tree, loop headers and merge nodes the stackifier (codegen.ts) needs. Works on unvalidated
// programs too: a block reachable from two entries is simply compiled into both functions.
//
// This is also the JIT's IR: `checked[pc]` says whether a memory access needs its run-time region check
// (cleared where the access is known to be safe; the verifier will clear more later).

import type { Program } from '../interp.js';

// Instruction kinds (what the JIT emits for an opcode byte). K_TRAP: no instruction the interpreter runs.
export const K_TRAP = 0, K_ALU = 1, K_JCOND = 2, K_JA = 3, K_CALL = 4, K_CALLX = 5, K_EXIT = 6, K_LDDW = 7,
  K_LDABS = 8, K_LDX = 9, K_ST = 10, K_STX = 11, K_ATOMIC = 12;

/** Kind of every opcode byte, exactly the set the interpreter's switch handles. */
export const KIND = new Uint8Array(256);
{
  const ops = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];
  for (const cls of [0x04, 0x07]) {
    for (const op of ops) { KIND[cls | op] = K_ALU; KIND[cls | op | 0x08] = K_ALU; }
    KIND[cls | 0x80] = K_ALU; // neg
  }
  KIND[0xd4] = K_ALU; KIND[0xdc] = K_ALU; KIND[0xd7] = K_ALU;
  for (const cls of [0x05, 0x06]) {
    for (const op of [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]) { KIND[cls | op] = K_JCOND; KIND[cls | op | 0x08] = K_JCOND; }
  }
  KIND[0x05] = K_JA; KIND[0x06] = K_JA;
  KIND[0x85] = K_CALL; KIND[0x8d] = K_CALLX; KIND[0x95] = K_EXIT;
  KIND[0x18] = K_LDDW;
  for (const c of [0x20, 0x28, 0x30, 0x40, 0x48, 0x50]) KIND[c] = K_LDABS;
  for (const c of [0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91]) KIND[c] = K_LDX;
  for (const c of [0x62, 0x6a, 0x72, 0x7a]) KIND[c] = K_ST;
  for (const c of [0x63, 0x6b, 0x73, 0x7b]) KIND[c] = K_STX;
  KIND[0xc3] = K_ATOMIC; KIND[0xdb] = K_ATOMIC;
}

/** Registers r0..r5 as a bit mask (what a helper call reads and may write). */
export const R0_R5 = 0x3f;
/** Registers r0..r9: what can travel into a subprogram (and what a tail call hands to its target). */
export const R0_R9 = 0x3ff;

const R0_R10 = 0x7ff;

/** Helper id of bpf_tail_call. */
export const TAIL_CALL_ID = 12;

/** Can this instruction be a bpf_tail_call (helper 12, or callx whose register may hold 12)? */
export function mayTailCall(p: Program, pc: number): boolean {
  const c = p.code[pc];
  return (c === 0x85 && p.src[pc] === 0 && p.imm[pc] === TAIL_CALL_ID) || c === 0x8d;
}

/** Size in bytes of a load/store opcode. */
export function sizeOf(code: number): number {
  switch (code & 0x18) { case 0x00: return 4; case 0x08: return 2; case 0x10: return 1; default: return 8; }
}

/** Registers an instruction reads and writes (bit masks over r0..r10); local calls are left to the caller. */
export function regUse(p: Program, pc: number): { read: number; write: number } {
  const c = p.code[pc], d = p.dst[pc], s = p.src[pc];
  const bd = 1 << d, bs = 1 << s;
  switch (KIND[c]) {
    case K_ALU: {
      const op = c & 0xf0, x = (c & 0x08) !== 0 && op !== 0xd0 && op !== 0x80;
      let read = x ? bs : 0;
      if (op !== 0xb0) read |= bd;
      return { read, write: bd };
    }
    case K_JCOND: return { read: bd | ((c & 0x08) !== 0 ? bs : 0), write: 0 };
    // a tail call hands every register to its target, so it reads r0..r9 (the target sees them as they are)
    // (r10 too: the target's frame pointer is the caller's)
    case K_CALL: return s === 0 ? { read: p.imm[pc] === TAIL_CALL_ID ? R0_R10 : R0_R5, write: R0_R5 } : { read: 0, write: 0 };
    case K_CALLX: return { read: R0_R10 | bd, write: R0_R5 };
    case K_EXIT: return { read: 1, write: 0 };
    case K_LDDW: return { read: 0, write: bd };
    case K_LDABS: return { read: (c & 0x40) !== 0 ? bs : 0, write: R0_R5 };
    case K_LDX: return { read: bs, write: bd };
    case K_ST: return { read: bd, write: 0 };
    case K_STX: return { read: bd | bs, write: 0 };
    case K_ATOMIC: {
      const k = p.imm[pc];
      if (k === 0xf1) return { read: bd | bs | 1, write: 1 };
      return { read: bd | bs, write: (k & 1) !== 0 ? bs : 0 };
    }
    default: return { read: 0, write: 0 };
  }
}

/** Slots an instruction occupies. */
export const insnLen = (p: Program, pc: number): number => (p.code[pc] === 0x18 ? 2 : 1);

/** Does the instruction end a budget segment (it has an effect the outside can see, or may fault)? */
function effectful(kind: number): boolean {
  return kind === K_TRAP || kind >= K_LDABS || kind === K_CALL || kind === K_CALLX;
}

/** One wasm function: an entry and the blocks reachable from it, in reverse postorder. */
export interface Func {
  entry: number;
  /** Global block ids, index = reverse-postorder number (0 = entry block). */
  blocks: Int32Array;
  /** Successors per local node, as local indices; -1 = jump out of the program. */
  succ: Int32Array[];
  /** Immediate dominator (local index) of each node. */
  idom: Int32Array;
  loopHeader: Uint8Array;
  merge: Uint8Array;
  /** Merge-node children in the dominator tree, highest reverse-postorder number first. */
  mergeKids: (Int32Array | null)[];
  /** False when some retreating edge does not go to a dominator (irreducible): use the dispatch loop. */
  reducible: boolean;
  /** Local-call targets (entry slots) this function calls. */
  callees: number[];
  /** Register masks: read anywhere (incl. by callees), written (r0..r5 visible to the caller). */
  uses: number;
  writes: number;
  /** Signature of a subprogram function: registers passed in and returned (ascending). */
  params: number[];
  results: number[];
}

export interface Cfg {
  p: Program;
  /** Block id starting at each slot, -1 if not a leader (size length + 1: slot `length` is the fall-off trap). */
  blockAt: Int32Array;
  bStart: Int32Array;
  /** Slot after the block's last instruction. */
  bEnd: Int32Array;
  /** Slot of the block's last instruction. */
  bLast: Int32Array;
  /** Budget segment starts per slot (1 = a segment starts here) and their instruction counts. */
  segCount: Int32Array;
  /** Per slot: does this memory access need its run-time check? */
  checked: Uint8Array;
  /** Does any instruction write r10 (possible only in unvalidated programs)? */
  writesR10: boolean;
  /** Is some memory access left unchecked (it relies on r10 being the frame pointer)? */
  elided: boolean;
  /** Functions by entry slot; entry 0 is the program. */
  funcs: Map<number, Func>;
}

/** Target slot of a local call, or -1 when out of range. */
export function callTarget(p: Program, pc: number): number {
  const t = p.tgt[pc];
  return t >= 0 && t < p.length ? t : -1;
}

/** Target slot of a branch, or -1 when out of range (the interpreter raises "jump out of the program"). */
function branchTarget(p: Program, pc: number): number {
  const t = p.tgt[pc];
  return t >= 0 && t < p.length ? t : -1;
}

/** `maxBlock`: cut straight-line runs into blocks of at most this many slots (split functions need it). */
export function buildCfg(p: Program, stackSafe: boolean, maxBlock = Infinity): Cfg {
  const n = p.length;
  const code = p.code;
  // Leaders.
  const leader = new Uint8Array(n + 1);
  leader[0] = 1; leader[n] = 1;
  let writesR10 = false;
  for (let pc = 0; pc < n; pc += insnLen(p, pc)) {
    const k = KIND[code[pc]];
    const next = pc + insnLen(p, pc);
    if (k === K_JCOND || k === K_JA) {
      const t = branchTarget(p, pc);
      if (t >= 0) leader[t] = 1;
      if (next <= n) leader[next] = 1;
    } else if (k === K_EXIT || k === K_TRAP) {
      if (next <= n) leader[next] = 1;
    } else if (k === K_CALL && p.src[pc] === 1) {
      const t = callTarget(p, pc);
      if (t >= 0) leader[t] = 1;
    }
    if ((regUse(p, pc).write & (1 << 10)) !== 0) writesR10 = true;
  }
  if (maxBlock < n) {
    let run = 0;
    for (let pc = 0; pc < n; pc += insnLen(p, pc)) {
      if (leader[pc]) run = 0;
      else if (run >= maxBlock) { leader[pc] = 1; run = 0; }
      run += insnLen(p, pc);
    }
  }
  // Blocks and budget segments.
  const blockAt = new Int32Array(n + 1).fill(-1);
  const starts: number[] = [], ends: number[] = [], lasts: number[] = [];
  const segCount = new Int32Array(n + 1);
  for (let s = 0; s <= n; s++) {
    if (!leader[s]) continue;
    blockAt[s] = starts.length;
    let pc = s, last = s;
    let seg = s, cnt = 0;
    for (;;) {
      last = pc;
      const k = KIND[code[pc]];
      cnt++;
      const len = pc < n ? insnLen(p, pc) : 1;
      const next = pc + len;
      const stop = k === K_JCOND || k === K_JA || k === K_EXIT || k === K_TRAP || next > n || leader[next] === 1;
      if (stop || effectful(k)) { segCount[seg] = cnt; seg = next; cnt = 0; }
      if (stop) { pc = next; break; }
      pc = next;
    }
    starts.push(s); ends.push(Math.min(pc, n + 1)); lasts.push(last);
  }
  const bStart = Int32Array.from(starts), bEnd = Int32Array.from(ends), bLast = Int32Array.from(lasts);

  // Memory accesses through an unmodified r10 that stay inside the current 512-byte frame cannot fault
  // while the Vm's stack region is intact (the caller passes stackSafe after checking that).
  const checked = new Uint8Array(n + 1);
  let elided = false;
  for (let pc = 0; pc < n; pc += insnLen(p, pc)) {
    const k = KIND[code[pc]];
    if (k !== K_LDX && k !== K_ST && k !== K_STX && k !== K_ATOMIC) continue;
    const base = k === K_LDX ? p.src[pc] : p.dst[pc];
    const size = sizeOf(code[pc]), off = p.off[pc];
    const safe = stackSafe && !writesR10 && base === 10 && off >= -512 && off + size <= 0;
    checked[pc] = safe ? 0 : 1;
    if (safe) elided = true;
  }

  const cfg: Cfg = { p, blockAt, bStart, bEnd, bLast, segCount, checked, writesR10, elided, funcs: new Map() };

  // Functions reachable from the program's entry through local calls.
  const work = [0];
  const seen = new Set<number>([0]);
  const local = new Int32Array(starts.length).fill(-1);
  while (work.length > 0) {
    const entry = work.pop()!;
    const f = buildFunc(cfg, entry, local);
    cfg.funcs.set(entry, f);
    for (const c of f.callees) if (!seen.has(c)) { seen.add(c); work.push(c); }
  }
  signatures(cfg);
  return cfg;
}

/** Global successor block ids of block b (-1: jump out of the program). */
function blockSuccs(cfg: Cfg, b: number): number[] {
  const p = cfg.p;
  const last = cfg.bLast[b];
  const k = last < p.length ? KIND[p.code[last]] : K_TRAP;
  const fall = (): number => cfg.blockAt[cfg.bEnd[b]];
  if (k === K_EXIT || k === K_TRAP) return [];
  if (k === K_JA) { const t = branchTarget(p, last); return [t < 0 ? -1 : cfg.blockAt[t]]; }
  if (k === K_JCOND) { const t = branchTarget(p, last); return [t < 0 ? -1 : cfg.blockAt[t], fall()]; }
  return [fall()];
}

function buildFunc(cfg: Cfg, entry: number, local: Int32Array): Func {
  const p = cfg.p;
  const root = cfg.blockAt[entry];
  // Iterative DFS for postorder.
  const post: number[] = [];
  const visited = new Set<number>([root]);
  const stack: number[] = [root], idx: number[] = [0];
  const gsucc = new Map<number, number[]>();
  const succOf = (b: number): number[] => { let s = gsucc.get(b); if (s === undefined) gsucc.set(b, (s = blockSuccs(cfg, b))); return s; };
  while (stack.length > 0) {
    const b = stack[stack.length - 1];
    const ss = succOf(b);
    const i = idx[idx.length - 1];
    if (i < ss.length) {
      idx[idx.length - 1]++;
      const t = ss[i];
      if (t >= 0 && !visited.has(t)) { visited.add(t); stack.push(t); idx.push(0); }
    } else {
      post.push(b);
      stack.pop(); idx.pop();
    }
  }
  const N = post.length;
  const blocks = new Int32Array(N);
  for (let i = 0; i < N; i++) { blocks[i] = post[N - 1 - i]; local[blocks[i]] = i; }
  const succ: Int32Array[] = new Array(N);
  const predCount = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const ss = succOf(blocks[i]);
    const ls = new Int32Array(ss.length);
    for (let j = 0; j < ss.length; j++) { ls[j] = ss[j] < 0 ? -1 : local[ss[j]]; if (ls[j] >= 0) predCount[ls[j]]++; }
    succ[i] = ls;
  }
  // Predecessors (CSR).
  const predStart = new Int32Array(N + 1);
  for (let i = 0; i < N; i++) predStart[i + 1] = predStart[i] + predCount[i];
  const preds = new Int32Array(predStart[N]);
  const fill = predStart.slice(0, N);
  for (let i = 0; i < N; i++) for (const t of succ[i]) if (t >= 0) preds[fill[t]++] = i;

  // Dominators (Cooper, Harvey, Kennedy) over reverse-postorder numbers.
  const idom = new Int32Array(N).fill(-1);
  idom[0] = 0;
  for (let changed = true; changed;) {
    changed = false;
    for (let b = 1; b < N; b++) {
      let nd = -1;
      for (let j = predStart[b]; j < predStart[b + 1]; j++) {
        const q = preds[j];
        if (idom[q] < 0) continue;
        if (nd < 0) { nd = q; continue; }
        let a = q, c = nd;
        while (a !== c) { while (a > c) a = idom[a]; while (c > a) c = idom[c]; }
        nd = a;
      }
      if (nd !== idom[b]) { idom[b] = nd; changed = true; }
    }
  }

  const loopHeader = new Uint8Array(N), merge = new Uint8Array(N);
  const fwdIn = new Int32Array(N);
  let reducible = true;
  for (let s = 0; s < N; s++) {
    for (const t of succ[s]) {
      if (t < 0) continue;
      if (t <= s) {
        loopHeader[t] = 1;
        let a = s; // does t dominate s?
        while (a > t) a = idom[a];
        if (a !== t) reducible = false;
      } else fwdIn[t]++;
    }
  }
  for (let i = 0; i < N; i++) if (fwdIn[i] >= 2) merge[i] = 1;
  const kids: number[][] = [];
  for (let i = 1; i < N; i++) if (merge[i]) (kids[idom[i]] ??= []).push(i);
  const mergeKids: (Int32Array | null)[] = new Array(N).fill(null);
  for (let i = 0; i < N; i++) if (kids[i] !== undefined) mergeKids[i] = Int32Array.from(kids[i].sort((a, b) => b - a));

  // Registers and callees.
  let uses = 0, writes = 0;
  const callees = new Set<number>();
  for (let i = 0; i < N; i++) {
    const b = blocks[i];
    for (let pc = cfg.bStart[b]; pc <= cfg.bLast[b]; pc += insnLen(p, pc)) {
      if (pc >= p.length) break;
      const u = regUse(p, pc);
      uses |= u.read; writes |= u.write;
      if (p.code[pc] === 0x85 && p.src[pc] === 1) { const t = callTarget(p, pc); if (t >= 0) callees.add(t); }
    }
  }
  for (let i = 0; i < N; i++) local[blocks[i]] = -1;
  return {
    entry, blocks, succ, idom, loopHeader, merge, mergeKids, reducible, callees: [...callees].sort((a, b) => a - b),
    uses, writes, params: [], results: [],
  };
}

/** Fixed point over the call graph: a function passes on what its callees read and returns what they write. */
function signatures(cfg: Cfg): void {
  const fs = [...cfg.funcs.values()];
  for (let changed = true; changed;) {
    changed = false;
    for (const f of fs) {
      let u = f.uses, w = f.writes;
      for (const c of f.callees) { const g = cfg.funcs.get(c)!; u |= g.uses & R0_R9; w |= g.writes & R0_R5; }
      if (u !== f.uses || w !== f.writes) { f.uses = u; f.writes = w; changed = true; }
    }
  }
  for (const f of fs) {
    const res = f.writes & R0_R5;
    const par = (f.uses | res) & R0_R9;
    for (let r = 0; r <= 9; r++) {
      if (par & (1 << r)) f.params.push(r);
      if (res & (1 << r)) f.results.push(r);
    }
  }
}

// verify(): the checking and rewriting pass of PROG_LOAD (the kernel's bpf_check()).
// After the structural checks of validate.ts, it walks every path of the program (do_check) with an
// abstract state per path - register kinds, offsets and bounds, the stack byte by byte, call frames - and
// rejects what the kernel rejects, with its errno and log line: uninitialised reads, stack and map-value
// bounds, ctx fields a program type may not touch, packet accesses without a data_end check, NULL map
// values, helper availability and argument kinds, forbidden pointer arithmetic, writes into read-only maps,
// tail calls through maps that are not prog arrays, unreleased ringbuf records, programs too complex to
// explore in 1M steps. Paths meet again at prune points, where a state already explored and covering the
// current one ends the path (is_state_visited). Loops are explored iteration by iteration, so a loop ends
// only when its bound is provable, as in the kernel.
// Then it rewrites (fixup): ctx field accesses through ProgTypeOps.convertCtxAccess and map references in
// lddw into real addresses; see rewrite.ts.
//
// The model is the kernel's for a privileged loader (CAP_BPF + CAP_PERFMON, as bpftool as root): reading
// uninitialised stack gives an unknown value, pointer comparisons and pointer-minus-pointer are allowed,
// pointers may be stored into maps.

import { BpfError } from '../errors.js';
import type { ErrnoName } from '../uapi/errno.js';
import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_ARSH, BPF_ATOMIC, BPF_CALL, BPF_CMPXCHG, BPF_DIV, BPF_END,
  BPF_EXIT, BPF_FETCH, BPF_IND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP, BPF_JMP32, BPF_JNE,
  BPF_LD, BPF_LDX, BPF_LSH, BPF_MEM, BPF_MEMSX, BPF_MOD, BPF_MOV, BPF_MUL, BPF_NEG, BPF_OR, BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, BPF_RSH,
  BPF_ST, BPF_STX, BPF_SUB, BPF_TO_BE, BPF_X, BPF_XOR, MAX_CALL_FRAMES, OP_LDDW, classOf, modeOf, opOf, sizeBytes,
  sizeOf, srcBitOf,
} from '../isa/opcodes.js';
import { type Insn, jumpTarget } from '../isa/insn.js';
import { formatInsn } from '../isa/disasm.js';
import type { BpfMap } from '../maps/map.js';
import { BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_FUNC, BPF_MAP_TYPE, BPF_PROG_TYPE, helperName } from '../uapi/bpf.js';
import { validate, MAX_INSNS } from './validate.js';
import { liveRegs } from './liveness.js';
import {
  type Bounds, aluBounds, branchTaken, constBounds, endBounds, invertJmp, isConst, negBounds, refineCmp,
  lower32, signExtendBounds, sizedBounds,
} from './scalar.js';
import {
  type Checkpoint, Frame, MAX_BPF_STACK, Reg, STACK_INVALID, STACK_MISC, STACK_SPILL, STACK_ZERO, Slot, VState,
  isOrNull, isPkt, joinStates, regStr, regTypeStr, stateStr, statesEqual,
} from './state.js';
import type { ArgKind, CtxAccessInfo, HelperProto, ProgTypeOps } from './types.js';
import { rewriteProgram } from './rewrite.js';

export interface VerifierInput {
  /** After map fixup: lddw src=BPF_PSEUDO_MAP_FD imm=index into `maps`, or src=BPF_PSEUDO_MAP_VALUE imm=index, 2nd imm=offset. */
  insns: Insn[];
  maps: BpfMap[];
  progType: ProgTypeOps;
  helperProto: (id: number) => HelperProto | undefined;
  /** License is GPL-compatible (gpl_only helpers need it). */
  gpl: boolean;
  /** 0 none, 1 kernel-like summary / error path, 2 register states per instruction. */
  logLevel: number;
  progFlags: number;
}

export interface VerifierResult {
  /** "xlated": ctx accesses converted, lddw map references turned into addresses (src kept as 1/2). */
  insns: Insn[];
  log: string;
  /** Stack bytes the main program uses (kernel: prog->aux->stack_depth). */
  stackDepth: number;
  usedMaps: BpfMap[];
  usedHelpers: number[];
  hasTailCall: boolean;
}

/** A rejection: BpfError with the verifier log attached. */
export class VerifierError extends BpfError {
  readonly log: string;
  constructor(code: ErrnoName, message: string, insn: number | undefined, log: string) {
    super(code, message, insn);
    this.name = 'VerifierError';
    this.log = log;
  }
}

/** BPF_COMPLEXITY_LIMIT_INSNS */
export const COMPLEXITY_LIMIT_INSNS = 1_000_000;
/** BPF_MAX_VAR_SIZ: largest size a helper memory argument may have. */
const MAX_VAR_SIZ = 1n << 29n;
/** MAX_PACKET_OFF */
const MAX_PACKET_OFF = 0xffff;
/** Stored states per instruction before the oldest finished ones are dropped. */
const MAX_STATES_PER_INSN = 32;
/** Log lines kept (older ones rotate out). */
const LOG_MAX_LINES = 100_000;

const T = BPF_MAP_TYPE;
const F = BPF_FUNC;
const P = BPF_PROG_TYPE;

/** Helpers that may move packet data (bpf_helper_changes_pkt_data): packet pointers are void after them. */
const CHANGES_PKT_DATA = new Set<number>([
  F.skb_store_bytes, F.l3_csum_replace, F.l4_csum_replace, F.clone_redirect, F.skb_vlan_push, F.skb_vlan_pop,
  F.skb_change_proto, F.skb_change_tail, F.skb_pull_data, F.skb_change_head, F.xdp_adjust_head, F.skb_adjust_room,
  F.xdp_adjust_meta, F.msg_pull_data, F.xdp_adjust_tail, F.lwt_push_encap, F.lwt_seg6_store_bytes,
  F.lwt_seg6_adjust_srh, F.lwt_seg6_action, F.msg_push_data, F.msg_pop_data,
]);

/** Program types whose packet pointers may be written (may_access_direct_pkt_data for BPF_WRITE). */
const PKT_WRITE_TYPES = new Set<number>([P.BPF_PROG_TYPE_SCHED_CLS, P.BPF_PROG_TYPE_SCHED_ACT, P.BPF_PROG_TYPE_XDP,
  P.BPF_PROG_TYPE_LWT_XMIT, P.BPF_PROG_TYPE_SK_SKB, P.BPF_PROG_TYPE_SK_MSG, P.BPF_PROG_TYPE_CGROUP_SOCKOPT]);
/** Program types that may use LD_ABS / LD_IND (may_access_skb). */
const SKB_TYPES = new Set<number>([P.BPF_PROG_TYPE_SOCKET_FILTER, P.BPF_PROG_TYPE_SCHED_CLS, P.BPF_PROG_TYPE_SCHED_ACT]);

const ALU_STR: Record<number, string> = {
  [BPF_ADD]: '+=', [BPF_SUB]: '-=', [BPF_MUL]: '*=', [BPF_DIV]: '/=', [BPF_OR]: '|=', [BPF_AND]: '&=',
  [BPF_LSH]: '<<=', [BPF_RSH]: '>>=', [BPF_NEG]: 'neg', [BPF_MOD]: '%=', [BPF_XOR]: '^=', [BPF_MOV]: '=',
  [BPF_ARSH]: 's>>=', [BPF_END]: 'endian',
};

/** Internal: abort the walk with this errno and log line. */
class Reject {
  constructor(readonly code: ErrnoName, readonly msg: string) {}
}
const reject = (code: ErrnoName, msg: string): never => { throw new Reject(code, msg); };

/** Per-instruction facts collected during the walk, used by the rewrites. */
export interface InsnAux {
  seen: boolean;
  /** Memory access through a ctx pointer (0: not seen, 1: ctx, 2: other pointer). */
  ptrKind: number;
}

interface Pending {
  state: VState;
  logPos: number;
  from: number;
}

interface CallMeta {
  map: BpfMap | null;
  memSize: number;
  subprog: number;
  ctxArg: Reg | null;
  releaseRef: number;
}

class Checker {
  readonly insns: Insn[];
  readonly n: number;
  readonly in: VerifierInput;
  readonly ops: ProgTypeOps;
  readonly aux: InsnAux[];
  readonly prunePoint: Uint8Array;
  readonly live: Uint16Array;
  readonly explored = new Map<number, Checkpoint[]>();
  readonly pending: Pending[] = [];
  readonly logParts: string[] = [];
  /** Lines dropped from the front of the log. */
  logBase = 0;
  processed = 0;
  lastPc = 0;
  jmps = 0;
  prevJmps = 0;
  prevProcessed = 0;
  idGen = 0;
  totalStates = 0;
  peakStates = 0;
  curStates = 0;
  maxStatesPerInsn = 0;
  readonly usedMaps = new Set<BpfMap>();
  readonly usedHelpers = new Set<number>();
  hasTailCall = false;
  /** Deepest stack byte used, per subprogram entry. */
  readonly stackDepth = new Map<number, number>();
  readonly entries: number[];
  /** Subprogram callees seen per caller (for the combined stack check). */
  readonly callees = new Map<number, Set<number>>();
  readonly level: number;

  constructor(input: VerifierInput, entries: number[]) {
    this.in = input;
    this.insns = input.insns;
    this.n = input.insns.length;
    this.ops = input.progType;
    this.level = input.logLevel;
    this.entries = entries;
    this.aux = Array.from({ length: this.n }, () => ({ seen: false, ptrKind: 0 }));
    this.prunePoint = new Uint8Array(this.n);
    for (const e of entries) this.prunePoint[e] = 1;
    for (let i = 0; i < this.n; i++) {
      const ins = this.insns[i];
      const cls = classOf(ins.code), op = opOf(ins.code);
      if (ins.code === OP_LDDW) { i++; continue; }
      if ((cls === BPF_JMP || cls === BPF_JMP32) && op !== BPF_CALL && op !== BPF_EXIT) {
        const t = jumpTarget(ins, i);
        if (t >= 0 && t < this.n) this.prunePoint[t] = 1;
        if (op !== BPF_JA && i + 1 < this.n) this.prunePoint[i + 1] = 1;
      }
      if (cls === BPF_JMP && op === BPF_CALL && i + 1 < this.n) this.prunePoint[i + 1] = 1;
    }
    this.live = liveRegs(this.insns, (id) => {
      const p = input.helperProto(id);
      if (!p) return 5;
      let k = p.args.length;
      while (k > 0 && p.args[k - 1] === 'ARG_DONTCARE') k--;
      return k;
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // log

  log(s: string): void {
    this.logParts.push(s);
    if (this.logParts.length > LOG_MAX_LINES) {
      // keep the tail, like the kernel's rotating log buffer
      const drop = this.logParts.length >> 1;
      this.logParts.splice(0, drop);
      this.logBase += drop;
    }
  }
  logPos(): number { return this.logBase + this.logParts.length; }
  logReset(pos: number): void {
    if (pos <= this.logBase) { this.logBase += this.logParts.length; this.logParts.length = 0; return; }
    this.logParts.length = pos - this.logBase;
  }
  logText(): string { return this.logParts.join(''); }

  insnText(pc: number): string {
    const code = this.insns[pc].code.toString(16).padStart(2, '0');
    let text: string;
    try { text = formatInsn(this.insns, pc); } catch { text = '?'; }
    return `${pc}: (${code}) ${text}`;
  }

  // ---------------------------------------------------------------------------------------------------
  // the walk (do_check)

  run(): void {
    const main = new Frame(-1, 0);
    const ctx = Reg.ptr('PTR_TO_CTX');
    main.regs[1] = ctx;
    main.regs[10] = this.fp(0);
    let st: VState | null = new VState([main], 0);
    if (this.level >= 2) this.log(`0: ${stateStr(st)}\n`);
    while (st !== null) {
      const next = this.step(st);
      if (next !== null) { st = next; continue; }
      // path finished: continue with a pending branch
      st = this.popPending();
    }
  }

  popPending(): VState | null {
    const p = this.pending.pop();
    if (p === undefined) return null;
    if (this.level === 1) this.logReset(p.logPos);
    if (this.level >= 2) this.log(`from ${p.from} to ${p.state.pc}: ${stateStr(p.state)}\n`);
    this.curStates--;
    return p.state;
  }

  pushBranch(st: VState, from: number): void {
    if (st.parent) st.parent.branches++;
    this.pending.push({ state: st, logPos: this.logPos(), from });
    this.curStates++;
    if (this.curStates > this.peakStates) this.peakStates = this.curStates;
    if (this.pending.length > 8192) reject('E2BIG', `BPF program is too complex: more than 8192 pending branches`);
  }

  /** A path ended (exit of the main program or pruned): settle the branch counts of its checkpoints. */
  endPath(st: VState): void {
    let c = st.parent;
    while (c !== null) {
      c.branches--;
      if (c.branches > 0) break;
      c = c.parent;
    }
  }

  fp(frameno: number): Reg {
    const r = Reg.ptr('PTR_TO_STACK');
    r.frameno = frameno;
    return r;
  }

  /** Run one instruction of `st`; returns the state to continue with, or null when the path ended. */
  step(st: VState): VState | null {
    const pc = st.pc;
    this.lastPc = pc;
    if (pc < 0 || pc >= this.n) reject('EINVAL', `invalid insn idx ${pc} insn_cnt ${this.n}`);
    if (++this.processed > COMPLEXITY_LIMIT_INSNS) {
      reject('E2BIG', `BPF program is too large. Processed ${this.processed} insn`);
    }
    if (this.prunePoint[pc]) {
      const pruned = this.isStateVisited(st);
      if (pruned) {
        if (this.level >= 2) this.log(`${pc}: safe\n`);
        this.endPath(st);
        return null;
      }
    }
    const ins = this.insns[pc];
    this.aux[pc].seen = true;
    if (this.level >= 1) this.log(`${this.insnText(pc)}\n`);
    const cls = classOf(ins.code);
    const f = st.cur;
    let nextPc = pc + 1;
    switch (cls) {
      case BPF_ALU: case BPF_ALU64:
        this.checkAlu(st, ins);
        break;
      case BPF_LDX: {
        this.readReg(f, ins.src);
        this.checkWritableReg(ins.dst);
        const size = sizeBytes(sizeOf(ins.code));
        const val = this.checkMemAccess(st, pc, ins.src, ins.off, size, false, null);
        f.regs[ins.dst] = modeOf(ins.code) === BPF_MEMSX && val.type === 'SCALAR_VALUE'
          ? Reg.scalar(signExtendBounds(val.b, size * 8, true)) : val;
        break;
      }
      case BPF_ST: case BPF_STX: {
        const size = sizeBytes(sizeOf(ins.code));
        if (cls === BPF_STX && modeOf(ins.code) === BPF_ATOMIC) { this.checkAtomic(st, pc, ins, size); break; }
        if (modeOf(ins.code) !== BPF_MEM) reject('EINVAL', 'BPF_STX uses reserved fields');
        this.readReg(f, ins.dst);
        let val: Reg;
        if (cls === BPF_STX) { this.readReg(f, ins.src); val = f.regs[ins.src]; } else val = Reg.scalar(constBounds(BigInt(ins.imm)));
        this.checkMemAccess(st, pc, ins.dst, ins.off, size, true, val);
        break;
      }
      case BPF_LD: {
        if (ins.code === OP_LDDW) { this.checkLdImm64(st, pc, ins); nextPc = pc + 2; break; }
        this.checkLdAbs(st, ins);
        break;
      }
      case BPF_JMP: case BPF_JMP32: {
        const op = opOf(ins.code);
        if (op === BPF_EXIT) return this.checkExit(st, pc);
        if (op === BPF_CALL) {
          if (srcBitOf(ins.code) === BPF_X) reject('EINVAL', 'callx is not supported');
          if (ins.src === BPF_PSEUDO_CALL) return this.checkLocalCall(st, pc, pc + 1 + ins.imm, false, null);
          const cb = this.checkHelperCall(st, pc, ins.imm);
          if (cb !== null) return cb;
          break;
        }
        if (op === BPF_JA) { nextPc = jumpTarget(ins, pc); break; }
        return this.checkCondJmp(st, pc, ins);
      }
    }
    st.pc = nextPc;
    if (this.level >= 2) this.log(`${pc}: ${stateStr(st)}\n`);
    return st;
  }

  // ---------------------------------------------------------------------------------------------------
  // pruning (is_state_visited)

  isStateVisited(st: VState): boolean {
    const pc = st.pc;
    this.clearDeadRegs(st);
    let list = this.explored.get(pc);
    if (list === undefined) { list = []; this.explored.set(pc, list); }
    let inLoop = false;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (c.branches > 0) {
        // still being explored: reaching it again means a loop (DFS finishes paths below a merge point
        // before the pending sibling that joins them arrives); the same state again is an endless loop
        inLoop = true;
        if (statesEqual(c.state!, st, true) && this.isAncestor(c, st)) reject('EINVAL', `infinite loop detected at insn ${pc}`);
        continue;
      }
      if (statesEqual(c.state!, st, false)) return true;
    }
    // inside a loop, keep a checkpoint only every few instructions and jumps (as the kernel does)
    if (inLoop && (this.processed - this.prevProcessed < 8 || this.jmps - this.prevJmps < 2)) return false;
    this.prevProcessed = this.processed;
    this.prevJmps = this.jmps;
    // Merge point with finished paths that differ only in scalars: continue with their join, which covers
    // both, so that chains of if/else do not multiply the paths (not at loop heads: loops are unrolled).
    if (!inLoop) {
      for (let i = list.length - 1; i >= 0; i--) {
        const c = list[i];
        const j = joinStates(c.state!, st);
        if (j === null) continue;
        for (let fi = 0; fi < st.frames.length; fi++) st.frames[fi] = j.frames[fi];
        list.splice(i, 1)[0].state = null;
        break;
      }
    }
    // remember this state as a checkpoint of the path
    const snap = st.clone();
    snap.parent = null;
    const cp: Checkpoint = { state: snap, branches: 1, parent: st.parent };
    st.parent = cp;
    list.push(cp);
    this.totalStates++;
    if (list.length > this.maxStatesPerInsn) this.maxStatesPerInsn = list.length;
    if (list.length > MAX_STATES_PER_INSN) {
      // forget the oldest (finished first): only pruning and endless-loop detection get weaker
      const k = list.findIndex((c) => c.branches === 0);
      const [gone] = list.splice(k >= 0 ? k : 0, 1);
      gone.state = null;
    }
    return false;
  }

  isAncestor(c: Checkpoint, st: VState): boolean {
    for (let p = st.parent; p !== null; p = p.parent) if (p === c) return true;
    return false;
  }

  /** Forget registers no continuation reads (they would only make equal states look different). */
  clearDeadRegs(st: VState): void {
    const live = this.live[st.pc];
    const f = st.cur;
    for (let r = 0; r < 10; r++) if (!(live & (1 << r)) && f.regs[r].type !== 'NOT_INIT') f.regs[r] = Reg.notInit();
  }

  // ---------------------------------------------------------------------------------------------------
  // registers

  readReg(f: Frame, r: number): Reg {
    const reg = f.regs[r];
    if (reg.type === 'NOT_INIT') reject('EACCES', `R${r} !read_ok`);
    return reg;
  }

  checkWritableReg(r: number): void {
    if (r === 10) reject('EACCES', 'frame pointer is read only');
  }

  newId(): number { return ++this.idGen; }

  // ---------------------------------------------------------------------------------------------------
  // ALU (check_alu_op / adjust_reg_min_max_vals / adjust_ptr_min_max_vals)

  checkAlu(st: VState, ins: Insn): void {
    const f = st.cur;
    const is64 = classOf(ins.code) === BPF_ALU64;
    const op = opOf(ins.code);
    const x = srcBitOf(ins.code) === BPF_X;
    if (op === BPF_END || op === BPF_NEG) {
      const d = this.readReg(f, ins.dst);
      this.checkWritableReg(ins.dst);
      if (d.isPtr) { f.regs[ins.dst] = Reg.scalar(); return; } // privileged: the pointer becomes a number
      if (op === BPF_NEG) { f.regs[ins.dst] = Reg.scalar(negBounds(d.b, is64)); return; }
      f.regs[ins.dst] = Reg.scalar(endBounds(d.b, ins.imm, srcBitOf(ins.code) === BPF_TO_BE && !is64, is64));
      return;
    }
    if (op === BPF_MOV) {
      this.checkWritableReg(ins.dst);
      if (!x) {
        const v = is64 ? BigInt(ins.imm) : BigInt(ins.imm >>> 0);
        f.regs[ins.dst] = Reg.scalar(constBounds(v));
        return;
      }
      const s = this.readReg(f, ins.src);
      if (ins.off !== 0) { // movsx
        f.regs[ins.dst] = s.isPtr ? Reg.scalar() : Reg.scalar(signExtendBounds(s.b, ins.off, is64));
        return;
      }
      if (is64) { f.regs[ins.dst] = s; return; }
      // 32-bit move of a pointer: a partial copy, only a number afterwards (privileged)
      f.regs[ins.dst] = s.isPtr ? Reg.scalar(sizedBounds(4)) : Reg.scalar(lower32(s.b));
      return;
    }
    const d = this.readReg(f, ins.dst);
    this.checkWritableReg(ins.dst);
    const s = x ? this.readReg(f, ins.src) : Reg.scalar(constBounds(BigInt(is64 ? ins.imm : ins.imm >>> 0)));
    if ((op === BPF_DIV || op === BPF_MOD) && !x && ins.imm === 0) reject('EINVAL', 'div by zero');
    if ((op === BPF_LSH || op === BPF_RSH || op === BPF_ARSH) && !x) {
      const w = is64 ? 64 : 32;
      if (ins.imm < 0 || ins.imm >= w) reject('EINVAL', `invalid shift ${ins.imm}`);
    }
    if (d.isPtr || s.isPtr) {
      f.regs[ins.dst] = this.ptrArith(st, ins, d, s, is64, op);
      return;
    }
    f.regs[ins.dst] = Reg.scalar(aluBounds(op, d.b, s.b, is64, ins.off === 1));
  }

  ptrArith(st: VState, ins: Insn, d: Reg, s: Reg, is64: boolean, op: number): Reg {
    const dst = ins.dst;
    if (d.isPtr && s.isPtr) {
      if (op === BPF_SUB) return Reg.scalar();
      reject('EACCES', `R${dst} pointer ${ALU_STR[op]} pointer prohibited`);
    }
    const ptr = d.isPtr ? d : s;
    const off = d.isPtr ? s : d;
    if (!is64) {
      if (op === BPF_SUB) return Reg.scalar(sizedBounds(4));
      reject('EACCES', `R${dst} 32-bit pointer arithmetic prohibited`);
    }
    if (isOrNull(ptr.type)) reject('EACCES', `R${dst} pointer arithmetic on ${regTypeStr(ptr)} prohibited, null-check it first`);
    if (ptr.type === 'PTR_TO_PACKET_END' || ptr.type === 'PTR_TO_FUNC' ||
      (ptr.type === 'CONST_PTR_TO_MAP' && !(off.isConst && off.b.umin === 0n && op === BPF_ADD))) {
      reject('EACCES', `R${dst} pointer arithmetic on ${regTypeStr(ptr)} prohibited`);
    }
    if (op === BPF_SUB && !d.isPtr) reject('EACCES', `R${dst} tried to subtract pointer from scalar`);
    if (op === BPF_AND || op === BPF_OR || op === BPF_XOR) reject('EACCES', `R${dst} bitwise operator ${ALU_STR[op]} on pointer prohibited`);
    if (op !== BPF_ADD && op !== BPF_SUB) reject('EACCES', `R${dst} pointer arithmetic with ${ALU_STR[op]} operator prohibited`);
    const r = ptr.clone();
    const b = off.b;
    if (isConst(b)) {
      const k = BigInt.asIntN(64, b.umin);
      const nOff = BigInt(ptr.off) + (op === BPF_ADD ? k : -k);
      if (nOff < -(1n << 29n) || nOff > (1n << 29n)) reject('EACCES', `value ${k} makes ${regTypeStr(ptr)} pointer be out of bounds`);
      r.off = Number(nOff);
      return r;
    }
    if (ptr.type === 'PTR_TO_CTX') reject('EACCES', `R${dst} variable ctx access prohibited`);
    // variable offset: add to the variable part; packet pointers get a new identity and lose their range
    const sign = op === BPF_ADD ? off.b : negBounds(off.b, true);
    r.b = aluBounds(BPF_ADD, ptr.b, sign, true, false);
    if (isPkt(ptr.type)) {
      if (r.b.umax > BigInt(MAX_PACKET_OFF) || r.b.smin < 0n && op === BPF_ADD && off.b.smin < 0n) {
        if (r.b.umax > BigInt(MAX_PACKET_OFF)) reject('EACCES', `R${dst} ${ALU_STR[op]} unbounded packet offset: value ${regStr(off)} is not bounded by ${MAX_PACKET_OFF}`);
      }
      r.id = this.newId();
      r.range = 0;
    }
    return r;
  }

  // ---------------------------------------------------------------------------------------------------
  // memory (check_mem_access)

  /**
   * Check an access of `size` bytes at regs[regno] + off. For loads returns the loaded value; for stores
   * `val` is the stored value.
   */
  checkMemAccess(st: VState, pc: number, regno: number, off: number, size: number, write: boolean, val: Reg | null): Reg {
    const reg = st.cur.regs[regno];
    const aux = this.aux[pc];
    const kind = reg.type === 'PTR_TO_CTX' ? 1 : 2;
    if (aux.ptrKind !== 0 && aux.ptrKind !== kind && (aux.ptrKind === 1 || kind === 1)) {
      reject('EINVAL', 'same insn cannot be used with different pointers');
    }
    aux.ptrKind = kind;
    switch (reg.type) {
      case 'PTR_TO_STACK': return this.stackAccess(st, regno, reg, off, size, write, val, ' ');
      case 'PTR_TO_CTX': return this.ctxAccess(regno, reg, off, size, write);
      case 'PTR_TO_MAP_VALUE': {
        if (reg.map!.type === T.BPF_MAP_TYPE_ARRAY_OF_MAPS || reg.map!.type === T.BPF_MAP_TYPE_HASH_OF_MAPS) {
          if (write) reject('EACCES', `R${regno} cannot write into map_value of ${reg.map!.typeName}`);
        }
        this.mapAccessType(reg.map!, reg.off + off, size, write);
        this.regionAccess(regno, reg, off, size, reg.map!.valueSize, false);
        return this.loaded(size);
      }
      case 'PTR_TO_MEM':
        this.regionAccess(regno, reg, off, size, reg.memSize, false);
        return this.loaded(size);
      case 'PTR_TO_PACKET': case 'PTR_TO_PACKET_META':
        if (write && !PKT_WRITE_TYPES.has(this.ops.type)) reject('EACCES', `cannot write into packet`);
        this.packetAccess(regno, reg, off, size, false);
        return this.loaded(size);
      default:
        return reject('EACCES', `R${regno} invalid mem access '${regTypeStr(reg)}'`);
    }
  }

  loaded(size: number): Reg { return Reg.scalar(sizedBounds(size)); }

  mapAccessType(map: BpfMap, off: number, size: number, write: boolean): void {
    if (write && (map.flags & BPF_F_RDONLY_PROG)) {
      reject('EACCES', `write into map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
    }
    if (!write && (map.flags & BPF_F_WRONLY_PROG)) {
      reject('EACCES', `read from map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
    }
  }

  /** check_mem_region_access: fixed offset plus bounded variable part within [0, memSize). */
  regionAccess(regno: number, reg: Reg, off: number, size: number, memSize: number, zeroOk: boolean): void {
    const what = (o: number): string => reg.type === 'PTR_TO_MAP_VALUE'
      ? `invalid access to map value, value_size=${memSize} off=${o} size=${size}`
      : `invalid access to memory, mem_size=${memSize} off=${o} size=${size}`;
    const fixed = reg.off + off;
    if (reg.b.smin < 0n) {
      reject('EACCES', `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
    }
    const lo = fixed + Number(reg.b.smin);
    if (lo < 0 || (size === 0 && !zeroOk) || lo + size > memSize) {
      reject('EACCES', `${what(lo)}${isConst(reg.b) ? '' : `\nR${regno} min value is outside of the allowed memory range`}`);
    }
    if (reg.b.umax >= MAX_VAR_SIZ) {
      reject('EACCES', `R${regno} unbounded memory access, make sure to bounds check any such access`);
    }
    const hi = fixed + Number(reg.b.umax);
    if (hi + size > memSize) {
      reject('EACCES', `${what(hi)}\nR${regno} max value is outside of the allowed memory range`);
    }
  }

  packetAccess(regno: number, reg: Reg, off: number, size: number, zeroOk: boolean): void {
    if (reg.b.smin < 0n) {
      reject('EACCES', `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
    }
    const o = reg.off + off;
    if (o < 0 || (size === 0 && !zeroOk) || o + size > reg.range) {
      reject('EACCES', `invalid access to packet, off=${o} size=${size}, R${regno}(id=${reg.id},off=${reg.off},r=${reg.range})\n` +
        `R${regno} offset is outside of the packet`);
    }
  }

  ctxAccess(regno: number, reg: Reg, off: number, size: number, write: boolean): Reg {
    if (reg.off !== 0) reject('EACCES', `dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
    const info: CtxAccessInfo = { regType: 'SCALAR_VALUE', ctxFieldSize: size };
    if (off < 0 || off + size > this.ops.ctxSize || !this.ops.isValidAccess(off, size, write, info)) {
      reject('EACCES', `invalid bpf_context access off=${off} size=${size}`);
    }
    if (write) return Reg.notInit();
    if (info.regType === 'SCALAR_VALUE') return this.loaded(size);
    const r = Reg.ptr(info.regType);
    return r;
  }

  /** Locate the stack slot byte range of an access; `kind` names it in messages (' ' / ' indirect '). */
  stackBounds(regno: number, reg: Reg, off: number, size: number, write: boolean, helper: boolean): [number, number] {
    const lo = reg.off + off + Number(reg.b.smin);
    const hi = reg.off + off + Number(reg.b.smax) + size;
    const extra = helper ? ' indirect access to' : write ? ' write to' : ' read from';
    if (reg.b.smin < -(1n << 29n) || reg.b.smax > (1n << 29n) || lo < -MAX_BPF_STACK || hi > 0 || (size <= 0 && !helper)) {
      if (isConst(reg.b)) reject('EACCES', `invalid${extra} stack R${regno} off=${lo} size=${size}`);
      reject('EACCES', `invalid variable-offset${extra} stack R${regno} var_off=(${regStr(reg)}) off=${reg.off + off} size=${size}`);
    }
    return [lo, hi];
  }

  frameOf(st: VState, reg: Reg): Frame {
    return st.frames[reg.frameno];
  }

  noteStack(st: VState, frame: Frame, lo: number): void {
    const d = -lo;
    const prev = this.stackDepth.get(frame.subprog) ?? 0;
    if (d > prev) this.stackDepth.set(frame.subprog, d);
  }

  stackAccess(st: VState, regno: number, reg: Reg, off: number, size: number, write: boolean, val: Reg | null, _k: string): Reg {
    const [lo, hi] = this.stackBounds(regno, reg, off, size, write, false);
    const frame = this.frameOf(st, reg);
    this.noteStack(st, frame, lo);
    const fixed = isConst(reg.b);
    if (write) {
      if (!fixed) { this.markStack(frame, lo, hi, STACK_MISC); return Reg.notInit(); }
      this.stackWrite(frame, lo, size, val!);
      return Reg.notInit();
    }
    if (!fixed) return this.loaded(size);
    return this.stackRead(frame, lo, size);
  }

  /** Set bytes [lo, hi) to `kind`, destroying spills they touch. */
  markStack(frame: Frame, lo: number, hi: number, kind: number): void {
    for (let a = lo; a < hi; a++) {
      const spi = Math.floor((-a - 1) / 8);
      const byte = a + 8 * (spi + 1);
      let s = frame.stack[spi];
      s = s ? s.clone() : new Slot();
      if (s.spill) {
        for (let j = s.spillOff; j < s.spillOff + s.spillSize; j++) s.kinds[j] = STACK_MISC;
        s.spill = null; s.spillSize = 0; s.spillOff = 0;
      }
      s.kinds[byte] = kind;
      frame.stack[spi] = s;
    }
  }

  stackWrite(frame: Frame, lo: number, size: number, val: Reg): void {
    const spi = Math.floor((-lo - 1) / 8);
    const byte = lo + 8 * (spi + 1);
    const aligned = byte % size === 0 && byte + size <= 8;
    if (aligned && (size === 8 || (val.type === 'SCALAR_VALUE'))) {
      // spill: keep the register's state (a scalar narrower than 8 bytes keeps its value if it fits)
      let v = val;
      if (size < 8 && v.type === 'SCALAR_VALUE' && v.b.umax >= (1n << BigInt(size * 8))) {
        v = isConst(v.b) ? Reg.scalar(constBounds(v.b.umin & ((1n << BigInt(size * 8)) - 1n))) : Reg.scalar(sizedBounds(size));
      }
      const zero = v.type === 'SCALAR_VALUE' && v.isNull;
      this.markStack(frame, lo, lo + size, zero ? STACK_ZERO : STACK_SPILL);
      if (!zero) {
        const s = frame.stack[spi]!;
        s.spill = v; s.spillOff = byte; s.spillSize = size;
      }
      return;
    }
    if (val.isPtr) this.markStack(frame, lo, lo + size, STACK_MISC);
    else this.markStack(frame, lo, lo + size, val.isNull ? STACK_ZERO : STACK_MISC);
  }

  stackRead(frame: Frame, lo: number, size: number): Reg {
    const spi = Math.floor((-lo - 1) / 8);
    const byte = lo + 8 * (spi + 1);
    const s = frame.stack[spi];
    if (s && byte + size <= 8) {
      if (s.spill && s.spillOff === byte && s.spillSize === size) return s.spill;
      if (s.spill && byte < s.spillOff + s.spillSize && byte + size > s.spillOff) {
        // part of a spilled register
        if (s.spill.type !== 'SCALAR_VALUE' && size < 8) return this.loaded(size); // privileged: bytes of a pointer
        return this.loaded(size);
      }
      let allZero = true;
      for (let j = byte; j < byte + size; j++) if (s.kinds[j] !== STACK_ZERO) { allZero = false; break; }
      if (allZero) return Reg.scalar(constBounds(0n));
    }
    return this.loaded(size);
  }

  // ---------------------------------------------------------------------------------------------------
  // atomics

  checkAtomic(st: VState, pc: number, ins: Insn, size: number): void {
    const f = st.cur;
    this.readReg(f, ins.src);
    this.readReg(f, ins.dst);
    if (ins.imm === BPF_CMPXCHG) this.readReg(f, 0);
    const base = f.regs[ins.dst];
    if (f.regs[ins.src].isPtr && ins.imm !== (0xe0 | BPF_FETCH)) reject('EACCES', `R${ins.src} leaks addr into mem`);
    if (base.type === 'PTR_TO_CTX' || isPkt(base.type)) {
      reject('EACCES', `BPF_ATOMIC stores into R${ins.dst} ${regTypeStr(base)} is not allowed`);
    }
    this.checkMemAccess(st, pc, ins.dst, ins.off, size, false, null);
    this.checkMemAccess(st, pc, ins.dst, ins.off, size, true, Reg.scalar(sizedBounds(size)));
    if (ins.imm & BPF_FETCH) {
      const r = ins.imm === BPF_CMPXCHG ? 0 : ins.src;
      this.checkWritableReg(r);
      f.regs[r] = Reg.scalar(sizedBounds(size));
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // lddw, LD_ABS/IND

  checkLdImm64(st: VState, pc: number, ins: Insn): void {
    const f = st.cur;
    this.checkWritableReg(ins.dst);
    const hi = this.insns[pc + 1].imm;
    switch (ins.src) {
      case 0:
        f.regs[ins.dst] = Reg.scalar(constBounds((BigInt(hi >>> 0) << 32n) | BigInt(ins.imm >>> 0)));
        return;
      case BPF_PSEUDO_MAP_FD: case BPF_PSEUDO_MAP_IDX: case BPF_PSEUDO_MAP_VALUE: case BPF_PSEUDO_MAP_IDX_VALUE: {
        const map = this.mapAt(ins.imm);
        const value = ins.src === BPF_PSEUDO_MAP_VALUE || ins.src === BPF_PSEUDO_MAP_IDX_VALUE;
        if (!value) { const r = Reg.ptr('CONST_PTR_TO_MAP'); r.map = map; f.regs[ins.dst] = r; return; }
        if (!isDirectValueMap(map)) reject('EINVAL', `map ${map.name || map.id} (${map.typeName}) does not support direct value access`);
        if (hi < 0 || hi >= map.valueSize) reject('EINVAL', `invalid access to map value pointer, value_size=${map.valueSize} off=${hi >>> 0}`);
        const r = Reg.ptr('PTR_TO_MAP_VALUE', hi);
        r.map = map;
        f.regs[ins.dst] = r;
        return;
      }
      case BPF_PSEUDO_FUNC: {
        const r = Reg.ptr('PTR_TO_FUNC');
        r.subprog = pc + 1 + ins.imm;
        f.regs[ins.dst] = r;
        return;
      }
    }
    reject('EINVAL', `unsupported lddw source kind ${ins.src}`);
  }

  mapAt(idx: number): BpfMap {
    const map = this.in.maps[idx];
    if (map === undefined) reject('EBADF', `fd ${idx} is not pointing to valid bpf_map`);
    return map!;
  }

  checkLdAbs(st: VState, ins: Insn): void {
    const f = st.cur;
    if (!SKB_TYPES.has(this.ops.type)) reject('EINVAL', 'BPF_LD_[ABS|IND] instructions not allowed for this program type');
    this.readReg(f, 6);
    if (f.regs[6].type !== 'PTR_TO_CTX') reject('EINVAL', 'at the time of BPF_LD_ABS|IND R6 != pointer to skb');
    if (modeOf(ins.code) === BPF_IND) {
      const s = this.readReg(f, ins.src);
      if (s.isPtr) reject('EACCES', `R${ins.src} leaks addr into packet offset`);
    }
    if (modeOf(ins.code) !== BPF_ABS && modeOf(ins.code) !== BPF_IND) reject('EINVAL', 'unknown ld mode');
    for (let r = 1; r <= 5; r++) f.regs[r] = Reg.notInit();
    f.regs[0] = this.loaded(sizeBytes(sizeOf(ins.code)));
  }

  // ---------------------------------------------------------------------------------------------------
  // jumps

  checkCondJmp(st: VState, pc: number, ins: Insn): VState | null {
    const f = st.cur;
    const op = opOf(ins.code);
    const is64 = classOf(ins.code) === BPF_JMP;
    const x = srcBitOf(ins.code) === BPF_X;
    const d = this.readReg(f, ins.dst);
    const s = x ? this.readReg(f, ins.src) : Reg.scalar(constBounds(BigInt(ins.imm)));
    const target = jumpTarget(ins, pc);
    this.jmps++;
    let taken = -1;
    if (!d.isPtr && !s.isPtr) taken = branchTaken(op, d.b, s.b, is64);
    else if (is64 && (op === BPF_JEQ || op === BPF_JNE) && (d.isPtr !== s.isPtr)) {
      const p = d.isPtr ? d : s, k = d.isPtr ? s : d;
      if (k.isNull && !isOrNull(p.type)) taken = op === BPF_JNE ? 1 : 0;
    }
    if (taken === 1) { st.pc = target; return st; }
    if (taken === 0) { st.pc = pc + 1; return st; }
    const other = st.clone();
    other.pc = target;
    st.pc = pc + 1;
    // `other` is the taken side, `st` the fall-through side
    const okTaken = this.refineBranch(other, ins, op, is64, x, true);
    const okFall = this.refineBranch(st, ins, op, is64, x, false);
    if (okTaken && okFall) { this.pushBranch(other, pc); return st; }
    if (okTaken) return other;
    if (okFall) return st;
    this.endPath(st);
    return null;
  }

  /** Learn from the condition holding (taken) or not; false when that side cannot happen. */
  refineBranch(st: VState, ins: Insn, op: number, is64: boolean, x: boolean, taken: boolean): boolean {
    const f = st.cur;
    const d = f.regs[ins.dst];
    const s = x ? f.regs[ins.src] : Reg.scalar(constBounds(BigInt(ins.imm)));
    const cmp = taken ? op : invertJmp(op);
    // NULL checks of *_or_null pointers
    if (is64 && (op === BPF_JEQ || op === BPF_JNE)) {
      const [p, k] = isOrNull(d.type) ? [d, s] : isOrNull(s.type) ? [s, d] : [null, null];
      if (p !== null && k!.isNull) {
        this.markPtrOrNull(st, p.id, cmp === BPF_JEQ);
        return true;
      }
    }
    if (d.type === 'SCALAR_VALUE' && s.type === 'SCALAR_VALUE') {
      if (cmp < 0) return true; // JSET: nothing learnt
      const r = refineCmp(cmp, d.b, s.b, is64);
      if (r === null) return false;
      if (!is64) return true;
      f.regs[ins.dst] = Reg.scalar(r[0]);
      if (x) f.regs[ins.src] = Reg.scalar(r[1]);
      this.syncSameValue(st, d, r[0]);
      return true;
    }
    if (is64 && cmp >= 0) this.tryMatchPktPointers(st, d, s, cmp);
    return true;
  }

  /** Scalars copied from one register share the object: refresh the copies in the other registers too. */
  syncSameValue(st: VState, old: Reg, b: Bounds): void {
    if (old.type !== 'SCALAR_VALUE' || isConst(old.b)) return;
    const repl = Reg.scalar(b);
    for (const fr of st.frames) {
      for (let i = 0; i < 10; i++) if (fr.regs[i] === old) fr.regs[i] = repl;
      for (let i = 0; i < fr.stack.length; i++) {
        const sl = fr.stack[i];
        if (sl && sl.spill === old) { const c = sl.clone(); c.spill = repl; fr.stack[i] = c; }
      }
    }
  }

  /** pkt vs pkt_end comparisons: the side where pkt + off <= pkt_end learns `off` bytes (find_good_pkt_pointers). */
  tryMatchPktPointers(st: VState, d: Reg, s: Reg, cmp: number): void {
    const endLike = (a: Reg, b: Reg): boolean =>
      (a.type === 'PTR_TO_PACKET' && b.type === 'PTR_TO_PACKET_END') || (a.type === 'PTR_TO_PACKET_META' && b.type === 'PTR_TO_PACKET');
    let pkt: Reg | null = null;
    let open = false;
    if (endLike(d, s)) {
      // pkt OP end
      if (cmp === BPF_JLE) pkt = d; // pkt <= end
      else if (cmp === BPF_JLT) { pkt = d; open = true; } // pkt < end
    } else if (endLike(s, d)) {
      // end OP pkt
      if (cmp === BPF_JGE) pkt = s; // end >= pkt
      else if (cmp === BPF_JGT) { pkt = s; open = true; } // end > pkt
    }
    if (pkt === null) return;
    if (pkt.off < 0 || (pkt.off === 0 && open)) return;
    if (pkt.b.umax > BigInt(MAX_PACKET_OFF) || pkt.b.umax + BigInt(pkt.off) > BigInt(MAX_PACKET_OFF)) return;
    const newRange = pkt.off + (open ? 1 : 0);
    const { type, id } = pkt;
    const upd = (r: Reg): Reg => {
      if (r.type !== type || r.id !== id || r.range >= newRange) return r;
      const c = r.clone(); c.range = newRange; return c;
    };
    this.forEachReg(st, upd);
  }

  /** Apply `fn` to every register and spilled register of every frame. */
  forEachReg(st: VState, fn: (r: Reg) => Reg): void {
    for (const fr of st.frames) {
      for (let i = 0; i < 10; i++) fr.regs[i] = fn(fr.regs[i]);
      for (let i = 0; i < fr.stack.length; i++) {
        const sl = fr.stack[i];
        if (sl && sl.spill) {
          const n = fn(sl.spill);
          if (n !== sl.spill) { const c = sl.clone(); c.spill = n; fr.stack[i] = c; }
        }
      }
    }
  }

  /** mark_ptr_or_null_regs: every copy of the checked pointer becomes NULL (a zero) or the non-null kind. */
  markPtrOrNull(st: VState, id: number, isNull: boolean): void {
    if (id === 0) return;
    let refId = 0;
    this.forEachReg(st, (r) => {
      if (!isOrNull(r.type) || r.id !== id) return r;
      if (isNull) { refId = r.refId || refId; return Reg.scalar(constBounds(0n)); }
      const c = r.clone();
      c.id = 0;
      if (r.type === 'PTR_TO_MAP_VALUE_OR_NULL') {
        const inner = innerMapOf(r.map!);
        if (inner) { c.type = 'CONST_PTR_TO_MAP'; c.map = inner; c.off = 0; } else c.type = 'PTR_TO_MAP_VALUE';
      } else if (r.type === 'CONST_PTR_TO_MAP_OR_NULL') c.type = 'CONST_PTR_TO_MAP';
      else c.type = 'PTR_TO_MEM';
      return c;
    });
    if (isNull && refId) st.refs.delete(refId);
  }

  // ---------------------------------------------------------------------------------------------------
  // exit and calls

  checkExit(st: VState, pc: number): VState | null {
    const f = st.cur;
    this.readReg(f, 0);
    if (st.frames.length > 1) return this.returnFromCall(st, pc);
    if (st.refs.size > 0) {
      const [id, at] = st.refs.entries().next().value as [number, number];
      reject('EINVAL', `Unreleased reference id=${id} alloc_insn=${at}`);
    }
    this.endPath(st);
    return null;
  }

  returnFromCall(st: VState, pc: number): VState {
    const callee = st.cur;
    const r0 = callee.regs[0];
    if (r0.type === 'PTR_TO_STACK' && r0.frameno === st.frames.length - 1) {
      reject('EINVAL', 'cannot return stack pointer to the caller');
    }
    if (callee.callback && r0.type !== 'SCALAR_VALUE') {
      reject('EACCES', `At callback return the register R0 is not a known value (${regTypeStr(r0)})`);
    }
    st.frames.pop();
    const caller = st.cur;
    // pointers into the dead frame's stack are no longer valid
    const dead = st.frames.length;
    this.forEachReg(st, (r) => (r.type === 'PTR_TO_STACK' && r.frameno >= dead ? Reg.scalar() : r));
    caller.regs[0] = callee.callback ? Reg.scalar() : r0;
    for (let r = 1; r <= 5; r++) caller.regs[r] = Reg.notInit();
    st.pc = callee.callsite + 1;
    if (this.level >= 2) this.log(`returning from callee at ${pc} to ${st.pc}: ${stateStr(st)}\n`);
    return st;
  }

  checkLocalCall(st: VState, pc: number, target: number, callback: boolean, cbArgs: Reg[] | null): VState {
    if (st.frames.length >= MAX_CALL_FRAMES) {
      reject('E2BIG', `the call stack of ${st.frames.length + 1} frames is too deep !`);
    }
    const caller = st.cur;
    const callee = new Frame(pc, target, callback);
    const frameno = st.frames.length;
    if (cbArgs) for (let r = 1; r <= 5; r++) callee.regs[r] = cbArgs[r - 1];
    else for (let r = 1; r <= 5; r++) callee.regs[r] = caller.regs[r];
    callee.regs[10] = this.fp(frameno);
    const set = this.callees.get(caller.subprog) ?? new Set<number>();
    set.add(target);
    this.callees.set(caller.subprog, set);
    // the caller's scratch registers are dead once the callee returns
    for (let r = 0; r <= 5; r++) caller.regs[r] = Reg.notInit();
    const live = this.live[pc + 1] ?? 0;
    for (let r = 6; r <= 9; r++) if (!(live & (1 << r))) caller.regs[r] = Reg.notInit();
    st.frames.push(callee);
    st.pc = target;
    if (this.level >= 2) this.log(`caller:\n  ${stateStr(st)}\ncallee:\n  frame${frameno}: R10=fp0\n`);
    return st;
  }

  /** Returns the state to continue with when the helper runs a callback, else null (continue after the call). */
  checkHelperCall(st: VState, pc: number, id: number): VState | null {
    const f = st.cur;
    const proto = this.in.helperProto(id);
    if (proto === undefined) reject('EINVAL', `unknown func ${helperName(id)}`);
    if (!this.ops.helperAllowed(id)) reject('EINVAL', `program of this type cannot use helper ${helperName(id)}`);
    if (proto!.gplOnly && !this.in.gpl) reject('EINVAL', 'cannot call GPL-restricted function from non-GPL compatible program');
    this.usedHelpers.add(id);
    const meta: CallMeta = { map: null, memSize: 0, subprog: -1, ctxArg: null, releaseRef: 0 };
    const args = proto!.args;
    for (let i = 0; i < 5; i++) this.checkFuncArg(st, proto!, i, (args[i] ?? 'ARG_DONTCARE') as ArgKind, meta);
    if (meta.map) this.checkMapFuncCompat(meta.map, id);
    if (id === F.tail_call) this.hasTailCall = true;
    if (meta.releaseRef) {
      if (!st.refs.has(meta.releaseRef)) reject('EINVAL', `R1 must be referenced when passed to release function`);
      st.refs.delete(meta.releaseRef);
      const ref = meta.releaseRef;
      this.forEachReg(st, (r) => (r.refId === ref ? Reg.scalar() : r));
    }
    if (CHANGES_PKT_DATA.has(id)) {
      this.forEachReg(st, (r) => (isPkt(r.type) || r.type === 'PTR_TO_PACKET_END' ? Reg.scalar() : r));
    }
    // return value
    for (let r = 1; r <= 5; r++) f.regs[r] = Reg.notInit();
    switch (proto!.ret) {
      case 'RET_INTEGER': f.regs[0] = Reg.scalar(); break;
      case 'RET_VOID': f.regs[0] = Reg.notInit(); break;
      case 'RET_PTR_TO_MAP_VALUE': case 'RET_PTR_TO_MAP_VALUE_OR_NULL': {
        if (!meta.map) reject('EINVAL', `kernel subsystem misconfigured verifier: ${helperName(id)} returns a map value without a map argument`);
        const r = Reg.ptr(proto!.ret === 'RET_PTR_TO_MAP_VALUE' ? 'PTR_TO_MAP_VALUE' : 'PTR_TO_MAP_VALUE_OR_NULL');
        r.map = meta.map;
        if (r.type === 'PTR_TO_MAP_VALUE_OR_NULL') r.id = this.newId();
        f.regs[0] = r;
        break;
      }
      case 'RET_PTR_TO_MEM_OR_NULL': {
        const r = Reg.ptr('PTR_TO_MEM_OR_NULL');
        r.memSize = meta.memSize;
        r.id = this.newId();
        r.refId = r.id;
        st.refs.set(r.id, pc);
        f.regs[0] = r;
        break;
      }
    }
    if (meta.subprog >= 0) {
      if (id !== F.loop) reject('EINVAL', `${helperName(id)}: callbacks are supported for bpf_loop only`);
      // bpf_loop(nr, callback_fn, ctx, flags): callback(u32 index, void *ctx); the caller sees r0 = iterations
      f.regs[0] = Reg.scalar();
      const ctxArg = meta.ctxArg ?? Reg.scalar(constBounds(0n));
      const cbArgs = [Reg.scalar(sizedBounds(4)), ctxArg, Reg.notInit(), Reg.notInit(), Reg.notInit()];
      // the callback may change what ctx points to: forget scalars spilled in the caller's stack
      if (ctxArg.type === 'PTR_TO_STACK') {
        const fr = st.frames[ctxArg.frameno];
        for (let i = 0; i < fr.stack.length; i++) {
          const sl = fr.stack[i];
          if (sl && sl.spill && sl.spill.type === 'SCALAR_VALUE') { const c = sl.clone(); c.spill = Reg.scalar(sizedBounds(sl.spillSize)); fr.stack[i] = c; }
          else if (sl && !sl.spill) { const c = sl.clone(); for (let j = 0; j < 8; j++) if (c.kinds[j] === STACK_ZERO) c.kinds[j] = STACK_MISC; fr.stack[i] = c; }
        }
      }
      return this.checkLocalCall(st, pc, meta.subprog, true, cbArgs);
    }
    return null;
  }

  checkFuncArg(st: VState, proto: HelperProto, i: number, kind: ArgKind, meta: CallMeta): void {
    if (kind === 'ARG_DONTCARE') return;
    const regno = i + 1;
    const f = st.cur;
    const reg = this.readReg(f, regno);
    const parts = kind.split('|');
    const base = parts[0];
    const maybeNull = parts.includes('PTR_MAYBE_NULL');
    const uninit = parts.includes('MEM_UNINIT') || base === 'ARG_PTR_TO_UNINIT_MEM';
    const expect = (ok: boolean, expected: string): void => {
      if (!ok) reject('EACCES', `R${regno} type=${regTypeStr(reg)} expected=${expected}`);
    };
    const MEM_TYPES = ['PTR_TO_STACK', 'PTR_TO_PACKET', 'PTR_TO_PACKET_META', 'PTR_TO_MAP_KEY', 'PTR_TO_MAP_VALUE', 'PTR_TO_MEM'];
    const MEM_STR = 'fp, pkt, pkt_meta, map_key, map_value, mem';
    switch (base) {
      case 'ARG_ANYTHING': return;
      case 'ARG_CONST_MAP_PTR':
        expect(reg.type === 'CONST_PTR_TO_MAP', 'map_ptr');
        meta.map = reg.map;
        this.usedMaps.add(reg.map!);
        return;
      case 'ARG_PTR_TO_MAP_KEY': case 'ARG_PTR_TO_MAP_VALUE': {
        expect(MEM_TYPES.includes(reg.type) && reg.type !== 'PTR_TO_MEM', 'fp, pkt, pkt_meta, map_key, map_value');
        if (!meta.map) reject('EACCES', `invalid map_ptr to access map->${base === 'ARG_PTR_TO_MAP_KEY' ? 'key' : 'value'}`);
        const size = base === 'ARG_PTR_TO_MAP_KEY' ? meta.map!.keySize : meta.map!.valueSize;
        this.helperMemAccess(st, proto, regno, reg, size, uninit, false);
        return;
      }
      case 'ARG_PTR_TO_MEM': case 'ARG_PTR_TO_UNINIT_MEM':
        if (maybeNull && reg.isNull) return;
        expect(MEM_TYPES.includes(reg.type), MEM_STR);
        return; // size checked with the size argument
      case 'ARG_CONST_SIZE': case 'ARG_CONST_SIZE_OR_ZERO': {
        expect(reg.type === 'SCALAR_VALUE', 'scalar');
        const zeroOk = base === 'ARG_CONST_SIZE_OR_ZERO';
        if (reg.b.smin < 0n) reject('EACCES', `R${regno} min value is negative, either use unsigned or 'var &= const'`);
        if (reg.b.umax === 0n && !zeroOk) reject('EACCES', `R${regno} invalid zero-sized read: u64=[${reg.b.umin},${reg.b.umax}]`);
        if (reg.b.umax >= MAX_VAR_SIZ) reject('EACCES', `R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
        const memReg = f.regs[regno - 1];
        const memKind = String(proto.args[i - 1] ?? '');
        if (memReg.isNull && memKind.includes('PTR_MAYBE_NULL')) {
          if (reg.b.umax !== 0n) reject('EACCES', `R${regno - 1} type=scalar expected=${MEM_STR}`);
          return;
        }
        const memUninit = memKind.includes('MEM_UNINIT') || memKind.startsWith('ARG_PTR_TO_UNINIT_MEM');
        this.helperMemAccess(st, proto, regno - 1, memReg, Number(reg.b.umax), memUninit, zeroOk);
        return;
      }
      case 'ARG_CONST_ALLOC_SIZE_OR_ZERO':
        expect(reg.type === 'SCALAR_VALUE', 'scalar');
        if (!isConst(reg.b)) reject('EACCES', `R${regno} is not a known constant'`);
        meta.memSize = Number(reg.b.umin);
        return;
      case 'ARG_PTR_TO_CTX':
        if (maybeNull && reg.isNull) return;
        expect(reg.type === 'PTR_TO_CTX', 'ctx');
        if (reg.off !== 0) reject('EACCES', `dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
        return;
      case 'ARG_PTR_TO_STACK':
        if (maybeNull && reg.isNull) { meta.ctxArg = reg; return; }
        expect(reg.type === 'PTR_TO_STACK', 'fp');
        meta.ctxArg = reg;
        return;
      case 'ARG_PTR_TO_FUNC':
        expect(reg.type === 'PTR_TO_FUNC', 'func');
        meta.subprog = reg.subprog;
        return;
      case 'ARG_PTR_TO_CONST_STR': {
        expect(reg.type === 'PTR_TO_MAP_VALUE', 'map_value');
        const map = reg.map!;
        if (!(map.flags & BPF_F_RDONLY_PROG)) reject('EACCES', `R${regno} does not point to a readonly map'`);
        if (!isConst(reg.b)) reject('EACCES', `R${regno} is not a constant address'`);
        const off = reg.off + Number(reg.b.umin);
        this.regionAccess(regno, reg, 0, 1, map.valueSize, false);
        const base = (map as unknown as { values?: number }).values;
        if (typeof base === 'number') {
          const u8 = map.space.u8;
          let ok = false;
          for (let j = off; j < map.valueSize; j++) if (u8[base + j] === 0) { ok = true; break; }
          if (!ok) reject('EINVAL', 'string is not zero-terminated');
        }
        return;
      }
      case 'ARG_PTR_TO_RINGBUF_MEM':
        expect(reg.type === 'PTR_TO_MEM' && reg.refId !== 0, 'ringbuf_mem');
        if (reg.off !== 0 || !isConst(reg.b) || reg.b.umin !== 0n) {
          reject('EINVAL', `R${regno} must have zero offset when passed to release func`);
        }
        meta.releaseRef = reg.refId;
        return;
      case 'ARG_PTR_TO_LONG': case 'ARG_PTR_TO_INT':
        expect(reg.type === 'PTR_TO_STACK' || reg.type === 'PTR_TO_MAP_VALUE', 'fp, map_value');
        this.helperMemAccess(st, proto, regno, reg, base === 'ARG_PTR_TO_LONG' ? 8 : 4, true, false);
        return;
    }
    reject('EINVAL', `unsupported argument kind ${kind} of ${helperName(proto.id)}`);
  }

  /** check_helper_mem_access: `size` bytes at reg, written by the helper when `write`. */
  helperMemAccess(st: VState, proto: HelperProto, regno: number, reg: Reg, size: number, write: boolean, zeroOk: boolean): void {
    switch (reg.type) {
      case 'PTR_TO_PACKET': case 'PTR_TO_PACKET_META':
        if (proto.pktAccess === false) reject('EACCES', 'helper access to the packet is not allowed');
        if (size === 0 && zeroOk) return;
        this.packetAccess(regno, reg, 0, size, zeroOk);
        return;
      case 'PTR_TO_MAP_VALUE':
        if (size === 0 && zeroOk) return;
        this.mapAccessType(reg.map!, reg.off, size, write);
        this.regionAccess(regno, reg, 0, size, reg.map!.valueSize, zeroOk);
        return;
      case 'PTR_TO_MEM':
        if (size === 0 && zeroOk) return;
        this.regionAccess(regno, reg, 0, size, reg.memSize, zeroOk);
        return;
      case 'PTR_TO_STACK': {
        if (size === 0 && zeroOk) return;
        const [lo, hi] = this.stackBounds(regno, reg, 0, size, write, true);
        const frame = this.frameOf(st, reg);
        this.noteStack(st, frame, lo);
        if (write) this.markStack(frame, lo, hi, STACK_MISC);
        return;
      }
    }
    reject('EACCES', `R${regno} type=${regTypeStr(reg)} expected=fp, pkt, pkt_meta, map_key, map_value, mem`);
  }

  /** check_map_func_compatibility */
  checkMapFuncCompat(map: BpfMap, id: number): void {
    const bad = (): never => reject('EINVAL', `cannot pass map_type ${map.type} into func ${helperName(id)}`);
    switch (map.type) {
      case T.BPF_MAP_TYPE_PROG_ARRAY: if (id !== F.tail_call) bad(); break;
      case T.BPF_MAP_TYPE_PERF_EVENT_ARRAY:
        if (id !== F.perf_event_read && id !== F.perf_event_output && id !== F.skb_output && id !== F.perf_event_read_value && id !== F.xdp_output) bad();
        break;
      case T.BPF_MAP_TYPE_RINGBUF:
        if (id !== F.ringbuf_output && id !== F.ringbuf_reserve && id !== F.ringbuf_query && id !== F.ringbuf_reserve_dynptr) bad();
        break;
      case T.BPF_MAP_TYPE_QUEUE: case T.BPF_MAP_TYPE_STACK:
        if (id !== F.map_peek_elem && id !== F.map_pop_elem && id !== F.map_push_elem) bad();
        break;
      case T.BPF_MAP_TYPE_ARRAY_OF_MAPS: case T.BPF_MAP_TYPE_HASH_OF_MAPS:
        if (id !== F.map_lookup_elem) bad();
        break;
      case T.BPF_MAP_TYPE_DEVMAP: case T.BPF_MAP_TYPE_DEVMAP_HASH:
        if (id !== F.redirect_map && id !== F.map_lookup_elem) bad();
        break;
      case T.BPF_MAP_TYPE_CPUMAP: case T.BPF_MAP_TYPE_XSKMAP:
        if (id !== F.redirect_map && id !== F.map_lookup_elem) bad();
        break;
    }
    switch (id) {
      case F.tail_call: if (map.type !== T.BPF_MAP_TYPE_PROG_ARRAY) bad(); break;
      case F.perf_event_output: case F.perf_event_read: case F.perf_event_read_value:
        if (map.type !== T.BPF_MAP_TYPE_PERF_EVENT_ARRAY) bad();
        break;
      case F.ringbuf_output: case F.ringbuf_reserve: case F.ringbuf_query:
        if (map.type !== T.BPF_MAP_TYPE_RINGBUF) bad();
        break;
      case F.map_peek_elem: case F.map_pop_elem: case F.map_push_elem:
        if (map.type !== T.BPF_MAP_TYPE_QUEUE && map.type !== T.BPF_MAP_TYPE_STACK && map.type !== T.BPF_MAP_TYPE_BLOOM_FILTER) bad();
        break;
      case F.redirect_map:
        if (map.type !== T.BPF_MAP_TYPE_DEVMAP && map.type !== T.BPF_MAP_TYPE_DEVMAP_HASH && map.type !== T.BPF_MAP_TYPE_CPUMAP && map.type !== T.BPF_MAP_TYPE_XSKMAP) bad();
        break;
    }
    if ((map.flags & BPF_F_RDONLY_PROG) && (id === F.map_delete_elem || id === F.map_update_elem || id === F.map_push_elem || id === F.map_pop_elem)) {
      reject('EACCES', 'write into map forbidden');
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // after the walk

  /** check_max_stack_depth: the deepest call chain uses at most 512 bytes (each frame rounded up to 32). */
  checkStackDepth(): void {
    const frameSize = (s: number): number => Math.ceil(Math.max(this.stackDepth.get(s) ?? 0, 1) / 32) * 32;
    const walk = (s: number, depth: number, chain: number): void => {
      const d = depth + frameSize(s);
      if (d > MAX_BPF_STACK) reject('EACCES', `combined stack size of ${chain} calls is ${d}. Too large`);
      for (const c of this.callees.get(s) ?? []) if (chain < MAX_CALL_FRAMES + 1) walk(c, d, chain + 1);
    };
    walk(0, 0, 1);
  }
}

/** map_direct_value_addr exists for single-element arrays (global data). */
export function isDirectValueMap(map: BpfMap): boolean {
  return map.type === T.BPF_MAP_TYPE_ARRAY && map.maxEntries === 1;
}

function innerMapOf(map: BpfMap): BpfMap | null {
  if (map.type !== T.BPF_MAP_TYPE_ARRAY_OF_MAPS && map.type !== T.BPF_MAP_TYPE_HASH_OF_MAPS) return null;
  return (map as unknown as { inner?: BpfMap | null }).inner ?? null;
}

/**
 * Check `input.insns` and produce the rewritten program. Throws VerifierError (a BpfError with `log`)
 * with the kernel's errno and a message "insn N: reason" when the program is rejected.
 */
export function verify(input: VerifierInput): VerifierResult {
  let entries: number[];
  try {
    entries = validate(input.insns);
  } catch (e) {
    if (e instanceof BpfError) {
      const msg = e.message.replace(/^[A-Z0-9]+: /, '');
      throw new VerifierError(e.code, msg, e.insn, input.logLevel > 0 ? `${msg}\n` : '');
    }
    throw e;
  }
  if (input.insns.length > MAX_INSNS) throw new VerifierError('E2BIG', 'program too large', undefined, '');
  const c = new Checker(input, entries);
  let pc = 0;
  try {
    c.run();
    c.checkStackDepth();
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    pc = lastPc(c);
    c.log(`${e.msg}\n`);
    c.log(stats(c));
    const log = input.logLevel > 0 ? c.logText() : '';
    throw new VerifierError(e.code, `insn ${pc}: ${e.msg.split('\n')[0]}`, pc, log);
  }
  if (c.level === 1) c.logReset(0);
  c.log(stats(c));
  const usedMaps = [...c.usedMaps];
  // lddw references count as uses too
  for (let i = 0; i < input.insns.length; i++) {
    const ins = input.insns[i];
    if (ins.code === OP_LDDW) {
      if (ins.src === BPF_PSEUDO_MAP_FD || ins.src === BPF_PSEUDO_MAP_VALUE || ins.src === BPF_PSEUDO_MAP_IDX || ins.src === BPF_PSEUDO_MAP_IDX_VALUE) {
        const m = input.maps[ins.imm];
        if (m && !usedMaps.includes(m)) usedMaps.push(m);
      }
      i++;
    }
  }
  let insns: Insn[];
  try {
    insns = rewriteProgram(input, c.aux);
  } catch (e) {
    if (e instanceof BpfError) {
      const msg = e.message.replace(/^[A-Z0-9]+: /, '');
      throw new VerifierError(e.code, msg, e.insn, input.logLevel > 0 ? `${c.logText()}${msg}\n` : '');
    }
    throw e;
  }
  return {
    insns,
    log: input.logLevel > 0 ? c.logText() : '',
    stackDepth: c.stackDepth.get(0) ?? 0,
    usedMaps,
    usedHelpers: [...c.usedHelpers].sort((a, b) => a - b),
    hasTailCall: c.hasTailCall,
  };
}

/** The instruction the walk was at when it stopped (the last "N:" printed, or tracked). */
function lastPc(c: Checker): number {
  return c.lastPc;
}

function stats(c: Checker): string {
  return `processed ${c.processed} insns (limit ${COMPLEXITY_LIMIT_INSNS}) max_states_per_insn ${c.maxStatesPerInsn} ` +
    `total_states ${c.totalStates} peak_states ${c.peakStates} mark_read 0\n`;
}


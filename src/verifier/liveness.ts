// Static register liveness: which registers an instruction's continuation may read before writing them.
// The checker forgets dead registers at prune points, so two paths that differ only in dead values (a
// null-checked pointer that is no longer used, a scratch register) are recognised as the same state - the
// job the kernel's read marks do.

import {
  BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_CALL, BPF_CMPXCHG, BPF_END, BPF_EXIT, BPF_FETCH, BPF_IND, BPF_JA,
  BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_MOV, BPF_NEG, BPF_ST, BPF_STX, BPF_X, OP_LDDW, classOf, modeOf, opOf, srcBitOf,
} from '../isa/opcodes.js';
import { type Insn, jumpTarget } from '../isa/insn.js';

const bit = (r: number): number => 1 << r;
const ARGS = 0b111110; // r1-r5
const CALLER_SAVED = 0b111111; // r0-r5

/**
 * Live-in register mask of every instruction. `helperArgs(id)` gives the number of arguments a helper
 * reads (5 when unknown).
 */
export function liveRegs(insns: readonly Insn[], helperArgs: (id: number) => number): Uint16Array {
  const n = insns.length;
  const use = new Uint16Array(n), def = new Uint16Array(n);
  const succ: number[][] = new Array(n);
  const second = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (second[i]) { succ[i] = []; continue; }
    const ins = insns[i];
    const cls = classOf(ins.code), op = opOf(ins.code), x = srcBitOf(ins.code) === BPF_X;
    let u = 0, d = 0, next = [i + 1];
    switch (cls) {
      case BPF_ALU: case BPF_ALU64:
        if (op === BPF_MOV) u = x ? bit(ins.src) : 0;
        else if (op === BPF_NEG || op === BPF_END) u = bit(ins.dst);
        else u = bit(ins.dst) | (x ? bit(ins.src) : 0);
        d = bit(ins.dst);
        break;
      case BPF_LDX: u = bit(ins.src); d = bit(ins.dst); break;
      case BPF_ST: u = bit(ins.dst); break;
      case BPF_STX:
        u = bit(ins.dst) | bit(ins.src);
        if (modeOf(ins.code) === BPF_ATOMIC && (ins.imm & BPF_FETCH)) {
          if (ins.imm === BPF_CMPXCHG) { u |= 1; d = 1; } else d = bit(ins.src);
        }
        break;
      case BPF_LD:
        if (ins.code === OP_LDDW) { d = bit(ins.dst); next = [i + 2]; second[i + 1] = 1; break; }
        if (modeOf(ins.code) === BPF_ABS || modeOf(ins.code) === BPF_IND) {
          u = bit(6) | (modeOf(ins.code) === BPF_IND ? bit(ins.src) : 0);
          d = CALLER_SAVED;
        }
        break;
      case BPF_JMP: case BPF_JMP32:
        if (op === BPF_EXIT) { u = 1; next = []; break; }
        if (op === BPF_CALL) {
          if (x) { u = bit(ins.dst) | ARGS; d = CALLER_SAVED; break; }
          const nargs = ins.src === 0 ? helperArgs(ins.imm) : 5;
          u = ARGS & ((1 << (nargs + 1)) - 1);
          d = CALLER_SAVED;
          break;
        }
        if (op === BPF_JA) { next = [jumpTarget(ins, i)]; break; }
        u = bit(ins.dst) | (x ? bit(ins.src) : 0);
        next = [i + 1, jumpTarget(ins, i)];
        break;
    }
    use[i] = u & 0x3ff; def[i] = d;
    succ[i] = next.filter((t) => t >= 0 && t < n);
  }
  // backward fixpoint: live_in = use | (live_out & ~def)
  const live = new Uint16Array(n);
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) for (const t of succ[i]) preds[t].push(i);
  const work: number[] = [];
  const queued = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) { work.push(i); queued[i] = 1; }
  while (work.length > 0) {
    const i = work.pop()!;
    queued[i] = 0;
    let out = 0;
    for (const t of succ[i]) out |= live[t];
    const inn = use[i] | (out & ~def[i]);
    if (inn !== live[i]) {
      live[i] = inn;
      for (const p of preds[i]) if (!queued[p]) { queued[p] = 1; work.push(p); }
    }
  }
  return live;
}

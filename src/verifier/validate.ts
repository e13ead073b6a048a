// The load-time validation pass: the structural checks every loader makes before a program may run
// (the kernel's bpf_check() front half: resolve_pseudo_ldimm64, check_subprogs, check_cfg), without any
// register-state tracking. It rejects, with the instruction index and the reason:
// - an empty program (EINVAL) or one of more than 1,000,000 slots (E2BIG);
// - an invalid slot (isa/insn.ts insnError), an lddw whose second slot is missing or not all zero but imm;
// - a write to r10 (ALU/ALU64/LDX/lddw destination, or the src of an atomic fetch);
// - a kfunc call (call src=2): tsbpf has no kernel functions;
// - a jump, local call or lddw function reference outside the program or into the second slot of an lddw;
// - a jump that leaves its subprogram, a subprogram whose last slot is not exit/ja (it could fall off);
// - a subprogram with no reachable exit.
// Unreachable instructions are accepted (the kernel rejects them, but conformance suites contain such
// programs and they are harmless to run).
// It also exposes the subprogram boundaries (entry points of local calls), which later passes need.

import { BpfError } from '../errors.js';
import {
  BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_CALL, BPF_CMPXCHG, BPF_EXIT, BPF_FETCH, BPF_JA, BPF_JMP, BPF_JMP32, BPF_LDX,
  BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_STX, OP_CALL, OP_EXIT, OP_JA, OP_JA32, OP_LDDW, classOf, modeOf, opOf,
} from '../isa/opcodes.js';
import { insnError, isBranch, jumpTarget, type Insn } from '../isa/insn.js';

/** Most slots a program may have (the kernel's limit for privileged loads, BPF_COMPLEXITY_LIMIT_INSNS). */
export const MAX_INSNS = 1_000_000;

const bad = (i: number, why: string): never => { throw new BpfError('EINVAL', `insn ${i}: ${why}`, i); };

/** Slot index a local call (call src=1) or an lddw function reference at `i` points at, or null. */
function localTarget(ins: Insn, i: number): number | null {
  if (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) return i + 1 + ins.imm;
  if (ins.code === OP_LDDW && ins.src === BPF_PSEUDO_FUNC) return i + 1 + ins.imm;
  return null;
}

/**
 * Entry points of the subprograms, sorted, starting with 0: the main program and every in-range target of a
 * local call or an lddw function reference. Does not validate; out-of-range targets are skipped.
 */
export function subprogEntries(insns: readonly Insn[]): number[] {
  const set = new Set<number>([0]);
  for (let i = 0; i < insns.length; i++) {
    const ins = insns[i];
    const t = localTarget(ins, i);
    if (t !== null && t >= 0 && t < insns.length) set.add(t);
    if (ins.code === OP_LDDW) i++;
  }
  return [...set].sort((a, b) => a - b);
}

/** True when the slot writes register `r` as a destination (the checks for r10). */
function writesReg(ins: Insn, r: number): boolean {
  const cls = classOf(ins.code);
  if (cls === BPF_ALU || cls === BPF_ALU64 || cls === BPF_LDX || ins.code === OP_LDDW) return ins.dst === r;
  // Atomic fetch ops (and xchg) write the old value to src; cmpxchg writes it to r0 and only reads src.
  if (cls === BPF_STX && modeOf(ins.code) === BPF_ATOMIC && (ins.imm & BPF_FETCH) !== 0) {
    return ins.imm === BPF_CMPXCHG ? r === 0 : ins.src === r;
  }
  return false;
}

/**
 * Check the program's structure; throws BpfError naming the first offending instruction.
 * Returns the subprogram entry points (as subprogEntries()).
 */
export function validate(insns: readonly Insn[]): number[] {
  const n = insns.length;
  if (n === 0) throw new BpfError('EINVAL', 'program is empty');
  if (n > MAX_INSNS) throw new BpfError('E2BIG', `program has ${n} instructions, more than ${MAX_INSNS}`);

  // Pass 1: each slot on its own; mark the second slots of lddw.
  const second = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const ins = insns[i];
    const err = insnError(ins);
    if (err !== null) bad(i, err);
    if (writesReg(ins, 10)) bad(i, 'frame pointer r10 is read only');
    if (ins.code === OP_CALL && ins.src === BPF_PSEUDO_KFUNC_CALL) bad(i, 'kernel function calls (call src=2) are not supported');
    if (ins.code === OP_LDDW) {
      if (i + 1 >= n) bad(i, 'lddw is missing its second slot');
      const nx = insns[i + 1];
      if (nx.code !== 0 || nx.dst !== 0 || nx.src !== 0 || nx.off !== 0) bad(i + 1, 'invalid second slot of lddw (only imm may be non-zero)');
      second[i + 1] = 1;
      i++;
    }
  }

  // Pass 2: every jump and local-call target lands on an instruction.
  for (let i = 0; i < n; i++) {
    if (second[i]) continue;
    const ins = insns[i];
    let t: number | null;
    let what: string;
    if (isBranch(ins)) { t = jumpTarget(ins, i); what = 'jump'; } else {
      t = localTarget(ins, i);
      if (t === null) continue;
      what = ins.code === OP_CALL ? 'call' : 'function reference';
    }
    if (t < 0 || t >= n) bad(i, `${what} out of range to insn ${t}`);
    if (second[t]) bad(i, `${what} into the middle of lddw at insn ${t - 1}`);
  }

  // Pass 3: subprograms. Jumps stay inside their subprogram; each one ends in exit or ja.
  const entries = subprogEntries(insns);
  for (let s = 0; s < entries.length; s++) {
    const start = entries[s], end = s + 1 < entries.length ? entries[s + 1] : n;
    for (let i = start; i < end; i++) {
      if (second[i]) continue;
      const ins = insns[i];
      if (isBranch(ins)) {
        const t = jumpTarget(ins, i);
        if (t < start || t >= end) bad(i, `jump out of subprogram [${start}, ${end}) to insn ${t}`);
      }
    }
    const last = insns[end - 1];
    if (second[end - 1] || (last.code !== OP_EXIT && last.code !== OP_JA && last.code !== OP_JA32)) {
      bad(end - 1, end === n ? 'last insn is not an exit or jmp: the program can fall off its end'
        : `last insn of subprogram at insn ${start} is not an exit or jmp`);
    }
    if (!reachesExit(insns, second, start, end)) bad(start, start === 0 ? 'no reachable exit in the program' : `no reachable exit in subprogram at insn ${start}`);
  }
  return entries;
}

/** Depth-first walk from `start` inside [start, end): is an exit reachable? (Calls return to the next slot.) */
function reachesExit(insns: readonly Insn[], second: Uint8Array, start: number, end: number): boolean {
  const seen = new Uint8Array(end - start);
  const stack: number[] = [start];
  seen[0] = 1;
  const push = (t: number): void => {
    if (t >= start && t < end && !second[t] && !seen[t - start]) { seen[t - start] = 1; stack.push(t); }
  };
  while (stack.length > 0) {
    const i = stack.pop()!;
    const ins = insns[i];
    const cls = classOf(ins.code), op = opOf(ins.code);
    if (cls === BPF_JMP || cls === BPF_JMP32) {
      if (op === BPF_EXIT) return true;
      if (op === BPF_JA) { push(jumpTarget(ins, i)); continue; }
      if (op !== BPF_CALL) push(jumpTarget(ins, i));
      push(i + 1);
      continue;
    }
    push(ins.code === OP_LDDW ? i + 2 : i + 1);
  }
  return false;
}

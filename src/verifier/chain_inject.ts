// The "inject" execution model of chain calls (the 2019 RFC v2, patch 1): when a program is loaded with
// BPF_F_INJECT_CHAIN_CALLS, every exit of its MAIN program is rewritten into a chain call through the
// program's hidden chain-slot table (src/chain/slots.ts), after verification, like the kernel's other
// fix-ups. The sequence that replaces each `exit` (15 slots; S = the ctx spill slot, T = the table):
//
//     r6 = r0                       save the verdict (r6 is dead at exit: nothing runs after it)
//     w3 = w0                       index = (u32)r0 + 1, computed in 64 bits so that ~0 does not wrap to 0
//     r3 += 1
//     if r3 > 7 goto +4             range check (the patch had none): codes >= 7 go to the wildcard only
//     r1 = *(u64 *)(r10 - S)        ctx, as spilled at entry (the patch assumed r1 still held it)
//     r2 = T ll
//     call bpf_tail_call            try slot r0 + 1
//     r1 = *(u64 *)(r10 - S)        the call clobbers r1-r5 by convention: reload
//     r2 = T ll
//     r3 = 0
//     call bpf_tail_call            try slot 0 (the wildcard)
//     r0 = r6                       both fell through: restore the verdict
//     exit
//
// and the program's first instruction becomes `*(u64 *)(r10 - S) = r1` (the ctx spill), where S is the
// first 8-byte slot below the deepest stack byte the main program uses (eBPF has no hidden register to
// keep ctx in, and a stack slot costs one store per run). A program whose main frame leaves no room for it
// (stack depth > 504) cannot be flagged: E2BIG. Chain hops are real bpf_tail_call()s, so they obey the
// helper's rules (33 per run, shared with the program's own tail calls; empty slots fall through without
// using the budget). Exits of subprograms (and callbacks) are left alone: the patch rewrote them too, which
// made a subprogram's return start the chain. `T` is a plain 64-bit immediate (src 0), like the kernel's
// injected BPF_LD_IMM64 of the array's address: the table is not a user-visible map and has no id.
// Jumps are re-aimed: a jump to an `exit` lands on the start of its sequence, a jump to insn 0 on the
// original insn 0 (after the spill, which must run once, while r1 still holds ctx).

import { BpfError } from '../errors.js';
import {
  BPF_ALU, BPF_ALU64, BPF_ADD, BPF_CALL, BPF_DW, BPF_EXIT, BPF_JA, BPF_JGT, BPF_JMP, BPF_JMP32, BPF_K, BPF_LDX, BPF_MEM,
  BPF_MOV, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_STX, BPF_X, MAX_BPF_STACK, OP_CALL, OP_JA32, OP_LDDW, classOf, opOf,
} from '../isa/opcodes.js';
import { type Insn, insn, jumpTarget, lddw } from '../isa/insn.js';
import { subprogEntries } from './validate.js';
import { BPF_FUNC } from '../uapi/bpf.js';

/** Slots of the sequence that replaces one exit. */
export const CHAIN_EXIT_SEQ_LEN = 15;

export interface ChainInjectResult {
  insns: Insn[];
  /** Offset below r10 of the ctx spill slot (S). */
  ctxSlot: number;
  /** Main-frame stack depth including the spill slot. */
  stackDepth: number;
  /** Indexes (in the input) of the exits that were rewritten. */
  exits: number[];
}

const OP_EXIT = BPF_JMP | BPF_EXIT;

/** The sequence that replaces one main-program exit. */
export function chainExitSequence(tableAddr: number, ctxSlot: number): Insn[] {
  const [t0, t1] = lddw(2, BigInt(tableAddr));
  const [u0, u1] = lddw(2, BigInt(tableAddr));
  const seq = [
    insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 0),
    insn(BPF_ALU | BPF_MOV | BPF_X, 3, 0),
    insn(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, 1),
    insn(BPF_JMP | BPF_JGT | BPF_K, 3, 0, 4, 7),
    insn(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, -ctxSlot),
    t0, t1,
    insn(OP_CALL, 0, 0, 0, BPF_FUNC.tail_call),
    insn(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, -ctxSlot),
    u0, u1,
    insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
    insn(OP_CALL, 0, 0, 0, BPF_FUNC.tail_call),
    insn(BPF_ALU64 | BPF_MOV | BPF_X, 0, 6),
    insn(OP_EXIT),
  ];
  if (seq.length !== CHAIN_EXIT_SEQ_LEN) throw new Error('chain exit sequence length changed');
  return seq;
}

/**
 * Rewrite a verified, translated program for chain calls through the table at `tableAddr`.
 * `stackDepth` is the main frame's stack use as the verifier measured it.
 */
export function injectChainCalls(src: readonly Insn[], tableAddr: number, stackDepth: number): ChainInjectResult {
  const n = src.length;
  const ctxSlot = ((Math.max(0, stackDepth) + 7) & ~7) + 8;
  if (ctxSlot > MAX_BPF_STACK) {
    throw new BpfError('E2BIG', `BPF_F_INJECT_CHAIN_CALLS: the main program uses ${stackDepth} bytes of stack, leaving no 8-byte slot to keep ctx in for chain calls`);
  }
  // The main program is [0, first subprogram entry): subprograms are laid out after it.
  const entries = subprogEntries(src);
  const mainEnd = entries.length > 1 ? entries[1] : n;
  const exits: number[] = [];
  for (let i = 0; i < mainEnd; i++) {
    if (src[i].code === OP_EXIT) exits.push(i);
    if (src[i].code === OP_LDDW) i++;
  }
  const seq = chainExitSequence(tableAddr, ctxSlot);
  // pos[i]: where old slot i starts in the output; land[i]: where a jump to old slot i lands.
  const pos = new Int32Array(n + 1);
  const land = new Int32Array(n + 1);
  const isExit = new Uint8Array(n);
  for (const e of exits) isExit[e] = 1;
  let p = 1; // slot 0 of the output is the spill
  for (let i = 0; i < n; i++) {
    pos[i] = p;
    land[i] = p;
    p += isExit[i] ? CHAIN_EXIT_SEQ_LEN : 1;
  }
  pos[n] = p;
  land[n] = p;
  const out: Insn[] = [insn(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -ctxSlot)];
  for (let i = 0; i < n; i++) {
    const ins = src[i];
    if (isExit[i]) { out.push(...seq.map((s) => ({ ...s }))); continue; }
    if (ins.code === OP_LDDW) {
      out.push(fixRef(ins, i, pos, land));
      if (i + 1 < n) out.push({ ...src[i + 1] });
      i++;
      continue;
    }
    out.push(fixJump(ins, i, pos, land));
  }
  return { insns: out, ctxSlot, stackDepth: Math.max(stackDepth, ctxSlot), exits };
}

function offsetTo(i: number, t: number, pos: Int32Array, land: Int32Array, wide: boolean): number {
  if (t < 0 || t >= land.length) throw new BpfError('EINVAL', `insn ${i}: jump out of the program to insn ${t}`, i);
  const off = land[t] - (pos[i] + 1);
  if (!wide && (off < -32768 || off > 32767)) {
    throw new BpfError('ERANGE', `insn ${i} cannot be patched for chain calls: its jump no longer fits 16 bits`, i);
  }
  return off;
}

function fixJump(ins: Insn, i: number, pos: Int32Array, land: Int32Array): Insn {
  const cls = classOf(ins.code);
  if (cls !== BPF_JMP && cls !== BPF_JMP32) return { ...ins };
  const op = opOf(ins.code);
  if (op === BPF_EXIT) return { ...ins };
  if (op === BPF_CALL) return fixRef(ins, i, pos, land);
  const t = jumpTarget(ins, i);
  if (ins.code === OP_JA32) return { ...ins, imm: offsetTo(i, t, pos, land, true) };
  if (op === BPF_JA || cls === BPF_JMP || cls === BPF_JMP32) return { ...ins, off: offsetTo(i, t, pos, land, false) };
  return { ...ins };
}

/** Local calls and function references (lddw src 4) point at subprogram entries, which only move. */
function fixRef(ins: Insn, i: number, pos: Int32Array, land: Int32Array): Insn {
  const isRef = (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) || (ins.code === OP_LDDW && ins.src === BPF_PSEUDO_FUNC);
  if (!isRef) return { ...ins };
  return { ...ins, imm: offsetTo(i, i + 1 + ins.imm, pos, land, true) };
}

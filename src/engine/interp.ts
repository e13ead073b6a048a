// The interpreter loop: pre-decoding a program into typed arrays, and executing it with RFC 9669 semantics
// (cpu v1-v4) over the Vm's address space. One flat switch over full opcode bytes; registers are Int32 halves
// in the Vm's typed arrays; 64-bit multiply/divide/shift go through engine/alu64.ts. Nothing is allocated per
// instruction or per run except on the trace path.
//
// Tail calls (helper 12): the helper (helpers/maps.ts) makes the kernel's checks, bumps the run's counter,
// leaves the target in env.pendingTailCall and sets vm.halted. The loop below then does what the kernel's
// interpreter does (`insn = prog->insnsi; goto select_insn`): it switches to the target's arrays and starts
// at its slot 0 with every register as it was (r1 = ctx, r10 = the same frame), in the same frame depth.
// A tail call made from a subprogram replaces only that subprogram: when the target exits, its r0 returns
// to the subprogram's caller (the kernel's JITs unwind just that frame). So each pushed frame records the
// program to return into and its base depth (vm.frameProg / vm.frameBase); a program may nest 8 frames
// below its base.

import { BpfError } from '../errors.js';
import { BPF_JA, BPF_JMP32, BPF_PSEUDO_CALL, MAX_CALL_FRAMES, OP_CALL, OP_LDDW } from '../isa/opcodes.js';
import { insnError, isBranch, jumpTarget, type Insn } from '../isa/insn.js';
import type { AddressSpace } from '../vm/memory.js';
import {
  res, mul64, udivmod64, sdiv64, srem64, lsh64, rsh64, arsh64, udiv32, urem32, sdiv32, srem32, bswap16, bswap32,
} from './alu64.js';
import { MAX_RUN_FRAMES, type Vm } from './vm.js';

/** A pre-decoded program: one entry per 8-byte slot, plus a sentinel slot at index `length`. */
export interface Program {
  readonly insns: readonly Insn[];
  /** Number of slots. */
  readonly length: number;
  readonly code: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly off: Int32Array;
  readonly imm: Int32Array;
  /** Upper 32 bits of an lddw's value (at the lddw's first slot). */
  readonly imm2: Int32Array;
  /** Absolute target of branches, gotol and local calls. */
  readonly tgt: Int32Array;
  /** Why a slot cannot execute (invalid in an unchecked load, second half of an lddw, end of program). */
  readonly trap: ReadonlyMap<number, string>;
}

/** Pre-decode slots into typed arrays. With checked = false, invalid slots become run-time traps. */
export function predecode(insns: readonly Insn[], checked: boolean): Program {
  const n = insns.length;
  const code = new Uint8Array(n + 1), dst = new Uint8Array(n + 1), src = new Uint8Array(n + 1);
  const off = new Int32Array(n + 1), imm = new Int32Array(n + 1), imm2 = new Int32Array(n + 1), tgt = new Int32Array(n + 1);
  const trap = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const ins = insns[i];
    code[i] = ins.code; dst[i] = ins.dst; src[i] = ins.src; off[i] = ins.off; imm[i] = ins.imm;
    const err = checked ? null : insnError(ins);
    if (err !== null) { code[i] = 0; trap.set(i, err); continue; }
    if (ins.code === OP_LDDW) {
      if (i + 1 >= n) { code[i] = 0; trap.set(i, 'lddw is missing its second slot'); continue; }
      imm2[i] = insns[i + 1].imm;
      i++;
      code[i] = 0; // opcode 0 is never valid: reaching it traps
      trap.set(i, 'jump into the middle of lddw');
      continue;
    }
    if (isBranch(ins)) tgt[i] = jumpTarget(ins, i);
    else if (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) tgt[i] = i + 1 + ins.imm;
  }
  trap.set(n, 'fell off the end of the program');
  return { insns, length: n, code, dst, src, off, imm, imm2, tgt, trap };
}

const R = 1, W = 2, RW = 3;

/** Last region that satisfied an access; re-checked against the live region table on every use. */
let hit = 0;

/** Effective address of [base + off, +size) with permission `perm`, or a thrown EFAULT. */
function ea(sp: AddressSpace, pc: number, blo: number, bhi: number, o: number, size: number, perm: number): number {
  const a = (blo >>> 0) + o;
  const r = hit;
  if (bhi === 0 && a >= sp.regStart[r] && a + size <= sp.regEnd[r] && (sp.regPerm[r] & perm) === perm) return a;
  return eaSlow(sp, pc, blo, bhi, o, size, perm);
}

function eaSlow(sp: AddressSpace, pc: number, blo: number, bhi: number, o: number, size: number, perm: number): number {
  const a = (blo >>> 0) + o;
  if (bhi === 0) {
    const id = sp.findRegion(a, size, perm);
    if (id >= 0) { hit = id; return a; }
  }
  const full = BigInt.asUintN(64, ((BigInt(bhi) << 32n) | BigInt(blo >>> 0)) + BigInt(o));
  const kind = perm === R ? 'read' : perm === W ? 'write' : 'read-modify-write';
  throw new BpfError('EFAULT', `insn ${pc}: invalid memory access: ${kind} of ${size} bytes at 0x${full.toString(16)}`, pc);
}

function jumpOut(pc: number, t: number): never {
  throw new BpfError('EINVAL', `insn ${pc}: jump out of the program to insn ${t}`, pc);
}

function unknownHelper(pc: number, id: string): never {
  throw new BpfError('EINVAL', `insn ${pc}: unknown helper id ${id}`, pc);
}

function trapAt(p: Program, pc: number): never {
  const why = p.trap.get(pc) ?? `unknown opcode 0x${p.code[pc].toString(16).padStart(2, '0')}`;
  throw new BpfError('EINVAL', `insn ${pc}: ${why}`, pc);
}

function u64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function traceSnapshot(vm: Vm): void {
  vm.traceLo.set(vm.lo);
  vm.traceHi.set(vm.hi);
}

function traceReport(vm: Vm, p: Program, pc: number): void {
  const changed: { reg: number; value: bigint }[] = [];
  for (let r = 0; r <= 10; r++) {
    if (vm.lo[r] !== vm.traceLo[r] || vm.hi[r] !== vm.traceHi[r]) changed.push({ reg: r, value: u64(vm.lo[r], vm.hi[r]) });
  }
  vm.trace?.({ pc, insn: p.insns[pc], changed });
}

/** Unsigned a < b on 64-bit halves. */
function ult(alo: number, ahi: number, blo: number, bhi: number): boolean {
  return ahi === bhi ? (alo >>> 0) < (blo >>> 0) : (ahi >>> 0) < (bhi >>> 0);
}

/** Signed a < b on 64-bit halves. */
function slt(alo: number, ahi: number, blo: number, bhi: number): boolean {
  return ahi === bhi ? (alo >>> 0) < (blo >>> 0) : ahi < bhi;
}

/**
 * Execute `p` from slot 0 with the registers already set in vm.lo/vm.hi (r10 = main frame top).
 * Returns r0's low half; r0's high half stays in vm.hi[0].
 */
export function execute(vm: Vm, p: Program): number {
  const L = vm.lo, H = vm.hi;
  // The running program's arrays: replaced by a tail call and by a return into another program.
  let code = p.code, dst = p.dst, src = p.src, off = p.off, imm = p.imm, imm2 = p.imm2, tgt = p.tgt;
  let len = p.length;
  const sp = vm.space;
  // The memory grew outside alloc(): growing a (non-shared) WebAssembly.Memory detaches the old buffer, so its
  // views read as empty. Checking the length costs nothing; asking memory.buffer is an API call per run.
  if (sp.u8.length === 0) sp.refresh();
  let u8 = sp.u8, dv = sp.dv;
  const helpers = vm.helpers;
  const frameRet = vm.frameRet, frameRegs = vm.frameRegs, frameProg = vm.frameProg, frameBase = vm.frameBase;
  const limit = vm.budget === undefined ? Infinity : vm.budget;
  const tracing = vm.trace !== undefined;
  // One compare per instruction on the fast path: the slow path handles both the budget and tracing.
  const slowAt = tracing ? 0 : limit;
  // depth: frames pushed below the main one; base: depth of the running program's main frame.
  let n = 0, depth = 0, base = 0, pc = 0, tpc = -1;
  vm.halted = false;

  run: for (;;) {
    if (++n > slowAt) {
      // Report the instruction that just completed before anything else can stop the run.
      if (tracing && tpc >= 0) { traceReport(vm, p, tpc); tpc = -1; }
      if (n > limit) {
        vm.insnCount = n - 1;
        throw new BpfError('EINTR', `instruction budget of ${limit} exhausted at insn ${pc}`, pc);
      }
      if (tracing) { traceSnapshot(vm); tpc = pc; }
    }
    const d = dst[pc], s = src[pc], k = imm[pc];
    switch (code[pc]) {
      // ---------------------------------------------------------------- ALU64, K then X
      case 0x07: { const a = L[d], r = (a + k) | 0; H[d] = (H[d] + (k >> 31) + ((r >>> 0) < (a >>> 0) ? 1 : 0)) | 0; L[d] = r; pc++; continue; }
      case 0x0f: { const a = L[d], b = L[s], bh = H[s], r = (a + b) | 0; H[d] = (H[d] + bh + ((r >>> 0) < (a >>> 0) ? 1 : 0)) | 0; L[d] = r; pc++; continue; }
      case 0x17: { const a = L[d]; H[d] = (H[d] - (k >> 31) - ((a >>> 0) < (k >>> 0) ? 1 : 0)) | 0; L[d] = (a - k) | 0; pc++; continue; }
      case 0x1f: { const a = L[d], b = L[s], bh = H[s]; H[d] = (H[d] - bh - ((a >>> 0) < (b >>> 0) ? 1 : 0)) | 0; L[d] = (a - b) | 0; pc++; continue; }
      case 0x27: mul64(L[d], H[d], k, k >> 31); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x2f: mul64(L[d], H[d], L[s], H[s]); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x37:
        if (off[pc] === 0) udivmod64(L[d], H[d], k, k >> 31); else sdiv64(L[d], H[d], k, k >> 31);
        L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x3f:
        if (off[pc] === 0) udivmod64(L[d], H[d], L[s], H[s]); else sdiv64(L[d], H[d], L[s], H[s]);
        L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x47: L[d] |= k; H[d] |= k >> 31; pc++; continue;
      case 0x4f: L[d] |= L[s]; H[d] |= H[s]; pc++; continue;
      case 0x57: L[d] &= k; H[d] &= k >> 31; pc++; continue;
      case 0x5f: L[d] &= L[s]; H[d] &= H[s]; pc++; continue;
      case 0x67: lsh64(L[d], H[d], k); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x6f: lsh64(L[d], H[d], L[s]); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x77: rsh64(L[d], H[d], k); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x7f: rsh64(L[d], H[d], L[s]); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0x87: H[d] = (~H[d] + (L[d] === 0 ? 1 : 0)) | 0; L[d] = (-L[d]) | 0; pc++; continue;
      case 0x97:
        if (off[pc] === 0) { udivmod64(L[d], H[d], k, k >> 31); L[d] = res[2]; H[d] = res[3]; } else { srem64(L[d], H[d], k, k >> 31); L[d] = res[0]; H[d] = res[1]; }
        pc++; continue;
      case 0x9f:
        if (off[pc] === 0) { udivmod64(L[d], H[d], L[s], H[s]); L[d] = res[2]; H[d] = res[3]; } else { srem64(L[d], H[d], L[s], H[s]); L[d] = res[0]; H[d] = res[1]; }
        pc++; continue;
      case 0xa7: L[d] ^= k; H[d] ^= k >> 31; pc++; continue;
      case 0xaf: L[d] ^= L[s]; H[d] ^= H[s]; pc++; continue;
      case 0xb7: L[d] = k; H[d] = k >> 31; pc++; continue;
      case 0xbf: {
        const o = off[pc];
        if (o === 0) { L[d] = L[s]; H[d] = H[s]; } else {
          const v = o === 8 ? (L[s] << 24) >> 24 : o === 16 ? (L[s] << 16) >> 16 : L[s]; // movsx 8/16/32
          L[d] = v; H[d] = v >> 31;
        }
        pc++; continue;
      }
      case 0xc7: arsh64(L[d], H[d], k); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0xcf: arsh64(L[d], H[d], L[s]); L[d] = res[0]; H[d] = res[1]; pc++; continue;
      case 0xd7: // bswap16/32/64 (ALU64 END swaps unconditionally)
        if (k === 16) { L[d] = bswap16(L[d]); H[d] = 0; } else if (k === 32) { L[d] = bswap32(L[d]); H[d] = 0; } else { const a = L[d]; L[d] = bswap32(H[d]); H[d] = bswap32(a); }
        pc++; continue;

      // ---------------------------------------------------------------- ALU (32-bit): result zero-extended
      case 0x04: L[d] = (L[d] + k) | 0; H[d] = 0; pc++; continue;
      case 0x0c: L[d] = (L[d] + L[s]) | 0; H[d] = 0; pc++; continue;
      case 0x14: L[d] = (L[d] - k) | 0; H[d] = 0; pc++; continue;
      case 0x1c: L[d] = (L[d] - L[s]) | 0; H[d] = 0; pc++; continue;
      case 0x24: L[d] = Math.imul(L[d], k); H[d] = 0; pc++; continue;
      case 0x2c: L[d] = Math.imul(L[d], L[s]); H[d] = 0; pc++; continue;
      case 0x34: L[d] = off[pc] === 0 ? udiv32(L[d], k) : sdiv32(L[d], k); H[d] = 0; pc++; continue;
      case 0x3c: L[d] = off[pc] === 0 ? udiv32(L[d], L[s]) : sdiv32(L[d], L[s]); H[d] = 0; pc++; continue;
      case 0x44: L[d] |= k; H[d] = 0; pc++; continue;
      case 0x4c: L[d] |= L[s]; H[d] = 0; pc++; continue;
      case 0x54: L[d] &= k; H[d] = 0; pc++; continue;
      case 0x5c: L[d] &= L[s]; H[d] = 0; pc++; continue;
      case 0x64: L[d] <<= k & 31; H[d] = 0; pc++; continue;
      case 0x6c: L[d] <<= L[s] & 31; H[d] = 0; pc++; continue;
      case 0x74: L[d] = L[d] >>> (k & 31); H[d] = 0; pc++; continue;
      case 0x7c: L[d] = L[d] >>> (L[s] & 31); H[d] = 0; pc++; continue;
      case 0x84: L[d] = (-L[d]) | 0; H[d] = 0; pc++; continue;
      // mod by zero keeps the low half and zeroes the upper (RFC 9669; the kernel's fixup ends in a mov32)
      case 0x94: L[d] = off[pc] === 0 ? urem32(L[d], k) : srem32(L[d], k); H[d] = 0; pc++; continue;
      case 0x9c: L[d] = off[pc] === 0 ? urem32(L[d], L[s]) : srem32(L[d], L[s]); H[d] = 0; pc++; continue;
      case 0xa4: L[d] ^= k; H[d] = 0; pc++; continue;
      case 0xac: L[d] ^= L[s]; H[d] = 0; pc++; continue;
      case 0xb4: L[d] = k; H[d] = 0; pc++; continue;
      case 0xbc: {
        const o = off[pc];
        L[d] = o === 0 ? L[s] : o === 8 ? (L[s] << 24) >> 24 : (L[s] << 16) >> 16; // movsx 8/16 into 32 bits
        H[d] = 0; pc++; continue;
      }
      case 0xc4: L[d] >>= k & 31; H[d] = 0; pc++; continue;
      case 0xcc: L[d] >>= L[s] & 31; H[d] = 0; pc++; continue;
      case 0xd4: // le: on a little-endian machine, truncate to the width and zero-extend
        if (k === 16) { L[d] &= 0xffff; H[d] = 0; } else if (k === 32) H[d] = 0;
        pc++; continue;
      case 0xdc: // be: byte swap at the width, zero-extended
        if (k === 16) { L[d] = bswap16(L[d]); H[d] = 0; } else if (k === 32) { L[d] = bswap32(L[d]); H[d] = 0; } else { const a = L[d]; L[d] = bswap32(H[d]); H[d] = bswap32(a); }
        pc++; continue;

      // ---------------------------------------------------------------- JMP (64-bit compares; imm sign-extended)
      case 0x05: case 0x06: { const t = tgt[pc]; if ((t >>> 0) >= len) jumpOut(pc, t); pc = t; continue; } // ja, gotol
      case 0x15: if (L[d] === k && H[d] === k >> 31) break; pc++; continue;
      case 0x1d: if (L[d] === L[s] && H[d] === H[s]) break; pc++; continue;
      case 0x25: if (ult(k, k >> 31, L[d], H[d])) break; pc++; continue;
      case 0x2d: if (ult(L[s], H[s], L[d], H[d])) break; pc++; continue;
      case 0x35: if (!ult(L[d], H[d], k, k >> 31)) break; pc++; continue;
      case 0x3d: if (!ult(L[d], H[d], L[s], H[s])) break; pc++; continue;
      case 0x45: if (((L[d] & k) | (H[d] & (k >> 31))) !== 0) break; pc++; continue;
      case 0x4d: if (((L[d] & L[s]) | (H[d] & H[s])) !== 0) break; pc++; continue;
      case 0x55: if (L[d] !== k || H[d] !== k >> 31) break; pc++; continue;
      case 0x5d: if (L[d] !== L[s] || H[d] !== H[s]) break; pc++; continue;
      case 0x65: if (slt(k, k >> 31, L[d], H[d])) break; pc++; continue;
      case 0x6d: if (slt(L[s], H[s], L[d], H[d])) break; pc++; continue;
      case 0x75: if (!slt(L[d], H[d], k, k >> 31)) break; pc++; continue;
      case 0x7d: if (!slt(L[d], H[d], L[s], H[s])) break; pc++; continue;
      case 0xa5: if (ult(L[d], H[d], k, k >> 31)) break; pc++; continue;
      case 0xad: if (ult(L[d], H[d], L[s], H[s])) break; pc++; continue;
      case 0xb5: if (!ult(k, k >> 31, L[d], H[d])) break; pc++; continue;
      case 0xbd: if (!ult(L[s], H[s], L[d], H[d])) break; pc++; continue;
      case 0xc5: if (slt(L[d], H[d], k, k >> 31)) break; pc++; continue;
      case 0xcd: if (slt(L[d], H[d], L[s], H[s])) break; pc++; continue;
      case 0xd5: if (!slt(k, k >> 31, L[d], H[d])) break; pc++; continue;
      case 0xdd: if (!slt(L[s], H[s], L[d], H[d])) break; pc++; continue;

      // ---------------------------------------------------------------- JMP32 (compare the low halves)
      case 0x16: if (L[d] === k) break; pc++; continue;
      case 0x1e: if (L[d] === L[s]) break; pc++; continue;
      case 0x26: if ((L[d] >>> 0) > (k >>> 0)) break; pc++; continue;
      case 0x2e: if ((L[d] >>> 0) > (L[s] >>> 0)) break; pc++; continue;
      case 0x36: if ((L[d] >>> 0) >= (k >>> 0)) break; pc++; continue;
      case 0x3e: if ((L[d] >>> 0) >= (L[s] >>> 0)) break; pc++; continue;
      case 0x46: if ((L[d] & k) !== 0) break; pc++; continue;
      case 0x4e: if ((L[d] & L[s]) !== 0) break; pc++; continue;
      case 0x56: if (L[d] !== k) break; pc++; continue;
      case 0x5e: if (L[d] !== L[s]) break; pc++; continue;
      case 0x66: if (L[d] > k) break; pc++; continue;
      case 0x6e: if (L[d] > L[s]) break; pc++; continue;
      case 0x76: if (L[d] >= k) break; pc++; continue;
      case 0x7e: if (L[d] >= L[s]) break; pc++; continue;
      case 0xa6: if ((L[d] >>> 0) < (k >>> 0)) break; pc++; continue;
      case 0xae: if ((L[d] >>> 0) < (L[s] >>> 0)) break; pc++; continue;
      case 0xb6: if ((L[d] >>> 0) <= (k >>> 0)) break; pc++; continue;
      case 0xbe: if ((L[d] >>> 0) <= (L[s] >>> 0)) break; pc++; continue;
      case 0xc6: if (L[d] < k) break; pc++; continue;
      case 0xce: if (L[d] < L[s]) break; pc++; continue;
      case 0xd6: if (L[d] <= k) break; pc++; continue;
      case 0xde: if (L[d] <= L[s]) break; pc++; continue;

      // ---------------------------------------------------------------- calls and exit
      case 0x85: {
        if (s === 0) {
          const fn = helpers[k];
          if (fn === undefined) unknownHelper(pc, String(k));
          vm.pc = pc;
          fn(vm);
          u8 = sp.u8; dv = sp.dv; // a helper may have grown the memory
          if (vm.halted) {
            const env = vm.env, next = env === undefined ? null : env.pendingTailCall;
            if (next === null) break run;
            // bpf_tail_call succeeded: continue in the target, same registers, same frame.
            env!.pendingTailCall = null;
            vm.halted = false;
            if (tracing && tpc >= 0) { traceReport(vm, p, tpc); tpc = -1; }
            p = next;
            code = p.code; dst = p.dst; src = p.src; off = p.off; imm = p.imm; imm2 = p.imm2; tgt = p.tgt; len = p.length;
            base = depth; // the target's main frame is this one: it may call 7 levels deeper
            pc = 0; continue;
          }
          pc++; continue;
        }
        if (s !== BPF_PSEUDO_CALL) throw new BpfError('EINVAL', `insn ${pc}: kernel function calls (call src=${s}) are not supported`, pc);
        // bpf-to-bpf call: save r6-r9, the return pc and program, give the callee a fresh 512-byte frame
        if (depth - base + 1 >= MAX_CALL_FRAMES || depth + 1 >= MAX_RUN_FRAMES) {
          throw new BpfError('E2BIG', `insn ${pc}: the call stack of ${depth - base + 2} frames is too deep (max ${MAX_CALL_FRAMES})`, pc);
        }
        const t = tgt[pc];
        if ((t >>> 0) >= len) jumpOut(pc, t);
        const b = depth << 3;
        frameRegs[b] = L[6]; frameRegs[b + 1] = H[6]; frameRegs[b + 2] = L[7]; frameRegs[b + 3] = H[7];
        frameRegs[b + 4] = L[8]; frameRegs[b + 5] = H[8]; frameRegs[b + 6] = L[9]; frameRegs[b + 7] = H[9];
        frameRet[depth] = pc + 1;
        frameProg[depth] = p;
        frameBase[depth] = base;
        depth++;
        L[10] = vm.frameTop(depth); H[10] = 0;
        u8 = sp.u8; dv = sp.dv; // the first frame past 8 allocates its region
        pc = t; continue;
      }
      case 0x8d: { // callx: the register named by dst holds a helper id
        const id = L[d];
        const fn = H[d] === 0 ? helpers[id] : undefined;
        if (fn === undefined) unknownHelper(pc, u64(L[d], H[d]).toString());
        vm.pc = pc;
        fn(vm);
        u8 = sp.u8; dv = sp.dv;
        if (vm.halted) {
          const env = vm.env, next = env === undefined ? null : env.pendingTailCall;
          if (next === null) break run;
          env!.pendingTailCall = null; // a tail call through callx: as in case 0x85
          vm.halted = false;
          if (tracing && tpc >= 0) { traceReport(vm, p, tpc); tpc = -1; }
          p = next;
          code = p.code; dst = p.dst; src = p.src; off = p.off; imm = p.imm; imm2 = p.imm2; tgt = p.tgt; len = p.length;
          base = depth; pc = 0; continue;
        }
        pc++; continue;
      }
      case 0x95: {
        if (depth === 0) break run;
        depth--;
        const b = depth << 3;
        L[6] = frameRegs[b]; H[6] = frameRegs[b + 1]; L[7] = frameRegs[b + 2]; H[7] = frameRegs[b + 3];
        L[8] = frameRegs[b + 4]; H[8] = frameRegs[b + 5]; L[9] = frameRegs[b + 6]; H[9] = frameRegs[b + 7];
        L[10] = vm.frameTop(depth); H[10] = 0;
        base = frameBase[depth];
        const rp = frameProg[depth]!;
        frameProg[depth] = null; // hold no program past its frame
        if (rp !== p) { // a tail-call target returning to the caller of the subprogram that made the call
          if (tracing && tpc >= 0) { traceReport(vm, p, tpc); tpc = -1; }
          p = rp;
          code = p.code; dst = p.dst; src = p.src; off = p.off; imm = p.imm; imm2 = p.imm2; tgt = p.tgt; len = p.length;
        }
        pc = frameRet[depth]; continue;
      }

      // ---------------------------------------------------------------- lddw and legacy packet loads
      case 0x18: L[d] = k; H[d] = imm2[pc]; pc += 2; continue;
      case 0x20: case 0x28: case 0x30: case 0x40: case 0x48: case 0x50: {
        const c = code[pc];
        const size = (c & 0x18) === 0 ? 4 : (c & 0x18) === 0x08 ? 2 : 1;
        const o = (c & 0x40) !== 0 ? (k + L[s]) | 0 : k; // LD_IND adds src as a 32-bit int
        if (o < 0 || o + size > vm.packetLen) { L[0] = 0; H[0] = 0; break run; } // the kernel ends the program with r0 = 0
        const a = vm.packetAddr + o;
        L[0] = size === 4 ? dv.getInt32(a, false) : size === 2 ? dv.getUint16(a, false) : u8[a];
        H[0] = 0;
        for (let r = 1; r <= 5; r++) { L[r] = 0; H[r] = 0; } // clobbered as by a call
        pc++; continue;
      }

      // ---------------------------------------------------------------- LDX (zero- and sign-extending)
      case 0x61: { const a = ea(sp, pc, L[s], H[s], off[pc], 4, R); L[d] = dv.getInt32(a, true); H[d] = 0; pc++; continue; }
      case 0x69: { const a = ea(sp, pc, L[s], H[s], off[pc], 2, R); L[d] = dv.getUint16(a, true); H[d] = 0; pc++; continue; }
      case 0x71: { const a = ea(sp, pc, L[s], H[s], off[pc], 1, R); L[d] = u8[a]; H[d] = 0; pc++; continue; }
      case 0x79: { const a = ea(sp, pc, L[s], H[s], off[pc], 8, R); L[d] = dv.getInt32(a, true); H[d] = dv.getInt32(a + 4, true); pc++; continue; }
      case 0x81: { const a = ea(sp, pc, L[s], H[s], off[pc], 4, R); const v = dv.getInt32(a, true); L[d] = v; H[d] = v >> 31; pc++; continue; }
      case 0x89: { const a = ea(sp, pc, L[s], H[s], off[pc], 2, R); const v = dv.getInt16(a, true); L[d] = v; H[d] = v >> 31; pc++; continue; }
      case 0x91: { const a = ea(sp, pc, L[s], H[s], off[pc], 1, R); const v = (u8[a] << 24) >> 24; L[d] = v; H[d] = v >> 31; pc++; continue; }

      // ---------------------------------------------------------------- ST (imm) and STX
      case 0x62: { const a = ea(sp, pc, L[d], H[d], off[pc], 4, W); dv.setInt32(a, k, true); pc++; continue; }
      case 0x6a: { const a = ea(sp, pc, L[d], H[d], off[pc], 2, W); dv.setInt16(a, k, true); pc++; continue; }
      case 0x72: { const a = ea(sp, pc, L[d], H[d], off[pc], 1, W); u8[a] = k; pc++; continue; }
      case 0x7a: { const a = ea(sp, pc, L[d], H[d], off[pc], 8, W); dv.setInt32(a, k, true); dv.setInt32(a + 4, k >> 31, true); pc++; continue; }
      case 0x63: { const a = ea(sp, pc, L[d], H[d], off[pc], 4, W); dv.setInt32(a, L[s], true); pc++; continue; }
      case 0x6b: { const a = ea(sp, pc, L[d], H[d], off[pc], 2, W); dv.setInt16(a, L[s], true); pc++; continue; }
      case 0x73: { const a = ea(sp, pc, L[d], H[d], off[pc], 1, W); u8[a] = L[s]; pc++; continue; }
      case 0x7b: { const a = ea(sp, pc, L[d], H[d], off[pc], 8, W); dv.setInt32(a, L[s], true); dv.setInt32(a + 4, H[s], true); pc++; continue; }

      // ---------------------------------------------------------------- atomics (imm = operation)
      case 0xc3: {
        const a = ea(sp, pc, L[d], H[d], off[pc], 4, RW);
        const old = dv.getInt32(a, true), v = L[s];
        switch (k) {
          case 0x00: dv.setInt32(a, (old + v) | 0, true); break;
          case 0x01: dv.setInt32(a, (old + v) | 0, true); L[s] = old; H[s] = 0; break;
          case 0x40: dv.setInt32(a, old | v, true); break;
          case 0x41: dv.setInt32(a, old | v, true); L[s] = old; H[s] = 0; break;
          case 0x50: dv.setInt32(a, old & v, true); break;
          case 0x51: dv.setInt32(a, old & v, true); L[s] = old; H[s] = 0; break;
          case 0xa0: dv.setInt32(a, old ^ v, true); break;
          case 0xa1: dv.setInt32(a, old ^ v, true); L[s] = old; H[s] = 0; break;
          case 0xe1: dv.setInt32(a, v, true); L[s] = old; H[s] = 0; break; // xchg
          case 0xf1: if (old === L[0]) dv.setInt32(a, v, true); L[0] = old; H[0] = 0; break; // cmpxchg
          default: throw new BpfError('EINVAL', `insn ${pc}: invalid atomic operation 0x${(k >>> 0).toString(16)}`, pc);
        }
        pc++; continue;
      }
      case 0xdb: {
        const a = ea(sp, pc, L[d], H[d], off[pc], 8, RW);
        const ol = dv.getInt32(a, true), oh = dv.getInt32(a + 4, true), vl = L[s], vh = H[s];
        let nl = ol, nh = oh, fetch = true;
        switch (k) {
          case 0x00: fetch = false; nl = (ol + vl) | 0; nh = (oh + vh + ((nl >>> 0) < (ol >>> 0) ? 1 : 0)) | 0; break;
          case 0x01: nl = (ol + vl) | 0; nh = (oh + vh + ((nl >>> 0) < (ol >>> 0) ? 1 : 0)) | 0; break;
          case 0x40: fetch = false; nl = ol | vl; nh = oh | vh; break;
          case 0x41: nl = ol | vl; nh = oh | vh; break;
          case 0x50: fetch = false; nl = ol & vl; nh = oh & vh; break;
          case 0x51: nl = ol & vl; nh = oh & vh; break;
          case 0xa0: fetch = false; nl = ol ^ vl; nh = oh ^ vh; break;
          case 0xa1: nl = ol ^ vl; nh = oh ^ vh; break;
          case 0xe1: nl = vl; nh = vh; break;
          case 0xf1: { // cmpxchg: r0 always receives the old value
            if (ol === L[0] && oh === H[0]) { dv.setInt32(a, vl, true); dv.setInt32(a + 4, vh, true); }
            L[0] = ol; H[0] = oh;
            pc++; continue run;
          }
          default: throw new BpfError('EINVAL', `insn ${pc}: invalid atomic operation 0x${(k >>> 0).toString(16)}`, pc);
        }
        dv.setInt32(a, nl, true); dv.setInt32(a + 4, nh, true);
        if (fetch) { L[s] = ol; H[s] = oh; }
        pc++; continue;
      }

      default:
        trapAt(p, pc);
    }
    // Taken conditional branch (the cases above `break` out of the switch to get here).
    const t = tgt[pc];
    if ((t >>> 0) >= len) jumpOut(pc, t);
    pc = t;
  }

  if (tracing && tpc >= 0) traceReport(vm, p, tpc);
  vm.insnCount = n;
  return L[0];
}

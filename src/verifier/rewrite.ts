// The rewrites after a successful check (the kernel's convert_ctx_accesses and the address half of
// resolve_pseudo_ldimm64), producing the "xlated" program:
// - lddw of a map (src 1, or 5 = by index) loads the map's handle address; lddw of a map value (src 2 or 6)
//   loads the address of the value plus the offset. src stays 1 / 2 so disassembly can still name the map.
// - every ctx access the checker saw becomes what ProgTypeOps.convertCtxAccess returns.
// When a replacement has a different length, every jump, local call and function reference is re-aimed
// at the new position of its target.

import { BpfError } from '../errors.js';
import {
  BPF_CALL, BPF_EXIT, BPF_JMP, BPF_JMP32, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, OP_CALL, OP_JA32, OP_LDDW, classOf, opOf,
} from '../isa/opcodes.js';
import { type Insn, insn, jumpTarget } from '../isa/insn.js';
import type { BpfMap } from '../maps/map.js';
import type { ProgTypeOps } from './types.js';

/** Address programs see for byte `off` of the single value of a global-data array map. */
export function mapValueAddr(map: BpfMap, off: number): number {
  const base = (map as unknown as { values?: number }).values;
  if (typeof base !== 'number') throw new BpfError('EINVAL', `map ${map.name || map.id} has no directly addressable value`);
  return base + off;
}

export interface RewriteInput {
  insns: Insn[];
  maps: BpfMap[];
  progType: ProgTypeOps;
}

/**
 * Apply the rewrites. `aux[i].ptrKind === 1` marks the ctx accesses found by the checker; instructions the
 * checker never reached are copied unchanged (except lddw addresses).
 */
export function rewriteProgram(input: RewriteInput, aux: readonly { ptrKind: number }[]): Insn[] {
  const src = input.insns;
  const n = src.length;
  const patches: (Insn[] | null)[] = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    const ins = src[i];
    if (ins.code === OP_LDDW) {
      patches[i] = lddwPatch(input, ins, src[i + 1], i);
      i++;
      continue;
    }
    if (aux[i]?.ptrKind === 1) {
      const rep = input.progType.convertCtxAccess(ins);
      if (rep !== null) {
        if (rep.length === 0) throw new BpfError('EINVAL', `insn ${i}: ctx access conversion produced no instructions`, i);
        for (const r of rep) {
          const cls = classOf(r.code);
          if ((cls === BPF_JMP || cls === BPF_JMP32) && opOf(r.code) !== BPF_CALL && opOf(r.code) !== BPF_EXIT) {
            throw new BpfError('EINVAL', `insn ${i}: ctx access conversion may not contain jumps`, i);
          }
        }
        patches[i] = rep;
      }
    }
  }
  // new position of every old slot
  const pos = new Int32Array(n + 1);
  let p = 0;
  for (let i = 0; i < n; i++) {
    pos[i] = p;
    const patch = patches[i];
    if (patch !== null && src[i].code !== OP_LDDW) p += patch.length;
    else p += 1;
  }
  pos[n] = p;
  const out: Insn[] = [];
  for (let i = 0; i < n; i++) {
    const ins = src[i];
    const patch = patches[i];
    if (ins.code === OP_LDDW) {
      const [a, b] = patch ?? [ins, src[i + 1]];
      out.push(fixLocalRef(a, i, pos), b);
      i++;
      continue;
    }
    if (patch !== null) { out.push(...patch); continue; }
    out.push(fixJump(ins, i, pos));
  }
  return out;
}

function lddwPatch(input: RewriteInput, a: Insn, b: Insn, i: number): Insn[] | null {
  switch (a.src) {
    case BPF_PSEUDO_MAP_FD: case BPF_PSEUDO_MAP_IDX: {
      const map = mapAt(input, a.imm, i);
      return [insn(a.code, a.dst, BPF_PSEUDO_MAP_FD, 0, map.handle), insn(0, 0, 0, 0, 0)];
    }
    case BPF_PSEUDO_MAP_VALUE: case BPF_PSEUDO_MAP_IDX_VALUE: {
      const map = mapAt(input, a.imm, i);
      const addr = mapValueAddr(map, b.imm);
      return [insn(a.code, a.dst, BPF_PSEUDO_MAP_VALUE, 0, addr), insn(0, 0, 0, 0, Math.floor(addr / 2 ** 32))];
    }
  }
  return null;
}

function mapAt(input: RewriteInput, idx: number, i: number): BpfMap {
  const m = input.maps[idx];
  if (m === undefined) throw new BpfError('EBADF', `insn ${i}: fd ${idx} is not pointing to valid bpf_map`, i);
  return m;
}

function retarget(i: number, t: number, pos: Int32Array, wide: boolean): number {
  const off = pos[t] - (pos[i] + 1);
  if (!wide && (off < -32768 || off > 32767)) {
    throw new BpfError('ERANGE', `insn ${i} cannot be patched due to 16-bit range`, i);
  }
  return off;
}

function fixJump(ins: Insn, i: number, pos: Int32Array): Insn {
  const cls = classOf(ins.code);
  if (cls !== BPF_JMP && cls !== BPF_JMP32) return ins;
  const op = opOf(ins.code);
  if (op === BPF_EXIT) return ins;
  if (op === BPF_CALL) return ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL ? fixLocalRef(ins, i, pos) : ins;
  const t = jumpTarget(ins, i);
  if (ins.code === OP_JA32) return { ...ins, imm: retarget(i, t, pos, true) };
  return { ...ins, off: retarget(i, t, pos, false) };
}

function fixLocalRef(ins: Insn, i: number, pos: Int32Array): Insn {
  const isRef = (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) || (ins.code === OP_LDDW && ins.src === BPF_PSEUDO_FUNC);
  if (!isRef) return ins;
  return { ...ins, imm: retarget(i, i + 1 + ins.imm, pos, true) };
}

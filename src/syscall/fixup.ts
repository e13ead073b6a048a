// Map references of PROG_LOAD (the kernel's resolve_pseudo_ldimm64): every `lddw` whose src names a map
// - BPF_PSEUDO_MAP_FD (imm = map fd), BPF_PSEUDO_MAP_VALUE (imm = map fd, 2nd imm = offset),
// - BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE (imm = index into the caller's fd_array) -
// is resolved to a map, each map once in `usedMaps`, and rewritten to the verifier's form: src
// BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE with imm = index into usedMaps. Errors follow the kernel: a bad fd
// EBADF, an fd that is not a map EINVAL, an unknown lddw kind EINVAL, a direct value reference into a map
// that has none EINVAL (ENOTSUPP for an array with more than one element), an offset past the value EINVAL,
// more than 64 maps E2BIG.
//
// applyMapAddresses() is the last step of a load: imm/imm2 become the map's handle or the value's address.

import { BpfError } from '../errors.js';
import type { Insn } from '../isa/insn.js';
import {
  BPF_PSEUDO_BTF_ID, BPF_PSEUDO_FUNC, BPF_PSEUDO_IMM64, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE, OP_LDDW,
} from '../isa/opcodes.js';
import { ArrayMap } from '../maps/array.js';
import type { BpfMap } from '../maps/map.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';

/** MAX_USED_MAPS of include/linux/bpf.h. */
export const MAX_USED_MAPS = 64;

export interface ResolvedMaps {
  insns: Insn[];
  usedMaps: BpfMap[];
}

/**
 * Resolve map references. `mapFromFd(fd)` throws the kernel's errno for a bad fd; `fdArray` is the
 * PROG_LOAD attr's fd_array (needed by the *_IDX kinds).
 */
export function resolvePseudoLdimm64(
  insns: readonly Insn[], mapFromFd: (fd: number, insn: number) => BpfMap, fdArray: readonly number[] | undefined,
): ResolvedMaps {
  const out = insns.map((i) => ({ ...i }));
  const usedMaps: BpfMap[] = [];
  const bad = (code: 'EINVAL' | 'E2BIG' | 'EFAULT' | 'ENOTSUPP', i: number, msg: string): never => {
    throw new BpfError(code, `insn ${i}: ${msg}`, i);
  };
  for (let i = 0; i < out.length; i++) {
    const ins = out[i];
    if (ins.code !== OP_LDDW) continue;
    if (i + 1 >= out.length) bad('EINVAL', i, 'invalid bpf_ld_imm64 insn (missing second slot)');
    const next = out[i + 1];
    const src = ins.src;
    if (src === BPF_PSEUDO_IMM64 || src === BPF_PSEUDO_FUNC) { i++; continue; }
    if (src === BPF_PSEUDO_BTF_ID) bad('EINVAL', i, 'ld_imm64 of a kernel BTF id (ksym) is not supported: tsbpf has no kernel BTF');
    if (src !== BPF_PSEUDO_MAP_FD && src !== BPF_PSEUDO_MAP_VALUE && src !== BPF_PSEUDO_MAP_IDX && src !== BPF_PSEUDO_MAP_IDX_VALUE) {
      bad('EINVAL', i, `unrecognized bpf_ld_imm64 insn (src ${src})`);
    }
    const isValue = src === BPF_PSEUDO_MAP_VALUE || src === BPF_PSEUDO_MAP_IDX_VALUE;
    if (!isValue && next.imm !== 0) bad('EINVAL', i, 'unrecognized bpf_ld_imm64 insn (map reference with non-zero upper imm)');
    let fd: number;
    if (src === BPF_PSEUDO_MAP_IDX || src === BPF_PSEUDO_MAP_IDX_VALUE) {
      if (fdArray === undefined || fdArray.length === 0) bad('EINVAL', i, 'fd_idx without fd_array is invalid');
      const idx = ins.imm >>> 0;
      if (idx >= fdArray!.length) bad('EFAULT', i, `fd_array index ${idx} is past the ${fdArray!.length}-entry fd_array`);
      fd = fdArray![idx];
    } else {
      fd = ins.imm;
    }
    const map = mapFromFd(fd, i);
    let offset = 0;
    if (isValue) {
      offset = next.imm >>> 0;
      if (!(map instanceof ArrayMap) || map.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY) {
        bad('EINVAL', i, `no direct value access support for this map type (${map.typeName})`);
      }
      if (map.maxEntries !== 1) bad('ENOTSUPP', i, `direct value access needs an array with max_entries 1, map '${map.name}' has ${map.maxEntries}`);
      if (offset >= map.valueSize) bad('EINVAL', i, `invalid access to map value pointer, value_size=${map.valueSize} off=${offset}`);
    }
    let index = usedMaps.indexOf(map);
    if (index < 0) {
      if (usedMaps.length >= MAX_USED_MAPS) bad('E2BIG', i, `more than ${MAX_USED_MAPS} maps in one program`);
      index = usedMaps.push(map) - 1;
    }
    ins.src = isValue ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
    ins.imm = index;
    next.imm = isValue ? offset : 0;
    i++;
  }
  return { insns: out, usedMaps };
}

/** Replace map indexes (verifier form) with real addresses: the map handle, or the value's address + offset. */
export function applyMapAddresses(insns: readonly Insn[], maps: readonly BpfMap[]): Insn[] {
  const out = insns.map((i) => ({ ...i }));
  for (let i = 0; i < out.length; i++) {
    const ins = out[i];
    if (ins.code !== OP_LDDW) continue;
    if (ins.src === BPF_PSEUDO_MAP_FD) {
      ins.imm = maps[ins.imm].handle | 0;
      out[i + 1].imm = 0;
    } else if (ins.src === BPF_PSEUDO_MAP_VALUE) {
      const m = maps[ins.imm] as ArrayMap;
      ins.imm = (m.valueAddr(0) + (out[i + 1].imm >>> 0)) | 0;
      out[i + 1].imm = 0;
    }
    i++;
  }
  return out;
}

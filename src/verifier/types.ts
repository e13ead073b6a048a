// The interfaces the verifier needs from the rest of the runtime, in the kernel's vocabulary:
// - ProgTypeOps: what a program type allows (the kernel's bpf_verifier_ops: get_func_proto,
//   is_valid_access, convert_ctx_access), implemented per type in src/hooks/;
// - HelperProto: a helper's prototype (struct bpf_func_proto: ret_type, arg1..5_type, gpl_only),
//   implemented in src/helpers/protos.ts;
// - the register types the checker tracks (enum bpf_reg_type), which ctx loads may produce.
// Only types live here, so hooks/ and helpers/ can import them without pulling in the checker.

import type { Insn } from '../isa/insn.js';

/** enum bpf_reg_type, the kinds the checker tracks (PTR_MAYBE_NULL spelled out as *_OR_NULL). */
export type RegType =
  | 'NOT_INIT'
  | 'SCALAR_VALUE'
  | 'PTR_TO_CTX'
  | 'CONST_PTR_TO_MAP'
  | 'CONST_PTR_TO_MAP_OR_NULL'
  | 'PTR_TO_MAP_VALUE'
  | 'PTR_TO_MAP_VALUE_OR_NULL'
  | 'PTR_TO_MAP_KEY'
  | 'PTR_TO_STACK'
  | 'PTR_TO_PACKET_META'
  | 'PTR_TO_PACKET'
  | 'PTR_TO_PACKET_END'
  | 'PTR_TO_MEM'
  | 'PTR_TO_MEM_OR_NULL'
  | 'PTR_TO_FUNC';

/**
 * Out-parameter of ProgTypeOps.isValidAccess (struct bpf_insn_access_aux): what a ctx *load* at that offset
 * puts in the destination register. Filled with defaults (SCALAR_VALUE, ctxFieldSize = access size) before
 * the call; an ops implementation changes them only for pointer fields (xdp_md->data is PTR_TO_PACKET,
 * ->data_end PTR_TO_PACKET_END, ->data_meta PTR_TO_PACKET_META) or for narrow loads of a wider field.
 */
export interface CtxAccessInfo {
  regType: RegType;
  /** Size of the whole field a narrow load reads part of (kernel: ctx_field_size). */
  ctxFieldSize: number;
}

/** struct bpf_verifier_ops + the per-type facts the checker needs. One object per program type. */
export interface ProgTypeOps {
  /** BPF_PROG_TYPE_* number. */
  readonly type: number;
  /** Kernel-style name, e.g. 'xdp', 'socket_filter'. */
  readonly name: string;
  /** Bytes of the ctx structure as programs see it (struct xdp_md: 24 (6 u32 fields), pt_regs: 168 ...). */
  readonly ctxSize: number;
  /**
   * May a program access `size` bytes at `off` of its ctx (`write`: a store)? (kernel: is_valid_access).
   * For loads, fill `info` when the field is a pointer (see CtxAccessInfo). The checker has already rejected
   * negative offsets and accesses past ctxSize.
   */
  isValidAccess(off: number, size: number, write: boolean, info: CtxAccessInfo): boolean;
  /**
   * The instructions that replace one ctx access (kernel: convert_ctx_access): `si` is the original
   * LDX/STX/ST whose base register points to the ctx with the field's offset in `si.off`. Return the
   * replacement sequence (it may be longer; it must keep the same registers' meaning: dst gets the value
   * the program expects), or null to keep `si` unchanged (the runtime ctx has the user-visible layout).
   * Jumps inside a replacement are not allowed (the checker fixes up jumps around it, not within it).
   */
  convertCtxAccess(si: Insn): Insn[] | null;
  /** May this program type call helper `id` at all? (kernel: get_func_proto returning non-NULL) */
  helperAllowed(id: number): boolean;
}

/** Base kinds of helper arguments (enum bpf_arg_type), without the flag bits. */
export type ArgBase =
  | 'ARG_DONTCARE'
  | 'ARG_ANYTHING'
  | 'ARG_CONST_MAP_PTR'
  | 'ARG_PTR_TO_MAP_KEY'
  | 'ARG_PTR_TO_MAP_VALUE'
  | 'ARG_PTR_TO_MEM'
  /** ARG_PTR_TO_MEM | MEM_UNINIT: the helper writes the memory, it need not be initialised */
  | 'ARG_PTR_TO_UNINIT_MEM'
  | 'ARG_CONST_SIZE'
  | 'ARG_CONST_SIZE_OR_ZERO'
  | 'ARG_CONST_ALLOC_SIZE_OR_ZERO'
  | 'ARG_PTR_TO_CTX'
  | 'ARG_PTR_TO_STACK'
  | 'ARG_PTR_TO_FUNC'
  | 'ARG_PTR_TO_CONST_STR'
  | 'ARG_PTR_TO_RINGBUF_MEM'
  | 'ARG_PTR_TO_LONG'
  | 'ARG_PTR_TO_INT';

/** Flag bits that modify an argument kind (enum bpf_type_flag). */
export type ArgFlag = 'MEM_RDONLY' | 'PTR_MAYBE_NULL' | 'MEM_UNINIT' | 'OBJ_RELEASE';

/**
 * A helper argument kind, written as the kernel writes it: a base kind, optionally `|` flags, e.g.
 * 'ARG_PTR_TO_MEM|MEM_RDONLY' or 'ARG_PTR_TO_STACK|PTR_MAYBE_NULL'.
 */
export type ArgKind = ArgBase | `${ArgBase}|${ArgFlag}` | `${ArgBase}|${ArgFlag}|${ArgFlag}`;

/** What a helper returns in r0 (enum bpf_return_type). */
export type RetKind =
  | 'RET_INTEGER'
  | 'RET_VOID'
  | 'RET_PTR_TO_MAP_VALUE'
  | 'RET_PTR_TO_MAP_VALUE_OR_NULL'
  /** RET_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RINGBUF (bpf_ringbuf_reserve): size from the const size arg */
  | 'RET_PTR_TO_MEM_OR_NULL';

/** struct bpf_func_proto, for one helper. */
export interface HelperProto {
  /** BPF_FUNC_* id */
  readonly id: number;
  /** name without the bpf_ prefix, as in enum bpf_func_id (e.g. 'map_lookup_elem') */
  readonly name: string;
  /** Only GPL-compatible programs may call it. */
  readonly gplOnly: boolean;
  readonly ret: RetKind;
  /** Up to five argument kinds; missing trailing ones are ARG_DONTCARE. */
  readonly args: readonly ArgKind[];
  /** May packet pointers be passed as memory arguments? (kernel: pkt_access). Unset counts as true. */
  readonly pktAccess?: boolean;
}

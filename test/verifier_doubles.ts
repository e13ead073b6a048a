// Test doubles for the verifier tests: small ProgTypeOps for an XDP-like ctx, a __sk_buff-like ctx and a
// tracing ctx, a table of helper prototypes with the kernel's argument kinds, and a loader that turns a
// parsed object's map specs into real maps, so the verifier can be tested without src/hooks and
// src/helpers.

import { type Insn, insn } from '../src/isa/insn.js';
import { BPF_DW, BPF_LDX, BPF_MEM, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, BPF_ALU64, BPF_ADD, BPF_K, OP_LDDW, classOf, modeOf } from '../src/isa/opcodes.js';
import { AddressSpace } from '../src/vm/memory.js';
import { MapRegistry, type BpfMap } from '../src/maps/map.js';
import { createMap } from '../src/maps/create.js';
import { ArrayMap } from '../src/maps/array.js';
import type { MapSpec } from '../src/object/index.js';
import { BPF_F_RDONLY_PROG, BPF_FUNC as F, BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import type { CtxAccessInfo, HelperProto, ProgTypeOps } from '../src/verifier/types.js';

const PT = BPF_PROG_TYPE;

/** XDP-like: struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex }. */
export function xdpDouble(helpers?: Set<number>): ProgTypeOps {
  return {
    type: PT.BPF_PROG_TYPE_XDP,
    name: 'xdp',
    ctxSize: 24,
    isValidAccess(off: number, size: number, write: boolean, info: CtxAccessInfo): boolean {
      if (write || size !== 4 || off % 4 !== 0 || off >= 20) return false;
      if (off === 0) info.regType = 'PTR_TO_PACKET';
      if (off === 4) info.regType = 'PTR_TO_PACKET_END';
      if (off === 8) info.regType = 'PTR_TO_PACKET_META';
      return true;
    },
    // internal buffer: u64 data at 0, data_end at 8, data_meta at 16; ifindex at 24; rx_queue_index computed
    // with two instructions (to exercise jump fix-ups)
    convertCtxAccess(si: Insn): Insn[] | null {
      if (classOf(si.code) !== BPF_LDX || modeOf(si.code) !== BPF_MEM) return null;
      const ldxdw = BPF_LDX | BPF_MEM | BPF_DW;
      switch (si.off) {
        case 0: return [insn(ldxdw, si.dst, si.src, 0)];
        case 4: return [insn(ldxdw, si.dst, si.src, 8)];
        case 8: return [insn(ldxdw, si.dst, si.src, 16)];
        case 16: return [insn(si.code, si.dst, si.src, 32), insn(BPF_ALU64 | BPF_ADD | BPF_K, si.dst, 0, 0, 0)];
      }
      return null;
    },
    helperAllowed: (id) => (helpers ? helpers.has(id) : id !== F.skb_load_bytes),
  };
}

/** __sk_buff-like (192 bytes): socket filters may not read data/data_end; tc may. */
export function skbDouble(type: number): ProgTypeOps {
  const direct = type !== PT.BPF_PROG_TYPE_SOCKET_FILTER;
  return {
    type,
    name: direct ? 'sched_cls' : 'socket_filter',
    ctxSize: 192,
    isValidAccess(off: number, size: number, write: boolean, info: CtxAccessInfo): boolean {
      if (off % size !== 0) return false;
      if (write) return off >= 48 && off < 68; // cb[]
      if (off === 76 || off === 80 || off === 140) {
        if (!direct || size !== 4) return false;
        info.regType = off === 76 ? 'PTR_TO_PACKET' : off === 80 ? 'PTR_TO_PACKET_END' : 'PTR_TO_PACKET_META';
      }
      return true;
    },
    convertCtxAccess: () => null,
    helperAllowed: (id) => id !== F.xdp_adjust_head && id !== F.xdp_adjust_tail,
  };
}

/** Tracing: raw bytes (pt_regs-sized), read only. */
export function tracingDouble(type: number = PT.BPF_PROG_TYPE_KPROBE): ProgTypeOps {
  return {
    type,
    name: 'kprobe',
    ctxSize: 168,
    isValidAccess: (off, size, write) => !write && off % size === 0,
    convertCtxAccess: () => null,
    helperAllowed: (id) => id !== F.xdp_adjust_head && id !== F.tail_call + 1000,
  };
}

const p = (id: number, name: string, ret: HelperProto['ret'], args: HelperProto['args'], gplOnly = false): HelperProto =>
  ({ id, name, ret, args, gplOnly });

export const PROTOS: HelperProto[] = [
  p(F.map_lookup_elem, 'map_lookup_elem', 'RET_PTR_TO_MAP_VALUE_OR_NULL', ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_KEY']),
  p(F.map_update_elem, 'map_update_elem', 'RET_INTEGER', ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_KEY', 'ARG_PTR_TO_MAP_VALUE', 'ARG_ANYTHING']),
  p(F.map_delete_elem, 'map_delete_elem', 'RET_INTEGER', ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_KEY']),
  p(F.map_push_elem, 'map_push_elem', 'RET_INTEGER', ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_VALUE', 'ARG_ANYTHING']),
  p(F.map_pop_elem, 'map_pop_elem', 'RET_INTEGER', ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_VALUE|MEM_UNINIT']),
  p(F.ktime_get_ns, 'ktime_get_ns', 'RET_INTEGER', []),
  p(F.trace_printk, 'trace_printk', 'RET_INTEGER', ['ARG_PTR_TO_MEM|MEM_RDONLY', 'ARG_CONST_SIZE'], true),
  p(F.get_prandom_u32, 'get_prandom_u32', 'RET_INTEGER', []),
  p(F.tail_call, 'tail_call', 'RET_VOID', ['ARG_PTR_TO_CTX', 'ARG_CONST_MAP_PTR', 'ARG_ANYTHING']),
  p(F.get_current_pid_tgid, 'get_current_pid_tgid', 'RET_INTEGER', []),
  p(F.get_current_comm, 'get_current_comm', 'RET_INTEGER', ['ARG_PTR_TO_UNINIT_MEM', 'ARG_CONST_SIZE']),
  p(F.skb_load_bytes, 'skb_load_bytes', 'RET_INTEGER', ['ARG_PTR_TO_CTX', 'ARG_ANYTHING', 'ARG_PTR_TO_UNINIT_MEM', 'ARG_CONST_SIZE']),
  p(F.xdp_adjust_head, 'xdp_adjust_head', 'RET_INTEGER', ['ARG_PTR_TO_CTX', 'ARG_ANYTHING']),
  p(F.xdp_adjust_tail, 'xdp_adjust_tail', 'RET_INTEGER', ['ARG_PTR_TO_CTX', 'ARG_ANYTHING']),
  p(F.redirect_map, 'redirect_map', 'RET_INTEGER', ['ARG_CONST_MAP_PTR', 'ARG_ANYTHING', 'ARG_ANYTHING']),
  p(F.csum_diff, 'csum_diff', 'RET_INTEGER', ['ARG_PTR_TO_MEM|PTR_MAYBE_NULL|MEM_RDONLY', 'ARG_CONST_SIZE_OR_ZERO', 'ARG_PTR_TO_MEM|PTR_MAYBE_NULL|MEM_RDONLY', 'ARG_CONST_SIZE_OR_ZERO', 'ARG_ANYTHING']),
  p(F.ringbuf_output, 'ringbuf_output', 'RET_INTEGER', ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MEM|MEM_RDONLY', 'ARG_CONST_SIZE_OR_ZERO', 'ARG_ANYTHING']),
  p(F.ringbuf_reserve, 'ringbuf_reserve', 'RET_PTR_TO_MEM_OR_NULL', ['ARG_CONST_MAP_PTR', 'ARG_CONST_ALLOC_SIZE_OR_ZERO', 'ARG_ANYTHING']),
  p(F.ringbuf_submit, 'ringbuf_submit', 'RET_VOID', ['ARG_PTR_TO_RINGBUF_MEM|OBJ_RELEASE', 'ARG_ANYTHING']),
  p(F.ringbuf_discard, 'ringbuf_discard', 'RET_VOID', ['ARG_PTR_TO_RINGBUF_MEM|OBJ_RELEASE', 'ARG_ANYTHING']),
  p(F.loop, 'loop', 'RET_INTEGER', ['ARG_ANYTHING', 'ARG_PTR_TO_FUNC', 'ARG_PTR_TO_STACK|PTR_MAYBE_NULL', 'ARG_ANYTHING']),
  p(F.snprintf, 'snprintf', 'RET_INTEGER', ['ARG_PTR_TO_MEM|PTR_MAYBE_NULL', 'ARG_CONST_SIZE_OR_ZERO', 'ARG_PTR_TO_CONST_STR', 'ARG_PTR_TO_MEM|PTR_MAYBE_NULL|MEM_RDONLY', 'ARG_CONST_SIZE_OR_ZERO']),
];

export const protoOf = (id: number): HelperProto | undefined => PROTOS.find((x) => x.id === id);

/** ProgTypeOps double for a BPF_PROG_TYPE number. */
export function opsFor(type: number): ProgTypeOps {
  switch (type) {
    case PT.BPF_PROG_TYPE_XDP: return xdpDouble();
    case PT.BPF_PROG_TYPE_SOCKET_FILTER: case PT.BPF_PROG_TYPE_SCHED_CLS: case PT.BPF_PROG_TYPE_SCHED_ACT:
    case PT.BPF_PROG_TYPE_CGROUP_SKB: case PT.BPF_PROG_TYPE_SK_SKB: case PT.BPF_PROG_TYPE_LWT_IN:
    case PT.BPF_PROG_TYPE_LWT_XMIT:
      return skbDouble(type);
    default: return tracingDouble(type);
  }
}

/** A fresh runtime memory with a map registry. */
export function newRegistry(): { space: AddressSpace; registry: MapRegistry } {
  const space = new AddressSpace();
  return { space, registry: new MapRegistry(space) };
}

/** Create the maps of an object (global data with its initial bytes, .rodata read-only for programs). */
export function createSpecMaps(specs: readonly MapSpec[]): BpfMap[] {
  const { space, registry } = newRegistry();
  const make = (s: MapSpec): BpfMap => {
    const inner = s.inner ? make(s.inner) : undefined;
    const name = s.name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
    const flags = s.flags | (s.readonlyForProgs ? BPF_F_RDONLY_PROG : 0);
    const m = createMap(space, registry, { type: s.type, keySize: s.keySize, valueSize: s.valueSize, maxEntries: s.maxEntries, flags, name, inner });
    if (s.initial && m instanceof ArrayMap) space.u8.set(s.initial, m.valueAddr(0));
    return m;
  };
  return specs.map(make);
}

/** lddw map references by index (src 5/6) as PROG_LOAD sees them after fd resolution (src 1/2). */
export function toFdRefs(insns: readonly Insn[]): Insn[] {
  return insns.map((ins) => {
    if (ins.code !== OP_LDDW) return ins;
    if (ins.src === BPF_PSEUDO_MAP_IDX) return { ...ins, src: BPF_PSEUDO_MAP_FD };
    if (ins.src === BPF_PSEUDO_MAP_IDX_VALUE) return { ...ins, src: BPF_PSEUDO_MAP_VALUE };
    return ins;
  });
}

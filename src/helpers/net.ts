// Packet helpers (net/core/filter.c): bpf_xdp_adjust_head/meta/tail, bpf_redirect, bpf_redirect_map,
// bpf_csum_diff, bpf_skb_load_bytes, bpf_xdp_get_buff_len/load_bytes/store_bytes and
// bpf_perf_event_output for every program type. Return values and errnos are the kernel's; the packet
// bounds live in the ctx block (helpers/layout.ts), and every adjust re-syncs the xdp_md mirror and the
// packet's memory region. No allocation.
//
// XDP multi-buffer: an xdp_buff may carry fragments (the kernel's skb_shared_info frags, one page each)
// past its linear part. Their descriptor lives in the ctx block right after the xdp_buff part (XDP_FRAGS_*
// below), outside the ctx region programs may read; the frag pages live in the address space without a
// region, so programs reach frag bytes only through the helpers (xdp_get_buff_len, xdp_load_bytes,
// xdp_store_bytes, xdp_adjust_tail, perf_event_output), as in the kernel.

import type { Vm } from '../engine/vm.js';
import { PerfEventArrayMap } from '../maps/fd_array.js';
import { E_INVAL, type BpfMap } from '../maps/map.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, XDP_ABORTED, XDP_REDIRECT } from '../uapi/bpf.js';
import { PERM_READ, PERM_RW, PERM_WRITE, type AddressSpace } from '../vm/memory.js';
import { envOf, REDIRECT_IFINDEX, REDIRECT_MAP } from './env.js';
import {
  ETH_HLEN, SKB_INT_DATA, SKB_INT_LEN, SKB_SHARED_INFO_SIZE, XDP_BUFF_DATA, XDP_BUFF_DATA_END, XDP_BUFF_DATA_HARD_START,
  XDP_BUFF_DATA_META, XDP_BUFF_FRAME_SZ, XDP_BUFF_PKT_REGION, XDP_BUFF_SIZE, XDP_FRAME_SIZE, XDP_MD_DATA, XDP_MD_DATA_END,
  XDP_MD_DATA_META, XDP_META_MAX,
} from './layout.js';
import { addrArg, badArg, needMem, retInt, retU32 } from './regs.js';

const E_FAULT = -14;
const E_ACCES = -13;
/** BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS (bpf_redirect_map flags for devmaps) */
export const BPF_F_BROADCAST = 1 << 3;
export const BPF_F_EXCLUDE_INGRESS = 1 << 4;
/** BPF_F_INGRESS (bpf_redirect for tc) */
export const BPF_F_INGRESS = 1;
/** TC_ACT_SHOT, TC_ACT_REDIRECT */
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
/** BPF_F_CTXLEN_MASK (upper 32 bits: bits 32..51) */
const CTXLEN_MASK_HI = 0xfffff;

// ------------------------------------------------------------------------------------------------ XDP frags

/** MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS default): the most fragments one xdp_buff carries. */
export const MAX_SKB_FRAGS = 17;
/** PAGE_SIZE: each frag is one page, and rxq->frag_size of a test run (a frag grows up to this). */
export const XDP_FRAG_PAGE = 4096;
/** u32 nr_frags; non-zero exactly when the kernel's XDP_FLAGS_HAS_FRAGS is set. */
export const XDP_FRAGS_NR = XDP_BUFF_SIZE;
/** u32 sinfo->xdp_frags_size: bytes in all frags. */
export const XDP_FRAGS_SIZE = XDP_BUFF_SIZE + 4;
/** u32 address of frag page 0 (page i at + i * XDP_FRAG_PAGE), then a gather area; 0 until first needed. */
export const XDP_FRAGS_PAGES = XDP_BUFF_SIZE + 8;
/** u32[MAX_SKB_FRAGS]: skb_frag_size of each frag (every frag starts at offset 0 of its page). */
export const XDP_FRAG_LEN = XDP_BUFF_SIZE + 12;
/** Size of an XDP ctx block: xdp_md mirror + xdp_buff part + frags descriptor. */
export const XDP_CTX_BLOCK_SIZE = XDP_FRAG_LEN + 4 * MAX_SKB_FRAGS;
/** Bytes of the frag pages block: the pages, then room to gather a whole multi-buffer packet contiguously. */
export const XDP_FRAG_BLOCK_SIZE = 2 * MAX_SKB_FRAGS * XDP_FRAG_PAGE + XDP_FRAG_PAGE;

/** xdp_get_buff_len(): linear bytes plus, for a multi-buffer xdp_buff, the frags' bytes. */
export function xdpBuffLen(space: AddressSpace, ctx: number): number {
  const dv = space.dv;
  return dv.getUint32(ctx + XDP_BUFF_DATA_END, true) - dv.getUint32(ctx + XDP_BUFF_DATA, true) +
    dv.getUint32(ctx + XDP_FRAGS_SIZE, true);
}

/**
 * bpf_xdp_copy_buf(): copy `len` bytes at packet offset `off` (from data, across the linear part and then
 * the frags in order) to `buf` (toPacket false) or from `buf` into the packet (toPacket true). The caller
 * has checked off + len <= xdp_get_buff_len.
 */
export function xdpCopy(space: AddressSpace, ctx: number, off: number, buf: number, len: number, toPacket: boolean): void {
  const dv = space.dv;
  const u8 = space.u8;
  let ptr = dv.getUint32(ctx + XDP_BUFF_DATA, true);
  let ptrLen = dv.getUint32(ctx + XDP_BUFF_DATA_END, true) - ptr;
  let ptrOff = 0;
  const nr = dv.getUint32(ctx + XDP_FRAGS_NR, true);
  const pages = dv.getUint32(ctx + XDP_FRAGS_PAGES, true);
  for (let next = 0; ; next++) {
    if (off < ptrOff + ptrLen) {
      const at = off - ptrOff;
      const n = Math.min(len, ptrLen - at);
      if (toPacket) u8.copyWithin(ptr + at, buf, buf + n);
      else u8.copyWithin(buf, ptr + at, ptr + at + n);
      off += n;
      len -= n;
      buf += n;
    }
    if (len === 0 || next === nr) return;
    ptrOff += ptrLen;
    ptr = pages + next * XDP_FRAG_PAGE;
    ptrLen = dv.getUint32(ctx + XDP_FRAG_LEN + 4 * next, true);
  }
}

/** bpf_xdp_frags_increase_tail(): grow the last frag into the rest of its page (zeroed). */
function fragsIncreaseTail(space: AddressSpace, ctx: number, nr: number, offset: number): number {
  const dv = space.dv;
  const lenAt = ctx + XDP_FRAG_LEN + 4 * (nr - 1);
  const size = dv.getUint32(lenAt, true);
  if (offset > XDP_FRAG_PAGE - size) return E_INVAL;
  const page = dv.getUint32(ctx + XDP_FRAGS_PAGES, true) + (nr - 1) * XDP_FRAG_PAGE;
  space.u8.fill(0, page + size, page + size + offset);
  dv.setUint32(lenAt, size + offset, true);
  dv.setUint32(ctx + XDP_FRAGS_SIZE, dv.getUint32(ctx + XDP_FRAGS_SIZE, true) + offset, true);
  return 0;
}

/**
 * bpf_xdp_frags_shrink_tail(): take `offset` bytes off the end, last frag first; frags that empty are
 * released, and once none is left the rest comes off the linear part. `offset` is the C int -delta (so
 * -INT_MIN stays INT_MIN and shrinks nothing, as in the kernel).
 */
function fragsShrinkTail(space: AddressSpace, ctx: number, nr: number, offset: number): number {
  if (offset > xdpBuffLen(space, ctx) - ETH_HLEN) return E_INVAL;
  const dv = space.dv;
  let nFree = 0, lenFree = 0;
  for (let i = nr - 1; i >= 0 && offset > 0; i--) {
    const lenAt = ctx + XDP_FRAG_LEN + 4 * i;
    const size = dv.getUint32(lenAt, true);
    const shrink = Math.min(offset, size);
    lenFree += shrink;
    offset -= shrink;
    if (size === shrink) {
      dv.setUint32(lenAt, 0, true);
      nFree++;
    } else {
      dv.setUint32(lenAt, size - shrink, true);
      break;
    }
  }
  dv.setUint32(ctx + XDP_FRAGS_NR, nr - nFree, true);
  dv.setUint32(ctx + XDP_FRAGS_SIZE, dv.getUint32(ctx + XDP_FRAGS_SIZE, true) - lenFree, true);
  if (nr === nFree) {
    setXdpBounds(space, ctx, dv.getUint32(ctx + XDP_BUFF_DATA_META, true), dv.getUint32(ctx + XDP_BUFF_DATA, true),
      dv.getUint32(ctx + XDP_BUFF_DATA_END, true) - offset);
  }
  return 0;
}

// ------------------------------------------------------------------------------------------------ XDP buff

/** Write the packet bounds of an XDP ctx block and re-sync its xdp_md mirror and packet region. */
export function setXdpBounds(space: AddressSpace, ctx: number, dataMeta: number, data: number, dataEnd: number): void {
  const dv = space.dv;
  dv.setUint32(ctx + XDP_BUFF_DATA, data, true);
  dv.setUint32(ctx + XDP_BUFF_DATA_END, dataEnd, true);
  dv.setUint32(ctx + XDP_BUFF_DATA_META, dataMeta, true);
  dv.setUint32(ctx + XDP_MD_DATA, data, true);
  dv.setUint32(ctx + XDP_MD_DATA_END, dataEnd, true);
  dv.setUint32(ctx + XDP_MD_DATA_META, dataMeta, true);
  space.setRegion(dv.getUint32(ctx + XDP_BUFF_PKT_REGION, true), dataMeta, dataEnd - dataMeta, PERM_RW);
}

function xdpCtx(vm: Vm, id: number): number {
  const ctx = addrArg(vm, 1);
  const env = envOf(vm);
  if (env.progType !== BPF_PROG_TYPE.BPF_PROG_TYPE_XDP || ctx !== env.ctx) badArg(vm, id, 'r1 is not the XDP context');
  return ctx;
}

const rd = (vm: Vm, a: number): number => vm.space.dv.getUint32(a, true);

/** 44: long bpf_xdp_adjust_head(xdp_md, int delta) */
export function xdpAdjustHead(vm: Vm): void {
  const ctx = xdpCtx(vm, 44);
  const offset = vm.lo[2];
  const data = rd(vm, ctx + XDP_BUFF_DATA), dataEnd = rd(vm, ctx + XDP_BUFF_DATA_END), meta = rd(vm, ctx + XDP_BUFF_DATA_META);
  const metalen = data - meta;
  const dataStart = rd(vm, ctx + XDP_BUFF_DATA_HARD_START) + XDP_FRAME_SIZE + metalen;
  const newData = data + offset;
  if (newData < dataStart || newData > dataEnd - ETH_HLEN) return retInt(vm, E_INVAL);
  if (metalen !== 0) vm.space.u8.copyWithin(meta + offset, meta, data);
  setXdpBounds(vm.space, ctx, meta + offset, newData, dataEnd);
  retInt(vm, 0);
}

/** 54: long bpf_xdp_adjust_meta(xdp_md, int delta) */
export function xdpAdjustMeta(vm: Vm): void {
  const ctx = xdpCtx(vm, 54);
  const offset = vm.lo[2];
  const data = rd(vm, ctx + XDP_BUFF_DATA), meta = rd(vm, ctx + XDP_BUFF_DATA_META) + offset;
  const frameEnd = rd(vm, ctx + XDP_BUFF_DATA_HARD_START) + XDP_FRAME_SIZE;
  if (meta < frameEnd || meta > data) return retInt(vm, E_INVAL);
  const metalen = data - meta;
  if ((metalen & 3) !== 0 || metalen > XDP_META_MAX) return retInt(vm, E_ACCES);
  setXdpBounds(vm.space, ctx, meta, data, rd(vm, ctx + XDP_BUFF_DATA_END));
  retInt(vm, 0);
}

/**
 * 65: long bpf_xdp_adjust_tail(xdp_md, int delta): linear buffer: grow into the tailroom (zeroed) or shrink
 * to ETH_HLEN; multi-buffer: grow the last frag or shrink from the last frag backwards.
 */
export function xdpAdjustTail(vm: Vm): void {
  const ctx = xdpCtx(vm, 65);
  const offset = vm.lo[2];
  const nr = rd(vm, ctx + XDP_FRAGS_NR);
  if (nr !== 0) {
    return retInt(vm, offset < 0 ? fragsShrinkTail(vm.space, ctx, nr, -offset | 0) : fragsIncreaseTail(vm.space, ctx, nr, offset));
  }
  const data = rd(vm, ctx + XDP_BUFF_DATA), dataEnd = rd(vm, ctx + XDP_BUFF_DATA_END);
  const hardEnd = rd(vm, ctx + XDP_BUFF_DATA_HARD_START) + rd(vm, ctx + XDP_BUFF_FRAME_SZ) - SKB_SHARED_INFO_SIZE;
  const newEnd = dataEnd + offset;
  if (newEnd > hardEnd || newEnd < data + ETH_HLEN) return retInt(vm, E_INVAL);
  if (offset > 0) vm.space.u8.fill(0, dataEnd, newEnd);
  setXdpBounds(vm.space, ctx, rd(vm, ctx + XDP_BUFF_DATA_META), data, newEnd);
  retInt(vm, 0);
}

/** 188: u64 bpf_xdp_get_buff_len(xdp_md): linear bytes plus frag bytes */
export function xdpGetBuffLen(vm: Vm): void {
  const ctx = xdpCtx(vm, 188);
  retU32(vm, xdpBuffLen(vm.space, ctx));
}

/** bpf_xdp_load_bytes / bpf_xdp_store_bytes: bpf_xdp_pointer's checks, then a copy across linear and frags. */
function xdpBytes(vm: Vm, id: number, store: boolean): void {
  const ctx = xdpCtx(vm, id);
  const offset = vm.lo[2] >>> 0, buf = addrArg(vm, 3), len = vm.lo[4] >>> 0;
  if (offset > 0xffff || len > 0xffff) return retInt(vm, E_FAULT);
  if (offset + len > xdpBuffLen(vm.space, ctx)) return retInt(vm, E_INVAL);
  needMem(vm, id, 'buf', buf, len, store ? PERM_READ : PERM_WRITE);
  xdpCopy(vm.space, ctx, offset, buf, len, store);
  retInt(vm, 0);
}

/** 189: long bpf_xdp_load_bytes(xdp_md, u32 offset, void *buf, u32 len) */
export const xdpLoadBytes = (vm: Vm): void => xdpBytes(vm, 189, false);
/** 190: long bpf_xdp_store_bytes(xdp_md, u32 offset, void *buf, u32 len) */
export const xdpStoreBytes = (vm: Vm): void => xdpBytes(vm, 190, true);

// ------------------------------------------------------------------------------------------------ redirect

/** 23: long bpf_redirect(u32 ifindex, u64 flags): XDP_REDIRECT (XDP) or TC_ACT_REDIRECT (tc). */
export function redirect(vm: Vm): void {
  const env = envOf(vm);
  const xdp = env.progType === BPF_PROG_TYPE.BPF_PROG_TYPE_XDP;
  const badFlags = xdp ? vm.lo[2] !== 0 || vm.hi[2] !== 0 : (vm.lo[2] & ~BPF_F_INGRESS) !== 0 || vm.hi[2] !== 0;
  if (badFlags) return retInt(vm, xdp ? XDP_ABORTED : TC_ACT_SHOT);
  const ri = env.redirect;
  ri.kind = REDIRECT_IFINDEX;
  ri.tgtIndex = vm.lo[1] >>> 0;
  ri.mapId = 0x7fffffff;
  ri.mapType = 0;
  ri.flags = xdp ? 0 : vm.lo[2];
  retInt(vm, xdp ? XDP_REDIRECT : TC_ACT_REDIRECT);
}

interface RedirectMap extends BpfMap {
  redirectTarget(key: number): object | null;
}

/**
 * 51: long bpf_redirect_map(map, u64 key, u64 flags). The low two flag bits are the action returned when
 * the key has no target; devmaps also take BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS. Other flag bits:
 * XDP_ABORTED. A failed lookup leaves the record as an ifindex redirect to the previous target index, as
 * the kernel's bpf_redirect_info does.
 */
export function redirectMap(vm: Vm): void {
  const env = envOf(vm);
  const map = env.registry.byHandle(addrArg(vm, 1)) as RedirectMap | undefined;
  if (map === undefined) badArg(vm, 51, 'r1 does not hold a map');
  const T = BPF_MAP_TYPE;
  const isDev = map.type === T.BPF_MAP_TYPE_DEVMAP || map.type === T.BPF_MAP_TYPE_DEVMAP_HASH;
  if (typeof map.redirectTarget !== 'function') return retInt(vm, XDP_ABORTED);
  const flags = vm.lo[3];
  const allowed = 3 | (isDev ? BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS : 0);
  if (vm.hi[3] !== 0 || (flags & ~allowed) !== 0) return retInt(vm, XDP_ABORTED);
  const key = vm.lo[2] >>> 0;
  const ri = env.redirect;
  const broadcast = (flags & BPF_F_BROADCAST) !== 0;
  if (map.redirectTarget(key) === null && !broadcast) {
    ri.kind = REDIRECT_IFINDEX;
    ri.mapId = 0x7fffffff;
    ri.mapType = 0;
    return retInt(vm, flags & 3);
  }
  ri.kind = REDIRECT_MAP;
  ri.tgtIndex = key;
  ri.mapId = map.id;
  ri.mapType = map.type;
  ri.flags = broadcast ? flags : 0;
  retInt(vm, XDP_REDIRECT);
}

// ------------------------------------------------------------------------------------------------ checksums

/**
 * 28: s64 bpf_csum_diff(__be32 *from, u32 from_size, __be32 *to, u32 to_size, __wsum seed): the 32-bit
 * one's-complement sum (csum_partial) of seed, the complement of every `from` word and every `to` word.
 * Sizes must be multiples of 4 with from_size + to_size <= 512 (the scratch buffer), else -EINVAL.
 */
export function csumDiff(vm: Vm): void {
  const from = addrArg(vm, 1), fromSize = vm.lo[2] >>> 0, to = addrArg(vm, 3), toSize = vm.lo[4] >>> 0;
  if (((fromSize | toSize) & 3) !== 0 || fromSize + toSize > 512) return retInt(vm, E_INVAL);
  needMem(vm, 28, 'from', from, fromSize, PERM_READ);
  needMem(vm, 28, 'to', to, toSize, PERM_READ);
  const u8 = vm.space.u8;
  let sum = vm.lo[5] >>> 0;
  for (let o = 0; o < fromSize; o += 4) {
    const a = from + o;
    sum += ~(u8[a] | (u8[a + 1] << 8) | (u8[a + 2] << 16) | (u8[a + 3] << 24)) >>> 0;
    if (sum > 0xffffffff) sum -= 0xffffffff;
  }
  for (let o = 0; o < toSize; o += 4) {
    const a = to + o;
    sum += (u8[a] | (u8[a + 1] << 8) | (u8[a + 2] << 16) | (u8[a + 3] << 24)) >>> 0;
    if (sum > 0xffffffff) sum -= 0xffffffff;
  }
  retU32(vm, sum);
}

// ------------------------------------------------------------------------------------------------ skb

/** 26: long bpf_skb_load_bytes(skb, u32 offset, void *to, u32 len): -EFAULT (to zeroed) past skb->len. */
export function skbLoadBytes(vm: Vm): void {
  const env = envOf(vm);
  const skb = addrArg(vm, 1);
  if (skb !== env.ctx || env.progType !== BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER) badArg(vm, 26, 'r1 is not the skb');
  const offset = vm.lo[2] >>> 0, to = addrArg(vm, 3), len = vm.lo[4] >>> 0;
  needMem(vm, 26, 'to', to, len, PERM_WRITE);
  const u8 = vm.space.u8;
  const data = rd(vm, skb + SKB_INT_DATA), skbLen = rd(vm, skb + SKB_INT_LEN);
  if (offset > 0x7fffffff || offset + len > skbLen) {
    u8.fill(0, to, to + len);
    return retInt(vm, E_FAULT);
  }
  u8.copyWithin(to, data + offset, data + offset + len);
  retInt(vm, 0);
}

// ------------------------------------------------------------------------------------------------ perf

/**
 * 25: long bpf_perf_event_output(ctx, map, u64 flags, void *data, u64 size). Low 32 flag bits: the index
 * (BPF_F_CURRENT_CPU = 0xffffffff). XDP and socket filters may also ask for `(flags >> 32) & 0xfffff` bytes
 * of the packet appended to the sample (BPF_F_CTXLEN_MASK); tracing programs may not (-EINVAL).
 */
export function perfEventOutput(vm: Vm): void {
  const env = envOf(vm);
  const map = env.registry.byHandle(addrArg(vm, 2));
  if (!(map instanceof PerfEventArrayMap)) badArg(vm, 25, 'r2 is not a perf event array');
  const index = vm.lo[3] >>> 0, flagsHi = vm.hi[3] >>> 0;
  const data = addrArg(vm, 4), size = vm.lo[5] >>> 0;
  needMem(vm, 25, 'data', data, size, PERM_READ);
  const P = BPF_PROG_TYPE;
  let extra = 0, extraLen = 0;
  if (env.progType === P.BPF_PROG_TYPE_XDP || env.progType === P.BPF_PROG_TYPE_SOCKET_FILTER) {
    if ((flagsHi & ~CTXLEN_MASK_HI) !== 0) return retInt(vm, E_INVAL);
    extraLen = flagsHi & CTXLEN_MASK_HI;
    const ctx = env.ctx;
    if (env.progType === P.BPF_PROG_TYPE_XDP) {
      // bpf_xdp_event_output: up to xdp_get_buff_len bytes, gathered across the frags when they reach
      // past the linear part (into the gather area after the frag pages)
      extra = rd(vm, ctx + XDP_BUFF_DATA);
      if (extraLen > xdpBuffLen(vm.space, ctx)) return retInt(vm, E_FAULT);
      if (extraLen > rd(vm, ctx + XDP_BUFF_DATA_END) - extra) {
        const gather = rd(vm, ctx + XDP_FRAGS_PAGES) + MAX_SKB_FRAGS * XDP_FRAG_PAGE;
        xdpCopy(vm.space, ctx, 0, gather, extraLen, false);
        extra = gather;
      }
    } else {
      extra = rd(vm, ctx + SKB_INT_DATA);
      if (extraLen > rd(vm, ctx + SKB_INT_LEN)) return retInt(vm, E_FAULT);
    }
  } else if (flagsHi !== 0) {
    return retInt(vm, E_INVAL);
  }
  retInt(vm, map.output(index, data, size, extra, extraLen));
}

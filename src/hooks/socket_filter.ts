// BPF_PROG_TYPE_SOCKET_FILTER: struct __sk_buff access rules (net/core/filter.c sk_filter_is_valid_access
// on top of bpf_skb_is_valid_access), helpers (sk_filter_func_proto), and BPF_PROG_TEST_RUN
// (bpf_prog_test_run_skb): the packet goes through eth_type_trans, so the program sees skb->data at the
// network header, skb->len = size - 14, skb->protocol from the Ethernet header (network byte order, as
// __sk_buff->protocol shows it) and pkt_type from the destination MAC as seen by the loopback device
// (address and broadcast address both 00:00:00:00:00:00, so ff:ff:ff:ff:ff:ff is PACKET_MULTICAST); an
// IPv4 (IPv6) ethertype needs a whole 20-byte (40-byte) header after the Ethernet header. LD_ABS/LD_IND read from skb->data; an out-of-bounds load ends the program
// with 0 (the engine implements that). data_out is the packet with its 14-byte MAC header zeroed, as the
// kernel pushes a fresh, zeroed one after the run.
//
// The ctx block has the __sk_buff layout itself (no rewrites needed: narrow loads of a little-endian u32
// field read the same bytes the kernel's converted load would); skb->data and skb->len follow it in a
// private tail. Deviation: `sk` (a struct bpf_sock pointer) is refused, as tsbpf has no socket objects.

import type { Vm } from '../engine/vm.js';
import { BpfError } from '../errors.js';
import {
  ETH_HLEN, SKB_BLOCK_SIZE, SKB_CB, SKB_DATA, SKB_DATA_END, SKB_DATA_META, SKB_FAMILY, SKB_FLOW_KEYS, SKB_GSO_SEGS,
  SKB_GSO_SIZE, SKB_HWTSTAMP, SKB_IFINDEX, SKB_INGRESS_IFINDEX, SKB_INT_DATA, SKB_INT_LEN, SKB_LEN, SKB_LOCAL_PORT,
  SKB_MARK, SKB_PKT_TYPE, SKB_PRIORITY, SKB_PROTOCOL, SKB_SHARED_INFO_SIZE, SKB_SK, SKB_TC_CLASSID, SKB_TSTAMP,
  SKB_TSTAMP_TYPE, SKB_WIRE_LEN, SK_BUFF_SIZE, XDP_TEST_FRAME_SIZE,
} from '../helpers/layout.js';
import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import { PERM_RW } from '../vm/memory.js';
import type { CtxAccessInfo, ProgTypeOps } from '../verifier/types.js';
import { BASE_HELPERS } from './helpers_allowed.js';
import { ctxInit, finish, requireEnv, timedRuns, type TestRunOpts, type TestRunProg, type TestRunResult } from './types.js';

/** NET_SKB_PAD + NET_IP_ALIGN on x86-64 (64 + 0): headroom of a test-run skb. */
export const SKB_TEST_HEADROOM = 64;
/** Largest data_in of an skb test run: 4096 - 64 - 320. */
export const SKB_MAX_DATA = XDP_TEST_FRAME_SIZE - SKB_TEST_HEADROOM - SKB_SHARED_INFO_SIZE;
/** GSO_LEGACY_MAX_SIZE, GSO_MAX_SEGS */
const GSO_LEGACY_MAX_SIZE = 65536;
const GSO_MAX_SEGS = 65535;
/** skb->pkt_type values */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;

/** htons(ETH_P_IP), htons(ETH_P_IPV6) as skb->protocol reads in a little-endian u32; the header sizes. */
const ETH_P_IP_LE = 0x0008;
const ETH_P_IPV6_LE = 0xdd86;
const IPV4_HLEN = 20;
const IPV6_HLEN = 40;

const SOCKET_FILTER_HELPERS = new Set([...BASE_HELPERS, 26, 25, 46, 47, 68]);

const inRange = (off: number, lo: number, hiExcl: number): boolean => off >= lo && off < hiExcl;

/** bpf_skb_is_valid_access, the part every skb program type shares. */
function skbValidAccess(off: number, size: number, write: boolean, info: CtxAccessInfo): boolean {
  if (off < 0 || off >= SK_BUFF_SIZE) return false;
  if (off % size !== 0) return false;
  if (inRange(off, SKB_CB, SKB_CB + 20)) return off + size <= SKB_CB + 20;
  if (inRange(off, SKB_DATA, SKB_DATA_END + 4) || inRange(off, SKB_DATA_META, SKB_DATA_META + 4) || inRange(off, 92, 132)) {
    return size === 4;
  }
  if (inRange(off, SKB_FLOW_KEYS, SKB_FLOW_KEYS + 8)) return false;
  if (inRange(off, SKB_HWTSTAMP, SKB_HWTSTAMP + 8)) return !write && size === 8;
  if (inRange(off, SKB_TSTAMP, SKB_TSTAMP + 8)) return size === 8;
  if (inRange(off, SKB_SK, SKB_SK + 8)) return false; // tsbpf: no struct bpf_sock to point at
  if (inRange(off, SKB_TSTAMP_TYPE, SKB_HWTSTAMP)) return false; // tstamp_type and padding
  if (write) return size === 4;
  info.ctxFieldSize = 4;
  return size <= 4 && (size & (size - 1)) === 0;
}

export const socketFilterOps: ProgTypeOps = {
  type: BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER,
  name: 'socket_filter',
  ctxSize: SK_BUFF_SIZE,
  isValidAccess(off: number, size: number, write: boolean, info: CtxAccessInfo): boolean {
    if (
      inRange(off, SKB_TC_CLASSID, SKB_TC_CLASSID + 4) || inRange(off, SKB_DATA, SKB_DATA + 4) ||
      inRange(off, SKB_DATA_META, SKB_DATA_META + 4) || inRange(off, SKB_DATA_END, SKB_DATA_END + 4) ||
      inRange(off, SKB_FAMILY, SKB_LOCAL_PORT + 4) || inRange(off, SKB_TSTAMP, SKB_TSTAMP + 8) ||
      inRange(off, SKB_WIRE_LEN, SKB_WIRE_LEN + 4) || inRange(off, SKB_HWTSTAMP, SKB_HWTSTAMP + 8)
    ) {
      return false;
    }
    if (write && !inRange(off, SKB_CB, SKB_CB + 20)) return false;
    return skbValidAccess(off, size, write, info);
  },
  convertCtxAccess: () => null,
  helperAllowed: (id: number): boolean => SOCKET_FILTER_HELPERS.has(id),
};

/** One skb (ctx block + data page) in a Vm's address space, reused for every run. */
export class SkbBuffer {
  readonly vm: Vm;
  readonly ctx: number;
  readonly head: number;

  constructor(vm: Vm) {
    this.vm = vm;
    const sp = vm.space;
    this.ctx = sp.alloc(SKB_BLOCK_SIZE, 64);
    this.head = sp.alloc(XDP_TEST_FRAME_SIZE, 64);
    sp.mapRegion(this.ctx, SK_BUFF_SIZE, PERM_RW);
  }
}

const buffers = new WeakMap<Vm, SkbBuffer>();

export function skbBufferOf(vm: Vm): SkbBuffer {
  let b = buffers.get(vm);
  if (b === undefined) {
    b = new SkbBuffer(vm);
    buffers.set(vm, b);
  }
  return b;
}

/** The loopback device's dev_addr and broadcast address: all zeros (loopback_setup sets neither). */
export const LOOPBACK_ADDR = new Uint8Array(6);
export const LOOPBACK_BROADCAST = new Uint8Array(6);
/** ether_setup()'s broadcast address, for the other (Ethernet) devices. */
export const ETH_BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

const sameMac = (pkt: Uint8Array, addr: Uint8Array): boolean => {
  for (let i = 0; i < 6; i++) if (pkt[i] !== addr[i]) return false;
  return true;
};

/**
 * eth_type_trans(): skb->protocol (as the __be16 reads in a little-endian u32) and skb->pkt_type
 * (eth_skb_pkt_type: PACKET_HOST when the destination is the device's address, else MULTICAST or BROADCAST
 * for a group address - BROADCAST only when it equals the device's broadcast address - else OTHERHOST).
 */
export function ethTypeTrans(
  pkt: Uint8Array, devAddr: Uint8Array = LOOPBACK_ADDR, broadcast: Uint8Array = LOOPBACK_BROADCAST,
): { protocol: number; pktType: number } {
  let pktType = PACKET_HOST;
  if (!sameMac(pkt, devAddr)) {
    if (pkt[0] & 1) pktType = sameMac(pkt, broadcast) ? PACKET_BROADCAST : PACKET_MULTICAST;
    else pktType = PACKET_OTHERHOST;
  }
  const proto = (pkt[12] << 8) | pkt[13];
  let be: number;
  if (proto >= 0x600) be = proto;
  else if (pkt.length >= ETH_HLEN + 2 && pkt[14] === 0xff && pkt[15] === 0xff) be = 0x0001; // ETH_P_802_3
  else be = 0x0004; // ETH_P_802_2
  return { protocol: ((be & 0xff) << 8) | (be >> 8), pktType };
}

/** convert___skb_to_skb: only these __sk_buff fields may be set in ctx_in; the rest must be zero. */
const SKB_CTX_IN_FIELDS: Array<[number, number]> = [
  [SKB_MARK, 4], [SKB_PRIORITY, 4], [SKB_INGRESS_IFINDEX, 4], [SKB_IFINDEX, 4], [SKB_CB, 20], [SKB_TSTAMP, 8],
  [SKB_WIRE_LEN, 4], [SKB_GSO_SEGS, 4], [SKB_GSO_SIZE, 4], [SKB_HWTSTAMP, 8],
];

/** BPF_PROG_TEST_RUN for socket filters (bpf_prog_test_run_skb without the tc/lwt parts). */
export function socketFilterTestRun(vm: Vm, prog: TestRunProg, opts: TestRunOpts): TestRunResult {
  const env = requireEnv(vm);
  if ((opts.flags ?? 0) !== 0 || (opts.cpu ?? 0) !== 0 || (opts.batchSize ?? 0) !== 0) {
    throw new BpfError('EINVAL', 'flags, cpu and batch_size must be 0 for socket filter test runs');
  }
  const data = opts.dataIn ?? new Uint8Array(0);
  const size = data.length;
  if (size < ETH_HLEN || size > SKB_MAX_DATA) {
    throw new BpfError('EINVAL', `data_in must be ${ETH_HLEN}..${SKB_MAX_DATA} bytes, got ${size}`);
  }
  const wantCtx = opts.ctxIn !== undefined || opts.ctxOut === true;
  const user = wantCtx ? ctxInit(opts.ctxIn, SK_BUFF_SIZE, 'struct __sk_buff') : null;
  const udv = user === null ? null : new DataView(user.buffer);
  let ifindex = 1;
  if (udv !== null) {
    const want = udv.getUint32(SKB_IFINDEX, true);
    if (want > 1) {
      if (!env.netdevs.has(want)) throw new BpfError('ENODEV', `no network device with ifindex ${want}`);
      ifindex = want;
    }
  }
  const buf = skbBufferOf(vm);
  const sp = vm.space;
  const mac = buf.head + SKB_TEST_HEADROOM;
  sp.u8.fill(0, buf.head, buf.head + XDP_TEST_FRAME_SIZE);
  sp.u8.set(data, mac);
  // The device's addresses: loopback's, or for another device (ctx_in ifindex) those it carries, else an
  // Ethernet device's (address unknown: zeros; broadcast ff:ff:ff:ff:ff:ff).
  const dev = ifindex === 1 ? undefined : (env.netdevs.get(ifindex) as { devAddr?: Uint8Array; broadcast?: Uint8Array } | undefined);
  const { protocol, pktType } = ifindex === 1
    ? ethTypeTrans(data)
    : ethTypeTrans(data, dev?.devAddr ?? LOOPBACK_ADDR, dev?.broadcast ?? ETH_BROADCAST);
  const netData = mac + ETH_HLEN;
  const len = size - ETH_HLEN;
  // bpf_prog_test_run_skb: the network header an IPv4/IPv6 ethertype announces must be there in full.
  if (protocol === ETH_P_IP_LE && len < IPV4_HLEN) {
    throw new BpfError('EINVAL', `ethertype IPv4 with ${len} bytes after the Ethernet header, fewer than an IPv4 header (${IPV4_HLEN})`);
  }
  if (protocol === ETH_P_IPV6_LE && len < IPV6_HLEN) {
    throw new BpfError('EINVAL', `ethertype IPv6 with ${len} bytes after the Ethernet header, fewer than an IPv6 header (${IPV6_HLEN})`);
  }
  const ctx = buf.ctx;
  sp.u8.fill(0, ctx, ctx + SKB_BLOCK_SIZE);
  const dv = sp.dv;
  let wireLen = len;
  if (user !== null && udv !== null) {
    for (let i = 0; i < SK_BUFF_SIZE; i++) {
      if (user[i] !== 0 && !SKB_CTX_IN_FIELDS.some(([o, n]) => i >= o && i < o + n)) {
        throw new BpfError('EINVAL', `ctx_in: __sk_buff byte ${i} must be zero (only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp may be set)`);
      }
    }
    for (const [o, n] of SKB_CTX_IN_FIELDS) sp.u8.set(user.subarray(o, o + n), ctx + o);
    const w = udv.getUint32(SKB_WIRE_LEN, true);
    if (w !== 0) {
      if (w < len || w > GSO_LEGACY_MAX_SIZE) throw new BpfError('EINVAL', `ctx_in: wire_len ${w} must be ${len}..${GSO_LEGACY_MAX_SIZE}`);
      wireLen = w;
    }
    if (udv.getUint32(SKB_GSO_SEGS, true) > GSO_MAX_SEGS) throw new BpfError('EINVAL', `ctx_in: gso_segs above ${GSO_MAX_SEGS}`);
  }
  dv.setUint32(ctx + SKB_LEN, len, true);
  dv.setUint32(ctx + SKB_PKT_TYPE, pktType, true);
  dv.setUint32(ctx + SKB_PROTOCOL, protocol, true);
  dv.setUint32(ctx + SKB_IFINDEX, ifindex, true);
  dv.setUint32(ctx + SKB_WIRE_LEN, wireLen, true);
  dv.setUint32(ctx + SKB_INT_DATA, netData, true);
  dv.setUint32(ctx + SKB_INT_LEN, len, true);
  vm.setPacket(netData, len);
  const [retval, duration] = timedRuns(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER, prog.program, ctx, opts.repeat ?? 0);
  // The kernel pushes a zeroed MAC header back in front of the network header for data_out.
  const out = new Uint8Array(size);
  out.set(sp.u8.subarray(netData, netData + len), ETH_HLEN);
  let ctxOut: Uint8Array | null = null;
  if (opts.ctxOut === true && user !== null) {
    ctxOut = user;
    const cdv = new DataView(ctxOut.buffer);
    cdv.setUint32(SKB_MARK, dv.getUint32(ctx + SKB_MARK, true), true);
    cdv.setUint32(SKB_PRIORITY, dv.getUint32(ctx + SKB_PRIORITY, true), true);
    cdv.setUint32(SKB_INGRESS_IFINDEX, dv.getUint32(ctx + SKB_INGRESS_IFINDEX, true), true);
    cdv.setUint32(SKB_IFINDEX, ifindex, true);
    ctxOut.set(sp.u8.subarray(ctx + SKB_TSTAMP, ctx + SKB_TSTAMP + 8), SKB_TSTAMP);
    ctxOut.set(sp.u8.subarray(ctx + SKB_CB, ctx + SKB_CB + 20), SKB_CB);
    cdv.setUint32(SKB_WIRE_LEN, wireLen, true);
    cdv.setUint32(SKB_GSO_SEGS, dv.getUint32(ctx + SKB_GSO_SEGS, true), true);
    ctxOut.set(sp.u8.subarray(ctx + SKB_HWTSTAMP, ctx + SKB_HWTSTAMP + 8), SKB_HWTSTAMP);
  }
  return finish(retval, duration, out, opts.dataSizeOut, ctxOut, opts.ctxSizeOut);
}

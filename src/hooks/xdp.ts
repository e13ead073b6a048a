// BPF_PROG_TYPE_XDP: struct xdp_md access rules and rewrites (net/core/filter.c xdp_is_valid_access,
// xdp_convert_ctx_access), helper availability (xdp_func_proto), the XDP buffer in the address space, and
// BPF_PROG_TEST_RUN (net/bpf/test_run.c bpf_prog_test_run_xdp).
//
// The buffer is the kernel's test-run frame: one 4096-byte page; 256 bytes of headroom (minus the metadata
// that ctx_in asks for), the first 40 of which belong to the frame descriptor (adjust_head/meta stop there);
// data_in (metadata first, then the packet) right after; 320 bytes of tailroom (skb_shared_info) at the end
// that adjust_tail cannot grow into. So a linear packet is at most 3520 bytes (plus metadata).
// Repetitions of one test run share the buffer without resetting it, as the kernel's do.
//
// Deviations (documented): multi-buffer (frags) packets larger than the linear area are refused with
// EINVAL (the kernel would run them with the excess in fragments); BPF_F_TEST_XDP_LIVE_FRAMES is refused
// with EOPNOTSUPP (no network stack to inject frames into).

import type { Vm } from '../engine/vm.js';
import { BpfError } from '../errors.js';
import { setXdpBounds } from '../helpers/net.js';
import {
  ETH_HLEN, SKB_SHARED_INFO_SIZE, XDP_BUFF_DATA, XDP_BUFF_DATA_END, XDP_BUFF_DATA_HARD_START, XDP_BUFF_DATA_META,
  XDP_BUFF_EGRESS_IFINDEX, XDP_BUFF_FRAME_SZ, XDP_BUFF_INGRESS_IFINDEX, XDP_BUFF_PKT_REGION, XDP_BUFF_RX_QUEUE_INDEX,
  XDP_BUFF_SIZE, XDP_MD_DATA, XDP_MD_DATA_END, XDP_MD_DATA_META, XDP_MD_EGRESS_IFINDEX, XDP_MD_INGRESS_IFINDEX,
  XDP_MD_RX_QUEUE_INDEX, XDP_MD_SIZE, XDP_META_MAX, XDP_PACKET_HEADROOM, XDP_TEST_FRAME_SIZE,
} from '../helpers/layout.js';
import { insn, type Insn } from '../isa/insn.js';
import { BPF_DW, BPF_LDX, BPF_MEM, BPF_W, classOf, modeOf } from '../isa/opcodes.js';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE } from '../uapi/bpf.js';
import { PERM_READ, PERM_RW } from '../vm/memory.js';
import type { CtxAccessInfo, ProgTypeOps } from '../verifier/types.js';
import { BASE_HELPERS } from './helpers_allowed.js';
import {
  BPF_F_TEST_XDP_LIVE_FRAMES, ctxInit, finish, requireEnv, timedRuns, type TestRunOpts, type TestRunProg, type TestRunResult,
} from './types.js';

/** Largest linear packet of a test run without metadata: 4096 - 256 - 320. */
export const XDP_MAX_DATA = XDP_TEST_FRAME_SIZE - XDP_PACKET_HEADROOM - SKB_SHARED_INFO_SIZE;

const XDP_HELPERS = new Set([...BASE_HELPERS, 8, 23, 25, 28, 44, 51, 54, 65, 69, 163, 188, 189, 190]);

/** __is_valid_xdp_access: every xdp_md field is a u32 read whole. */
function validXdpAccess(off: number, size: number): boolean {
  return off >= 0 && off < XDP_MD_SIZE && off % size === 0 && size === 4;
}

/** ProgTypeOps for XDP; programs with expected_attach_type BPF_XDP_DEVMAP may also read egress_ifindex. */
export function xdpOps(expectedAttachType = 0): ProgTypeOps {
  const devmap = expectedAttachType === BPF_ATTACH_TYPE.BPF_XDP_DEVMAP;
  return {
    type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP,
    name: 'xdp',
    ctxSize: XDP_MD_SIZE,
    isValidAccess(off: number, size: number, write: boolean, info: CtxAccessInfo): boolean {
      if (!devmap && off === XDP_MD_EGRESS_IFINDEX) return false;
      if (write) return false; // only offloaded programs may write rx_queue_index
      if (off === XDP_MD_DATA) info.regType = 'PTR_TO_PACKET';
      else if (off === XDP_MD_DATA_META) info.regType = 'PTR_TO_PACKET_META';
      else if (off === XDP_MD_DATA_END) info.regType = 'PTR_TO_PACKET_END';
      return validXdpAccess(off, size);
    },
    convertCtxAccess(si: Insn): Insn[] | null {
      if (classOf(si.code) !== BPF_LDX || modeOf(si.code) !== BPF_MEM) return null;
      const ld = (size: number, off: number): Insn[] => [insn(BPF_LDX | BPF_MEM | size, si.dst, si.src, off, 0)];
      switch (si.off) {
        case XDP_MD_DATA: return ld(BPF_DW, XDP_BUFF_DATA);
        case XDP_MD_DATA_END: return ld(BPF_DW, XDP_BUFF_DATA_END);
        case XDP_MD_DATA_META: return ld(BPF_DW, XDP_BUFF_DATA_META);
        case XDP_MD_INGRESS_IFINDEX: return ld(BPF_W, XDP_BUFF_INGRESS_IFINDEX);
        case XDP_MD_RX_QUEUE_INDEX: return ld(BPF_W, XDP_BUFF_RX_QUEUE_INDEX);
        case XDP_MD_EGRESS_IFINDEX: return ld(BPF_W, XDP_BUFF_EGRESS_IFINDEX);
        default: return null;
      }
    },
    helperAllowed: (id: number): boolean => XDP_HELPERS.has(id),
  };
}

/**
 * One XDP buffer (ctx block + 4096-byte frame) in a Vm's address space, allocated once and reused for every
 * packet: load() copies a packet in, run() runs a program on it. Nothing is allocated per packet.
 */
export class XdpBuffer {
  readonly vm: Vm;
  /** Address of the ctx block (struct xdp_md mirror + xdp_buff), what r1 holds. */
  readonly ctx: number;
  /** data_hard_start */
  readonly frame: number;
  private readonly pktRegion: number;

  constructor(vm: Vm) {
    this.vm = vm;
    const sp = vm.space;
    this.ctx = sp.alloc(XDP_BUFF_SIZE, 64);
    this.frame = sp.alloc(XDP_TEST_FRAME_SIZE, 64);
    sp.mapRegion(this.ctx, XDP_BUFF_SIZE, PERM_READ);
    this.pktRegion = sp.mapRegion(this.frame, 0, PERM_RW);
    const dv = sp.dv;
    dv.setUint32(this.ctx + XDP_BUFF_PKT_REGION, this.pktRegion, true);
    dv.setUint32(this.ctx + XDP_BUFF_DATA_HARD_START, this.frame, true);
    dv.setUint32(this.ctx + XDP_BUFF_FRAME_SZ, XDP_TEST_FRAME_SIZE, true);
  }

  /**
   * Put `len` bytes from `src` (metadata first when metaLen > 0) into the frame: data_meta at
   * 256 - metaLen, data at 256. The caller has checked the sizes (see xdpTestRun).
   */
  load(src: Uint8Array, metaLen: number, ingressIfindex: number, rxQueue: number): void {
    const sp = this.vm.space;
    const start = this.frame + XDP_PACKET_HEADROOM - metaLen;
    sp.u8.fill(0, this.frame, this.frame + XDP_TEST_FRAME_SIZE);
    sp.u8.set(src, start);
    setXdpBounds(sp, this.ctx, start, start + metaLen, start + src.length);
    const dv = sp.dv;
    dv.setUint32(this.ctx + XDP_BUFF_INGRESS_IFINDEX, ingressIfindex, true);
    dv.setUint32(this.ctx + XDP_BUFF_RX_QUEUE_INDEX, rxQueue, true);
    dv.setUint32(this.ctx + XDP_BUFF_EGRESS_IFINDEX, 0, true);
    dv.setUint32(this.ctx + XDP_MD_INGRESS_IFINDEX, ingressIfindex, true);
    dv.setUint32(this.ctx + XDP_MD_RX_QUEUE_INDEX, rxQueue, true);
    dv.setUint32(this.ctx + XDP_MD_EGRESS_IFINDEX, 0, true);
  }

  get dataMeta(): number {
    return this.vm.space.dv.getUint32(this.ctx + XDP_BUFF_DATA_META, true);
  }
  get data(): number {
    return this.vm.space.dv.getUint32(this.ctx + XDP_BUFF_DATA, true);
  }
  get dataEnd(): number {
    return this.vm.space.dv.getUint32(this.ctx + XDP_BUFF_DATA_END, true);
  }

  /** The frame as the program left it, from data_meta to data_end (a copy). */
  output(): Uint8Array {
    return this.vm.space.read(this.dataMeta, this.dataEnd - this.dataMeta);
  }
}

const buffers = new WeakMap<Vm, XdpBuffer>();

/** The Vm's XDP buffer (created on first use). */
export function xdpBufferOf(vm: Vm): XdpBuffer {
  let b = buffers.get(vm);
  if (b === undefined) {
    b = new XdpBuffer(vm);
    buffers.set(vm, b);
  }
  return b;
}

/** BPF_PROG_TEST_RUN for XDP, with the kernel's checks and errnos in the kernel's order. */
export function xdpTestRun(vm: Vm, prog: TestRunProg, opts: TestRunOpts): TestRunResult {
  const env = requireEnv(vm);
  const at = prog.expectedAttachType ?? 0;
  if (at === BPF_ATTACH_TYPE.BPF_XDP_DEVMAP || at === BPF_ATTACH_TYPE.BPF_XDP_CPUMAP) {
    throw new BpfError('EINVAL', 'XDP programs for devmap/cpumap entries cannot be test-run');
  }
  const flags = opts.flags ?? 0;
  if (flags & ~BPF_F_TEST_XDP_LIVE_FRAMES) throw new BpfError('EINVAL', `test run flags 0x${flags.toString(16)} are not valid for XDP`);
  if (flags & BPF_F_TEST_XDP_LIVE_FRAMES) throw new BpfError('EOPNOTSUPP', 'BPF_F_TEST_XDP_LIVE_FRAMES is not supported (no network stack)');
  if ((opts.batchSize ?? 0) !== 0) throw new BpfError('EINVAL', 'batch_size needs BPF_F_TEST_XDP_LIVE_FRAMES');
  const data = opts.dataIn ?? new Uint8Array(0);
  const size = data.length;
  const wantCtx = opts.ctxIn !== undefined || opts.ctxOut === true;
  const md = wantCtx ? ctxInit(opts.ctxIn, XDP_MD_SIZE, 'struct xdp_md') : null;
  let metaLen = 0;
  let ingress = 0, rxq = 0;
  if (md !== null) {
    const dv = new DataView(md.buffer);
    const mdData = dv.getUint32(XDP_MD_DATA, true), mdEnd = dv.getUint32(XDP_MD_DATA_END, true);
    if (dv.getUint32(XDP_MD_DATA_META, true) !== 0) throw new BpfError('EINVAL', 'xdp_md.data_meta must be 0 in ctx_in');
    if (mdEnd !== size) throw new BpfError('EINVAL', `xdp_md.data_end (${mdEnd}) must equal the data_in size (${size})`);
    if (mdData > mdEnd) throw new BpfError('EINVAL', `xdp_md.data (${mdData}) is past data_end (${mdEnd})`);
    if ((mdData & 3) !== 0 || mdData > XDP_META_MAX) {
      throw new BpfError('EINVAL', `xdp_md.data (${mdData}) is the metadata length: a multiple of 4 up to ${XDP_META_MAX}`);
    }
    metaLen = mdData;
    ingress = dv.getUint32(XDP_MD_INGRESS_IFINDEX, true);
    rxq = dv.getUint32(XDP_MD_RX_QUEUE_INDEX, true);
  }
  const maxData = XDP_MAX_DATA + metaLen;
  if (size > maxData) {
    throw new BpfError('EINVAL', `data_in of ${size} bytes does not fit the linear XDP frame (max ${maxData}); multi-buffer packets are not supported`);
  }
  if (size < ETH_HLEN) throw new BpfError('EINVAL', `data_in of ${size} bytes is shorter than an Ethernet header (${ETH_HLEN})`);
  if (md !== null) {
    const dv = new DataView(md.buffer);
    if (dv.getUint32(XDP_MD_EGRESS_IFINDEX, true) !== 0) throw new BpfError('EINVAL', 'xdp_md.egress_ifindex must be 0 in ctx_in');
    if (ingress === 0 && rxq !== 0) throw new BpfError('EINVAL', 'xdp_md.rx_queue_index needs an ingress_ifindex');
    if (ingress !== 0) {
      const dev = env.netdevs.get(ingress);
      if (dev === undefined) throw new BpfError('ENODEV', `no network device with ifindex ${ingress}`);
      if (rxq >= dev.rxQueues) throw new BpfError('EINVAL', `rx_queue_index ${rxq} >= ${dev.rxQueues} queues of ${dev.name}`);
    }
  }
  // Without an ingress device the kernel runs on the loopback device's rx queue 0.
  const buf = xdpBufferOf(vm);
  buf.load(data, metaLen, ingress !== 0 ? ingress : 1, ingress !== 0 ? rxq : 0);
  const [retval, duration] = timedRuns(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, prog.program, buf.ctx, opts.repeat ?? 0);
  let ctxOut: Uint8Array | null = null;
  if (md !== null) {
    ctxOut = md;
    const dv = new DataView(ctxOut.buffer);
    dv.setUint32(XDP_MD_DATA, buf.data - buf.dataMeta, true);
    dv.setUint32(XDP_MD_DATA_END, buf.dataEnd - buf.dataMeta, true);
  }
  return finish(retval, duration, buf.output(), opts.dataSizeOut, opts.ctxOut === true ? ctxOut : null, opts.ctxSizeOut);
}

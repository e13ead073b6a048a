// BPF_PROG_TYPE_XDP: struct xdp_md access rules and rewrites (net/core/filter.c xdp_is_valid_access,
// xdp_convert_ctx_access), helper availability (xdp_func_proto), the XDP buffer in the address space, and
// BPF_PROG_TEST_RUN (net/bpf/test_run.c bpf_prog_test_run_xdp).
//
// The buffer is the kernel's test-run frame: one 4096-byte page; 256 bytes of headroom (minus the metadata
// that ctx_in asks for), the first 40 of which belong to the frame descriptor (adjust_head/meta stop there);
// data_in (metadata first, then the packet) right after; 320 bytes of tailroom (skb_shared_info) at the end
// that adjust_tail cannot grow into. So the linear part holds at most 3520 bytes (plus metadata), or
// xdp_md.data_end bytes when ctx_in asks for less. The rest of data_in goes into fragments of up to one
// page each (MAX_SKB_FRAGS of them; more is ENOMEM), whatever the program's BPF_F_XDP_HAS_FRAGS, as the
// kernel's test run does: a multi-buffer xdp_buff whose frags only the helpers reach (helpers/net.ts), and
// data_out = the linear part from data_meta, then every frag.
// Repetitions of one test run share the buffer without resetting it, as the kernel's do.
//
// Deviation (documented): BPF_F_TEST_XDP_LIVE_FRAMES is refused with EOPNOTSUPP (no network stack to inject
// frames into).

import type { Vm } from '../engine/vm.js';
import { BpfError } from '../errors.js';
import {
  MAX_SKB_FRAGS, setXdpBounds, XDP_CTX_BLOCK_SIZE, XDP_FRAG_BLOCK_SIZE, XDP_FRAG_LEN, XDP_FRAG_PAGE, XDP_FRAGS_NR,
  XDP_FRAGS_PAGES, XDP_FRAGS_SIZE,
} from '../helpers/net.js';
import {
  ETH_HLEN, SKB_SHARED_INFO_SIZE, XDP_BUFF_DATA, XDP_BUFF_DATA_END, XDP_BUFF_DATA_HARD_START, XDP_BUFF_DATA_META,
  XDP_BUFF_EGRESS_IFINDEX, XDP_BUFF_FRAME_SZ, XDP_BUFF_INGRESS_IFINDEX, XDP_BUFF_PKT_REGION, XDP_BUFF_RX_QUEUE_INDEX,
  XDP_BUFF_SIZE, XDP_FRAME_SIZE, XDP_MD_DATA, XDP_MD_DATA_END, XDP_MD_DATA_META, XDP_MD_EGRESS_IFINDEX, XDP_MD_INGRESS_IFINDEX,
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
/** Largest data_in of a test run without metadata: the linear part and MAX_SKB_FRAGS full pages (73152). */
export const XDP_MAX_DATA_FRAGS = XDP_MAX_DATA + MAX_SKB_FRAGS * XDP_FRAG_PAGE;
/** Largest metadata ctx_in may ask for: the headroom minus the frame descriptor (256 - 40). */
export const XDP_TEST_META_MAX = XDP_PACKET_HEADROOM - XDP_FRAME_SIZE;

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
 * One XDP buffer (ctx block + 4096-byte frame, and frag pages once a packet needs them) in a Vm's address
 * space, allocated once and reused for every packet: load() copies a packet in. Nothing is allocated per
 * packet.
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
    // the frags descriptor after the xdp_buff part stays outside the region: programs cannot read it
    this.ctx = sp.alloc(XDP_CTX_BLOCK_SIZE, 64);
    this.frame = sp.alloc(XDP_TEST_FRAME_SIZE, 64);
    sp.u8.fill(0, this.ctx, this.ctx + XDP_CTX_BLOCK_SIZE);
    sp.mapRegion(this.ctx, XDP_BUFF_SIZE, PERM_READ);
    this.pktRegion = sp.mapRegion(this.frame, 0, PERM_RW);
    const dv = sp.dv;
    dv.setUint32(this.ctx + XDP_BUFF_PKT_REGION, this.pktRegion, true);
    dv.setUint32(this.ctx + XDP_BUFF_DATA_HARD_START, this.frame, true);
    dv.setUint32(this.ctx + XDP_BUFF_FRAME_SZ, XDP_TEST_FRAME_SIZE, true);
  }

  /**
   * Put `src` (metadata first when metaLen > 0) into the buffer: the first `linearLen` bytes into the frame
   * (data_meta at 256 - metaLen, data at 256), the rest into frags of up to a page each. The caller has
   * checked the sizes (see xdpTestRun): linearLen fits the frame, the rest fits MAX_SKB_FRAGS pages.
   */
  load(src: Uint8Array, metaLen: number, ingressIfindex: number, rxQueue: number, linearLen = src.length): void {
    const sp = this.vm.space;
    const start = this.frame + XDP_PACKET_HEADROOM - metaLen;
    sp.u8.fill(0, this.frame, this.frame + XDP_TEST_FRAME_SIZE);
    sp.u8.set(src.subarray(0, linearLen), start);
    setXdpBounds(sp, this.ctx, start, start + metaLen, start + linearLen);
    this.setFrags(src.subarray(linearLen));
    const dv = sp.dv;
    dv.setUint32(this.ctx + XDP_BUFF_INGRESS_IFINDEX, ingressIfindex, true);
    dv.setUint32(this.ctx + XDP_BUFF_RX_QUEUE_INDEX, rxQueue, true);
    dv.setUint32(this.ctx + XDP_BUFF_EGRESS_IFINDEX, 0, true);
    dv.setUint32(this.ctx + XDP_MD_INGRESS_IFINDEX, ingressIfindex, true);
    dv.setUint32(this.ctx + XDP_MD_RX_QUEUE_INDEX, rxQueue, true);
    dv.setUint32(this.ctx + XDP_MD_EGRESS_IFINDEX, 0, true);
  }

  /** Fill the frags with `rest` (a page per frag), or make the buffer linear when it is empty. */
  setFrags(rest: Uint8Array): void {
    const sp = this.vm.space;
    let nr = 0;
    if (rest.length > 0) {
      let pages = sp.dv.getUint32(this.ctx + XDP_FRAGS_PAGES, true);
      if (pages === 0) {
        pages = sp.alloc(XDP_FRAG_BLOCK_SIZE, 64); // no region: only helpers reach frag bytes
        sp.dv.setUint32(this.ctx + XDP_FRAGS_PAGES, pages, true);
      }
      for (let off = 0; off < rest.length; off += XDP_FRAG_PAGE, nr++) {
        const n = Math.min(XDP_FRAG_PAGE, rest.length - off);
        const page = pages + nr * XDP_FRAG_PAGE;
        sp.u8.set(rest.subarray(off, off + n), page);
        sp.u8.fill(0, page + n, page + XDP_FRAG_PAGE);
        sp.dv.setUint32(this.ctx + XDP_FRAG_LEN + 4 * nr, n, true);
      }
    }
    const dv = sp.dv;
    for (let i = nr; i < MAX_SKB_FRAGS; i++) dv.setUint32(this.ctx + XDP_FRAG_LEN + 4 * i, 0, true);
    dv.setUint32(this.ctx + XDP_FRAGS_NR, nr, true);
    dv.setUint32(this.ctx + XDP_FRAGS_SIZE, rest.length, true);
  }

  /** Number of frags (0: a linear buffer). */
  get nrFrags(): number {
    return this.vm.space.dv.getUint32(this.ctx + XDP_FRAGS_NR, true);
  }

  /** Sizes of the frags, in order. */
  fragSizes(): number[] {
    const dv = this.vm.space.dv;
    return Array.from({ length: this.nrFrags }, (_, i) => dv.getUint32(this.ctx + XDP_FRAG_LEN + 4 * i, true));
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

  /** The packet as the program left it: the linear part from data_meta to data_end, then every frag (a copy). */
  output(): Uint8Array {
    const sp = this.vm.space;
    const dv = sp.dv;
    const linear = this.dataEnd - this.dataMeta;
    const out = new Uint8Array(linear + dv.getUint32(this.ctx + XDP_FRAGS_SIZE, true));
    out.set(sp.u8.subarray(this.dataMeta, this.dataEnd));
    const pages = dv.getUint32(this.ctx + XDP_FRAGS_PAGES, true);
    let at = linear;
    for (let i = 0; i < this.nrFrags; i++) {
      const n = dv.getUint32(this.ctx + XDP_FRAG_LEN + 4 * i, true);
      out.set(sp.u8.subarray(pages + i * XDP_FRAG_PAGE, pages + i * XDP_FRAG_PAGE + n), at);
      at += n;
    }
    return out;
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

/**
 * BPF_PROG_TEST_RUN for XDP (bpf_prog_test_run_xdp, Linux 6.18), with the kernel's checks and errnos in the
 * kernel's order: ctx_in (data_meta 0, data_end <= data_in size, data <= data_end, metadata length a multiple
 * of 4 up to 216), data_in minus metadata at least ETH_HLEN, the ingress device, then the frags (ENOMEM past
 * MAX_SKB_FRAGS pages). ctx_in's data_end is the linear length asked for (capped at the frame's room).
 */
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
  let linearLen = size;
  let ingress = 0, rxq = 0;
  if (md !== null) {
    const dv = new DataView(md.buffer);
    const mdData = dv.getUint32(XDP_MD_DATA, true), mdEnd = dv.getUint32(XDP_MD_DATA_END, true);
    if (dv.getUint32(XDP_MD_DATA_META, true) !== 0) throw new BpfError('EINVAL', 'xdp_md.data_meta must be 0 in ctx_in');
    if (mdEnd > size) throw new BpfError('EINVAL', `xdp_md.data_end (${mdEnd}) is past the end of data_in (${size} bytes)`);
    if (mdData > mdEnd) throw new BpfError('EINVAL', `xdp_md.data (${mdData}) is past data_end (${mdEnd})`);
    if ((mdData & 3) !== 0 || mdData > XDP_META_MAX || mdData > XDP_TEST_META_MAX) {
      throw new BpfError('EINVAL', `xdp_md.data (${mdData}) is the metadata length: a multiple of 4 up to ${XDP_TEST_META_MAX}`);
    }
    metaLen = mdData;
    linearLen = mdEnd;
    ingress = dv.getUint32(XDP_MD_INGRESS_IFINDEX, true);
    rxq = dv.getUint32(XDP_MD_RX_QUEUE_INDEX, true);
  }
  linearLen = Math.min(linearLen, XDP_MAX_DATA + metaLen);
  if (size - metaLen < ETH_HLEN) {
    throw new BpfError('EINVAL', `data_in of ${size} bytes leaves ${size - metaLen} after the metadata, shorter than an Ethernet header (${ETH_HLEN})`);
  }
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
  if (size - linearLen > MAX_SKB_FRAGS * XDP_FRAG_PAGE) {
    throw new BpfError('ENOMEM', `data_in of ${size} bytes needs more than ${MAX_SKB_FRAGS} frags of ${XDP_FRAG_PAGE} bytes ` +
      `after the ${linearLen}-byte linear part (max ${linearLen + MAX_SKB_FRAGS * XDP_FRAG_PAGE})`);
  }
  // Without an ingress device the kernel runs on the loopback device's rx queue 0.
  const buf = xdpBufferOf(vm);
  buf.load(data, metaLen, ingress !== 0 ? ingress : 1, ingress !== 0 ? rxq : 0, linearLen);
  let retval: number, duration: number, out: Uint8Array, fragsSize: number;
  try {
    [retval, duration] = timedRuns(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, prog.program, buf.ctx, opts.repeat ?? 0);
    out = buf.output();
    fragsSize = out.length - (buf.dataEnd - buf.dataMeta);
  } finally {
    // leave a linear buffer behind for other users of this Vm's XDP buffer (net/ devices)
    buf.setFrags(new Uint8Array(0));
  }
  let ctxOut: Uint8Array | null = null;
  if (md !== null) {
    ctxOut = md;
    const dv = new DataView(ctxOut.buffer);
    dv.setUint32(XDP_MD_DATA, buf.data - buf.dataMeta, true);
    dv.setUint32(XDP_MD_DATA_END, buf.dataEnd - buf.dataMeta, true);
  }
  // bpf_test_finish with frags and a data_size_out smaller than the packet: it copies the first
  // (data_size_out - frags size) linear bytes, then the frags; when that is negative, nothing at all.
  const sizeOut = opts.dataSizeOut ?? 0;
  if (fragsSize > 0 && sizeOut !== 0 && sizeOut < out.length) {
    const len = sizeOut - fragsSize;
    let dataOut = new Uint8Array(0);
    if (len >= 0) {
      dataOut = new Uint8Array(sizeOut);
      dataOut.set(out.subarray(0, len));
      dataOut.set(out.subarray(out.length - fragsSize), len);
    }
    const why = len < 0 ? `, not even the frags' ${fragsSize}` : '';
    return {
      retval, duration, dataOut, dataSizeOut: out.length, ctxOut: null,
      error: new BpfError('ENOSPC', `data_out needs ${out.length} bytes, data_size_out is ${sizeOut}${why}`),
    };
  }
  return finish(retval, duration, out, opts.dataSizeOut, opts.ctxOut === true ? ctxOut : null, opts.ctxSizeOut);
}

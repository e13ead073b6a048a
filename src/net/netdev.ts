// Virtual network devices and the network they live in (the kernel's struct net_device and a network
// namespace): devices with an ifindex, name, MAC and MTU, veth pairs, an XDP hook per device, and the
// synchronous packet engine that moves frames between them.
//
// Receive path of a frame on device D (veth_xdp_rcv + the XDP verdict handling of a driver):
//   length checks (runt, > MTU + VLAN Ethernet header: rx_dropped) -> D's XDP hook (a program, libxdp's
//   dispatcher or a bpf_mprog list; see multiprog.ts) -> the verdict:
//   DROP: counted, freed. ABORTED: counted as an exception, freed. PASS: the frame as the program left it
//   goes to D's host side (rxHandler: a HostStack, or any listener). TX: sent back out of D (to its peer).
//   REDIRECT: the target the redirect helper recorded in the RunEnv (bpf_redirect: an ifindex;
//   bpf_redirect_map: a devmap slot, with its egress program if any, a devmap broadcast, or a cpumap, which
//   hands the frame to D's host side); an invalid target (no such device, empty slot, device down, frame
//   over the target's MTU, a map type that cannot redirect) drops the frame and counts an exception, as
//   xdp_do_redirect failing does. Any other return value is an invalid action: dropped, an exception.
//   A program that stops with a runtime error counts as ABORTED plus a program error.
//
// Frames travel through one queue processed until empty (synchronous, no timers). Queue slots and the XDP
// buffer live in the runtime's address space, so a frame moves with copyWithin and no per-packet allocation;
// only handing a frame to a JavaScript listener creates a view. Each frame carries a hop count; a frame that
// has been transmitted more than `maxHops` times in a row (two XDP_TX programs facing each other) is dropped
// and counted (loop_dropped), so nothing runs forever. Frames given to a listener are views valid only
// during the call: copy what you keep.

import { BpfError, fail } from '../errors.js';
import { REDIRECT_IFINDEX, REDIRECT_MAP } from '../helpers/env.js';
import {
  XDP_BUFF_EGRESS_IFINDEX, XDP_BUFF_INGRESS_IFINDEX, XDP_BUFF_RX_QUEUE_INDEX, XDP_MD_EGRESS_IFINDEX, XDP_MD_INGRESS_IFINDEX,
  XDP_MD_RX_QUEUE_INDEX, XDP_PACKET_HEADROOM, XDP_TEST_FRAME_SIZE,
} from '../helpers/layout.js';
import { BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS, setXdpBounds } from '../helpers/net.js';
import { XDP_MAX_DATA, xdpBufferOf, type XdpBuffer } from '../hooks/xdp.js';
import type { DevTarget } from '../maps/devmap.js';
import type { BpfMap } from '../maps/map.js';
import type { BpfProg } from '../syscall/prog.js';
import { BpfRuntime } from '../syscall/runtime.js';
import { BPF_ATTACH_TYPE, BPF_MAP_TYPE, BPF_PROG_TYPE, XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../uapi/bpf.js';
import { ETH_HLEN, VLAN_ETH_HLEN, formatMac, parseMac } from './ether.js';
import { LINKTYPE_ETHERNET, readCapture, type Capture } from './pcap.js';
import { getXdpProgramRunner, isXdpProg, type ProgRunObserver, type XdpProgramRunner } from './runner.js';
import { DevStats, ProgStats, formatStats, verdictColumn } from './stats.js';

/** IFNAMSIZ: a device name has at most 15 characters. */
export const IFNAMSIZ = 16;
/** Default MTU of a veth device. */
export const DEFAULT_MTU = 1500;
/** Largest frame a device accepts: the XDP buffer's linear area. */
export const MAX_FRAME = XDP_MAX_DATA;

/**
 * What runs on a device's XDP hook. The device calls run() once per frame, after loading the frame into the
 * XDP buffer and clearing the per-run records; run() returns the verdict (u32). A hook is immutable once
 * installed: changing the program set builds a new hook and swaps it in (NetDevice.setHook), so a frame sees
 * either the old set or the new one, never a mix.
 */
export interface XdpHook {
  /** 'single', 'libxdp', 'mprog', or a plug-in's name. */
  readonly kind: string;
  /** The programs in run order. */
  programs(): readonly BpfProg[];
  run(dev: NetDevice, ctx: number): number;
}

/** One program on the hook (the kernel's plain XDP attachment). */
export class SingleProgHook implements XdpHook {
  readonly kind = 'single';
  constructor(readonly prog: BpfProg) {}
  programs(): readonly BpfProg[] {
    return [this.prog];
  }
  run(dev: NetDevice, ctx: number): number {
    return dev.net.runProgram(this.prog, ctx, dev);
  }
}

/** A program as the caller may hold it: the runtime's BpfProg, a lib BpfProgram (has .prog), or an fd. */
export type ProgLike = BpfProg | { readonly prog: BpfProg; readonly fd: number } | number;

export interface DeviceOptions {
  /** "02:00:00:00:00:01" or 6 bytes; default 02:00:00:00:HH:LL from the ifindex. */
  mac?: string | Uint8Array;
  mtu?: number;
}

/** Where frames that leave a device without a peer go (the wire). */
export type FrameHandler = (frame: Uint8Array, dev: NetDevice) => void;

export class NetDevice implements ProgRunObserver {
  readonly net: Net;
  readonly ifindex: number;
  readonly name: string;
  readonly mac: Uint8Array;
  mtu: number;
  up = true;
  /** The other end of a veth pair: what this device transmits, the peer receives. */
  peer: NetDevice | null = null;
  /** The host side: receives PASS frames (a HostStack installs itself here). */
  rxHandler: FrameHandler | null = null;
  /** The wire of a device without a peer: receives what the device transmits. */
  txHandler: FrameHandler | null = null;
  readonly stats = new DevStats();
  private hookRef: XdpHook | null = null;
  private readonly progStatsMap = new Map<BpfProg, ProgStats>();

  constructor(net: Net, ifindex: number, name: string, opts: DeviceOptions) {
    this.net = net;
    this.ifindex = ifindex;
    this.name = name;
    const mac = opts.mac ?? new Uint8Array([0x02, 0, 0, 0, (ifindex >>> 8) & 255, ifindex & 255]);
    this.mac = typeof mac === 'string' ? parseMac(mac) : Uint8Array.from(mac);
    if (this.mac.length !== 6) fail('EINVAL', `${name}: a MAC address has 6 bytes, got ${this.mac.length}`);
    const mtu = opts.mtu ?? DEFAULT_MTU;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu + VLAN_ETH_HLEN > MAX_FRAME) {
      fail('EINVAL', `${name}: MTU ${mtu} is outside 68..${MAX_FRAME - VLAN_ETH_HLEN} (the XDP buffer's linear area)`);
    }
    this.mtu = mtu;
  }

  get macString(): string {
    return formatMac(this.mac);
  }

  // ------------------------------------------------------------------------------------------------ XDP

  /** The hook installed now (null: no XDP, every frame goes to the host side). */
  get hook(): XdpHook | null {
    return this.hookRef;
  }

  /** Swap the hook in one step (the next frame runs the new one). */
  setHook(hook: XdpHook | null): void {
    this.hookRef = hook;
  }

  /**
   * Attach one XDP program (replacing whatever the hook ran: XDP_FLAGS_REPLACE semantics). EINVAL for a
   * program that is not XDP or is meant for devmap/cpumap entries; EBUSY when a multi-program policy owns
   * the hook (detach it first).
   */
  attachXdp(prog: ProgLike): void {
    const p = this.net.resolveProg('XDP attach', prog);
    const cur = this.hookRef;
    if (cur !== null && cur.kind !== 'single') {
      fail('EBUSY', `${this.name}: the XDP hook is managed by the '${cur.kind}' policy; detach its programs first`);
    }
    this.setHook(new SingleProgHook(p));
  }

  /** Remove a single program (ENOENT when there is none). */
  detachXdp(): void {
    if (this.hookRef === null) fail('ENOENT', `${this.name}: no XDP program attached`);
    if (this.hookRef.kind !== 'single') fail('EBUSY', `${this.name}: the XDP hook is managed by the '${this.hookRef.kind}' policy`);
    this.setHook(null);
  }

  /** Programs on the hook, in run order. */
  programs(): readonly BpfProg[] {
    return this.hookRef === null ? [] : this.hookRef.programs();
  }

  /** ProgRunObserver: count what each program returned. */
  progRan(prog: BpfProg, retval: number): void {
    let s = this.progStatsMap.get(prog);
    if (s === undefined) {
      s = new ProgStats(prog);
      this.progStatsMap.set(prog, s);
    }
    s.runs++;
    s.verdicts[verdictColumn(retval)]++;
  }

  /** Per-program counters, in the order programs first ran. */
  progStats(): ProgStats[] {
    return [...this.progStatsMap.values()];
  }

  resetStats(): void {
    this.stats.reset();
    this.progStatsMap.clear();
  }

  /** The per-program, per-verdict table and the device counters. */
  formatStats(): string {
    return formatStats(this.name, this.ifindex, this.stats, this.progStats());
  }

  // ------------------------------------------------------------------------------------------------ frames

  /**
   * A frame arrives on this device (from code, a capture, or the wire). Runs it through XDP and everything
   * that follows (replies, TX, redirects) until the network is quiet. Returns the frame's XDP verdict
   * (XDP_PASS when no program is attached), or -1 when it was dropped before XDP or only queued (called
   * from inside a handler while the network is busy).
   */
  receive(frame: Uint8Array): number {
    return this.net.receiveFrame(this, frame);
  }

  /**
   * Every Ethernet frame of a capture (pcap or pcapng bytes, or a parsed Capture) arrives on this device, in
   * order. EINVAL for a capture whose link type is not Ethernet. Returns how many frames were fed.
   */
  receiveCapture(capture: Uint8Array | Capture): number {
    const c = capture instanceof Uint8Array ? readCapture(capture) : capture;
    if (c.linktype !== LINKTYPE_ETHERNET) fail('EINVAL', `${this.name}: the capture's link type ${c.linktype} is not Ethernet (1)`);
    for (const p of c.packets) this.receive(p.data);
    return c.packets.length;
  }

  /** The host side sends a frame out of this device (no XDP on egress). Runs the network until quiet. */
  transmit(frame: Uint8Array): void {
    this.net.transmitFrame(this, frame);
  }

  setUp(up: boolean): void {
    this.up = up;
  }
}

export interface NetOptions {
  /** The runtime whose programs and maps the devices use (a new one by default). */
  runtime?: BpfRuntime;
  /** Transmissions a frame may go through in a row before it is dropped as a loop (default 32). */
  maxHops?: number;
  /** Frames the queue holds (default 256); more are dropped as rx_dropped of the receiver. */
  queueLen?: number;
  /** Most frames one run() processes (default 1,000,000). */
  eventLimit?: number;
}

/** A network namespace: the devices, the queue of frames in flight, and the runner of XDP programs. */
export class Net {
  readonly rt: BpfRuntime;
  /** The runner this network uses; null: the one installed globally (runner.ts). */
  runner: XdpProgramRunner | null = null;
  readonly maxHops: number;
  readonly eventLimit: number;
  /** Frames dropped because the queue was full. */
  queueDrops = 0;

  private readonly devices = new Map<number, NetDevice>();
  private readonly byName = new Map<string, NetDevice>();
  private readonly buf: XdpBuffer;
  // The queue: `cap` slots of XDP_TEST_FRAME_SIZE bytes in the address space, plus one scratch slot.
  private readonly cap: number;
  private readonly qBase: number;
  private readonly scratch: number;
  private readonly qDev: Array<NetDevice | null>;
  private readonly qLen: Int32Array;
  private readonly qHops: Int32Array;
  private qHead = 0;
  private qCount = 0;
  private busy = false;

  constructor(opts: NetOptions = {}) {
    this.rt = opts.runtime ?? new BpfRuntime();
    this.maxHops = opts.maxHops ?? 32;
    this.eventLimit = opts.eventLimit ?? 1_000_000;
    this.cap = opts.queueLen ?? 256;
    if (!Number.isInteger(this.cap) || this.cap < 1) fail('EINVAL', `queueLen must be a positive integer, got ${opts.queueLen}`);
    const sp = this.rt.space;
    this.buf = xdpBufferOf(this.rt.vm);
    this.qBase = sp.alloc(XDP_TEST_FRAME_SIZE * (this.cap + 1), 64);
    this.scratch = this.qBase + XDP_TEST_FRAME_SIZE * this.cap;
    this.qDev = new Array<NetDevice | null>(this.cap).fill(null);
    this.qLen = new Int32Array(this.cap);
    this.qHops = new Int32Array(this.cap);
    // Devmap entries name devices: the kernel refuses an ifindex without a device (EINVAL).
    const env = this.rt.env;
    if (this.rt.registry.resolveIfindex === null) {
      this.rt.registry.resolveIfindex = (i) => this.devices.has(i) || env.netdevs.has(i);
    }
  }

  /** Run `prog` with this network's runner. */
  runProgram(prog: BpfProg, ctx: number, obs: ProgRunObserver | null): number {
    return (this.runner ?? getXdpProgramRunner())(this.rt, prog, ctx, obs);
  }

  // ------------------------------------------------------------------------------------------------ devices

  /** Create a device (EEXIST: the name is taken; EINVAL: a bad name, MAC or MTU). */
  createDevice(name: string, opts: DeviceOptions = {}): NetDevice {
    if (typeof name !== 'string' || name.length === 0 || name.length >= IFNAMSIZ || /[\s/:]/.test(name)) {
      fail('EINVAL', `'${name}' is not a valid device name (1..${IFNAMSIZ - 1} characters, no '/', ':' or spaces)`);
    }
    if (this.byName.has(name)) fail('EEXIST', `a device named '${name}' exists`);
    const env = this.rt.env;
    let ifindex = 1;
    for (const i of env.netdevs.keys()) if (i >= ifindex) ifindex = i + 1;
    for (const i of this.devices.keys()) if (i >= ifindex) ifindex = i + 1;
    const dev = new NetDevice(this, ifindex, name, opts);
    this.devices.set(ifindex, dev);
    this.byName.set(name, dev);
    // Test runs check ingress_ifindex against the runtime's devices.
    env.netdevs.set(ifindex, { ifindex, name, rxQueues: 1 });
    return dev;
  }

  /** Two devices joined as a veth pair: what one transmits, the other receives. */
  createVethPair(nameA: string, nameB: string, optsA: DeviceOptions = {}, optsB: DeviceOptions = {}): [NetDevice, NetDevice] {
    if (nameA === nameB) fail('EEXIST', `both ends of the veth pair are named '${nameA}'`);
    if (this.byName.has(nameB)) fail('EEXIST', `a device named '${nameB}' exists`);
    const a = this.createDevice(nameA, optsA);
    const b = this.createDevice(nameB, optsB);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  /** A device by ifindex or name (ENODEV when there is none). */
  device(which: number | string): NetDevice {
    const d = typeof which === 'number' ? this.devices.get(which) : this.byName.get(which);
    if (d === undefined) fail('ENODEV', `no network device ${typeof which === 'number' ? `with ifindex ${which}` : `named '${which}'`}`);
    return d;
  }

  allDevices(): NetDevice[] {
    return [...this.devices.values()];
  }

  /** The BpfProg behind what a caller passed (EINVAL: not XDP, a devmap/cpumap program, another runtime). */
  resolveProg(cmd: string, p: ProgLike): BpfProg {
    let prog: BpfProg;
    if (typeof p === 'number') {
      prog = this.rt.progFromFd(cmd, p);
    } else if ('prog' in p && !('program' in p)) {
      const lib = p as { readonly prog: BpfProg; readonly fd: number; readonly object?: { runtime?: unknown } };
      if (lib.object !== undefined && lib.object.runtime !== this.rt) {
        fail('EINVAL', `${cmd}: the program was loaded into another runtime than this network's`);
      }
      prog = lib.prog;
    } else {
      prog = p as BpfProg;
    }
    if (!isXdpProg(prog)) fail('EINVAL', `${cmd}: program '${prog.name}' (id ${prog.id}) is ${prog.typeName}, not XDP`);
    const at = prog.expectedAttachType;
    if (at === BPF_ATTACH_TYPE.BPF_XDP_DEVMAP || at === BPF_ATTACH_TYPE.BPF_XDP_CPUMAP) {
      fail('EINVAL', `${cmd}: program '${prog.name}' is meant for devmap/cpumap entries, not for a device`);
    }
    return prog;
  }

  // ------------------------------------------------------------------------------------------------ engine

  /** Frames waiting in the queue. */
  get pending(): number {
    return this.qCount;
  }

  receiveFrame(dev: NetDevice, frame: Uint8Array): number {
    if (this.busy) {
      this.enqueueBytes(dev, frame, 0);
      return -1;
    }
    this.busy = true;
    let v: number;
    try {
      v = this.ingressBytes(dev, frame, 0);
      this.drain(this.eventLimit);
    } finally {
      this.busy = false;
    }
    return v;
  }

  transmitFrame(dev: NetDevice, frame: Uint8Array): void {
    if (frame.length > MAX_FRAME) {
      dev.stats.txDropped++;
      return;
    }
    const st = dev.stats;
    if (!dev.up) {
      st.txDropped++;
      return;
    }
    st.txPackets++;
    st.txBytes += frame.length;
    if (dev.peer !== null) this.enqueueBytes(dev.peer, frame, 0);
    else if (dev.txHandler !== null) dev.txHandler(frame, dev);
    this.run();
  }

  /** Process queued frames until the queue is empty (or `limit` frames); returns how many were processed. */
  run(limit = this.eventLimit): number {
    if (this.busy) return 0;
    this.busy = true;
    try {
      return this.drain(limit);
    } finally {
      this.busy = false;
    }
  }

  private drain(limit: number): number {
    let n = 0;
    const sp = this.rt.space;
    while (this.qCount > 0 && n < limit) {
      const slot = this.qHead;
      const dev = this.qDev[slot]!;
      const len = this.qLen[slot];
      const hops = this.qHops[slot];
      this.qDev[slot] = null;
      this.qHead = (slot + 1) % this.cap;
      this.qCount--;
      n++;
      const st = dev.stats;
      st.rxPackets++;
      st.rxBytes += len;
      if (hops > this.maxHops) {
        st.loopDropped++;
        continue;
      }
      if (!this.rxChecks(dev, len)) continue;
      const src = this.qBase + slot * XDP_TEST_FRAME_SIZE;
      const start = this.loadFrame(dev, len);
      sp.u8.copyWithin(start, src, src + len);
      this.runHook(dev, len, hops);
    }
    return n;
  }

  private ingressBytes(dev: NetDevice, frame: Uint8Array, hops: number): number {
    const st = dev.stats;
    st.rxPackets++;
    st.rxBytes += frame.length;
    if (!this.rxChecks(dev, frame.length)) return -1;
    const start = this.loadFrame(dev, frame.length);
    this.rt.space.u8.set(frame, start);
    return this.runHook(dev, frame.length, hops);
  }

  /** Drops before XDP: device down, runt, longer than MTU + VLAN Ethernet header. */
  private rxChecks(dev: NetDevice, len: number): boolean {
    if (!dev.up || len < ETH_HLEN || len > dev.mtu + VLAN_ETH_HLEN) {
      dev.stats.rxDropped++;
      return false;
    }
    return true;
  }

  /** Point the XDP buffer at a `len`-byte frame received on `dev`; returns where the bytes go. */
  private loadFrame(dev: NetDevice, len: number): number {
    const sp = this.rt.space;
    const buf = this.buf;
    const start = buf.frame + XDP_PACKET_HEADROOM;
    // Headroom starts zeroed for every frame (adjust_head/meta expose it); the tail is zeroed by adjust_tail.
    sp.u8.fill(0, buf.frame, start);
    setXdpBounds(sp, buf.ctx, start, start, start + len);
    const dv = sp.dv;
    const ctx = buf.ctx;
    dv.setUint32(ctx + XDP_BUFF_INGRESS_IFINDEX, dev.ifindex, true);
    dv.setUint32(ctx + XDP_BUFF_RX_QUEUE_INDEX, 0, true);
    dv.setUint32(ctx + XDP_BUFF_EGRESS_IFINDEX, 0, true);
    dv.setUint32(ctx + XDP_MD_INGRESS_IFINDEX, dev.ifindex, true);
    dv.setUint32(ctx + XDP_MD_RX_QUEUE_INDEX, 0, true);
    dv.setUint32(ctx + XDP_MD_EGRESS_IFINDEX, 0, true);
    return start;
  }

  /** Run the hook on the loaded frame and act on the verdict. */
  private runHook(dev: NetDevice, len: number, hops: number): number {
    const st = dev.stats;
    const hook = dev.hook;
    const buf = this.buf;
    if (hook === null) {
      this.toHost(dev, buf.data, len);
      return XDP_PASS;
    }
    const env = this.rt.env;
    env.beginRun(BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, buf.ctx);
    let v: number;
    try {
      v = hook.run(dev, buf.ctx) >>> 0;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      st.progErrors++;
      v = XDP_ABORTED;
    }
    st.verdicts[verdictColumn(v)]++;
    switch (v) {
      case XDP_DROP:
        break;
      case XDP_PASS:
        this.toHost(dev, buf.data, buf.dataEnd - buf.data);
        break;
      case XDP_TX:
        this.xmit(dev, buf.data, buf.dataEnd - buf.data, hops + 1);
        break;
      case XDP_REDIRECT:
        this.redirect(dev, hops + 1);
        break;
      default: // XDP_ABORTED and unknown actions: trace_xdp_exception
        st.exceptions++;
    }
    return v;
  }

  private toHost(dev: NetDevice, addr: number, len: number): void {
    dev.stats.hostDelivered++;
    const h = dev.rxHandler;
    if (h !== null) h(this.rt.space.u8.subarray(addr, addr + len), dev);
  }

  /** Transmit `len` bytes at `addr` out of `dev`: to its peer's queue, or to its wire handler. */
  private xmit(dev: NetDevice, addr: number, len: number, hops: number): void {
    const st = dev.stats;
    if (!dev.up) {
      st.txDropped++;
      return;
    }
    st.txPackets++;
    st.txBytes += len;
    if (dev.peer !== null) this.enqueueAddr(dev.peer, addr, len, hops);
    else if (dev.txHandler !== null) dev.txHandler(this.rt.space.u8.subarray(addr, addr + len), dev);
  }

  private redirectError(dev: NetDevice): void {
    dev.stats.exceptions++;
    dev.stats.redirectErrors++;
  }

  /** xdp_ok_fwd_dev: the target must be up and the frame must fit its MTU. */
  private forward(from: NetDevice, to: NetDevice, addr: number, len: number, hops: number): void {
    if (!to.up || len > to.mtu + VLAN_ETH_HLEN) {
      this.redirectError(from);
      return;
    }
    this.xmit(to, addr, len, hops);
  }

  /** XDP_REDIRECT: act on the record bpf_redirect / bpf_redirect_map left in the RunEnv. */
  private redirect(dev: NetDevice, hops: number): void {
    const ri = this.rt.env.redirect;
    const kind = ri.kind, tgt = ri.tgtIndex, mapId = ri.mapId, mapType = ri.mapType, flags = ri.flags;
    const buf = this.buf;
    const data = buf.data, len = buf.dataEnd - data;
    if (kind === REDIRECT_IFINDEX) {
      const to = this.devices.get(tgt);
      if (to === undefined) return this.redirectError(dev);
      return this.forward(dev, to, data, len, hops);
    }
    if (kind !== REDIRECT_MAP) return this.redirectError(dev); // XDP_REDIRECT without a redirect helper
    const map = this.rt.registry.byId(mapId) as (BpfMap & { redirectTarget?(key: number): unknown }) | undefined;
    if (map === undefined || typeof map.redirectTarget !== 'function') return this.redirectError(dev);
    const T = BPF_MAP_TYPE;
    if (mapType === T.BPF_MAP_TYPE_CPUMAP) {
      // The frame becomes an skb on the target CPU and goes up the stack of the device it came in on.
      if (map.redirectTarget(tgt) === null) return this.redirectError(dev);
      this.toHost(dev, data, len);
      return;
    }
    if (mapType !== T.BPF_MAP_TYPE_DEVMAP && mapType !== T.BPF_MAP_TYPE_DEVMAP_HASH) return this.redirectError(dev);
    if ((flags & BPF_F_BROADCAST) !== 0) return this.broadcast(dev, map, (flags & BPF_F_EXCLUDE_INGRESS) !== 0, hops);
    const t = map.redirectTarget(tgt) as DevTarget | null;
    const to = t === null ? undefined : this.devices.get(t.ifindex);
    if (t === null || to === undefined) return this.redirectError(dev);
    if (t.prog !== null && !this.egressProg(dev, to, t.prog as BpfProg)) return;
    this.forward(dev, to, buf.data, buf.dataEnd - buf.data, hops);
  }

  /**
   * A devmap entry's program (BPF_XDP_DEVMAP) runs on the frame with egress_ifindex set: PASS sends it,
   * DROP frees it, anything else frees it as an exception (bpf_warn_invalid_xdp_action).
   */
  private egressProg(from: NetDevice, to: NetDevice, prog: BpfProg): boolean {
    const dv = this.rt.space.dv;
    const ctx = this.buf.ctx;
    dv.setUint32(ctx + XDP_BUFF_EGRESS_IFINDEX, to.ifindex, true);
    dv.setUint32(ctx + XDP_MD_EGRESS_IFINDEX, to.ifindex, true);
    this.rt.env.beginRun(BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, ctx);
    let v: number;
    try {
      v = this.runProgram(prog, ctx, to) >>> 0;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      from.stats.progErrors++;
      v = XDP_ABORTED;
    }
    if (v === XDP_PASS) return true;
    if (v !== XDP_DROP) from.stats.exceptions++;
    return false;
  }

  /** BPF_F_BROADCAST: a copy to every device of the map (but the ingress one with BPF_F_EXCLUDE_INGRESS). */
  private broadcast(dev: NetDevice, map: BpfMap & { redirectTarget?(key: number): unknown }, excludeIngress: boolean, hops: number): void {
    const sp = this.rt.space;
    const buf = this.buf;
    const len = buf.dataEnd - buf.data;
    // Keep the original: an egress program may change the frame of one copy.
    sp.u8.copyWithin(this.scratch, buf.data, buf.dataEnd);
    for (const [key] of map.entries()) {
      const k = key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24);
      const t = map.redirectTarget!(k >>> 0) as DevTarget | null;
      if (t === null) continue;
      const to = this.devices.get(t.ifindex);
      if (to === undefined) {
        this.redirectError(dev);
        continue;
      }
      if (excludeIngress && to === dev) continue;
      const start = buf.frame + XDP_PACKET_HEADROOM;
      sp.u8.copyWithin(start, this.scratch, this.scratch + len);
      setXdpBounds(sp, buf.ctx, start, start, start + len);
      if (t.prog !== null && !this.egressProg(dev, to, t.prog as BpfProg)) continue;
      this.forward(dev, to, buf.data, buf.dataEnd - buf.data, hops);
    }
  }

  private slotFor(to: NetDevice): number {
    if (this.qCount === this.cap) {
      this.queueDrops++;
      to.stats.rxDropped++;
      return -1;
    }
    return (this.qHead + this.qCount) % this.cap;
  }

  private commit(slot: number, to: NetDevice, len: number, hops: number): void {
    this.qDev[slot] = to;
    this.qLen[slot] = len;
    this.qHops[slot] = hops;
    this.qCount++;
  }

  private enqueueAddr(to: NetDevice, addr: number, len: number, hops: number): void {
    const slot = this.slotFor(to);
    if (slot < 0) return;
    const dst = this.qBase + slot * XDP_TEST_FRAME_SIZE;
    this.rt.space.u8.copyWithin(dst, addr, addr + len);
    this.commit(slot, to, len, hops);
  }

  private enqueueBytes(to: NetDevice, frame: Uint8Array, hops: number): void {
    if (frame.length > MAX_FRAME) {
      to.stats.rxPackets++;
      to.stats.rxDropped++;
      return;
    }
    const slot = this.slotFor(to);
    if (slot < 0) return;
    this.rt.space.u8.set(frame, this.qBase + slot * XDP_TEST_FRAME_SIZE);
    this.commit(slot, to, frame.length, hops);
  }
}

// A tiny host stack on top of virtual devices: one IPv4 address (and prefix) per interface, an ARP cache,
// ARP replies for its own addresses, ICMP echo replies, and the client side of both (ARP requests,
// `ping`). It is synchronous: sending a frame runs the network until it is quiet, so when send returns,
// every reply that was going to come has come. No timers: an unanswered ARP request or ping simply has no
// reply when the network goes quiet.
//
// Receive rules (what Linux does by default, reduced): frames not for our MAC (or broadcast) are ignored;
// ARP requests for one of our addresses are answered and teach the cache the sender; ARP replies for us fill
// the cache; IPv4 with a bad header checksum or for another address is dropped (no forwarding); ICMP with a
// bad checksum is dropped; echo requests are answered with the same id, sequence and data.

import { fail } from '../errors.js';
import {
  ARPOP_REPLY, ARPOP_REQUEST, ETH_HLEN, ETH_P_ARP, ETH_P_IP, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HLEN, IPPROTO_ICMP, buildArp,
  buildIcmpEcho, buildIpv4, formatIpv4, inetChecksum, ipv4Of, isBroadcastMac, macEquals, parseArp, parseIpv4Frame, rd16,
} from './ether.js';
import type { NetDevice } from './netdev.js';

export interface HostIface {
  readonly dev: NetDevice;
  readonly ip: number;
  readonly prefixLen: number;
}

export class HostStats {
  arpRequestsIn = 0;
  arpRepliesIn = 0;
  arpRequestsOut = 0;
  arpRepliesOut = 0;
  echoRequestsIn = 0;
  echoRepliesIn = 0;
  echoRequestsOut = 0;
  echoRepliesOut = 0;
  /** IPv4 header or ICMP checksums that did not verify. */
  badChecksums = 0;
  /** Frames for another MAC or address, or of a protocol this stack does not speak. */
  ignored = 0;
}

export interface PingOptions {
  /** ICMP echo identifier (default: a per-host counter). */
  id?: number;
  /** Bytes of echo data (default 56, as ping(8)). */
  size?: number;
}

const mask = (prefixLen: number): number => (prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0);

export class HostStack {
  readonly name: string;
  /** IPv4 address -> MAC. */
  readonly arpCache = new Map<number, Uint8Array>();
  readonly stats = new HostStats();
  private readonly ifaces: HostIface[] = [];
  /** Echo replies received, by (id << 16 | seq). */
  private readonly echoReplies = new Map<number, number>();
  private nextEchoId = 0x1234;
  private ipId = 1;

  constructor(name = 'host') {
    this.name = name;
  }

  /** A host with one interface: `dev` with address `ip`/`prefixLen`. */
  static on(dev: NetDevice, ip: string | number, prefixLen = 24, name = dev.name): HostStack {
    const h = new HostStack(name);
    h.addInterface(dev, ip, prefixLen);
    return h;
  }

  /** Give this host `dev` with an address; the device's PASS frames come here from now on. */
  addInterface(dev: NetDevice, ip: string | number, prefixLen = 24): HostIface {
    const addr = ipv4Of(ip);
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) fail('EINVAL', `prefix length ${prefixLen} is outside 0..32`);
    if (this.ifaces.some((i) => i.dev === dev)) fail('EEXIST', `${this.name}: ${dev.name} already has an address`);
    if (dev.rxHandler !== null) fail('EBUSY', `${dev.name}: its host side is already taken`);
    const iface: HostIface = { dev, ip: addr, prefixLen };
    this.ifaces.push(iface);
    dev.rxHandler = (frame, d) => this.receive(frame, d);
    return iface;
  }

  interfaces(): readonly HostIface[] {
    return this.ifaces;
  }

  /** The interface that reaches `dst`: the one whose subnet holds it, else the first (a default route). */
  route(dst: string | number): HostIface {
    const ip = ipv4Of(dst);
    if (this.ifaces.length === 0) fail('ENODEV', `${this.name}: no interface with an address (no route)`);
    for (const i of this.ifaces) {
      const m = mask(i.prefixLen);
      if (((i.ip & m) >>> 0) === ((ip & m) >>> 0)) return i;
    }
    return this.ifaces[0];
  }

  // ------------------------------------------------------------------------------------------------ receive

  private ifaceOf(dev: NetDevice): HostIface | undefined {
    for (const i of this.ifaces) if (i.dev === dev) return i;
    return undefined;
  }

  /** A frame arrived on `dev`'s host side (a view: read it now). */
  receive(frame: Uint8Array, dev: NetDevice): void {
    const iface = this.ifaceOf(dev);
    const st = this.stats;
    if (iface === undefined || frame.length < ETH_HLEN || !(macEquals(frame, 0, dev.mac) || isBroadcastMac(frame, 0))) {
      st.ignored++;
      return;
    }
    const type = rd16(frame, 12);
    if (type === ETH_P_ARP) return this.receiveArp(frame, iface);
    if (type === ETH_P_IP) return this.receiveIpv4(frame, iface);
    st.ignored++;
  }

  private receiveArp(frame: Uint8Array, iface: HostIface): void {
    const a = parseArp(frame);
    const st = this.stats;
    if (a === null || a.targetIp !== iface.ip) {
      st.ignored++;
      return;
    }
    if (a.op === ARPOP_REQUEST) {
      st.arpRequestsIn++;
      this.arpCache.set(a.senderIp, a.senderMac);
      st.arpRepliesOut++;
      iface.dev.transmit(buildArp(ARPOP_REPLY, iface.dev.mac, iface.ip, a.senderMac, a.senderIp));
    } else if (a.op === ARPOP_REPLY) {
      st.arpRepliesIn++;
      this.arpCache.set(a.senderIp, a.senderMac);
    } else {
      st.ignored++;
    }
  }

  private receiveIpv4(frame: Uint8Array, iface: HostIface): void {
    const st = this.stats;
    const ip = parseIpv4Frame(frame);
    if (ip === null) {
      st.ignored++;
      return;
    }
    if (!ip.csumOk) {
      st.badChecksums++;
      return;
    }
    if (ip.dst !== iface.ip || ip.proto !== IPPROTO_ICMP) {
      st.ignored++;
      return;
    }
    const icmp = ip.off + ip.ihl;
    const icmpLen = ip.totalLen - ip.ihl;
    if (icmpLen < ICMP_HLEN) {
      st.ignored++;
      return;
    }
    if (inetChecksum(frame, icmp, icmpLen) !== 0) {
      st.badChecksums++;
      return;
    }
    const type = frame[icmp];
    const id = rd16(frame, icmp + 4), seq = rd16(frame, icmp + 6);
    if (type === ICMP_ECHO && frame[icmp + 1] === 0) {
      st.echoRequestsIn++;
      const data = frame.slice(icmp + ICMP_HLEN, icmp + icmpLen);
      const reply = buildIcmpEcho(ICMP_ECHOREPLY, id, seq, data);
      const srcMac = frame.slice(6, 12);
      st.echoRepliesOut++;
      iface.dev.transmit(buildIpv4(iface.dev.mac, srcMac, iface.ip, ip.src, IPPROTO_ICMP, reply, { id: this.ipId++ }));
    } else if (type === ICMP_ECHOREPLY) {
      st.echoRepliesIn++;
      const key = ((id << 16) | seq) >>> 0;
      this.echoReplies.set(key, (this.echoReplies.get(key) ?? 0) + 1);
    } else {
      st.ignored++;
    }
  }

  // ------------------------------------------------------------------------------------------------ send

  /** Send an ARP request for `ip` out of the interface that reaches it (the network runs until quiet). */
  sendArpRequest(ip: string | number): void {
    const dst = ipv4Of(ip);
    const i = this.route(dst);
    this.stats.arpRequestsOut++;
    i.dev.transmit(buildArp(ARPOP_REQUEST, i.dev.mac, i.ip, null, dst));
  }

  /** The MAC of `ip`: from the cache, else after one ARP request; null when nobody answered. */
  resolve(ip: string | number): Uint8Array | null {
    const dst = ipv4Of(ip);
    const hit = this.arpCache.get(dst);
    if (hit !== undefined) return hit;
    this.sendArpRequest(dst);
    return this.arpCache.get(dst) ?? null;
  }

  /** Send one ICMP echo request; false when the destination's MAC could not be resolved. */
  sendEcho(dst: string | number, id: number, seq: number, data: Uint8Array): boolean {
    const ip = ipv4Of(dst);
    const i = this.route(ip);
    const mac = this.resolve(ip);
    if (mac === null) return false;
    this.stats.echoRequestsOut++;
    i.dev.transmit(buildIpv4(i.dev.mac, mac, i.ip, ip, IPPROTO_ICMP, buildIcmpEcho(ICMP_ECHO, id, seq, data), { id: this.ipId++ }));
    return true;
  }

  /** Echo replies received so far with this id and sequence number. */
  repliesFor(id: number, seq: number): number {
    return this.echoReplies.get((((id & 0xffff) << 16) | (seq & 0xffff)) >>> 0) ?? 0;
  }

  /**
   * ping(8): `count` echo requests (sequence 1..count) to `dst`; returns how many were answered. An
   * unresolved ARP entry is retried before each request, as the kernel's neighbour code would.
   */
  ping(dst: string | number, count = 1, opts: PingOptions = {}): number {
    if (!Number.isInteger(count) || count < 0) fail('EINVAL', `ping count must be a non-negative integer, got ${count}`);
    const id = (opts.id ?? this.nextEchoId++) & 0xffff;
    const size = opts.size ?? 56;
    const data = new Uint8Array(size);
    for (let k = 0; k < size; k++) data[k] = k & 255;
    let answered = 0;
    for (let seq = 1; seq <= count; seq++) {
      const before = this.repliesFor(id, seq);
      if (!this.sendEcho(dst, id, seq, data)) continue;
      if (this.repliesFor(id, seq) > before) answered++;
    }
    return answered;
  }

  toString(): string {
    return `${this.name}: ${this.ifaces.map((i) => `${i.dev.name} ${formatIpv4(i.ip)}/${i.prefixLen}`).join(', ')}`;
  }
}

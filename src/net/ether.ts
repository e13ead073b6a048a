// Wire formats the virtual network speaks: Ethernet II, ARP for IPv4 over Ethernet (RFC 826), IPv4 (RFC 791)
// and ICMP echo (RFC 792), with the Internet checksum (RFC 1071). Builders return fresh frames (the host stack
// is not a fast path); parsers read fields in place. Addresses: MACs are 6-byte arrays, IPv4 addresses are
// u32 numbers in host order (10.0.0.1 = 0x0a000001) so that they compare with ===.

import { BpfError } from '../errors.js';

export const ETH_HLEN = 14;
export const ETH_ALEN = 6;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
/** Largest frame over the standard 1500-byte MTU with a VLAN tag: 1500 + 14 + 4. */
export const VLAN_ETH_HLEN = 18;

export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
/** Ethernet header + struct arphdr + the IPv4/Ethernet addresses. */
export const ARP_FRAME_LEN = ETH_HLEN + 28;

export const IPPROTO_ICMP = 1;
export const IPV4_HLEN = 20;
export const ICMP_ECHOREPLY = 0;
export const ICMP_ECHO = 8;
export const ICMP_HLEN = 8;

export const BROADCAST_MAC: Readonly<Uint8Array> = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

// ---------------------------------------------------------------------------------------------- addresses

/** "10.0.0.1" -> 0x0a000001 (EINVAL for anything that is not four decimal octets). */
export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) throw new BpfError('EINVAL', `'${text}' is not an IPv4 address`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new BpfError('EINVAL', `'${text}' is not an IPv4 address (octet ${o} > 255)`);
    v = v * 256 + o;
  }
  return v;
}

export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** An address given as text or as a u32. */
export function ipv4Of(ip: string | number): number {
  if (typeof ip === 'number') {
    if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) throw new BpfError('EINVAL', `${ip} is not an IPv4 address`);
    return ip;
  }
  return parseIpv4(ip);
}

/** "02:00:00:00:00:01" -> 6 bytes (EINVAL otherwise). */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new BpfError('EINVAL', `'${text}' is not a MAC address`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(mac: Uint8Array, off = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push(mac[off + i].toString(16).padStart(2, '0'));
  return out.join(':');
}

export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

export function isBroadcastMac(a: Uint8Array, off: number): boolean {
  return (a[off] & a[off + 1] & a[off + 2] & a[off + 3] & a[off + 4] & a[off + 5]) === 0xff;
}

// ---------------------------------------------------------------------------------------------- fields

export const rd16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const rd32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/** The EtherType of a frame (0 when it is shorter than an Ethernet header). */
export function etherType(frame: Uint8Array): number {
  return frame.length < ETH_HLEN ? 0 : rd16(frame, 12);
}

// ---------------------------------------------------------------------------------------------- checksum

/**
 * The Internet checksum (RFC 1071) of `len` bytes at `off`: the one's complement of the one's-complement
 * sum of 16-bit big-endian words, an odd last byte padded with zero. A region that includes a correct
 * checksum field sums to 0.
 */
export function inetChecksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i === end) sum += b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------------------------- builders

function ethHeader(frame: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  frame.set(dst.subarray(0, 6), 0);
  frame.set(src.subarray(0, 6), 6);
  wr16(frame, 12, type);
}

/** An ARP frame (request: broadcast destination and zero target MAC unless given). */
export function buildArp(op: number, srcMac: Uint8Array, srcIp: number, dstMac: Uint8Array | null, dstIp: number): Uint8Array {
  const f = new Uint8Array(ARP_FRAME_LEN);
  ethHeader(f, dstMac ?? BROADCAST_MAC, srcMac, ETH_P_ARP);
  const a = ETH_HLEN;
  wr16(f, a, ARPHRD_ETHER);
  wr16(f, a + 2, ETH_P_IP);
  f[a + 4] = ETH_ALEN;
  f[a + 5] = 4;
  wr16(f, a + 6, op);
  f.set(srcMac.subarray(0, 6), a + 8);
  wr32(f, a + 14, srcIp);
  if (op === ARPOP_REPLY && dstMac !== null) f.set(dstMac.subarray(0, 6), a + 18);
  wr32(f, a + 24, dstIp);
  return f;
}

export interface ArpFields {
  op: number;
  senderMac: Uint8Array;
  senderIp: number;
  targetMac: Uint8Array;
  targetIp: number;
}

/** The fields of an IPv4-over-Ethernet ARP frame, or null when it is not one. */
export function parseArp(f: Uint8Array): ArpFields | null {
  if (f.length < ARP_FRAME_LEN || rd16(f, 12) !== ETH_P_ARP) return null;
  const a = ETH_HLEN;
  if (rd16(f, a) !== ARPHRD_ETHER || rd16(f, a + 2) !== ETH_P_IP || f[a + 4] !== ETH_ALEN || f[a + 5] !== 4) return null;
  return {
    op: rd16(f, a + 6), senderMac: f.slice(a + 8, a + 14), senderIp: rd32(f, a + 14),
    targetMac: f.slice(a + 18, a + 24), targetIp: rd32(f, a + 24),
  };
}

export interface Ipv4Opts {
  ttl?: number;
  id?: number;
}

/** An Ethernet + IPv4 frame around `payload` (no options, DF clear), header checksum filled in. */
export function buildIpv4(
  srcMac: Uint8Array, dstMac: Uint8Array, srcIp: number, dstIp: number, proto: number, payload: Uint8Array, opts: Ipv4Opts = {},
): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + IPV4_HLEN + payload.length);
  ethHeader(f, dstMac, srcMac, ETH_P_IP);
  const ip = ETH_HLEN;
  f[ip] = 0x45;
  wr16(f, ip + 2, IPV4_HLEN + payload.length);
  wr16(f, ip + 4, (opts.id ?? 0) & 0xffff);
  f[ip + 8] = opts.ttl ?? 64;
  f[ip + 9] = proto;
  wr32(f, ip + 12, srcIp);
  wr32(f, ip + 16, dstIp);
  wr16(f, ip + 10, inetChecksum(f, ip, IPV4_HLEN));
  f.set(payload, ip + IPV4_HLEN);
  return f;
}

/** An ICMP echo request/reply message (type, code 0, id, seq, data) with its checksum. */
export function buildIcmpEcho(type: number, id: number, seq: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(ICMP_HLEN + data.length);
  m[0] = type;
  wr16(m, 4, id & 0xffff);
  wr16(m, 6, seq & 0xffff);
  m.set(data, ICMP_HLEN);
  wr16(m, 2, inetChecksum(m, 0, m.length));
  return m;
}

export interface Ipv4Fields {
  /** Offset of the IP header in the frame. */
  off: number;
  ihl: number;
  totalLen: number;
  ttl: number;
  proto: number;
  src: number;
  dst: number;
  /** Whether the header checksum verifies. */
  csumOk: boolean;
}

/** The IPv4 header of an Ethernet frame, or null when the frame is not a well-formed IPv4 packet. */
export function parseIpv4Frame(f: Uint8Array): Ipv4Fields | null {
  if (f.length < ETH_HLEN + IPV4_HLEN || rd16(f, 12) !== ETH_P_IP) return null;
  const off = ETH_HLEN;
  if (f[off] >> 4 !== 4) return null;
  const ihl = (f[off] & 15) * 4;
  const totalLen = rd16(f, off + 2);
  if (ihl < IPV4_HLEN || totalLen < ihl || off + totalLen > f.length) return null;
  return {
    off, ihl, totalLen, ttl: f[off + 8], proto: f[off + 9], src: rd32(f, off + 12), dst: rd32(f, off + 16),
    csumOk: inetChecksum(f, off, ihl) === 0,
  };
}

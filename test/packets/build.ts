// Builds Ethernet frames for tests: MAC header with any stack of 802.1Q/802.1ad tags, IPv4 (options,
// fragments, any IHL even a wrong one), IPv6 (extension headers), TCP (options, flags), UDP, ICMP and
// ICMPv6 echo, each with correct checksums (IPv4 header, TCP/UDP/ICMPv6 over the pseudo-header, ICMP),
// then optionally truncated or padded. Fields can be forced to wrong values to reach error paths.

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_IPV6 = 0x86dd;
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_DSTOPTS = 60;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface VlanTag {
  /** 0x8100 (802.1Q, default) or 0x88a8 (802.1ad) */
  tpid?: number;
  vid: number;
  pcp?: number;
}

export interface Ipv4Spec {
  kind: 'ipv4';
  src: string;
  dst: string;
  ttl?: number;
  tos?: number;
  id?: number;
  /** DF flag */
  df?: boolean;
  /** MF flag */
  mf?: boolean;
  /** fragment offset in 8-byte units */
  fragOffset?: number;
  /** option bytes (padded to a multiple of 4 with EOL) */
  options?: number[];
  /** force the IHL field (default: from the options) */
  ihl?: number;
  /** force the protocol (default: from l4) */
  protocol?: number;
}

export interface Ipv6Ext {
  /** IPPROTO_HOPOPTS, IPPROTO_DSTOPTS or IPPROTO_ROUTING */
  type: number;
  /** length in 8-byte units beyond the first 8 (the Hdr Ext Len field) */
  len?: number;
}

export interface Ipv6Spec {
  kind: 'ipv6';
  src: string;
  dst: string;
  hopLimit?: number;
  flowLabel?: number;
  trafficClass?: number;
  ext?: Ipv6Ext[];
  /** force the final next-header value (default: from l4) */
  nextHeader?: number;
}

export interface TcpSpec {
  kind: 'tcp';
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: number[];
  /** force the data offset field (in 32-bit words) */
  doff?: number;
}

export interface UdpSpec {
  kind: 'udp';
  sport: number;
  dport: number;
  /** force a zero checksum (IPv4 allows "no checksum") */
  noChecksum?: boolean;
}

export interface IcmpSpec {
  /** ICMP (IPv4) or ICMPv6, echo request/reply or any type/code */
  kind: 'icmp' | 'icmpv6';
  type: number;
  code?: number;
  id?: number;
  seq?: number;
}

export interface RawSpec {
  kind: 'raw';
  bytes: Uint8Array | number[];
}

export interface FrameSpec {
  dst?: string;
  src?: string;
  vlans?: VlanTag[];
  /** ethertype after the tags (default: from l3) */
  ethertype?: number;
  l3?: Ipv4Spec | Ipv6Spec | RawSpec;
  l4?: TcpSpec | UdpSpec | IcmpSpec | RawSpec;
  /** payload bytes, or a length of a deterministic pattern */
  payload?: Uint8Array | number[] | number;
  /** pad the frame with zeros up to this length */
  padTo?: number;
  /** cut the finished frame to this length (checksums are of the full frame) */
  truncate?: number;
}

export const DEFAULT_DST = '02:00:00:00:00:02';
export const DEFAULT_SRC = '02:00:00:00:00:01';

export function mac(s: string): number[] {
  const p = s.split(':').map((x) => parseInt(x, 16));
  if (p.length !== 6 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad MAC address '${s}'`);
  return p;
}

export function ipv4Addr(s: string): number[] {
  const p = s.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address '${s}'`);
  return p;
}

export function ipv6Addr(s: string): number[] {
  if (s.split('::').length > 2) throw new Error(`bad IPv6 address '${s}' (more than one '::')`);
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const words = (t: string): number[] => (t === '' ? [] : t.split(':').map((w) => parseInt(w, 16)));
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) throw new Error(`bad IPv6 address '${s}'`);
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

const be16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** The Internet checksum (RFC 1071) of `bytes`, starting from `initial` (an unfolded partial sum). */
export function inetChecksum(bytes: ArrayLike<number>, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Unfolded sum of the pseudo-header of an upper-layer checksum. */
function pseudoSum(l3: Ipv4Spec | Ipv6Spec, proto: number, len: number): number {
  const words = l3.kind === 'ipv4'
    ? [...ipv4Addr(l3.src), ...ipv4Addr(l3.dst), 0, proto, ...be16(len)]
    : [...ipv6Addr(l3.src), ...ipv6Addr(l3.dst), ...be32(len), 0, 0, 0, proto];
  let sum = 0;
  for (let i = 0; i < words.length; i += 2) sum += (words[i] << 8) | words[i + 1];
  return sum;
}

/** A deterministic payload of `n` bytes (so fixtures are stable). */
export function pattern(n: number, seed = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((i * 7 + seed * 13 + 0x41) & 0xff);
  return out;
}

function l4Bytes(l3: Ipv4Spec | Ipv6Spec | RawSpec | undefined, l4: FrameSpec['l4'], payload: number[]): { bytes: number[]; proto: number } {
  if (l4 === undefined) return { bytes: payload, proto: 59 /* IPPROTO_NONE */ };
  const pseudo = (proto: number, len: number): number => (l3 !== undefined && l3.kind !== 'raw' ? pseudoSum(l3, proto, len) : 0);
  switch (l4.kind) {
    case 'raw':
      return { bytes: [...l4.bytes, ...payload], proto: 255 };
    case 'tcp': {
      const opts = [...(l4.options ?? [])];
      while (opts.length % 4) opts.push(0);
      const doff = l4.doff ?? 5 + opts.length / 4;
      const h = [...be16(l4.sport), ...be16(l4.dport), ...be32(l4.seq ?? 1000), ...be32(l4.ack ?? 0),
        (doff & 0xf) << 4, l4.flags ?? TCP_ACK, ...be16(l4.window ?? 65535), 0, 0, 0, 0, ...opts];
      const seg = [...h, ...payload];
      const c = inetChecksum(seg, pseudo(IPPROTO_TCP, seg.length));
      seg[16] = c >> 8;
      seg[17] = c & 0xff;
      return { bytes: seg, proto: IPPROTO_TCP };
    }
    case 'udp': {
      const seg = [...be16(l4.sport), ...be16(l4.dport), ...be16(8 + payload.length), 0, 0, ...payload];
      if (!l4.noChecksum) {
        let c = inetChecksum(seg, pseudo(IPPROTO_UDP, seg.length));
        if (c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
        seg[6] = c >> 8;
        seg[7] = c & 0xff;
      }
      return { bytes: seg, proto: IPPROTO_UDP };
    }
    case 'icmp':
    case 'icmpv6': {
      const v6 = l4.kind === 'icmpv6';
      const seg = [l4.type, l4.code ?? 0, 0, 0, ...be16(l4.id ?? 0x1234), ...be16(l4.seq ?? 1), ...payload];
      const proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
      const c = inetChecksum(seg, v6 ? pseudo(proto, seg.length) : 0);
      seg[2] = c >> 8;
      seg[3] = c & 0xff;
      return { bytes: seg, proto };
    }
  }
}

/** Build the frame a spec describes. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const payload = typeof spec.payload === 'number' ? pattern(spec.payload) : [...(spec.payload ?? [])];
  const l4 = l4Bytes(spec.l3, spec.l4, payload);
  let l3: number[];
  let ethertype: number;
  const l3s = spec.l3;
  if (l3s === undefined) {
    l3 = l4.bytes;
    ethertype = spec.ethertype ?? ETH_P_IP;
  } else if (l3s.kind === 'raw') {
    l3 = [...l3s.bytes, ...l4.bytes];
    ethertype = spec.ethertype ?? ETH_P_IP;
  } else if (l3s.kind === 'ipv4') {
    const opts = [...(l3s.options ?? [])];
    while (opts.length % 4) opts.push(0);
    const ihl = l3s.ihl ?? 5 + opts.length / 4;
    const hdrLen = 20 + opts.length;
    const flags = (l3s.df ? 0x4000 : 0) | (l3s.mf ? 0x2000 : 0) | ((l3s.fragOffset ?? 0) & 0x1fff);
    const h = [0x40 | (ihl & 0xf), l3s.tos ?? 0, ...be16(hdrLen + l4.bytes.length), ...be16(l3s.id ?? 0x1c46), ...be16(flags),
      l3s.ttl ?? 64, l3s.protocol ?? l4.proto, 0, 0, ...ipv4Addr(l3s.src), ...ipv4Addr(l3s.dst), ...opts];
    const c = inetChecksum(h);
    h[10] = c >> 8;
    h[11] = c & 0xff;
    l3 = [...h, ...l4.bytes];
    ethertype = spec.ethertype ?? ETH_P_IP;
  } else {
    const exts = l3s.ext ?? [];
    const nextOf = (i: number): number => (i < exts.length ? exts[i].type : l3s.nextHeader ?? l4.proto);
    const extBytes: number[] = [];
    exts.forEach((e, i) => {
      const len = e.len ?? 0;
      const body = new Array<number>(8 * (len + 1)).fill(0);
      body[0] = nextOf(i + 1);
      body[1] = len;
      if (e.type === IPPROTO_HOPOPTS || e.type === IPPROTO_DSTOPTS) {
        body[2] = 1; // PadN covering the rest
        body[3] = body.length - 4;
      }
      extBytes.push(...body);
    });
    const vtf = (6 << 28) | ((l3s.trafficClass ?? 0) << 20) | ((l3s.flowLabel ?? 0) & 0xfffff);
    const plen = extBytes.length + l4.bytes.length;
    l3 = [...be32(vtf >>> 0), ...be16(plen), nextOf(0), l3s.hopLimit ?? 64, ...ipv6Addr(l3s.src), ...ipv6Addr(l3s.dst),
      ...extBytes, ...l4.bytes];
    ethertype = spec.ethertype ?? ETH_P_IPV6;
  }
  const hdr = [...mac(spec.dst ?? DEFAULT_DST), ...mac(spec.src ?? DEFAULT_SRC)];
  for (const t of spec.vlans ?? []) hdr.push(...be16(t.tpid ?? ETH_P_8021Q), ...be16(((t.pcp ?? 0) << 13) | (t.vid & 0x0fff)));
  hdr.push(...be16(ethertype));
  let frame = [...hdr, ...l3];
  if (spec.padTo !== undefined) while (frame.length < spec.padTo) frame.push(0);
  if (spec.truncate !== undefined) frame = frame.slice(0, spec.truncate);
  return Uint8Array.from(frame);
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The capture generator of the sockex3 sample: builds samples/sockex3/sample.pcap and its pcapng twin
// sample.pcapng, deterministically (fixed addresses, payload sizes and timestamps), with every
// encapsulation the flow dissector parses: 802.1Q, 802.1ad and nested tags, MPLS label stacks, IPv4 with
// options and fragments, IPv6 with extension headers and fragments, GRE (plain, with checksum/key/sequence,
// Ethernet over GRE), IP in IP, plus ICMP, ARP and a truncated frame. Every packet carries the flow it must
// be counted under (written by hand here, not computed by parsing), so tests can derive the expected flow
// table from SCENARIOS without trusting the dissector.
//
// Usage: node dist/tools/gen-capture.js [OUT_DIR]   (default samples/sockex3)

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePcap, writePcapng } from '../src/net/pcap.js';

/** The flow a packet is counted under, in the sample's terms (see flow_dissector.h). */
export interface ExpectedFlow {
  /** ethertype of the innermost network header */
  l3proto: number;
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  /** names of the F_* bits: vlan, qinq, mpls, gre, ipip, ipopt, v6ext, frag */
  via: string[];
}

export interface GenPacket {
  frame: Uint8Array;
  /** null: the dissector must not count it (truncated) */
  flow: ExpectedFlow | null;
}

export interface Scenario {
  name: string;
  packets: GenPacket[];
}

// ---------------------------------------------------------------------------------------------------------
// Header builders (byte arrays; numbers big-endian as on the wire).

const be16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

function ip4(a: string): number[] {
  return a.split('.').map(Number);
}

function ip6(a: string): number[] {
  const [head, tail] = a.split('::');
  const parse = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)));
  const h = parse(head);
  const t = parse(tail);
  const words = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return words.flatMap(be16);
}

function csum(bytes: number[], init = 0): number {
  let s = init;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const MAC_A = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];
const eth = (type: number): number[] => [...MAC_B, ...MAC_A, ...be16(type)];
const vlan = (tci: number, inner: number): number[] => [...be16(tci), ...be16(inner)];
const mpls = (label: number, bottom: boolean): number[] => be32((label << 12) | (bottom ? 0x100 : 0) | 64);

function payload(n: number, seed: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((seed * 31 + i * 7) & 0xff);
  return out;
}

interface Ip4Opts {
  options?: number[];
  id?: number;
  /** flags and fragment offset field (MF = 0x2000, offset in 8-byte units) */
  frag?: number;
}

function ipv4(src: string, dst: string, proto: number, body: number[], o: Ip4Opts = {}): number[] {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const h = [0x40 | (hl / 4), 0, ...be16(hl + body.length), ...be16(o.id ?? 1), ...be16(o.frag ?? 0x4000), 64, proto, 0, 0,
    ...ip4(src), ...ip4(dst), ...opts];
  const c = csum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...body];
}

function ipv6(src: string, dst: string, next: number, body: number[]): number[] {
  return [0x60, 0, 0, 0, ...be16(body.length), next, 64, ...ip6(src), ...ip6(dst), ...body];
}

/** TCP or UDP with the checksum over the pseudo-header (IPv4 when the addresses have dots). */
function l4(proto: number, src: string, dst: string, sport: number, dport: number, data: number[]): number[] {
  const hdr = proto === 6
    ? [...be16(sport), ...be16(dport), ...be32(1000), ...be32(0), 0x50, 0x18, ...be16(65535), 0, 0, 0, 0]
    : [...be16(sport), ...be16(dport), ...be16(8 + data.length), 0, 0];
  const seg = [...hdr, ...data];
  const v4 = src.includes('.');
  const pseudo = v4
    ? [...ip4(src), ...ip4(dst), 0, proto, ...be16(seg.length)]
    : [...ip6(src), ...ip6(dst), ...be32(seg.length), 0, 0, 0, proto];
  let c = csum([...pseudo, ...seg]);
  if (proto === 17 && c === 0) c = 0xffff;
  const at = proto === 6 ? 16 : 6;
  seg[at] = c >> 8;
  seg[at + 1] = c & 0xff;
  return seg;
}

const TCP = 6;
const UDP = 17;
const ICMP = 1;

function icmpEcho(seq: number, n: number): number[] {
  const m = [8, 0, 0, 0, 0, 1, ...be16(seq), ...payload(n, seq)];
  const c = csum(m);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return m;
}

/** GRE header: flags (C 0x8000, K 0x2000, S 0x1000) and protocol, then the optional words. */
function gre(proto: number, o: { csum?: boolean; key?: number; seq?: number } = {}, body: number[] = []): number[] {
  const flags = (o.csum ? 0x8000 : 0) | (o.key !== undefined ? 0x2000 : 0) | (o.seq !== undefined ? 0x1000 : 0);
  const h = [...be16(flags), ...be16(proto)];
  if (o.csum) h.push(0, 0, 0, 0);
  if (o.key !== undefined) h.push(...be32(o.key));
  if (o.seq !== undefined) h.push(...be32(o.seq));
  if (o.csum) {
    const c = csum([...h, ...body]);
    h[4] = c >> 8;
    h[5] = c & 0xff;
  }
  return [...h, ...body];
}

/** An IPv6 options extension header of `units` 8-byte units beyond the first (PadN-filled). */
function ext6(next: number, units: number): number[] {
  const n = 8 * (units + 1);
  const h = [next, units, 1, n - 4];
  while (h.length < n) h.push(0);
  return h;
}

/** A type 0 routing header that has arrived: no segments left, its one address is the destination. */
function routing6(next: number, dst: string): number[] {
  return [next, 2, 0, 0, 0, 0, 0, 0, ...ip6(dst)];
}

const flow = (l3proto: number, src: string, dst: string, proto: number, sport: number, dport: number, via: string[] = []): ExpectedFlow =>
  ({ l3proto, src, dst, proto, sport, dport, via });

const P_IP = 0x0800;
const P_IPV6 = 0x86dd;

// ---------------------------------------------------------------------------------------------------------
// The scenarios: what the sample capture contains.

function build(): Scenario[] {
  const s: Scenario[] = [];
  const add = (name: string, packets: Array<[number[], ExpectedFlow | null]>): void => {
    s.push({ name, packets: packets.map(([f, e]) => ({ frame: Uint8Array.from(f), flow: e })) });
  };
  const sizes = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + 37 * i);

  // Plain IPv4 UDP and TCP.
  let f = flow(P_IP, '10.0.0.1', '10.0.0.2', UDP, 5353, 53);
  add('ipv4 udp', sizes(3, 20).map((n, i) => [[...eth(P_IP), ...ipv4('10.0.0.1', '10.0.0.2', UDP, l4(UDP, '10.0.0.1', '10.0.0.2', 5353, 53, payload(n, i)))], f]));
  f = flow(P_IP, '192.168.1.10', '93.184.216.34', TCP, 40000, 443);
  add('ipv4 tcp', sizes(4, 0).map((n, i) => [[...eth(P_IP), ...ipv4('192.168.1.10', '93.184.216.34', TCP, l4(TCP, '192.168.1.10', '93.184.216.34', 40000, 443, payload(n, i)), { id: 100 + i })], f]));
  // The reverse direction is another flow.
  f = flow(P_IP, '93.184.216.34', '192.168.1.10', TCP, 443, 40000);
  add('ipv4 tcp reply', [[[...eth(P_IP), ...ipv4('93.184.216.34', '192.168.1.10', TCP, l4(TCP, '93.184.216.34', '192.168.1.10', 443, 40000, payload(900, 9)))], f]]);

  // IPv4 ICMP: no ports.
  f = flow(P_IP, '10.0.0.1', '10.0.0.254', ICMP, 0, 0);
  add('ipv4 icmp', [0, 1].map((i) => [[...eth(P_IP), ...ipv4('10.0.0.1', '10.0.0.254', ICMP, icmpEcho(i, 56))], f]));

  // 802.1Q, 802.1ad + 802.1Q (QinQ), three nested tags.
  f = flow(P_IP, '10.1.0.1', '10.1.0.2', TCP, 22, 51000, ['vlan']);
  add('802.1q tcp', sizes(2, 10).map((n, i) => [[...eth(0x8100), ...vlan(100, P_IP), ...ipv4('10.1.0.1', '10.1.0.2', TCP, l4(TCP, '10.1.0.1', '10.1.0.2', 22, 51000, payload(n, i)))], f]));
  f = flow(P_IP, '10.2.0.1', '10.2.0.2', UDP, 123, 123, ['vlan', 'qinq']);
  add('qinq udp', [[[...eth(0x88a8), ...vlan(200, 0x8100), ...vlan(300, P_IP), ...ipv4('10.2.0.1', '10.2.0.2', UDP, l4(UDP, '10.2.0.1', '10.2.0.2', 123, 123, payload(48, 1)))], f]]);
  f = flow(P_IPV6, '2001:db8:5::1', '2001:db8:5::2', UDP, 9000, 9001, ['vlan', 'qinq']);
  add('triple-tagged ipv6 udp', [[[...eth(0x88a8), ...vlan(10, 0x8100), ...vlan(20, 0x8100), ...vlan(30, P_IPV6),
    ...ipv6('2001:db8:5::1', '2001:db8:5::2', UDP, l4(UDP, '2001:db8:5::1', '2001:db8:5::2', 9000, 9001, payload(64, 2)))], f]]);

  // MPLS: two labels then IPv4; one label then IPv6; a tag then MPLS.
  f = flow(P_IP, '172.16.0.1', '172.16.0.2', TCP, 80, 33000, ['mpls']);
  add('mpls x2 ipv4 tcp', sizes(2, 100).map((n, i) => [[...eth(0x8847), ...mpls(1000, false), ...mpls(2000, true), ...ipv4('172.16.0.1', '172.16.0.2', TCP, l4(TCP, '172.16.0.1', '172.16.0.2', 80, 33000, payload(n, i)))], f]));
  f = flow(P_IPV6, '2001:db8:6::1', '2001:db8:6::2', UDP, 5000, 6000, ['mpls']);
  add('mpls ipv6 udp', [[[...eth(0x8847), ...mpls(3000, true), ...ipv6('2001:db8:6::1', '2001:db8:6::2', UDP, l4(UDP, '2001:db8:6::1', '2001:db8:6::2', 5000, 6000, payload(10, 3)))], f]]);
  f = flow(P_IP, '172.16.1.1', '172.16.1.2', UDP, 1812, 1813, ['vlan', 'mpls']);
  add('802.1q mpls ipv4 udp', [[[...eth(0x8100), ...vlan(7, 0x8847), ...mpls(77, true), ...ipv4('172.16.1.1', '172.16.1.2', UDP, l4(UDP, '172.16.1.1', '172.16.1.2', 1812, 1813, payload(30, 4)))], f]]);

  // IPv4 with options (record route, 12 bytes: IHL 8).
  f = flow(P_IP, '10.3.0.1', '10.3.0.2', UDP, 7, 7, ['ipopt']);
  const rr = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  add('ipv4 options udp', sizes(2, 12).map((n, i) => [[...eth(P_IP), ...ipv4('10.3.0.1', '10.3.0.2', UDP, l4(UDP, '10.3.0.1', '10.3.0.2', 7, 7, payload(n, i)), { options: rr })], f]));

  // IPv4 fragments: a 1200-byte UDP datagram in three fragments; only the first has the ports.
  {
    const dgram = l4(UDP, '10.4.0.1', '10.4.0.2', 4000, 5000, payload(1192, 5));
    const first = flow(P_IP, '10.4.0.1', '10.4.0.2', UDP, 4000, 5000, ['frag']);
    const rest = flow(P_IP, '10.4.0.1', '10.4.0.2', UDP, 0, 0, ['frag']);
    add('ipv4 fragments', [
      [[...eth(P_IP), ...ipv4('10.4.0.1', '10.4.0.2', UDP, dgram.slice(0, 480), { id: 7, frag: 0x2000 })], first],
      [[...eth(P_IP), ...ipv4('10.4.0.1', '10.4.0.2', UDP, dgram.slice(480, 960), { id: 7, frag: 0x2000 | 60 })], rest],
      [[...eth(P_IP), ...ipv4('10.4.0.1', '10.4.0.2', UDP, dgram.slice(960), { id: 7, frag: 120 })], rest],
    ]);
  }

  // IPv6 with hop-by-hop, routing and destination-options headers, TCP; and IPv6 fragments.
  f = flow(P_IPV6, '2001:db8::1', '2001:db8::2', TCP, 1234, 80, ['v6ext']);
  add('ipv6 ext headers tcp', sizes(2, 40).map((n, i) => [[...eth(P_IPV6), ...ipv6('2001:db8::1', '2001:db8::2', 0,
    [...ext6(43, 0), ...routing6(60, '2001:db8::2'), ...ext6(TCP, 0), ...l4(TCP, '2001:db8::1', '2001:db8::2', 1234, 80, payload(n, i))])], f]));
  {
    const dgram = l4(UDP, 'fe80::1', 'ff02::fb', 5353, 5353, payload(300, 6));
    const frag = (off: number, more: boolean, id: number): number[] => [UDP, 0, ...be16((off << 3) | (more ? 1 : 0)), ...be32(id)];
    add('ipv6 fragments', [
      [[...eth(P_IPV6), ...ipv6('fe80::1', 'ff02::fb', 44, [...frag(0, true, 9), ...dgram.slice(0, 160)])],
        flow(P_IPV6, 'fe80::1', 'ff02::fb', UDP, 5353, 5353, ['v6ext', 'frag'])],
      [[...eth(P_IPV6), ...ipv6('fe80::1', 'ff02::fb', 44, [...frag(20, false, 9), ...dgram.slice(160)])],
        flow(P_IPV6, 'fe80::1', 'ff02::fb', UDP, 0, 0, ['v6ext', 'frag'])],
    ]);
  }

  // GRE: plain IPv4 in GRE; checksum+key+sequence with IPv6 inside; Ethernet (+ a tag) inside GRE.
  {
    const inner = ipv4('10.5.0.1', '10.5.0.2', UDP, l4(UDP, '10.5.0.1', '10.5.0.2', 1000, 2000, payload(70, 7)));
    f = flow(P_IP, '10.5.0.1', '10.5.0.2', UDP, 1000, 2000, ['gre']);
    add('gre ipv4 udp', [0, 1].map(() => [[...eth(P_IP), ...ipv4('198.51.100.1', '198.51.100.2', 47, gre(P_IP, {}, inner))], f]));
    const inner6 = ipv6('2001:db8:7::1', '2001:db8:7::2', TCP, l4(TCP, '2001:db8:7::1', '2001:db8:7::2', 8080, 40001, payload(20, 8)));
    f = flow(P_IPV6, '2001:db8:7::1', '2001:db8:7::2', TCP, 8080, 40001, ['gre']);
    add('gre csum/key/seq ipv6 tcp', [[[...eth(P_IP), ...ipv4('198.51.100.1', '198.51.100.3', 47, gre(P_IPV6, { csum: true, key: 42, seq: 1 }, inner6))], f]]);
    const innerEth = [...eth(0x8100), ...vlan(55, P_IP), ...ipv4('10.6.0.1', '10.6.0.2', TCP, l4(TCP, '10.6.0.1', '10.6.0.2', 443, 50000, payload(15, 9)))];
    f = flow(P_IP, '10.6.0.1', '10.6.0.2', TCP, 443, 50000, ['vlan', 'gre']);
    add('ethernet over gre', [[[...eth(P_IP), ...ipv4('198.51.100.1', '198.51.100.4', 47, gre(0x6558, { key: 7 }, innerEth))], f]]);
  }

  // IP in IP: 4in4 and 6in4.
  f = flow(P_IP, '10.7.0.1', '10.7.0.2', TCP, 3306, 41000, ['ipip']);
  add('ipip', [[[...eth(P_IP), ...ipv4('203.0.113.1', '203.0.113.2', 4, ipv4('10.7.0.1', '10.7.0.2', TCP, l4(TCP, '10.7.0.1', '10.7.0.2', 3306, 41000, payload(33, 10))))], f]]);
  f = flow(P_IPV6, '2001:db8:8::1', '2001:db8:8::2', UDP, 546, 547, ['ipip']);
  add('6in4', [[[...eth(P_IP), ...ipv4('203.0.113.1', '203.0.113.3', 41, ipv6('2001:db8:8::1', '2001:db8:8::2', UDP, l4(UDP, '2001:db8:8::1', '2001:db8:8::2', 546, 547, payload(50, 11))))], f]]);

  // ARP: no network header the dissector parses; counted under its ethertype alone.
  const arp = [0, 1, ...be16(P_IP), 6, 4, 0, 1, ...MAC_A, ...ip4('10.0.0.1'), 0, 0, 0, 0, 0, 0, ...ip4('10.0.0.2')];
  add('arp', [[[...eth(0x0806), ...arp], flow(0x0806, '', '', 0, 0, 0)]]);

  // A frame cut inside the UDP header: the port parser's load runs past the end, the packet is not counted.
  // (Cut inside the IP header instead, the kernel's socket-filter test run refuses the frame: it wants at
  // least a whole IPv4/IPv6 header when the ethertype announces one.)
  add('truncated udp', [[[...eth(P_IP), ...ipv4('10.9.0.1', '10.9.0.2', UDP, l4(UDP, '10.9.0.1', '10.9.0.2', 1, 2, [])).slice(0, 22)], null]]);
  return s;
}

/** Every scenario, in capture order. */
export const SCENARIOS: readonly Scenario[] = build();

/** Capture time of the first packet (2015-05-19 23:59:02 UTC, the series' date) and the spacing. */
const T0 = 1432079942n * 1_000_000_000n;
const STEP = 1_250_000n; // 1.25 ms

/** The packets of the sample capture with their timestamps. */
export function samplePackets(): Array<{ ts: bigint; data: Uint8Array; flow: ExpectedFlow | null }> {
  const out: Array<{ ts: bigint; data: Uint8Array; flow: ExpectedFlow | null }> = [];
  let t = T0;
  for (const s of SCENARIOS) for (const p of s.packets) { out.push({ ts: t, data: p.frame, flow: p.flow }); t += STEP; }
  return out;
}

export interface ExpectedRow {
  flow: ExpectedFlow;
  packets: number;
  /** bytes from the outer network header (frame length - 14), as the dissector counts */
  bytes: number;
}

/** The flow table the dissector must produce: one row per distinct expected flow. */
export function expectedFlows(): ExpectedRow[] {
  const rows = new Map<string, ExpectedRow>();
  for (const p of samplePackets()) {
    if (p.flow === null) continue;
    const k = JSON.stringify(p.flow);
    const r = rows.get(k) ?? { flow: p.flow, packets: 0, bytes: 0 };
    r.packets++;
    r.bytes += p.data.length - 14;
    rows.set(k, r);
  }
  return [...rows.values()];
}

/** The two files' bytes: classic pcap (µs, little-endian) and pcapng (ns resolution). */
export function sampleFiles(): { pcap: Uint8Array; pcapng: Uint8Array } {
  const pk = samplePackets();
  return { pcap: writePcap(pk), pcapng: writePcapng(pk, { tsresol: 9 }) };
}

function main(): void {
  const dir = process.argv[2] ?? 'samples/sockex3';
  const { pcap, pcapng } = sampleFiles();
  writeFileSync(join(dir, 'sample.pcap'), pcap);
  writeFileSync(join(dir, 'sample.pcapng'), pcapng);
  process.stdout.write(`wrote ${samplePackets().length} packets to ${join(dir, 'sample.pcap')} and ${join(dir, 'sample.pcapng')}\n`);
}

if (process.argv[1] !== undefined && /gen-capture\.(js|ts)$/.test(process.argv[1])) main();

// `tsbpf flows --pcap FILE [--xdp]`: the sockex3 sample's user side. Reads a capture (pcap or pcapng),
// runs every Ethernet frame through the flow dissector (samples/sockex3: the socket filter by default, the
// XDP twin with --xdp) with BPF_PROG_TEST_RUN, then prints the `flows` hash map as a table, one line per
// flow: addresses, ports, IP protocol, the encapsulations crossed, packets and bytes (as sockex3_user did
// with its hash map, sorted here so the output does not depend on the map's iteration order).
// Also the decoding of the sample's flow key and stats, which tests share.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BpfError, fail } from '../errors.js';
import { BpfObject } from '../lib/index.js';
import { readCapture, LINKTYPE_ETHERNET } from '../net/pcap.js';

/** samples/sockex3 of this package (dist/src/cli -> repository root). */
export const SOCKEX3_DIR = fileURLToPath(new URL('../../../samples/sockex3/', import.meta.url));

/** The twins: object file and entry program. */
export const SOCKEX3 = {
  socket: { object: 'sockex3_kern.o', entry: 'sk_dissect' },
  xdp: { object: 'sockex3_xdp.o', entry: 'xdp_dissect' },
} as const;

/** struct flow_key (flow_dissector.h): 40 bytes. */
export const FLOW_KEY_SIZE = 40;
/** flow_key.flags bit names, lowest bit first. */
export const FLOW_FLAG_NAMES = ['vlan', 'qinq', 'mpls', 'gre', 'ipip', 'ipopt', 'v6ext', 'frag'] as const;

export interface FlowRow {
  /** ethertype of the innermost network header */
  l3proto: number;
  /** dotted IPv4, RFC 5952 IPv6, or '' when the key has no addresses */
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  /** names of the flags set */
  via: string[];
  packets: bigint;
  bytes: bigint;
}

/** RFC 5952 text of 16 address bytes: lower-case hex, longest run (>= 2) of zero words as '::'. */
export function formatIpv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hx = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hx(w);
  return `${hx(w.slice(0, best))}::${hx(w.slice(best + bestLen))}`;
}

function formatAddr(l3proto: number, b: Uint8Array): string {
  if (l3proto === 0x0800) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (l3proto === 0x86dd) return formatIpv6(b);
  return b.every((x) => x === 0) ? '' : Buffer.from(b).toString('hex');
}

/** Decode one `flows` entry (key: struct flow_key, value: struct flow_stats). */
export function decodeFlow(key: Uint8Array, value: Uint8Array): FlowRow {
  if (key.length !== FLOW_KEY_SIZE || value.length < 16) fail('EINVAL', `not a sockex3 flow entry (key ${key.length} bytes, value ${value.length})`);
  const k = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const l3proto = k.getUint16(32, true);
  const flags = key[39];
  return {
    l3proto,
    src: formatAddr(l3proto, key.subarray(0, 16)),
    dst: formatAddr(l3proto, key.subarray(16, 32)),
    sport: k.getUint16(34, true),
    dport: k.getUint16(36, true),
    proto: key[38],
    via: FLOW_FLAG_NAMES.filter((_, i) => (flags & (1 << i)) !== 0),
    packets: v.getBigUint64(0, true),
    bytes: v.getBigUint64(8, true),
  };
}

const cmp = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A stable order: by network protocol, addresses, IP protocol, ports, flags. */
export function sortFlows<T extends Omit<FlowRow, 'packets' | 'bytes'>>(rows: T[]): T[] {
  return rows.slice().sort((a, b) => cmp(a.l3proto, b.l3proto) || cmp(a.src, b.src) || cmp(a.dst, b.dst) || cmp(a.proto, b.proto) ||
    cmp(a.sport, b.sport) || cmp(a.dport, b.dport) || cmp(a.via.join(','), b.via.join(',')));
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 58: 'icmpv6', 132: 'sctp' };
const ETH_NAMES: Record<number, string> = { 0x0806: 'arp', 0x8847: 'mpls', 0x88cc: 'lldp' };

function protoText(r: FlowRow): string {
  if (r.l3proto !== 0x0800 && r.l3proto !== 0x86dd) return ETH_NAMES[r.l3proto] ?? `0x${r.l3proto.toString(16).padStart(4, '0')}`;
  return PROTO_NAMES[r.proto] ?? String(r.proto);
}

/** The table as text: a header line, then one line per flow (addresses with ports as addr.port). */
export function formatFlowTable(rows: FlowRow[]): string {
  const ep = (addr: string, port: number, r: FlowRow): string => {
    const a = addr === '' ? '-' : r.l3proto === 0x86dd ? `[${addr}]` : addr;
    // Non-first fragments carry no ports (both 0): show the addresses alone.
    return (r.proto === 6 || r.proto === 17) && (r.sport !== 0 || r.dport !== 0) ? `${a}.${port}` : a;
  };
  const lines = sortFlows(rows).map((r) => [protoText(r), ep(r.src, r.sport, r), ep(r.dst, r.dport, r), r.via.join(',') || '-', String(r.packets), String(r.bytes)]);
  const head = ['proto', 'src', 'dst', 'via', 'packets', 'bytes'];
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: string[], arrow: string): string =>
    [l[0].padEnd(width[0]), l[1].padStart(width[1]), arrow, l[2].padEnd(width[2]), l[3].padEnd(width[3]), l[4].padStart(width[4]), l[5].padStart(width[5])].join('  ').trimEnd();
  return [fmt(head, '  '), ...lines.map((l) => fmt(l, '->'))].join('\n') + '\n';
}

export interface DissectOptions {
  /** Run the XDP twin instead of the socket filter. */
  xdp?: boolean;
  /** Another object with the same maps and an entry program (default: the sample's). */
  object?: string;
  entry?: string;
}

export interface DissectResult {
  rows: FlowRow[];
  /** Frames run through the dissector. */
  frames: number;
  /** Frames not run, with the reason (too short for Ethernet, larger than a test run takes). */
  skipped: Array<{ index: number; reason: string }>;
}

/** Run every frame of a capture through the dissector in tsbpf and return the flow table. */
export function dissectCapture(capture: Uint8Array, opts: DissectOptions = {}): DissectResult {
  const cap = readCapture(capture);
  if (cap.linktype !== LINKTYPE_ETHERNET) fail('EINVAL', `capture link type ${cap.linktype} is not Ethernet (1)`);
  const twin = opts.xdp ? SOCKEX3.xdp : SOCKEX3.socket;
  const obj = BpfObject.open(opts.object ?? SOCKEX3_DIR + twin.object).load();
  try {
    const prog = obj.program(opts.entry ?? twin.entry);
    const skipped: DissectResult['skipped'] = [];
    let frames = 0;
    cap.packets.forEach((p, index) => {
      try {
        prog.testRun({ dataIn: p.data });
        frames++;
      } catch (e) {
        // The kernel's test run refuses frames shorter than an Ethernet header (EINVAL) or larger than a page.
        if (e instanceof BpfError && (e.code === 'EINVAL' || e.code === 'E2BIG')) skipped.push({ index, reason: e.message });
        else throw e;
      }
    });
    const flows = obj.map('flows');
    const rows = flows.entries().map(([k, v]) => decodeFlow(k, v));
    return { rows: sortFlows(rows), frames, skipped };
  } finally {
    obj.close();
  }
}

const USAGE = `usage: tsbpf flows --pcap FILE [--xdp] [--json] [--obj OBJ --entry PROG]
  runs every frame of a pcap/pcapng capture through the sockex3 flow dissector (the socket filter, or the
  XDP twin with --xdp) and prints its flow table
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      pcap: { type: 'string' }, xdp: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
      obj: { type: 'string' }, entry: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return 0; }
  const file = values.pcap ?? positionals[0];
  if (file === undefined || positionals.length > (values.pcap === undefined ? 1 : 0)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const r = dissectCapture(new Uint8Array(readFileSync(file)), { xdp: values.xdp, object: values.obj, entry: values.entry });
  if (values.json) {
    const rows = r.rows.map((x) => ({ ...x, packets: Number(x.packets), bytes: Number(x.bytes) }));
    process.stdout.write(JSON.stringify({ frames: r.frames, skipped: r.skipped, flows: rows }) + '\n');
    return 0;
  }
  let out = formatFlowTable(r.rows);
  const total = r.rows.reduce((a, x) => a + x.packets, 0n);
  out += `\n${r.frames} frames run through ${values.xdp ? 'the XDP twin' : 'the socket filter'}, ${total} counted in ${r.rows.length} flows` +
    `${r.frames - Number(total) > 0 ? `, ${r.frames - Number(total)} not counted (truncated)` : ''}\n`;
  for (const s of r.skipped) out += `frame ${s.index} skipped: ${s.reason}\n`;
  process.stdout.write(out);
  return 0;
}

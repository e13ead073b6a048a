// Packet capture files: readCapture() reads classic libpcap files (either byte order, microsecond or
// nanosecond timestamps) and pcapng files (Section Header Blocks of either byte order, Interface Description,
// Enhanced and Simple Packet Blocks; other blocks are skipped), writePcap() writes classic little-endian
// libpcap. Corrupt input is a BpfError EINVAL naming the byte offset at fault, never a crash or a hang:
// every length is checked against the bytes that are there before it is used.

import { fail } from '../errors.js';

/** LINKTYPE_ETHERNET: the only link type the samples feed to programs. */
export const LINKTYPE_ETHERNET = 1;

export interface CapturedPacket {
  /** Capture time in nanoseconds since the epoch (a bigint: ns since 1970 do not fit a double exactly). */
  ts: bigint;
  /** The captured bytes (possibly fewer than origLen when the capture had a snap length). */
  data: Uint8Array;
  /** Length of the packet on the wire. */
  origLen: number;
}

export interface Capture {
  format: 'pcap' | 'pcapng';
  /** LINKTYPE_* of the packets (pcapng: of the interface of the first packet; mixing link types is EINVAL). */
  linktype: number;
  packets: CapturedPacket[];
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_SPB = 0x00000003;
const PCAPNG_EPB = 0x00000006;
/** Obsolete Packet Block: read too, it is EPB with a 16-bit interface id and drop count. */
const PCAPNG_PB = 0x00000002;
/** if_tsresol option code in an IDB. */
const OPT_IF_TSRESOL = 9;
const OPT_ENDOFOPT = 0;

const PCAP_HDR_LEN = 24;
const PCAP_REC_LEN = 16;
/** Largest packet record we accept (libpcap's MAXIMUM_SNAPLEN is 262144). */
const MAX_PACKET = 262144;

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** Read a capture file (classic pcap or pcapng, detected from the first four bytes). */
export function readCapture(bytes: Uint8Array): Capture {
  if (bytes.length < 4) fail('EINVAL', `capture: ${bytes.length} bytes is too short for a file header (offset 0)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  if (le === PCAPNG_SHB) return readPcapng(bytes, dv);
  for (const [magic, ns] of [[PCAP_MAGIC_US, false], [PCAP_MAGIC_NS, true]] as const) {
    if (le === magic) return readPcap(bytes, dv, true, ns);
    if (be === magic) return readPcap(bytes, dv, false, ns);
  }
  return fail('EINVAL', `capture: unknown magic ${hex(be)} at offset 0 (not a pcap or pcapng file)`);
}

function readPcap(bytes: Uint8Array, dv: DataView, le: boolean, ns: boolean): Capture {
  if (bytes.length < PCAP_HDR_LEN) fail('EINVAL', `pcap: file header is truncated (${bytes.length} of ${PCAP_HDR_LEN} bytes, offset 0)`);
  const major = dv.getUint16(4, le);
  if (major !== 2) fail('EINVAL', `pcap: version ${major}.${dv.getUint16(6, le)} at offset 4 is not 2.x`);
  const snaplen = dv.getUint32(16, le);
  // The link type is the low 28 bits; the top bits may carry an FCS length (pcap-linktype(7)).
  const linktype = dv.getUint32(20, le) & 0x0fffffff;
  const packets: CapturedPacket[] = [];
  let off = PCAP_HDR_LEN;
  const unit = ns ? 1n : 1000n;
  const fracMax = ns ? 1_000_000_000 : 1_000_000;
  while (off < bytes.length) {
    if (bytes.length - off < PCAP_REC_LEN) {
      fail('EINVAL', `pcap: packet record header at offset ${off} is truncated (${bytes.length - off} of ${PCAP_REC_LEN} bytes)`);
    }
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const caplen = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    if (frac >= fracMax) fail('EINVAL', `pcap: packet record at offset ${off}: sub-second field ${frac} is out of range`);
    if (caplen > MAX_PACKET || (snaplen !== 0 && caplen > Math.max(snaplen, MAX_PACKET))) {
      fail('EINVAL', `pcap: packet record at offset ${off}: captured length ${caplen} is larger than ${MAX_PACKET}`);
    }
    const start = off + PCAP_REC_LEN;
    if (bytes.length - start < caplen) {
      fail('EINVAL', `pcap: packet record at offset ${off}: data is truncated (${bytes.length - start} of ${caplen} bytes)`);
    }
    packets.push({ ts: BigInt(sec) * 1_000_000_000n + BigInt(frac) * unit, data: bytes.slice(start, start + caplen), origLen: Math.max(origLen, caplen) });
    off = start + caplen;
  }
  return { format: 'pcap', linktype, packets };
}

interface Iface {
  linktype: number;
  /** Timestamp units per second (10^6 unless if_tsresol says otherwise). */
  unitsPerSec: bigint;
}

function readPcapng(bytes: Uint8Array, dv: DataView): Capture {
  const packets: CapturedPacket[] = [];
  let linktype = -1;
  let ifaces: Iface[] = [];
  let le = true;
  let sectionSeen = false;
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 12) fail('EINVAL', `pcapng: block at offset ${off} is truncated (${bytes.length - off} bytes, a block has at least 12)`);
    let type = dv.getUint32(off, le);
    if (dv.getUint32(off, true) === PCAPNG_SHB) {
      // A new section: its byte-order magic decides how everything up to the next SHB is read.
      type = PCAPNG_SHB;
      if (bytes.length - off < 28) fail('EINVAL', `pcapng: section header block at offset ${off} is truncated`);
      const bom = dv.getUint32(off + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(off + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
      else fail('EINVAL', `pcapng: section header block at offset ${off} has a bad byte-order magic ${hex(dv.getUint32(off + 8, false))}`);
      const major = dv.getUint16(off + 12, le);
      if (major !== 1) fail('EINVAL', `pcapng: section header block at offset ${off} has version ${major}, not 1`);
      ifaces = [];
      sectionSeen = true;
    } else if (!sectionSeen) {
      fail('EINVAL', `pcapng: the file does not start with a section header block (offset ${off})`);
    }
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || len % 4 !== 0) fail('EINVAL', `pcapng: block at offset ${off} has a bad total length ${len} (at least 12, a multiple of 4)`);
    if (len > bytes.length - off) fail('EINVAL', `pcapng: block at offset ${off} is truncated (${bytes.length - off} of ${len} bytes)`);
    const trailer = dv.getUint32(off + len - 4, le);
    if (trailer !== len) fail('EINVAL', `pcapng: block at offset ${off}: trailing length ${trailer} differs from the leading ${len}`);
    const body = off + 8;
    const bodyEnd = off + len - 4;
    switch (type) {
      case PCAPNG_SHB:
        break;
      case PCAPNG_IDB: {
        if (bodyEnd - body < 8) fail('EINVAL', `pcapng: interface description block at offset ${off} is truncated`);
        ifaces.push({ linktype: dv.getUint16(body, le), unitsPerSec: tsResolution(dv, body + 8, bodyEnd, le, off) });
        break;
      }
      case PCAPNG_EPB:
      case PCAPNG_PB: {
        if (bodyEnd - body < 20) fail('EINVAL', `pcapng: packet block at offset ${off} is truncated`);
        const ifId = type === PCAPNG_EPB ? dv.getUint32(body, le) : dv.getUint16(body, le);
        const iface = ifaces[ifId];
        if (iface === undefined) fail('EINVAL', `pcapng: packet block at offset ${off} names interface ${ifId}, which has no description block`);
        const ts = (BigInt(dv.getUint32(body + 4, le)) << 32n) | BigInt(dv.getUint32(body + 8, le));
        const caplen = dv.getUint32(body + 12, le);
        const origLen = dv.getUint32(body + 16, le);
        const start = body + 20;
        if (caplen > bodyEnd - start) fail('EINVAL', `pcapng: packet block at offset ${off}: captured length ${caplen} exceeds the block`);
        linktype = sameLinktype(linktype, iface.linktype, off);
        packets.push({ ts: (ts * 1_000_000_000n) / iface.unitsPerSec, data: bytes.slice(start, start + caplen), origLen: Math.max(origLen, caplen) });
        break;
      }
      case PCAPNG_SPB: {
        if (bodyEnd - body < 4) fail('EINVAL', `pcapng: simple packet block at offset ${off} is truncated`);
        const iface = ifaces[0];
        if (iface === undefined) fail('EINVAL', `pcapng: simple packet block at offset ${off} comes before any interface description block`);
        const origLen = dv.getUint32(body, le);
        // The captured length is what the block holds, up to the original length (the rest is padding).
        const caplen = Math.min(origLen, bodyEnd - body - 4);
        linktype = sameLinktype(linktype, iface.linktype, off);
        packets.push({ ts: 0n, data: bytes.slice(body + 4, body + 4 + caplen), origLen });
        break;
      }
      default:
        break; // name resolution, statistics, custom blocks ...: not needed to replay packets
    }
    off += len;
  }
  return { format: 'pcapng', linktype: linktype < 0 ? (ifaces[0]?.linktype ?? LINKTYPE_ETHERNET) : linktype, packets };
}

function sameLinktype(have: number, got: number, off: number): number {
  if (have >= 0 && have !== got) fail('EINVAL', `pcapng: packet block at offset ${off} has link type ${got}, earlier packets ${have} (mixed link types are not supported)`);
  return got;
}

/** The if_tsresol option of an IDB (default 10^-6 s), as units per second. */
function tsResolution(dv: DataView, start: number, end: number, le: boolean, blockOff: number): bigint {
  let p = start;
  while (p + 4 <= end) {
    const code = dv.getUint16(p, le);
    const len = dv.getUint16(p + 2, le);
    if (code === OPT_ENDOFOPT) break;
    if (p + 4 + len > end) fail('EINVAL', `pcapng: option ${code} at offset ${p} of the block at offset ${blockOff} overruns the block`);
    if (code === OPT_IF_TSRESOL && len >= 1) {
      const v = dv.getUint8(p + 4);
      const exp = v & 0x7f;
      if (exp > ((v & 0x80) !== 0 ? 63 : 19)) fail('EINVAL', `pcapng: if_tsresol ${v} at offset ${p + 4} is out of range`);
      return (v & 0x80) !== 0 ? 1n << BigInt(exp) : 10n ** BigInt(exp);
    }
    p += 4 + ((len + 3) & ~3);
  }
  return 1_000_000n;
}

export interface WritePcapOptions {
  linktype?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanoseconds?: boolean;
  /** Byte order of the file (little-endian by default). */
  bigEndian?: boolean;
  snaplen?: number;
}

/** A classic libpcap file of `packets` (ts in ns; origLen defaults to the data length). */
export function writePcap(packets: ReadonlyArray<{ ts?: bigint; data: Uint8Array; origLen?: number }>, opts: WritePcapOptions = {}): Uint8Array {
  const le = !opts.bigEndian;
  const ns = opts.nanoseconds === true;
  let total = PCAP_HDR_LEN;
  for (const p of packets) total += PCAP_REC_LEN + p.data.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US, le);
  dv.setUint16(4, 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, opts.snaplen ?? MAX_PACKET, le);
  dv.setUint32(20, opts.linktype ?? LINKTYPE_ETHERNET, le);
  let off = PCAP_HDR_LEN;
  for (const p of packets) {
    const ts = p.ts ?? 0n;
    if (ts < 0n) fail('EINVAL', 'writePcap: negative timestamp');
    const sec = ts / 1_000_000_000n;
    const frac = ns ? ts % 1_000_000_000n : (ts % 1_000_000_000n) / 1000n;
    if (sec > 0xffffffffn) fail('EINVAL', `writePcap: timestamp ${ts} ns is past 2106`);
    dv.setUint32(off, Number(sec), le);
    dv.setUint32(off + 4, Number(frac), le);
    dv.setUint32(off + 8, p.data.length, le);
    dv.setUint32(off + 12, p.origLen ?? p.data.length, le);
    out.set(p.data, off + PCAP_REC_LEN);
    off += PCAP_REC_LEN + p.data.length;
  }
  return out;
}

export interface WritePcapngOptions {
  linktype?: number;
  bigEndian?: boolean;
  /** if_tsresol as a power of ten (6 = microseconds, the default; 9 = nanoseconds). */
  tsresol?: number;
}

/** A pcapng file: one section, one interface, one Enhanced Packet Block per packet. */
export function writePcapng(packets: ReadonlyArray<{ ts?: bigint; data: Uint8Array; origLen?: number }>, opts: WritePcapngOptions = {}): Uint8Array {
  const le = !opts.bigEndian;
  const resol = opts.tsresol ?? 6;
  const blocks: Uint8Array[] = [];
  const block = (type: number, bodyLen: number, fill: (dv: DataView, body: number) => void): void => {
    const len = 12 + ((bodyLen + 3) & ~3);
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, le);
    dv.setUint32(4, len, le);
    fill(dv, 8);
    dv.setUint32(len - 4, len, le);
    blocks.push(b);
  };
  block(PCAPNG_SHB, 16, (dv, o) => {
    dv.setUint32(o, PCAPNG_BYTE_ORDER_MAGIC, le);
    dv.setUint16(o + 4, 1, le);
    dv.setUint16(o + 6, 0, le);
    dv.setInt32(o + 8, -1, le); // section length unknown (-1 as a 64-bit value)
    dv.setInt32(o + 12, -1, le);
  });
  const withResol = resol !== 6;
  block(PCAPNG_IDB, 8 + (withResol ? 12 : 0), (dv, o) => {
    dv.setUint16(o, opts.linktype ?? LINKTYPE_ETHERNET, le);
    dv.setUint32(o + 4, MAX_PACKET, le);
    if (withResol) {
      dv.setUint16(o + 8, OPT_IF_TSRESOL, le);
      dv.setUint16(o + 10, 1, le);
      dv.setUint8(o + 12, resol);
      // o + 16: opt_endofopt (zeros)
    }
  });
  const unitsPerSec = 10n ** BigInt(resol);
  for (const p of packets) {
    const units = ((p.ts ?? 0n) * unitsPerSec) / 1_000_000_000n;
    block(PCAPNG_EPB, 20 + p.data.length, (dv, o) => {
      dv.setUint32(o, 0, le);
      dv.setUint32(o + 4, Number(units >> 32n), le);
      dv.setUint32(o + 8, Number(units & 0xffffffffn), le);
      dv.setUint32(o + 12, p.data.length, le);
      dv.setUint32(o + 16, p.origLen ?? p.data.length, le);
      new Uint8Array(dv.buffer).set(p.data, o + 20);
    });
  }
  let total = 0;
  for (const b of blocks) total += b.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of blocks) { out.set(b, off); off += b.length; }
  return out;
}

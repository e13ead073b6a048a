// src/net/pcap.ts: classic libpcap in both byte orders with µs and ns magic, pcapng (both byte orders, IDB
// if_tsresol, EPB, SPB, unknown blocks skipped, several sections), the writers round-tripping through the
// reader, and corrupt inputs (every truncation and a seeded mutation sweep): BpfError EINVAL naming an
// offset, never another exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BpfError } from '../src/errors.js';
import { readCapture, writePcap, writePcapng, LINKTYPE_ETHERNET } from '../src/net/pcap.js';

const pkt = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

/** A pcap file built by hand, byte by byte, independent of writePcap. */
function handPcap(le: boolean, ns: boolean): Uint8Array {
  const b = new Uint8Array(24 + 16 + 3 + 16 + 2);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, ns ? 0xa1b23c4d : 0xa1b2c3d4, le);
  dv.setUint16(4, 2, le); dv.setUint16(6, 4, le);
  dv.setUint32(16, 65535, le); dv.setUint32(20, 1, le);
  dv.setUint32(24, 1700000000, le); dv.setUint32(28, 123456, le); dv.setUint32(32, 3, le); dv.setUint32(36, 60, le);
  b.set([1, 2, 3], 40);
  dv.setUint32(43, 1700000001, le); dv.setUint32(47, 999, le); dv.setUint32(51, 2, le); dv.setUint32(55, 2, le);
  b.set([9, 8], 59);
  return b;
}

for (const le of [true, false]) {
  for (const ns of [false, true]) {
    test(`pcap: ${le ? 'little' : 'big'}-endian, ${ns ? 'nanosecond' : 'microsecond'} magic`, () => {
      const c = readCapture(handPcap(le, ns));
      assert.equal(c.format, 'pcap');
      assert.equal(c.linktype, LINKTYPE_ETHERNET);
      assert.equal(c.packets.length, 2);
      const unit = ns ? 1n : 1000n;
      assert.equal(c.packets[0].ts, 1700000000n * 1_000_000_000n + 123456n * unit);
      assert.deepEqual([...c.packets[0].data], [1, 2, 3]);
      assert.equal(c.packets[0].origLen, 60);
      assert.equal(c.packets[1].ts, 1700000001n * 1_000_000_000n + 999n * unit);
      assert.deepEqual([...c.packets[1].data], [9, 8]);
      assert.equal(c.packets[1].origLen, 2);
    });
  }
}

test('pcap: writer round trip in both byte orders and resolutions', () => {
  const packets = [
    { ts: 1_700_000_000_123_456_789n, data: pkt(60, 0xaa), origLen: 1514 },
    { ts: 5n, data: pkt(1, 1) },
    { ts: 0n, data: new Uint8Array(0) },
  ];
  for (const bigEndian of [false, true]) {
    for (const nanoseconds of [false, true]) {
      const c = readCapture(writePcap(packets, { bigEndian, nanoseconds }));
      assert.equal(c.packets.length, 3);
      assert.equal(c.packets[0].ts, nanoseconds ? packets[0].ts : 1_700_000_000_123_456_000n);
      assert.equal(c.packets[0].origLen, 1514);
      assert.deepEqual(c.packets[0].data, packets[0].data);
      assert.equal(c.packets[1].ts, nanoseconds ? 5n : 0n);
      assert.equal(c.packets[2].data.length, 0);
    }
  }
});

test('pcapng: both byte orders, if_tsresol, EPB lengths', () => {
  const packets = [{ ts: 1_600_000_000_000_000_001n, data: pkt(64, 7), origLen: 100 }, { ts: 2_000n, data: pkt(3, 1) }];
  for (const bigEndian of [false, true]) {
    for (const tsresol of [6, 9]) {
      const bytes = writePcapng(packets, { bigEndian, tsresol });
      if (bigEndian) assert.deepEqual([...bytes.subarray(8, 12)], [0x1a, 0x2b, 0x3c, 0x4d]);
      const c = readCapture(bytes);
      assert.equal(c.format, 'pcapng');
      assert.equal(c.linktype, 1);
      assert.equal(c.packets.length, 2);
      assert.equal(c.packets[0].ts, tsresol === 9 ? packets[0].ts : 1_600_000_000_000_000_000n);
      assert.equal(c.packets[0].origLen, 100);
      assert.deepEqual(c.packets[0].data, packets[0].data);
      assert.equal(c.packets[1].ts, 2_000n);
      assert.deepEqual([...c.packets[1].data], [1, 1, 1]);
    }
  }
});

/** pcapng blocks by hand: [type, body] in one byte order. */
function ngBlocks(le: boolean, blocks: Array<[number, number[]]>): Uint8Array {
  const parts: number[] = [];
  for (const [type, body] of blocks) {
    const padded = [...body];
    while (padded.length % 4 !== 0) padded.push(0);
    const len = padded.length + 12;
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, le); dv.setUint32(4, len, le);
    b.set(padded, 8);
    dv.setUint32(len - 4, len, le);
    parts.push(...b);
  }
  return Uint8Array.from(parts);
}
const u32 = (v: number, le: boolean): number[] => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, le); return [...b]; };
const u16 = (v: number, le: boolean): number[] => { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v, le); return [...b]; };
const shb = (le: boolean): [number, number[]] => [0x0a0d0d0a, [...u32(0x1a2b3c4d, le), ...u16(1, le), ...u16(0, le), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]];
const idb = (le: boolean, linktype: number, opts: number[] = []): [number, number[]] => [1, [...u16(linktype, le), 0, 0, ...u32(0, le), ...opts]];

test('pcapng: SPB, unknown blocks skipped, a second section in the other byte order, power-of-two tsresol', () => {
  const s1 = ngBlocks(true, [
    shb(true), idb(true, 1),
    [0x00000004, [1, 2, 3, 4]], // name resolution block: skipped
    [3, [...u32(5, true), 10, 20, 30, 40, 50]], // SPB: 5 bytes
    [0x40000bad, [0xde, 0xad]], // a custom block: skipped
  ]);
  // Section 2, big-endian: if_tsresol = 0x80|10 (units of 2^-10 s).
  const s2 = ngBlocks(false, [
    shb(false), idb(false, 1, [...u16(9, false), ...u16(1, false), 0x8a, 0, 0, 0, 0, 0, 0, 0]),
    [6, [...u32(0, false), ...u32(0, false), ...u32(1024 * 3, false), ...u32(2, false), ...u32(2, false), 0xab, 0xcd]],
  ]);
  const c = readCapture(Uint8Array.from([...s1, ...s2]));
  assert.equal(c.packets.length, 2);
  assert.deepEqual([...c.packets[0].data], [10, 20, 30, 40, 50]);
  assert.equal(c.packets[0].origLen, 5);
  assert.equal(c.packets[1].ts, 3_000_000_000n);
  assert.deepEqual([...c.packets[1].data], [0xab, 0xcd]);
});

function einval(bytes: Uint8Array, re: RegExp): void {
  assert.throws(() => readCapture(bytes), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && re.test(e.message));
}

test('corrupt inputs: EINVAL naming the offset', () => {
  einval(new Uint8Array(2), /offset 0/);
  einval(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), /unknown magic 0x01020304 at offset 0/);
  const p = handPcap(true, false);
  einval(p.subarray(0, 20), /file header is truncated/);
  einval(p.subarray(0, 30), /record header at offset 24 is truncated/);
  einval(p.subarray(0, 42), /record at offset 24: data is truncated \(2 of 3 bytes\)/);
  const badVer = p.slice(); badVer[4] = 3;
  einval(badVer, /version 3\.4 at offset 4/);
  const bigCap = p.slice(); new DataView(bigCap.buffer).setUint32(32, 0x7fffffff, true);
  einval(bigCap, /record at offset 24: captured length 2147483647/);
  const badUs = p.slice(); new DataView(badUs.buffer).setUint32(28, 1_000_000, true);
  einval(badUs, /offset 24: sub-second field 1000000/);
  const ng = writePcapng([{ data: pkt(10, 1) }]);
  const badTrailer = ng.slice(); badTrailer[ng.length - 4] ^= 4;
  einval(badTrailer, /trailing length/);
  const badLen = ng.slice(); new DataView(badLen.buffer).setUint32(4, 13, true);
  einval(badLen, /offset 0 has a bad total length 13/);
  const badBom = ng.slice(); badBom[8] = 0;
  einval(badBom, /byte-order magic/);
  // EPB naming an interface that has no IDB.
  const noIf = ngBlocks(true, [shb(true), [6, [...u32(3, true), ...u32(0, true), ...u32(0, true), ...u32(0, true), ...u32(0, true)]]]);
  einval(noIf, /offset 28 names interface 3/);
  // A packet block before any SHB.
  einval(ngBlocks(true, [[6, new Array(20).fill(0)]]), /unknown magic/);
  // EPB whose captured length exceeds the block.
  const over = ngBlocks(true, [shb(true), idb(true, 1), [6, [...u32(0, true), ...u32(0, true), ...u32(0, true), ...u32(99, true), ...u32(99, true)]]]);
  einval(over, /captured length 99 exceeds the block/);
});

test('corrupt inputs: every truncation and 2000 seeded mutations give a capture or EINVAL', () => {
  const files = [
    writePcap([{ ts: 1n, data: pkt(40, 3) }, { ts: 2n, data: pkt(20, 4) }], { bigEndian: true, nanoseconds: true }),
    writePcapng([{ ts: 1n, data: pkt(40, 3) }, { ts: 2n, data: pkt(21, 4) }], { tsresol: 9 }),
    readFileSync('samples/sockex3/sample.pcapng'),
  ];
  let seed = 0x2015;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  let errors = 0;
  const check = (b: Uint8Array): void => {
    try {
      readCapture(b);
    } catch (e) {
      assert.ok(e instanceof BpfError && e.code === 'EINVAL' && /offset \d+/.test(e.message), String(e));
      errors++;
    }
  };
  for (const f of files) {
    for (let n = 0; n < Math.min(f.length, 400); n++) check(f.subarray(0, n));
    for (let i = 0; i < 700; i++) {
      const b = new Uint8Array(f);
      for (let k = 1 + rnd(4); k > 0; k--) b[rnd(Math.min(b.length, 200))] = rnd(256);
      check(b);
    }
  }
  assert.ok(errors > 400, `only ${errors} corrupt inputs were rejected`);
});

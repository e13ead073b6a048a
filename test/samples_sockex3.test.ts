// The sockex3 sample (flow dissector chained by tail calls): both twins on the shipped captures give the
// flow table the capture generator's own list of flows predicts (every encapsulation, fragments, the
// truncated frame left out), the committed captures and objects are fresh, the CLI prints the table, and
// where the kernel is reachable the same objects on the same frames (bpftool prog run, data_in per frame,
// CPU 0) leave the same `flows` map.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleFiles, expectedFlows, samplePackets, SCENARIOS } from '../tools/gen-capture.js';
import { dissectCapture, decodeFlow, formatIpv6, sortFlows, SOCKEX3, SOCKEX3_DIR, type FlowRow } from '../src/cli/flows.js';
import { BpfObject } from '../src/lib/index.js';
import { readCapture, writePcap } from '../src/net/pcap.js';
import type { BpfError } from '../src/errors.js';
import { kernelAvailable, loadObject, progRun, mapDump, cleanup } from '../src/kernel/index.js';

const DIR = 'samples/sockex3';
const CLI = 'dist/src/cli/main.js';

type Row = Omit<FlowRow, 'packets' | 'bytes'> & { packets: number; bytes: number };
const plain = (rows: FlowRow[]): Row[] => sortFlows(rows).map((r) => ({ ...r, packets: Number(r.packets), bytes: Number(r.bytes) }));
const expected = (): Row[] => sortFlows(expectedFlows().map((e) => ({ ...e.flow, packets: e.packets, bytes: e.bytes })));

test('sockex3: the committed captures are what tools/gen-capture.ts writes', () => {
  const { pcap, pcapng } = sampleFiles();
  assert.deepEqual(new Uint8Array(readFileSync(`${DIR}/sample.pcap`)), pcap, 'run: node dist/tools/gen-capture.js');
  assert.deepEqual(new Uint8Array(readFileSync(`${DIR}/sample.pcapng`)), pcapng, 'run: node dist/tools/gen-capture.js');
  const a = readCapture(pcap), b = readCapture(pcapng);
  assert.equal(a.packets.length, samplePackets().length);
  assert.deepEqual(b.packets.map((p) => p.ts), samplePackets().map((p) => p.ts));
  assert.deepEqual(a.packets.map((p) => p.data), b.packets.map((p) => p.data));
});

test('sockex3: the capture holds every encapsulation the dissector parses', () => {
  const via = new Set(expectedFlows().flatMap((r) => r.flow.via));
  for (const v of ['vlan', 'qinq', 'mpls', 'gre', 'ipip', 'ipopt', 'v6ext', 'frag']) assert.ok(via.has(v), v);
  assert.ok(SCENARIOS.some((s) => s.packets.some((p) => p.flow === null)), 'a frame that must not be counted');
});

test('sockex3: committed objects are fresh (clang-19)', (t) => {
  if (spawnSync('clang-19', ['--version']).status !== 0) { t.skip('clang-19 is not installed'); return; }
  const out = mkdtempSync(join(tmpdir(), 'sockex3-'));
  try {
    execFileSync('sh', [`${DIR}/build.sh`], { env: { ...process.env, OUT_DIR: out } });
    for (const o of [SOCKEX3.socket.object, SOCKEX3.xdp.object]) {
      assert.deepEqual(readFileSync(join(out, o)), readFileSync(`${DIR}/${o}`), `${o} is stale: run ${DIR}/build.sh`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

for (const xdp of [false, true]) {
  for (const file of ['sample.pcap', 'sample.pcapng']) {
    test(`sockex3 ${xdp ? 'XDP twin' : 'socket filter'} on ${file}: the generator's flow table`, () => {
      const r = dissectCapture(new Uint8Array(readFileSync(`${DIR}/${file}`)), { xdp });
      assert.equal(r.frames, samplePackets().length);
      assert.deepEqual(r.skipped, []);
      assert.deepEqual(plain(r.rows), expected());
    });
  }
}

test('sockex3: the parsers are separate programs in a prog array, statically filled', () => {
  for (const twin of [SOCKEX3.socket, SOCKEX3.xdp]) {
    const obj = BpfObject.open(SOCKEX3_DIR + twin.object).load();
    try {
      const parsers = obj.map('parsers');
      const names = parsers.entries().map(([k, v]) => {
        const id = new DataView(v.buffer, v.byteOffset).getUint32(0, true);
        return [k[0], obj.programs().find((p) => p.id === id)?.name];
      });
      const pre = twin.entry.split('_')[0];
      assert.deepEqual(names, ['eth', 'vlan', 'mpls', 'ipv4', 'ipv6', 'ipv6_ext', 'gre', 'ports'].map((n, i) => [i, `${pre}_${n}`]));
      // Without the parsers (empty slots: every tail call falls through) the entry counts by outer ethertype only.
      for (let i = 0; i < 8; i++) parsers.delete(i);
      const prog = obj.program(twin.entry);
      for (const p of samplePackets().slice(0, 4)) prog.testRun({ dataIn: p.data });
      const rows = obj.map('flows').entries().map(([k, v]) => decodeFlow(k, v));
      if (twin === SOCKEX3.xdp) {
        assert.equal(rows.length, 0, 'the XDP entry only tail-calls the Ethernet parser');
      } else {
        assert.deepEqual(rows.map((r) => [r.l3proto, r.src, r.proto, Number(r.packets)]), [[0x0800, '0.0.0.0', 0, 4]]);
      }
    } finally {
      obj.close();
    }
  }
});

test('sockex3: formatIpv6 follows RFC 5952', () => {
  const b = (words: number[]): Uint8Array => Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
  assert.equal(formatIpv6(b([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])), '2001:db8::1');
  assert.equal(formatIpv6(b([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1])), '2001:db8:0:1::1');
  assert.equal(formatIpv6(b([0x2001, 0, 0, 1, 0, 0, 1, 1])), '2001::1:0:0:1:1');
  assert.equal(formatIpv6(b([0, 0, 0, 0, 0, 0, 0, 0])), '::');
  assert.equal(formatIpv6(b([1, 0, 2, 0, 3, 0, 4, 0])), '1:0:2:0:3:0:4:0');
});

test('tsbpf flows: prints one line per flow and the totals', () => {
  const out = execFileSync('node', [CLI, 'flows', '--pcap', `${DIR}/sample.pcap`], { encoding: 'utf8' });
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0], /^proto\s+src\s+dst\s+via\s+packets\s+bytes$/);
  assert.ok(lines.some((l) => /^udp\s+10\.0\.0\.1\.5353\s+->\s+10\.0\.0\.2\.53\s+-\s+3\s+255$/.test(l)), out);
  assert.ok(lines.some((l) => /^tcp\s+10\.6\.0\.1\.443\s+->\s+10\.6\.0\.2\.50000\s+vlan,gre\s+1\s+101$/.test(l)), out);
  assert.ok(lines.some((l) => /^udp\s+\[fe80::1\]\s+->\s+\[ff02::fb\]\s+v6ext,frag\s+1\s+196$/.test(l)), out);
  assert.ok(lines.some((l) => /^arp\s+-\s+->\s+-\s+-\s+1\s+28$/.test(l)), out);
  assert.equal(lines.filter((l) => l.includes('->')).length, expected().length);
  assert.match(out, /35 frames run through the socket filter, 34 counted in 22 flows, 1 not counted \(truncated\)/);
  const js = JSON.parse(execFileSync('node', [CLI, 'flows', `${DIR}/sample.pcapng`, '--xdp', '--json'], { encoding: 'utf8' }));
  assert.equal(js.frames, 35);
  assert.deepEqual(js.flows, expected());
  const bad = spawnSync('node', [CLI, 'flows', '--pcap', `${DIR}/flow_dissector.h`], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /EINVAL: capture: unknown magic .* at offset 0/);
});

/** Frames the kernel's socket-filter test run refuses: shorter than Ethernet, an IPv4 ethertype with less than a header. */
const refused = (): Uint8Array[] => [new Uint8Array(10), samplePackets()[0].data.slice(0, 14 + 19)];

test('sockex3: frames a test run refuses are skipped with EINVAL, the others still counted', () => {
  const cap = writePcap([...refused().map((data) => ({ data })), { data: samplePackets()[0].data }]);
  const sock = dissectCapture(cap);
  assert.equal(sock.frames, 1);
  assert.deepEqual(sock.skipped.map((x) => x.index), [0, 1]);
  assert.match(sock.skipped[0].reason, /EINVAL/);
  assert.match(sock.skipped[1].reason, /EINVAL: .*IPv4/);
  assert.equal(sock.rows.length, 1);
  // The XDP twin takes the short IPv4 frame (XDP only needs the Ethernet header) and does not count it.
  const xdp = dissectCapture(cap, { xdp: true });
  assert.deepEqual(xdp.skipped.map((x) => x.index), [0]);
  assert.equal(xdp.frames, 2);
  assert.deepEqual(xdp.rows.map((r) => Number(r.packets)), [1]);
});

const kernel = kernelAvailable();
for (const xdp of [false, true]) {
  test(`sockex3 ${xdp ? 'XDP twin' : 'socket filter'} in the kernel: same flow map as tsbpf`, { skip: kernel.ok ? false : `kernel not reachable: ${kernel.ok ? '' : kernel.why}` }, () => {
    const twin = xdp ? SOCKEX3.xdp : SOCKEX3.socket;
    try {
      const o = loadObject(`${DIR}/${twin.object}`);
      for (const p of samplePackets()) progRun(o.prog(twin.entry), { dataIn: p.data });
      const rows = mapDump(o.map('flows')).map((e) => decodeFlow(e.key, e.value!));
      assert.deepEqual(plain(rows), expected());
      assert.deepEqual(plain(rows), plain(dissectCapture(sampleFiles().pcap, { xdp }).rows));
      // The frames tsbpf skips are the ones the kernel refuses.
      const skipped = dissectCapture(writePcap(refused().map((data) => ({ data }))), { xdp }).skipped.map((x) => x.index);
      const kernelRefused = refused().map((data, i) => {
        try { progRun(o.prog(twin.entry), { dataIn: data }); return -1; } catch (e) { assert.equal((e as BpfError).code, 'EINVAL'); return i; }
      }).filter((i) => i >= 0);
      assert.deepEqual(kernelRefused, skipped);
    } finally {
      cleanup();
    }
  });
}

/** An Ethernet frame with `n` nested 802.1Q tags around IPv4/UDP 10.8.0.1:1111 -> 10.8.0.2:2222. */
function nestedTags(n: number): Uint8Array {
  const f: number[] = [2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x81, 0x00];
  for (let i = 0; i < n; i++) f.push(0, i + 1, ...(i === n - 1 ? [0x08, 0x00] : [0x81, 0x00]));
  const ip = [0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 8, 0, 1, 10, 8, 0, 2];
  f.push(...ip, 0x04, 0x57, 0x08, 0xae, 0, 8, 0, 0);
  return Uint8Array.from(f);
}

/** The flow each twin must report for n tags: the 33-tail-call budget decides how far the walk gets. */
function tagFlow(n: number, xdp: boolean): string {
  // Calls needed: the socket filter's entry goes straight to the first tag (n tags + IPv4 + ports);
  // the XDP entry goes through the Ethernet parser first (one more).
  const calls = n + 2 + (xdp ? 1 : 0);
  if (calls <= 33) return '0x800 10.8.0.1 10.8.0.2 17 1111 2222 vlan,qinq';
  if (calls === 34) return '0x800 10.8.0.1 10.8.0.2 17 0 0 vlan,qinq'; // the ports parser is one call too far
  return '0x8100   0 0 0 vlan,qinq'; // stopped inside the tags: no addresses
}

const rowText = (r: FlowRow): string => `0x${r.l3proto.toString(16)} ${r.src} ${r.dst} ${r.proto} ${r.sport} ${r.dport} ${r.via.join(',')}`;

test('sockex3: nested tags against the 33-tail-call limit (30, 31, 40 tags), both twins', () => {
  for (const xdp of [false, true]) {
    for (const n of [30, 31, 40]) {
      const r = dissectCapture(writePcap([{ data: nestedTags(n) }]), { xdp });
      assert.deepEqual(r.rows.map(rowText), [tagFlow(n, xdp)], `${n} tags, ${xdp ? 'xdp' : 'socket'}`);
      assert.equal(r.rows[0].bytes, BigInt(nestedTags(n).length - 14));
    }
  }
});

test('sockex3 in the kernel: nested tags against the 33-tail-call limit give the same flows',
  { skip: kernel.ok ? false : `kernel not reachable: ${kernel.ok ? '' : kernel.why}` }, () => {
    try {
      for (const xdp of [false, true]) {
        const twin = xdp ? SOCKEX3.xdp : SOCKEX3.socket;
        for (const n of [30, 31, 40]) {
          const o = loadObject(`${DIR}/${twin.object}`);
          progRun(o.prog(twin.entry), { dataIn: nestedTags(n) });
          const rows = mapDump(o.map('flows')).map((e) => decodeFlow(e.key, e.value!));
          assert.deepEqual(rows.map(rowText), [tagFlow(n, xdp)], `${n} tags, ${xdp ? 'xdp' : 'socket'}`);
        }
      }
    } finally {
      cleanup();
    }
  });

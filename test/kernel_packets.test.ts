// The packet builder and fixture list the kernel differential tests feed to both sides: checksums are
// right (checked against a textbook header and by re-summing every fixture), fields land where the
// protocols put them, and the fixture list keeps covering what the diff test relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame, inetChecksum, ipv6Addr, ETH_P_8021AD, IPPROTO_HOPOPTS, TCP_SYN } from './packets/build.js';
import { PACKETS, packet } from './packets/fixtures.js';

const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];

test('inetChecksum: the classic IPv4 header example gives 0xb861, and a header with its checksum sums to 0', () => {
  const h = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7];
  assert.equal(inetChecksum(h), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  assert.equal(inetChecksum(h), 0);
  assert.equal(inetChecksum([0x01]), 0xfeff, 'odd length pads with a zero byte');
});

test('ipv6Addr expands :: and rejects junk', () => {
  assert.deepEqual(ipv6Addr('2001:db8::1'), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Addr('::'), new Array(16).fill(0));
  assert.throws(() => ipv6Addr('1::2::3'));
  assert.throws(() => ipv6Addr('12345::'));
});

/** Sum of a pseudo-header + segment: 0 when the transport checksum is right. */
function l4Ok(f: Uint8Array, l3: number, v6: boolean, proto: number, l4: number): boolean {
  const seg = f.slice(l4);
  const addrs = v6 ? f.slice(l3 + 8, l3 + 40) : f.slice(l3 + 12, l3 + 20);
  const pseudo = [...addrs, ...(v6 ? [0, 0, seg.length >> 8, seg.length & 0xff, 0, 0, 0, proto] : [0, proto, seg.length >> 8, seg.length & 0xff])];
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i] << 8) | pseudo[i + 1];
  return inetChecksum(seg, sum) === 0;
}

test('buildFrame: IPv4/TCP with options behind a QinQ stack, every field and checksum in place', () => {
  const f = buildFrame({
    vlans: [{ tpid: ETH_P_8021AD, vid: 100, pcp: 5 }, { vid: 7 }],
    l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', ttl: 9, options: [0x94, 0x04, 0, 0] },
    l4: { kind: 'tcp', sport: 1000, dport: 80, flags: TCP_SYN, options: [2, 4, 5, 0xb4] },
    payload: 5,
  });
  assert.equal(be16(f, 12), 0x88a8);
  assert.equal(be16(f, 14), (5 << 13) | 100);
  assert.equal(be16(f, 16), 0x8100);
  assert.equal(be16(f, 18), 7);
  assert.equal(be16(f, 20), 0x0800);
  const ip = 22;
  assert.equal(f[ip], 0x46, 'version 4, IHL 6');
  assert.equal(be16(f, ip + 2), f.length - ip, 'total length');
  assert.equal(f[ip + 8], 9);
  assert.equal(f[ip + 9], 6);
  assert.equal(inetChecksum(f.slice(ip, ip + 24)), 0, 'IPv4 header checksum');
  const tcp = ip + 24;
  assert.equal(f[tcp + 12] >> 4, 6, 'data offset counts the options');
  assert.equal(f[tcp + 13], TCP_SYN);
  assert.ok(l4Ok(f, ip, false, 6, tcp), 'TCP checksum over the pseudo-header');
});

test('buildFrame: IPv6 extension headers chain next-header values; UDP and ICMPv6 checksums hold', () => {
  const f = buildFrame({ l3: { kind: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', ext: [{ type: IPPROTO_HOPOPTS, len: 1 }] }, l4: { kind: 'udp', sport: 1, dport: 53 }, payload: 7 });
  assert.equal(be16(f, 12), 0x86dd);
  assert.equal(f[14 + 6], IPPROTO_HOPOPTS);
  assert.equal(be16(f, 14 + 4), f.length - 54, 'payload length includes the extension header');
  const ext = 54;
  assert.equal(f[ext], 17, 'hop-by-hop next header is UDP');
  assert.equal(f[ext + 1], 1);
  const udp = ext + 16;
  assert.equal(be16(f, udp + 4), 15);
  assert.ok(l4Ok(f, 14, true, 17, udp));
  const i6 = buildFrame({ l3: { kind: 'ipv6', src: 'fe80::1', dst: 'ff02::1' }, l4: { kind: 'icmpv6', type: 128 }, payload: 9 });
  assert.ok(l4Ok(i6, 14, true, 58, 54));
});

test('buildFrame: truncate and padTo shape the frame after the checksums are computed', () => {
  const full = buildFrame({ l3: { kind: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8' }, l4: { kind: 'udp', sport: 1, dport: 2 } });
  const cut = buildFrame({ l3: { kind: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8' }, l4: { kind: 'udp', sport: 1, dport: 2 }, truncate: 30 });
  assert.deepEqual(cut, full.slice(0, 30));
  const padded = buildFrame({ l3: { kind: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8' }, l4: { kind: 'udp', sport: 1, dport: 2 }, padTo: 60 });
  assert.equal(padded.length, 60);
  assert.deepEqual(padded.slice(0, full.length), full);
});

test('fixtures: at least 30 distinct packets, all checksums right where headers are complete, every parser path present', () => {
  assert.ok(PACKETS.length >= 30);
  assert.equal(new Set(PACKETS.map((p) => p.name)).size, PACKETS.length, 'unique names');
  for (const p of PACKETS) {
    const f = p.bytes;
    if (f.length < 14) continue;
    let off = 12;
    while (be16(f, off) === 0x8100 || be16(f, off) === 0x88a8) off += 4;
    const et = be16(f, off);
    const ip = off + 2;
    if (et === 0x0800 && f.length >= ip + 20) {
      const ihl = (f[ip] & 15) * 4;
      if (ihl >= 20 && f.length >= ip + ihl) assert.equal(inetChecksum(f.slice(ip, ip + ihl)), 0, `${p.name}: IPv4 header checksum`);
      const total = be16(f, ip + 2);
      const frag = be16(f, ip + 6) & 0x3fff;
      if (ihl >= 20 && f.length >= ip + total && frag === 0 && (f[ip + 9] === 6 || f[ip + 9] === 17) && !p.name.includes('doff')) {
        assert.ok(l4Ok(f.slice(0, ip + total), ip, false, f[ip + 9], ip + ihl), `${p.name}: L4 checksum`);
      }
    }
  }
  const lengths = PACKETS.map((p) => p.bytes.length);
  assert.ok(lengths.includes(1514) && lengths.some((n) => n < 14) && lengths.includes(14));
  for (const name of ['ipv4_options_udp', 'ipv4_options_max_tcp', 'ipv4_ihl_too_small', 'ipv6_ext_chain_tcp', 'qinq_ipv4_tcp',
    'vlan_triple', 'vlan_truncated', 'arp_request', 'ipv4_fragment', 'ipv4_icmp_echo', 'ipv6_icmpv6_echo', 'ipv6_truncated']) {
    assert.ok(packet(name).bytes.length > 0, name);
  }
  assert.equal(packet('ipv4_options_max_tcp').bytes[14] & 15, 15);
  assert.equal(be16(packet('ipv4_fragment').bytes, 14 + 6) & 0x1fff, 185);
});

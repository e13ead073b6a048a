// The fixed list of test packets the kernel differential tests run through every program, in this order
// (maps persist between packets, so the order is part of the test). Together they reach every parser path
// of the programs in test/progs: each VLAN depth, IPv4 with and without options, wrong IHL, fragments,
// IPv6 with extension headers, TCP/UDP/ICMP/ICMPv6, truncation at every layer, wrong and odd ethertypes,
// frames shorter than an Ethernet header, minimum-size, 1500-byte and page-sized frames.

import {
  buildFrame, type FrameSpec, ETH_P_8021AD, ETH_P_ARP, IPPROTO_DSTOPTS, IPPROTO_GRE, IPPROTO_HOPOPTS,
  IPPROTO_ROUTING, TCP_ACK, TCP_PSH, TCP_SYN, TCP_FIN,
} from './build.js';

export interface Packet {
  name: string;
  /** what the packet is there to exercise */
  why: string;
  bytes: Uint8Array;
}

const v4 = (proto: Partial<{ src: string; dst: string; ttl: number; options: number[]; ihl: number; mf: boolean; fragOffset: number; df: boolean }> = {}) =>
  ({ kind: 'ipv4' as const, src: '10.0.0.1', dst: '10.0.0.2', ...proto });
const v6 = (o: Partial<{ src: string; dst: string; hopLimit: number; ext: { type: number; len?: number }[] }> = {}) =>
  ({ kind: 'ipv6' as const, src: '2001:db8::1', dst: '2001:db8::2', ...o });
const tcp = (dport: number, flags = TCP_ACK, o: Partial<{ sport: number; options: number[]; doff: number }> = {}) =>
  ({ kind: 'tcp' as const, sport: 40000, dport, flags, ...o });
const udp = (dport: number, sport = 5353) => ({ kind: 'udp' as const, sport, dport });

const TCP_OPTS = [0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x03, 0x03, 0x07];
const ROUTER_ALERT = [0x94, 0x04, 0x00, 0x00];

const SPECS: Array<[string, string, FrameSpec]> = [
  ['ipv4_tcp_syn', 'IPv4 TCP SYN to port 80', { l3: v4(), l4: tcp(80, TCP_SYN), padTo: 60 }],
  ['ipv4_tcp_ssh', 'TCP data to port 22 (socket filter keeps all)', { l3: v4(), l4: tcp(22, TCP_ACK | TCP_PSH), payload: 48 }],
  ['ipv4_tcp_telnet', 'the blocked/dropped TCP port 23', { l3: v4({ src: '10.0.0.3' }), l4: tcp(23, TCP_SYN) }],
  ['ipv4_tcp_options', 'TCP with options (doff 10)', { l3: v4(), l4: tcp(443, TCP_SYN, { options: TCP_OPTS }) }],
  ['ipv4_tcp_bad_doff', 'TCP data offset 4 (< 5)', { l3: v4(), l4: tcp(80, TCP_ACK, { doff: 4 }), payload: 8 }],
  ['ipv4_tcp_doff_past_end', 'TCP data offset 15 with a short segment', { l3: v4(), l4: tcp(80, TCP_ACK, { doff: 15 }), payload: 4 }],
  ['ipv4_tcp_fin_repeat', 'the SYN flow again (existing hash entry updated)', { l3: v4(), l4: tcp(80, TCP_FIN | TCP_ACK), padTo: 60 }],
  ['ipv4_udp_dns', 'UDP to port 53', { l3: v4(), l4: udp(53), payload: 30 }],
  ['ipv4_udp_echo', 'UDP to port 7 (xdp_parser answers with XDP_TX)', { l3: v4({ src: '192.168.1.10' }), l4: udp(7), payload: 16 }],
  ['ipv4_udp_discard_big', 'UDP to port 9 with 200 bytes (trimmed by xdp_parser/xdp_tail)', { l3: v4(), l4: udp(9), payload: 200 }],
  ['ipv4_udp_1500', 'a 1500-byte IP packet (1514-byte frame)', { l3: v4(), l4: udp(4789), payload: 1472 }],
  ['ipv4_udp_min_frame', 'minimum 60-byte frame, UDP without payload', { l3: v4(), l4: udp(123), padTo: 60 }],
  ['ipv4_options_udp', 'IPv4 with Router Alert option (IHL 6)', { l3: v4({ options: ROUTER_ALERT }), l4: udp(5000), payload: 10 }],
  ['ipv4_options_max_tcp', 'IPv4 with 40 bytes of options (IHL 15)', { l3: v4({ options: [...new Array(39).fill(1), 0] }), l4: tcp(8080, TCP_SYN) }],
  ['ipv4_ihl_too_small', 'IHL 4', { l3: v4({ ihl: 4 }), l4: udp(53), payload: 12 }],
  ['ipv4_ihl_past_end', 'IHL 15 with only 26 bytes after Ethernet', { l3: v4({ ihl: 15 }), l4: udp(53), payload: 0, truncate: 14 + 26 }],
  ['ipv4_fragment', 'non-first IPv4 fragment', { l3: v4({ fragOffset: 185 }), l4: { kind: 'raw', bytes: [] }, payload: 64 }],
  ['ipv4_first_fragment', 'first fragment (MF) of a UDP datagram', { l3: v4({ mf: true }), l4: udp(6000), payload: 40 }],
  ['ipv4_ttl1', 'TTL 1 (below min_ttl)', { l3: v4({ ttl: 1 }), l4: udp(5000), payload: 8 }],
  ['ipv4_ttl2_udp', 'TTL 2: forwarded, TTL decremented', { l3: v4({ ttl: 2 }), l4: udp(5001), payload: 8 }],
  ['ipv4_icmp_echo', 'ICMP echo request (answered in place by xdp_flow)', { l3: v4({ src: '10.1.1.1', dst: '10.1.1.2' }), l4: { kind: 'icmp', type: 8, id: 0x4242, seq: 7 }, payload: 56 }],
  ['ipv4_icmp_reply', 'ICMP echo reply', { l3: v4(), l4: { kind: 'icmp', type: 0, id: 0x4242, seq: 7 }, payload: 56 }],
  ['ipv4_icmp_truncated', 'ICMP header cut after 4 bytes', { l3: v4(), l4: { kind: 'icmp', type: 8 }, truncate: 14 + 20 + 4 }],
  ['ipv4_gre', 'an L4 protocol nobody parses (GRE)', { l3: { ...v4(), protocol: IPPROTO_GRE }, l4: { kind: 'raw', bytes: [0, 0, 0x08, 0x00] }, payload: 20 }],
  ['ipv4_truncated_header', 'Ethernet and 10 bytes of IPv4 header', { l3: v4(), l4: udp(53), truncate: 24 }],
  ['ipv4_udp_truncated_l4', 'IPv4 header complete, UDP header cut at 4 bytes', { l3: v4(), l4: udp(53), truncate: 14 + 20 + 4 }],
  ['ipv4_tcp_truncated_l4', 'IPv4 header complete, TCP header cut at 12 bytes', { l3: v4(), l4: tcp(80), truncate: 14 + 20 + 12 }],
  ['ipv4_broadcast_udp', 'to ff:ff:ff:ff:ff:ff (PACKET_BROADCAST)', { dst: 'ff:ff:ff:ff:ff:ff', l3: v4({ dst: '10.0.0.255' }), l4: udp(67, 68), payload: 20 }],
  ['ipv4_to_host_mac', 'to 00:00:00:00:00:00, the test device address (PACKET_HOST)', { dst: '00:00:00:00:00:00', l3: v4(), l4: tcp(22), payload: 4 }],
  ['ipv4_multicast_udp', 'to 01:00:5e:00:00:fb (PACKET_MULTICAST)', { dst: '01:00:5e:00:00:fb', l3: v4({ dst: '224.0.0.251' }), l4: udp(5353), payload: 12 }],
  ['ipv6_tcp', 'IPv6 TCP', { l3: v6(), l4: tcp(22, TCP_SYN) }],
  ['ipv6_tcp_telnet', 'IPv6 TCP to the blocked port', { l3: v6({ src: 'fe80::1' }), l4: tcp(23, TCP_SYN) }],
  ['ipv6_udp', 'IPv6 UDP', { l3: v6(), l4: udp(53), payload: 33 }],
  ['ipv6_icmpv6_echo', 'ICMPv6 echo request', { l3: v6(), l4: { kind: 'icmpv6', type: 128 }, payload: 32 }],
  ['ipv6_hopbyhop_udp', 'IPv6 hop-by-hop header, then UDP', { l3: v6({ ext: [{ type: IPPROTO_HOPOPTS }] }), l4: udp(9), payload: 90 }],
  ['ipv6_ext_chain_tcp', 'IPv6 destination options + routing headers, then TCP', { l3: v6({ ext: [{ type: IPPROTO_DSTOPTS, len: 1 }, { type: IPPROTO_ROUTING }] }), l4: tcp(80, TCP_SYN) }],
  ['ipv6_ext_truncated', 'IPv6 hop-by-hop header cut short', { l3: v6({ ext: [{ type: IPPROTO_HOPOPTS }] }), l4: udp(53), truncate: 14 + 40 + 1 }],
  ['ipv6_truncated', 'IPv6 header cut at 20 bytes', { l3: v6(), l4: udp(53), truncate: 14 + 20 }],
  ['ipv6_hoplimit1', 'IPv6 hop limit 1', { l3: v6({ hopLimit: 1 }), l4: udp(53), payload: 4 }],
  ['vlan100_ipv4_udp', '802.1Q VLAN 100 (popped by xdp_parser and xdp_vlan)', { vlans: [{ vid: 100, pcp: 3 }], l3: v4(), l4: udp(5000), payload: 22 }],
  ['vlan42_ipv4_tcp', '802.1Q VLAN 42', { vlans: [{ vid: 42 }], l3: v4(), l4: tcp(80, TCP_SYN) }],
  ['vlan100_ipv6_udp_discard', 'VLAN 100, IPv6 UDP to port 9', { vlans: [{ vid: 100 }], l3: v6(), l4: udp(9), payload: 100 }],
  ['qinq_ipv4_tcp', '802.1ad outer VLAN 100, 802.1Q inner VLAN 7', { vlans: [{ tpid: ETH_P_8021AD, vid: 100 }, { vid: 7 }], l3: v4(), l4: tcp(443, TCP_ACK), payload: 10 }],
  ['qinq_ipv6_udp', 'two 802.1Q tags, IPv6 UDP', { vlans: [{ vid: 5 }, { vid: 6 }], l3: v6(), l4: udp(7), payload: 8 }],
  ['vlan_triple', 'three tags (one more than the parsers follow)', { vlans: [{ vid: 1 }, { vid: 2 }, { vid: 3 }], l3: v4(), l4: udp(53), payload: 8 }],
  ['vlan_truncated', 'a VLAN tag cut in half', { vlans: [{ vid: 100 }], l3: v4(), l4: udp(53), truncate: 16 }],
  ['arp_request', 'ARP (ethertype 0x0806), padded to 60', { dst: 'ff:ff:ff:ff:ff:ff', ethertype: ETH_P_ARP, l3: { kind: 'raw', bytes: [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2] }, padTo: 60 }],
  ['ethertype_experimental', 'ethertype 0x88b5 (xdp_flow aborts)', { ethertype: 0x88b5, l3: { kind: 'raw', bytes: [] }, payload: 46 }],
  ['lldp_multicast', 'LLDP (0x88cc) to 01:80:c2:00:00:0e', { dst: '01:80:c2:00:00:0e', ethertype: 0x88cc, l3: { kind: 'raw', bytes: [] }, payload: 46 }],
  ['ethertype_8023_length', 'an 802.3 length field instead of an ethertype', { ethertype: 0x0040, l3: { kind: 'raw', bytes: [] }, payload: 64 }],
  ['eth_header_only', 'exactly 14 bytes: an Ethernet header saying IPv4 and nothing else', { l3: { kind: 'raw', bytes: [] } }],
  ['tiny_frame_10', '10 bytes: shorter than an Ethernet header (the kernel refuses it)', { l3: { kind: 'raw', bytes: [] }, truncate: 10 }],
  ['page_sized_frame', '3520 bytes: the most one XDP test-run page holds', { l3: v4(), l4: udp(9000), payload: 3520 - 42 }],
  ['oversized_frame', '4000 bytes: more than one XDP test-run page (the kernel puts the rest in frags)', { l3: v4(), l4: udp(9001), payload: 4000 - 42 }],
];

export const PACKETS: Packet[] = SPECS.map(([name, why, spec]) => ({ name, why, bytes: buildFrame(spec) }));

export function packet(name: string): Packet {
  const p = PACKETS.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no test packet '${name}'`);
  return p;
}

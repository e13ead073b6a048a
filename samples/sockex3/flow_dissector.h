/* The flow dissector of the sockex3 sample (the 2015 bpf_tail_call series' networking example), shared by
 * its two twins: sockex3_kern.c (a socket filter reading the packet with LD_ABS/LD_IND) and sockex3_xdp.c
 * (an XDP program reading it with bpf_xdp_load_bytes). Each protocol has its own parser program; they are
 * chained by tail calls through the prog array `parsers`, indexed by PARSE_*. The parser state (where the
 * next header starts, the flow key built so far) lives in a one-entry per-CPU array, because a tail call
 * keeps only the ctx. The last parser accounts the packet in the hash map `flows` (flow key -> packets,
 * bytes).
 *
 * The including file defines:
 *   CTX_T       the context type (struct __sk_buff or struct xdp_md)
 *   PROG(name)  the definition of a parser program called <twin prefix>_<name>
 *   PNAME(name) the name of that program (for the prog array's static slots)
 *   LD8/LD16/LD32(off)  read a big-endian field at `off` from the network data as a host-order value; when
 *               the packet is too short they end the program (LD_ABS semantics), so a truncated packet
 *               is not counted
 *   RET         the program's return value
 * and then includes this file, and then defines the twin's entry program.
 *
 * Offsets: `nhoff` counts from where the twin's parsing starts (the socket filter sees the packet from the
 * network header, as a SOCK_DGRAM packet socket and BPF_PROG_TEST_RUN give it; the XDP twin from the MAC
 * header). Bytes are counted from the outer network header in both twins, so their flow tables agree.
 */
#ifndef SOCKEX3_FLOW_DISSECTOR_H
#define SOCKEX3_FLOW_DISSECTOR_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Slots of the prog array: one parser per protocol. */
#define PARSE_ETH	0
#define PARSE_VLAN	1
#define PARSE_MPLS	2
#define PARSE_IPV4	3
#define PARSE_IPV6	4
#define PARSE_IPV6_EXT	5
#define PARSE_GRE	6
#define PARSE_PORTS	7
#define PARSE_MAX	8

/* Ethertypes (host order). */
#define P_IP		0x0800
#define P_IPV6		0x86DD
#define P_8021Q		0x8100
#define P_8021AD	0x88A8
#define P_MPLS_UC	0x8847
#define P_MPLS_MC	0x8848
#define P_TEB		0x6558	/* transparent Ethernet bridging: Ethernet in GRE */

/* IPv6 extension headers the dissector walks. */
#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	51
#define NEXTHDR_DEST	60

/* GRE flag bits (first 16 bits of the header, host order). */
#define GRE_F_CSUM	0x8000
#define GRE_F_ROUTING	0x4000
#define GRE_F_KEY	0x2000
#define GRE_F_SEQ	0x1000
#define GRE_F_VERSION	0x0007

/* flow_key.flags: what the packet went through on the way to its innermost header. */
#define F_VLAN		0x01	/* at least one 802.1Q/802.1ad tag */
#define F_QINQ		0x02	/* two or more tags (nested VLANs) */
#define F_MPLS		0x04
#define F_GRE		0x08
#define F_IPIP		0x10	/* IP in IP (4in4, 6in4, 4in6, 6in6) */
#define F_IPOPT		0x20	/* an IPv4 header with options */
#define F_V6EXT		0x40	/* IPv6 extension headers */
#define F_FRAG		0x80	/* a fragment: ports only in the first one */

/* The flow key: the innermost network and transport header (IPv4 addresses in the first 4 bytes). */
struct flow_key {
	__u8 src[16];		/* network byte order */
	__u8 dst[16];
	__u16 l3proto;		/* ethertype of the innermost network header (or of what could not be parsed) */
	__u16 sport;		/* host byte order; 0 when the packet carries none */
	__u16 dport;
	__u8 ip_proto;
	__u8 flags;		/* F_* */
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct dissect_state {
	struct flow_key key;
	__u32 nhoff;		/* where the header the next parser reads starts */
	__u32 len;		/* bytes to account: from the outer network header */
	__u32 vlans;		/* tags seen */
	__u32 nexthdr;		/* IPv6: the extension header PARSE_IPV6_EXT reads */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dissect_state);
} dissect_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

PROG(eth)(CTX_T *ctx);
PROG(vlan)(CTX_T *ctx);
PROG(mpls)(CTX_T *ctx);
PROG(ipv4)(CTX_T *ctx);
PROG(ipv6)(CTX_T *ctx);
PROG(ipv6_ext)(CTX_T *ctx);
PROG(gre)(CTX_T *ctx);
PROG(ports)(CTX_T *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PARSE_MAX);
	__type(key, __u32);
	__array(values, int (void *));
} parsers SEC(".maps") = {
	.values = {
		[PARSE_ETH] = (void *)&PNAME(eth),
		[PARSE_VLAN] = (void *)&PNAME(vlan),
		[PARSE_MPLS] = (void *)&PNAME(mpls),
		[PARSE_IPV4] = (void *)&PNAME(ipv4),
		[PARSE_IPV6] = (void *)&PNAME(ipv6),
		[PARSE_IPV6_EXT] = (void *)&PNAME(ipv6_ext),
		[PARSE_GRE] = (void *)&PNAME(gre),
		[PARSE_PORTS] = (void *)&PNAME(ports),
	},
};

static __always_inline struct dissect_state *state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dissect_state, &zero);
}

/* The end of every parse: count the packet under the key built so far. */
static __always_inline void account(struct dissect_state *st)
{
	struct flow_key key = st->key;
	struct flow_stats *v = bpf_map_lookup_elem(&flows, &key);

	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, st->len);
	} else {
		struct flow_stats init = { .packets = 1, .bytes = st->len };

		bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
	}
}

/* Continue with the parser of ethertype `proto`; count the packet here when there is none. */
static __always_inline void next_eth(CTX_T *ctx, struct dissect_state *st, __u32 proto)
{
	switch (proto) {
	case P_8021Q:
	case P_8021AD:
		bpf_tail_call(ctx, &parsers, PARSE_VLAN);
		break;
	case P_MPLS_UC:
	case P_MPLS_MC:
		bpf_tail_call(ctx, &parsers, PARSE_MPLS);
		break;
	case P_IP:
		bpf_tail_call(ctx, &parsers, PARSE_IPV4);
		break;
	case P_IPV6:
		bpf_tail_call(ctx, &parsers, PARSE_IPV6);
		break;
	case P_TEB:
		bpf_tail_call(ctx, &parsers, PARSE_ETH);
		break;
	}
	/* Not a protocol we parse (or the tail call fell through): the flow is the ethertype alone. */
	st->key.l3proto = proto;
	account(st);
}

/* Continue with the parser of IP protocol `proto` (the transport header starts at st->nhoff). */
static __always_inline void next_ip(CTX_T *ctx, struct dissect_state *st, __u32 proto)
{
	st->key.ip_proto = proto;
	switch (proto) {
	case IPPROTO_GRE:
		bpf_tail_call(ctx, &parsers, PARSE_GRE);
		break;
	case IPPROTO_IPIP:
		st->key.flags |= F_IPIP;
		bpf_tail_call(ctx, &parsers, PARSE_IPV4);
		break;
	case IPPROTO_IPV6:
		st->key.flags |= F_IPIP;
		bpf_tail_call(ctx, &parsers, PARSE_IPV6);
		break;
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		bpf_tail_call(ctx, &parsers, PARSE_PORTS);
		break;
	}
	account(st);
}

/* After an IPv6 header or extension header: walk further extension headers, else as next_ip. */
static __always_inline void next_ip6(CTX_T *ctx, struct dissect_state *st, __u32 proto)
{
	switch (proto) {
	case NEXTHDR_HOP:
	case NEXTHDR_ROUTING:
	case NEXTHDR_FRAGMENT:
	case NEXTHDR_AUTH:
	case NEXTHDR_DEST:
		st->nexthdr = proto;
		st->key.flags |= F_V6EXT;
		bpf_tail_call(ctx, &parsers, PARSE_IPV6_EXT);
		st->key.ip_proto = proto;
		account(st);
		return;
	}
	next_ip(ctx, st, proto);
}

/* Ethernet: the destination and source MAC, then the ethertype. */
PROG(eth)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 proto;

	if (!st)
		return RET;
	proto = LD16(st->nhoff + 12);
	st->nhoff += 14;
	next_eth(ctx, st, proto);
	return RET;
}

/* 802.1Q / 802.1ad: TCI, then the inner ethertype (another tag for QinQ). */
PROG(vlan)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 proto;

	if (!st)
		return RET;
	proto = LD16(st->nhoff + 2);
	st->nhoff += 4;
	st->vlans++;
	st->key.flags |= st->vlans > 1 ? F_VLAN | F_QINQ : F_VLAN;
	next_eth(ctx, st, proto);
	return RET;
}

/* MPLS: one label stack entry per run; the bottom of the stack is followed by IPv4 or IPv6, which the
 * first nibble tells apart. */
PROG(mpls)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 entry, version;

	if (!st)
		return RET;
	entry = LD32(st->nhoff);
	st->nhoff += 4;
	st->key.flags |= F_MPLS;
	if (!(entry & 0x100)) {
		bpf_tail_call(ctx, &parsers, PARSE_MPLS);
		st->key.l3proto = P_MPLS_UC;
		account(st);
		return RET;
	}
	version = LD8(st->nhoff) >> 4;
	next_eth(ctx, st, version == 4 ? P_IP : version == 6 ? P_IPV6 : P_MPLS_UC);
	return RET;
}

/* IPv4: addresses, options (skipped by IHL), fragments (only the first carries the ports). */
PROG(ipv4)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 nh, verihl, frag, proto, a;

	if (!st)
		return RET;
	nh = st->nhoff;
	verihl = LD8(nh);
	frag = LD16(nh + 6);
	proto = LD8(nh + 9);
	st->key.l3proto = P_IP;
	st->key.sport = 0;
	st->key.dport = 0;
	__builtin_memset(st->key.src, 0, sizeof(st->key.src));
	__builtin_memset(st->key.dst, 0, sizeof(st->key.dst));
	a = bpf_htonl(LD32(nh + 12));
	__builtin_memcpy(st->key.src, &a, 4);
	a = bpf_htonl(LD32(nh + 16));
	__builtin_memcpy(st->key.dst, &a, 4);
	if ((verihl >> 4) != 4 || (verihl & 0xf) < 5) {
		/* not a valid IPv4 header: count it under the addresses found, no protocol */
		st->key.ip_proto = 0;
		account(st);
		return RET;
	}
	if ((verihl & 0xf) > 5)
		st->key.flags |= F_IPOPT;
	st->nhoff = nh + ((verihl & 0xf) << 2);
	if (frag & 0x3fff) {	/* MF or a fragment offset */
		st->key.flags |= F_FRAG;
		if (frag & 0x1fff) {	/* not the first fragment: no transport header here */
			st->key.ip_proto = proto;
			account(st);
			return RET;
		}
	}
	next_ip(ctx, st, proto);
	return RET;
}

/* IPv6: addresses and the first next header. */
PROG(ipv6)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 nh, proto, a;

	if (!st)
		return RET;
	nh = st->nhoff;
	if ((LD8(nh) >> 4) != 6) {
		st->key.l3proto = P_IPV6;
		account(st);
		return RET;
	}
	proto = LD8(nh + 6);
	st->key.l3proto = P_IPV6;
	st->key.sport = 0;
	st->key.dport = 0;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		a = bpf_htonl(LD32(nh + 8 + 4 * i));
		__builtin_memcpy(st->key.src + 4 * i, &a, 4);
		a = bpf_htonl(LD32(nh + 24 + 4 * i));
		__builtin_memcpy(st->key.dst + 4 * i, &a, 4);
	}
	st->nhoff = nh + 40;
	next_ip6(ctx, st, proto);
	return RET;
}

/* One IPv6 extension header per run (the parser tail-calls itself for the next one). */
PROG(ipv6_ext)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 nh, next, hlen, fo;

	if (!st)
		return RET;
	nh = st->nhoff;
	next = LD8(nh);
	hlen = LD8(nh + 1);
	if (st->nexthdr == NEXTHDR_FRAGMENT) {
		fo = LD16(nh + 2);
		st->nhoff = nh + 8;
		st->key.flags |= F_FRAG;
		if (fo & 0xfff8) {	/* not the first fragment */
			st->key.ip_proto = next;
			account(st);
			return RET;
		}
	} else if (st->nexthdr == NEXTHDR_AUTH) {
		st->nhoff = nh + ((hlen + 2) << 2);
	} else {
		st->nhoff = nh + ((hlen + 1) << 3);
	}
	next_ip6(ctx, st, next);
	return RET;
}

/* GRE (version 0): flags, protocol, then the optional checksum, key and sequence number. */
PROG(gre)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 nh, flags, proto;

	if (!st)
		return RET;
	nh = st->nhoff;
	flags = LD16(nh);
	proto = LD16(nh + 2);
	if (flags & (GRE_F_VERSION | GRE_F_ROUTING)) {
		/* PPTP's enhanced GRE or source routing: count it as the outer GRE flow */
		account(st);
		return RET;
	}
	nh += 4;
	if (flags & GRE_F_CSUM)
		nh += 4;
	if (flags & GRE_F_KEY)
		nh += 4;
	if (flags & GRE_F_SEQ)
		nh += 4;
	st->nhoff = nh;
	st->key.flags |= F_GRE;
	next_eth(ctx, st, proto);
	return RET;
}

/* TCP and UDP: the ports, then count. */
PROG(ports)(CTX_T *ctx)
{
	struct dissect_state *st = state();
	__u32 ports;

	if (!st)
		return RET;
	ports = LD32(st->nhoff);
	st->key.sport = ports >> 16;
	st->key.dport = ports & 0xffff;
	account(st);
	return RET;
}

/* The entry's common start: a fresh state for this packet. */
static __always_inline struct dissect_state *begin(__u32 nhoff, __u32 len)
{
	struct dissect_state *st = state();

	if (st) {
		__builtin_memset(st, 0, sizeof(*st));
		st->nhoff = nhoff;
		st->len = len;
	}
	return st;
}

#endif

// A flow-accounting XDP program of the kind people deploy: parses Ethernet, up to two 802.1Q/802.1ad tags,
// IPv4 (any IHL, fragments), IPv6 (skipping hop-by-hop/destination-options/routing headers), TCP (data
// offset checked), UDP and ICMP/ICMPv6, with every access bounds-checked the way clang and the verifier
// need it. Maps: a hash of per-flow counters (struct key -> struct value), an array of per-verdict
// packet/byte counters, a per-CPU array of per-protocol counters. Global data: .rodata policy (blocked TCP
// port, minimum TTL), .data and .bss totals. Verdicts: ICMP echo requests are answered in place (XDP_TX,
// checksum updated incrementally), the blocked TCP port and expiring TTLs are dropped, forwarded IPv4 UDP
// gets its TTL decremented (checksum as ip_decrease_ttl), malformed frames are dropped and the experimental
// ethertype 0x88b5 aborts. Run against the kernel by test/kernel_diff.test.ts.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_EXPERIMENTAL 0x88b5
#define MAX_VLAN 2
#define MAX_EXT_HDRS 3

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* linux/icmp.h pulls in libc headers, so the two ICMP headers are spelled out here. */
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

struct icmphdr {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be16 id;
	__be16 sequence;
};

struct icmp6hdr {
	__u8 icmp6_type;
	__u8 icmp6_code;
	__be16 icmp6_cksum;
	__be32 icmp6_data;
};

struct ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
};

enum l4_slot { L4_NONE, L4_TCP, L4_UDP, L4_ICMP, L4_ICMP6, L4_FRAG, L4_OTHER, L4_MAX };

struct flow_key {
	__u8 family;
	__u8 proto;
	__u16 vlan;
	__be16 sport;
	__be16 dport;
	__be32 saddr[4];
	__be32 daddr[4];
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
	__u32 last_len;
	__u8 last_verdict;
	__u8 tcp_flags;
	__u16 pad;
};

struct verdict_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, struct verdict_stats);
} verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, L4_MAX);
	__type(key, __u32);
	__type(value, __u64);
} l4_counts SEC(".maps");

/* Policy (.rodata, frozen by the loader). */
volatile const __u16 blocked_tcp_port = 23;
volatile const __u8 min_ttl = 2;

/* Totals: .data (initialised) and .bss. */
__u64 total_bytes = 1000;
__u64 total_packets;
__u32 last_vlan;

static __always_inline int finish(struct flow_key *key, struct flow_stats *fs, __u64 len, int verdict, __u8 tcp_flags)
{
	struct verdict_stats *vs;
	__u32 vk = verdict;

	vs = bpf_map_lookup_elem(&verdicts, &vk);
	if (vs) {
		__sync_fetch_and_add(&vs->packets, 1);
		__sync_fetch_and_add(&vs->bytes, len);
	}
	total_packets++;
	total_bytes += len;
	if (key) {
		if (fs) {
			fs->packets++;
			fs->bytes += len;
			fs->last_len = len;
			fs->last_verdict = verdict;
			fs->tcp_flags |= tcp_flags;
		} else {
			struct flow_stats init = {
				.packets = 1, .bytes = len, .last_len = len, .last_verdict = verdict, .tcp_flags = tcp_flags,
			};
			bpf_map_update_elem(&flows, key, &init, BPF_NOEXIST);
		}
	}
	return verdict;
}

static __always_inline void count_l4(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&l4_counts, &slot);
	if (c)
		*c += 1;
}

static __always_inline __u16 csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)~c;
}

SEC("xdp")
int xdp_flow(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct ethhdr *eth = data;
	struct flow_key key;
	struct flow_stats *fs;
	void *cur;
	__u16 proto;
	__u8 tcp_flags = 0;
	int i;

	__builtin_memset(&key, 0, sizeof(key));
	if ((void *)(eth + 1) > data_end)
		return finish(0, 0, len, XDP_DROP, 0);
	proto = eth->h_proto;
	cur = eth + 1;

#pragma unroll
	for (i = 0; i < MAX_VLAN; i++) {
		struct vlan_hdr *vh = cur;
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return finish(0, 0, len, XDP_DROP, 0);
		if (i == 0)
			key.vlan = bpf_ntohs(vh->tci) & 0x0fff;
		proto = vh->encap_proto;
		cur = vh + 1;
	}
	last_vlan = key.vlan;

	if (proto == bpf_htons(ETH_P_EXPERIMENTAL))
		return finish(0, 0, len, XDP_ABORTED, 0);

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = cur;
		__u32 hlen;

		if ((void *)(iph + 1) > data_end)
			return finish(0, 0, len, XDP_DROP, 0);
		hlen = iph->ihl * 4;
		if (hlen < sizeof(*iph) || (void *)iph + hlen > data_end)
			return finish(0, 0, len, XDP_DROP, 0);
		key.family = 4;
		key.proto = iph->protocol;
		key.saddr[0] = iph->saddr;
		key.daddr[0] = iph->daddr;
		if (iph->ttl < min_ttl) {
			fs = bpf_map_lookup_elem(&flows, &key);
			return finish(&key, fs, len, XDP_DROP, 0);
		}
		/* Non-first fragments carry no L4 header. */
		if (iph->frag_off & bpf_htons(0x1fff)) {
			count_l4(L4_FRAG);
			fs = bpf_map_lookup_elem(&flows, &key);
			return finish(&key, fs, len, XDP_PASS, 0);
		}
		cur = (void *)iph + hlen;
		if (iph->protocol == IPPROTO_ICMP) {
			struct icmphdr *ic = cur;
			if ((void *)(ic + 1) > data_end)
				return finish(0, 0, len, XDP_DROP, 0);
			count_l4(L4_ICMP);
			key.sport = ic->type;
			fs = bpf_map_lookup_elem(&flows, &key);
			if (ic->type == ICMP_ECHO && ic->code == 0) {
				__u8 mac[ETH_ALEN];
				__be32 a = iph->saddr;
				__u32 sum;

				__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
				__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
				__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
				iph->saddr = iph->daddr;
				iph->daddr = a;
				/* RFC 1624: HC' = ~(~HC + ~m + m'), m = type<<8|code = 0x0800, m' = 0. */
				sum = (__u16)~bpf_ntohs(ic->checksum) + (__u16)~0x0800;
				ic->type = ICMP_ECHOREPLY;
				ic->checksum = bpf_htons(csum_fold(sum));
				return finish(&key, fs, len, XDP_TX, 0);
			}
			return finish(&key, fs, len, XDP_PASS, 0);
		}
		if (iph->protocol == IPPROTO_UDP) {
			struct udphdr *uh = cur;
			__u32 check;

			if ((void *)(uh + 1) > data_end)
				return finish(0, 0, len, XDP_DROP, 0);
			count_l4(L4_UDP);
			key.sport = uh->source;
			key.dport = uh->dest;
			fs = bpf_map_lookup_elem(&flows, &key);
			/* Forwarding: ip_decrease_ttl(). */
			check = iph->check;
			check += bpf_htons(0x0100);
			iph->check = (__u16)(check + (check >= 0xffff));
			iph->ttl--;
			return finish(&key, fs, len, XDP_PASS, 0);
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cur;
		__u8 next;

		if ((void *)(ip6 + 1) > data_end)
			return finish(0, 0, len, XDP_DROP, 0);
		key.family = 6;
		__builtin_memcpy(key.saddr, &ip6->saddr, 16);
		__builtin_memcpy(key.daddr, &ip6->daddr, 16);
		if (ip6->hop_limit < min_ttl) {
			key.proto = ip6->nexthdr;
			fs = bpf_map_lookup_elem(&flows, &key);
			return finish(&key, fs, len, XDP_DROP, 0);
		}
		next = ip6->nexthdr;
		cur = ip6 + 1;
#pragma unroll
		for (i = 0; i < MAX_EXT_HDRS; i++) {
			struct ipv6_ext *ext = cur;
			if (next != IPPROTO_HOPOPTS && next != IPPROTO_DSTOPTS && next != IPPROTO_ROUTING)
				break;
			if ((void *)(ext + 1) > data_end)
				return finish(0, 0, len, XDP_DROP, 0);
			next = ext->nexthdr;
			cur += (ext->hdrlen + 1) * 8;
		}
		key.proto = next;
		if (next == IPPROTO_ICMPV6) {
			struct icmp6hdr *ic6 = cur;
			if ((void *)(ic6 + 1) > data_end)
				return finish(0, 0, len, XDP_DROP, 0);
			count_l4(L4_ICMP6);
			key.sport = ic6->icmp6_type;
			fs = bpf_map_lookup_elem(&flows, &key);
			return finish(&key, fs, len, XDP_PASS, 0);
		}
		if (next == IPPROTO_UDP) {
			struct udphdr *uh = cur;
			if ((void *)(uh + 1) > data_end)
				return finish(0, 0, len, XDP_DROP, 0);
			count_l4(L4_UDP);
			key.sport = uh->source;
			key.dport = uh->dest;
			fs = bpf_map_lookup_elem(&flows, &key);
			return finish(&key, fs, len, XDP_PASS, 0);
		}
	} else {
		count_l4(L4_NONE);
		return finish(0, 0, len, XDP_PASS, 0);
	}

	/* TCP for both families; anything else is counted as other. */
	if (key.proto == IPPROTO_TCP) {
		struct tcphdr *th = cur;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return finish(0, 0, len, XDP_DROP, 0);
		doff = th->doff * 4;
		if (doff < sizeof(*th) || cur + doff > data_end)
			return finish(0, 0, len, XDP_DROP, 0);
		count_l4(L4_TCP);
		key.sport = th->source;
		key.dport = th->dest;
		tcp_flags = ((__u8 *)th)[13];
		fs = bpf_map_lookup_elem(&flows, &key);
		if (th->dest == bpf_htons(blocked_tcp_port))
			return finish(&key, fs, len, XDP_DROP, tcp_flags);
		return finish(&key, fs, len, XDP_PASS, tcp_flags);
	}
	count_l4(L4_OTHER);
	fs = bpf_map_lookup_elem(&flows, &key);
	return finish(&key, fs, len, XDP_PASS, 0);
}

char LICENSE[] SEC("license") = "GPL";

// A realistic XDP parser: Ethernet, up to two VLAN tags, IPv4 (with options) and IPv6, then TCP or UDP,
// every header access bounds-checked against data_end. It counts packets per protocol in an array map,
// keeps per-flow packet/byte counters in a hash map, pops an outer VLAN tag (bpf_xdp_adjust_head),
// trims UDP payload on the discard port (bpf_xdp_adjust_tail), answers UDP echo with XDP_TX and drops
// telnet. Later issues run this object against the kernel and compare return values, packets and maps.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define VLAN_MAX_DEPTH 2
#define POP_VLAN_ID 100
#define DISCARD_PORT 9
#define ECHO_PORT 7
#define TELNET_PORT 23
#define TRIM_TO 64

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

enum proto_slot {
	SLOT_OTHER = 0,
	SLOT_IPV4 = 1,
	SLOT_IPV6 = 2,
	SLOT_TCP = 3,
	SLOT_UDP = 4,
	SLOT_VLAN = 5,
	SLOT_BAD = 6,
	SLOT_MAX = 8,
};

struct flow_key {
	__u8 family;
	__u8 proto;
	__be16 sport;
	__be16 dport;
	__u16 pad;
	__be32 src[4];
	__be32 dst[4];
};

struct flow_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} proto_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flow_table SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&proto_stats, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void account_flow(struct flow_key *key, __u64 len)
{
	struct flow_value *fv = bpf_map_lookup_elem(&flow_table, key);
	if (fv) {
		__sync_fetch_and_add(&fv->packets, 1);
		__sync_fetch_and_add(&fv->bytes, len);
	} else {
		struct flow_value init = { .packets = 1, .bytes = len };
		bpf_map_update_elem(&flow_table, key, &init, BPF_NOEXIST);
	}
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/* Remove the outermost VLAN tag: move the two MAC addresses 4 bytes up, then drop 4 bytes of head. */
static __always_inline int pop_vlan(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vlan_hdr *vh = data + sizeof(*eth);
	struct ethhdr copy;

	if ((void *)(vh + 1) > data_end)
		return -1;
	__builtin_memcpy(&copy, eth, sizeof(copy));
	copy.h_proto = vh->h_vlan_encapsulated_proto;
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(*vh)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, &copy, sizeof(*eth));
	return 0;
}

SEC("xdp")
int xdp_parser(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct flow_key key = {};
	__u64 pkt_len = data_end - data;
	__u16 h_proto;
	__u16 outer_vid = 0;
	void *l4;
	int i;

	if ((void *)(eth + 1) > data_end) {
		count(SLOT_BAD);
		return XDP_DROP;
	}
	h_proto = eth->h_proto;
	l4 = eth + 1;

#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		struct vlan_hdr *vh = l4;
		if (h_proto != bpf_htons(ETH_P_8021Q) && h_proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end) {
			count(SLOT_BAD);
			return XDP_DROP;
		}
		if (i == 0)
			outer_vid = bpf_ntohs(vh->h_vlan_TCI) & 0x0fff;
		h_proto = vh->h_vlan_encapsulated_proto;
		l4 = vh + 1;
		count(SLOT_VLAN);
	}

	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l4;
		if ((void *)(iph + 1) > data_end || iph->ihl < 5) {
			count(SLOT_BAD);
			return XDP_DROP;
		}
		if ((void *)iph + iph->ihl * 4 > data_end) {
			count(SLOT_BAD);
			return XDP_DROP;
		}
		count(SLOT_IPV4);
		key.family = 4;
		key.proto = iph->protocol;
		key.src[0] = iph->saddr;
		key.dst[0] = iph->daddr;
		l4 = (void *)iph + iph->ihl * 4;
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = l4;
		if ((void *)(ip6h + 1) > data_end) {
			count(SLOT_BAD);
			return XDP_DROP;
		}
		count(SLOT_IPV6);
		key.family = 6;
		key.proto = ip6h->nexthdr;
		__builtin_memcpy(key.src, &ip6h->saddr, sizeof(key.src));
		__builtin_memcpy(key.dst, &ip6h->daddr, sizeof(key.dst));
		l4 = ip6h + 1;
	} else {
		count(SLOT_OTHER);
		return XDP_PASS;
	}

	if (key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end) {
			count(SLOT_BAD);
			return XDP_DROP;
		}
		count(SLOT_TCP);
		key.sport = th->source;
		key.dport = th->dest;
	} else if (key.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end) {
			count(SLOT_BAD);
			return XDP_DROP;
		}
		count(SLOT_UDP);
		key.sport = uh->source;
		key.dport = uh->dest;
	}

	account_flow(&key, pkt_len);

	if (key.proto == IPPROTO_TCP && key.dport == bpf_htons(TELNET_PORT))
		return XDP_DROP;

	if (key.proto == IPPROTO_UDP && key.dport == bpf_htons(ECHO_PORT)) {
		swap_macs(eth);
		return XDP_TX;
	}

	if (key.proto == IPPROTO_UDP && key.dport == bpf_htons(DISCARD_PORT) && pkt_len > TRIM_TO) {
		if (bpf_xdp_adjust_tail(ctx, (int)(TRIM_TO - pkt_len)))
			return XDP_ABORTED;
	}

	if (outer_vid == POP_VLAN_ID) {
		if (pop_vlan(ctx))
			return XDP_ABORTED;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

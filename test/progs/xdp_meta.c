// XDP metadata: xdp_meta reserves 8 bytes in front of the packet with bpf_xdp_adjust_meta, writes a mark
// derived from the source MAC, the ethertype and the length there, and keeps per-mark counters in a hash.
// IPv6 frames then lose their Ethernet header (bpf_xdp_adjust_head moves the metadata along). Before that
// it probes the helper's rules (4-byte multiples, the size limit, not past data) and records the results
// in .bss. The test run's data_out starts at data_meta, so the metadata is compared too.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct meta {
	__u32 mark;
	__be16 proto;
	__u16 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} marks SEC(".maps");

int meta_results[6];
__u32 meta_len_seen;

SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
	void *data, *data_end, *data_meta;
	struct ethhdr *eth;
	struct meta *m;
	__u64 *cnt;
	__u32 mark;

	meta_results[0] = bpf_xdp_adjust_meta(ctx, -3);	/* not a multiple of 4 */
	meta_results[1] = bpf_xdp_adjust_meta(ctx, -36);	/* over 32 bytes: older kernels refuse, 6.18 takes it */
	meta_results[2] = bpf_xdp_adjust_meta(ctx, 4);
	meta_results[3] = bpf_xdp_adjust_meta(ctx, -32);
	meta_results[4] = bpf_xdp_adjust_meta(ctx, 24);
	if (meta_results[3] || meta_results[4])
		return XDP_ABORTED;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	data_meta = (void *)(long)ctx->data_meta;
	m = data_meta;
	eth = data;
	if ((void *)(m + 1) > data || (void *)(eth + 1) > data_end)
		return XDP_DROP;
	meta_len_seen = data - data_meta;
	mark = ((__u32)eth->h_source[2] << 24) | ((__u32)eth->h_source[3] << 16) |
	       ((__u32)eth->h_source[4] << 8) | eth->h_source[5];
	m->mark = mark;
	m->proto = eth->h_proto;
	m->len = data_end - data;

	cnt = bpf_map_lookup_elem(&marks, &mark);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&marks, &mark, &one, BPF_NOEXIST);
	}

	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		meta_results[5] = bpf_xdp_adjust_head(ctx, sizeof(*eth));
		data = (void *)(long)ctx->data;
		data_meta = (void *)(long)ctx->data_meta;
		m = data_meta;
		if ((void *)(m + 1) > data)
			return XDP_ABORTED;
		m->len |= 0x8000;
		return XDP_TX;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

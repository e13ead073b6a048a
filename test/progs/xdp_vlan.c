// XDP programs that move the packet head with bpf_xdp_adjust_head. xdp_vlan pushes an 802.1Q tag onto
// untagged IP frames (VLAN id from .rodata) and strips the outer tag of frames on the strip VLAN (also the
// outer 802.1ad tag of QinQ frames), counting per VLAN in a hash and per operation in an array.
// xdp_head_limits probes the helper's edges (the 216 usable bytes of headroom, ETH_HLEN at the end) and
// records each result in .bss. Run against the kernel by test/kernel_diff.test.ts.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

enum op { OP_PUSHED, OP_POPPED, OP_PASSED, OP_FAILED, OP_MAX };

struct vid_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vlan_ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, struct vid_stats);
} vid_seen SEC(".maps");

volatile const __u16 push_vid = 42;
volatile const __u8 push_prio = 5;
volatile const __u16 strip_vid = 100;

/* Results of xdp_head_limits' adjust_head calls, in call order. */
int head_results[6];
__u32 head_len_after;

static __always_inline int op(__u32 o, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&vlan_ops, &o);
	if (c)
		*c += 1;
	return verdict;
}

static __always_inline void see_vid(__u16 vid, __u64 len)
{
	struct vid_stats *s = bpf_map_lookup_elem(&vid_seen, &vid);
	if (s) {
		s->packets++;
		s->bytes += len;
	} else {
		struct vid_stats init = { 1, len };
		bpf_map_update_elem(&vid_seen, &vid, &init, BPF_ANY);
	}
}

SEC("xdp")
int xdp_vlan(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ethhdr copy;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return op(OP_FAILED, XDP_DROP);
	proto = eth->h_proto;
	__builtin_memcpy(&copy, eth, sizeof(copy));

	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = (void *)(eth + 1);
		__u16 vid;

		if ((void *)(vh + 1) > data_end)
			return op(OP_FAILED, XDP_DROP);
		vid = bpf_ntohs(vh->tci) & 0x0fff;
		see_vid(vid, data_end - data);
		if (vid != strip_vid)
			return op(OP_PASSED, XDP_PASS);
		/* Pop: the MAC addresses move 4 bytes towards the payload, the inner ethertype becomes h_proto. */
		copy.h_proto = vh->encap_proto;
		if (bpf_xdp_adjust_head(ctx, (int)sizeof(*vh)))
			return op(OP_FAILED, XDP_ABORTED);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		if ((void *)(eth + 1) > data_end)
			return op(OP_FAILED, XDP_ABORTED);
		__builtin_memcpy(eth, &copy, sizeof(*eth));
		return op(OP_POPPED, XDP_PASS);
	}

	if (proto == bpf_htons(ETH_P_IP) || proto == bpf_htons(ETH_P_IPV6)) {
		struct vlan_hdr *vh;

		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*vh)))
			return op(OP_FAILED, XDP_ABORTED);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			return op(OP_FAILED, XDP_ABORTED);
		__builtin_memcpy(eth->h_dest, copy.h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_source, copy.h_source, ETH_ALEN);
		eth->h_proto = bpf_htons(ETH_P_8021Q);
		vh->tci = bpf_htons(((__u16)push_prio << 13) | (push_vid & 0x0fff));
		vh->encap_proto = proto;
		see_vid(push_vid, data_end - data);
		return op(OP_PUSHED, XDP_TX);
	}
	return op(OP_PASSED, XDP_PASS);
}

SEC("xdp")
int xdp_head_limits(struct xdp_md *ctx)
{
	int len = ctx->data_end - ctx->data;

	/* 256 bytes of headroom, of which struct xdp_frame (40) is reserved: 216 usable. */
	head_results[0] = bpf_xdp_adjust_head(ctx, -216);
	head_results[1] = bpf_xdp_adjust_head(ctx, -1);
	head_results[2] = bpf_xdp_adjust_head(ctx, 216);
	/* At least ETH_HLEN bytes must stay. */
	head_results[3] = bpf_xdp_adjust_head(ctx, len - 13);
	head_results[4] = bpf_xdp_adjust_head(ctx, len - 14);
	head_results[5] = bpf_xdp_adjust_head(ctx, 1);
	head_len_after = ctx->data_end - ctx->data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

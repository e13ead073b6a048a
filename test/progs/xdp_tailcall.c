// A tail-call dispatcher: xdp_dispatch jumps through a prog array by IP protocol class (slot 0 TCP,
// slot 1 UDP) and returns XDP_PASS when the slot is empty. The targets count in an array and return
// their own verdicts. The slots are filled at run time (the kernel backend's prog-array updates), not
// statically, so the empty-slot path is reachable.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jump_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void hit(__u32 k)
{
	__u64 *c = bpf_map_lookup_elem(&hits, &k);
	if (c)
		*c += 1;
}

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);

	hit(2);
	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (iph->protocol == IPPROTO_TCP)
		bpf_tail_call(ctx, &jump_table, 0);
	else if (iph->protocol == IPPROTO_UDP)
		bpf_tail_call(ctx, &jump_table, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_tcp_target(struct xdp_md *ctx)
{
	hit(0);
	return XDP_DROP;
}

SEC("xdp")
int xdp_udp_target(struct xdp_md *ctx)
{
	hit(1);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

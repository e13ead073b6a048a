// bpf-to-bpf calls: static and global subprograms in `.text`, nested calls (a -> b -> c), one subprogram
// called from two programs in different sections, a callback passed by address to bpf_loop (lddw with
// src=BPF_PSEUDO_FUNC), and one program calling a global subprogram twice.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static __attribute__((noinline)) __u64 square(__u64 x)
{
	return x * x;
}

static __attribute__((noinline)) __u64 sum_squares(__u64 a, __u64 b)
{
	return square(a) + square(b);
}

__attribute__((noinline)) int store_result(__u32 key, __u64 value)
{
	__u64 *slot = bpf_map_lookup_elem(&results, &key);
	if (!slot)
		return -1;
	*slot = value;
	return 0;
}

struct loop_ctx {
	__u64 acc;
};

static long add_index(__u32 index, void *data)
{
	struct loop_ctx *lc = data;
	lc->acc += square(index);
	return 0;
}

SEC("xdp")
int calls_nested(struct xdp_md *ctx)
{
	__u64 r = sum_squares(3, 4);
	store_result(0, r);
	return r == 25 ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int calls_shared(struct __sk_buff *skb)
{
	store_result(1, square(skb->len));
	store_result(2, 7);
	return 0;
}

SEC("xdp")
int calls_loop(struct xdp_md *ctx)
{
	struct loop_ctx lc = { .acc = 0 };
	bpf_loop(5, add_index, &lc, 0);
	store_result(3, lc.acc);
	return lc.acc == 30 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

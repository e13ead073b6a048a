// Programs of bench/tailcall.ts (the cost of a tail call, as the 2015 letter measured it): tb_drop is the
// single-program baseline; tb_entry tail-calls slot 0 (tb_drop), a two-program chain; tb_self tail-calls
// slot 1 (itself) until the 33-call limit, a 34-program chain.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} tb_jmp SEC(".maps");

SEC("xdp")
int tb_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int tb_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &tb_jmp, 0);
	return XDP_PASS;
}

SEC("xdp")
int tb_self(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &tb_jmp, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

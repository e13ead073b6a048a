// Programs of `tsbpf bench` (src/cli/bench.ts) for the cost of a tail call, run on tsbpf and on the kernel:
// bt_drop is the single-program baseline (XDP_DROP); bt_const tail-calls slot 0 with a constant key (the
// kernel's JIT patches such a call into a direct jump); bt_var tail-calls the slot named by
// ctx->rx_queue_index, a key the verifier cannot know (0 in a test run: the kernel runs on queue 0 of lo),
// so the kernel takes its indirect path; bt_self tail-calls slot 1 (itself) until the 33-call limit, a
// 34-program chain. The benchmark fills slot 0 with bt_drop and slot 1 with bt_self.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} bt_jmp SEC(".maps");

SEC("xdp")
int bt_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int bt_const(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &bt_jmp, 0);
	return XDP_PASS;
}

SEC("xdp")
int bt_var(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &bt_jmp, ctx->rx_queue_index);
	return XDP_PASS;
}

SEC("xdp")
int bt_self(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &bt_jmp, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// (test/progs/reject: every loader must refuse it.) A tail call through a plain array (not a prog array): the kernel's verifier refuses it with EINVAL
// ("cannot pass map_type 2 into func bpf_tail_call#12"), and so must tsbpf's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} not_progs SEC(".maps");

SEC("xdp")
int bad_tail(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &not_progs, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

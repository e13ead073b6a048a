// bpf-to-bpf calls whose callee lives in a program section rather than `.text`: one from the same section
// and one from another section. tsbpf links these like `.text` subprograms (the callee is then both a
// program of its own and a subprogram of its callers); libbpf 1.x refuses such objects ("bad call relo"),
// so runs against the kernel must skip this object.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) SEC("xdp") int xdp_callee(struct xdp_md *ctx)
{
	return ctx->ingress_ifindex == 7 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_same_section(struct xdp_md *ctx)
{
	return xdp_callee(ctx) + 1;
}

SEC("tc")
int tc_other_section(struct __sk_buff *skb)
{
	return xdp_callee((struct xdp_md *)skb) * 2;
}

char LICENSE[] SEC("license") = "GPL";

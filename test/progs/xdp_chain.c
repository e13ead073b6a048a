// Programs of the chain-call tests, the rebuilt selftest of the 2019 series (its xdp_dummy and xdp_drop)
// and bench/chain.ts: one program per XDP verdict, a program that keeps a count per packet, and a PASS
// program that joins the DROP program by a plain tail call (through `jmp_table`, filled at run time) for
// the letter's "XDP tail call" comparison.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int xdp_aborted(struct xdp_md *ctx)
{
	return XDP_ABORTED;
}

/* Counts the packets it sees, then passes them on. */
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&seen, &k);

	if (c)
		__sync_fetch_and_add(c, 1);
	return XDP_PASS;
}

/* XDP_PASS, unless the tail call to jmp_table[0] happens. */
SEC("xdp")
int xdp_pass_tail(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp_table, 0);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";

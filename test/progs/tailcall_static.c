// Static prog-array initialisation (libbpf's `__array(values, ...)` with `[i] = &prog`): slot 0 holds
// st_second, slot 2 st_third; st_entry walks 0 then 2 and falls through on the empty slot 1.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int st_second(struct xdp_md *ctx);
int st_third(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, int (void *));
} st_jmp SEC(".maps") = {
	.values = { [0] = (void *)&st_second, [2] = (void *)&st_third },
};

SEC("xdp")
int st_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &st_jmp, 1); // empty: falls through
	bpf_tail_call(ctx, &st_jmp, 0);
	return 1;
}

SEC("xdp")
int st_second(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &st_jmp, 2);
	return 2;
}

SEC("xdp")
int st_third(struct xdp_md *ctx)
{
	return 3;
}

char LICENSE[] SEC("license") = "GPL";

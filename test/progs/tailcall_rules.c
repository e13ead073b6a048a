// Tail-call rules (issue 4), run against tsbpf and the kernel with the same inputs. Every program is XDP;
// `counts` counts executions per program, `cfg` steers the calls:
//   cfg[0] slot that tc_chain / tc_sub tail-call into, cfg[1] failed calls with an index out of range that
//   the first tc_chain of a run makes first, cfg[2] failed calls through the empty slot cfg[3].
// Slots of `jmp` are filled by the tests (none statically), so every slot starts empty.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_FAILS 40

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} cfg SEC(".maps");

enum { C_CHAIN, C_LEAF, C_PING, C_PONG, C_STACK, C_SUB, C_LOOP };

static __always_inline __u64 bump(__u32 k)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &k);
	if (!c)
		return 0;
	*c += 1;
	return *c;
}

static __always_inline __u32 cfg_get(__u32 k)
{
	__u32 *v = bpf_map_lookup_elem(&cfg, &k);
	return v ? *v : 0;
}

// Counts itself, tail-calls slot cfg[0]; falls through with its execution number (1 + tail calls made).
SEC("xdp")
int tc_chain(struct xdp_md *ctx)
{
	__u64 n = bump(C_CHAIN);

	if (n == 1) {
		__u32 oor = cfg_get(1), empty = cfg_get(2), eslot = cfg_get(3);
		for (int i = 0; i < MAX_FAILS; i++) {
			if (i >= oor)
				break;
			bpf_tail_call(ctx, &jmp, 1000 + i);
		}
		for (int i = 0; i < MAX_FAILS; i++) {
			if (i >= empty)
				break;
			bpf_tail_call(ctx, &jmp, eslot);
		}
	}
	bpf_tail_call(ctx, &jmp, cfg_get(0));
	return n;
}

// A target that does not tail-call.
SEC("xdp")
int tc_leaf(struct xdp_md *ctx)
{
	bump(C_LEAF);
	return 77;
}

// Two programs that call each other through slots 1 and 2.
SEC("xdp")
int tc_ping(struct xdp_md *ctx)
{
	__u64 n = bump(C_PING);

	bpf_tail_call(ctx, &jmp, 2);
	return 1000 + n;
}

SEC("xdp")
int tc_pong(struct xdp_md *ctx)
{
	__u64 n = bump(C_PONG);

	bpf_tail_call(ctx, &jmp, 1);
	return 2000 + n;
}

// The frame is reused: tc_stack_a writes its stack, tc_stack_b (slot 2) reads the same bytes uninitialised
// (allowed for privileged loaders) and returns them folded to 32 bits.
SEC("xdp")
int tc_stack_a(struct xdp_md *ctx)
{
	asm volatile("r1 = 0x1122334455667788 ll\n"
		     "*(u64 *)(r10 - 256) = r1\n"
		     "r1 = 0x0badcafe\n"
		     "*(u32 *)(r10 - 200) = r1\n" ::: "r1");
	bpf_tail_call(ctx, &jmp, 2);
	return 1;
}

SEC("xdp")
int tc_stack_b(struct xdp_md *ctx)
{
	__u64 v;
	__u32 w;

	asm volatile("%0 = *(u64 *)(r10 - 256)\n"
		     "%1 = *(u32 *)(r10 - 200)\n" : "=r"(v), "=r"(w));
	bump(C_STACK);
	return (__u32)(v ^ (v >> 32)) ^ w;
}

// A tail call from a subprogram: it replaces the subprogram only, so the target's r0 comes back as the
// subprogram's return value (the kernel's JIT). Falls through with 5, hidden from clang (an empty asm) so
// that it cannot fold the call's result into a constant.
static __attribute__((noinline)) int sub_tc(struct xdp_md *ctx, __u32 slot)
{
	int r = 5;

	bump(C_SUB);
	bpf_tail_call(ctx, &jmp, slot);
	asm volatile("" : "+r"(r));
	return r;
}

SEC("xdp")
int tc_sub(struct xdp_md *ctx)
{
	int r = sub_tc(ctx, cfg_get(0));

	return 1000 + r;
}

// The counter belongs to the whole run: 40 subprogram calls that each tail-call tc_leaf (slot cfg[0])
// succeed 33 times; returns the sum of what the subprogram calls returned.
SEC("xdp")
int tc_sub_loop(struct xdp_md *ctx)
{
	__u32 slot = cfg_get(0);
	int sum = 0;

	for (int i = 0; i < 40; i++) {
		bump(C_LOOP);
		sum += sub_tc(ctx, slot);
	}
	return sum;
}

char LICENSE[] SEC("license") = "GPL";

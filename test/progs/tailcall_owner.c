// Owner-type checks of prog arrays (issue 4): a socket filter that tail-calls through a prog array with the
// same definition as tailcall_rules.o's `jmp` (the tests load it against an XDP-owned one: EINVAL), and one
// that uses no prog array (storing it in an XDP-owned array: EINVAL).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

SEC("socket")
int sock_tc(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp, 0);
	return 0;
}

SEC("socket")
int sock_plain(struct __sk_buff *skb)
{
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

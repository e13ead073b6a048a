// Legacy map definitions: `struct bpf_map_def` objects in the `maps` section (pre-BTF style, as in the
// kernel's old samples/bpf), one map per symbol, referenced from a socket filter and a kprobe.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* LD_ABS byte load, as the kernel samples declare it */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") proto_count = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") pid_seen = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 10240,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") prog_table = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 4,
};

SEC("socket")
int count_protocols(struct __sk_buff *skb)
{
	__u32 proto = load_byte(skb, 23);
	__u64 *v = bpf_map_lookup_elem(&proto_count, &proto);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	bpf_tail_call(skb, &prog_table, proto & 3);
	return 0;
}

SEC("kprobe/__x64_sys_getpid")
int trace_getpid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&pid_seen, &pid, &now, BPF_ANY);
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
__u32 _version SEC("version") = 0x050a00;

// BTF-defined maps of many types in `.maps`: every field the loader reads (type, max_entries, key/value as
// types or as sizes, map_flags, pinning), a prog array and an array of maps with static initialisers, and a
// hash of maps with an inner-map template. One XDP program touches each map so the runtime can test them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 16);
} percpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct flow_stats);
} percpu_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lru_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
} lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16);
	__type(value, __u32);
} work_queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 8);
	__type(value, __u64);
} undo_stack SEC(".maps");

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 100);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_array);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 16);
		__type(key, __u32);
		__type(value, __u64);
	});
} outer_hash SEC(".maps");

int tail_one(struct xdp_md *ctx);
int tail_two(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_one, [3] = (void *)&tail_two },
};

SEC("xdp")
int tail_one(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

SEC("xdp")
int tail_two(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int use_maps(struct xdp_md *ctx)
{
	struct flow_key fk = { .saddr = 1, .daddr = 2, .sport = 3, .dport = 4, .proto = 6 };
	struct flow_stats zero = {}, *fs;
	__u32 key = 0, qv = 7, *inner_v;
	__u64 sv = 9, *cnt;
	void *inner;

	fs = bpf_map_lookup_elem(&flows, &fk);
	if (!fs) {
		bpf_map_update_elem(&flows, &fk, &zero, BPF_NOEXIST);
		fs = bpf_map_lookup_elem(&flows, &fk);
		if (!fs)
			return XDP_ABORTED;
	}
	fs->packets++;
	fs->bytes += ctx->data_end - ctx->data;

	cnt = bpf_map_lookup_elem(&counters, &key);
	if (cnt)
		*cnt += 1;
	bpf_map_lookup_elem(&percpu_stats, &key);
	bpf_map_lookup_elem(&percpu_flows, &key);
	bpf_map_update_elem(&lru_cache, &sv, &qv, BPF_ANY);
	bpf_map_lookup_elem(&lru_percpu, &key);
	bpf_ringbuf_output(&events, &fk, sizeof(fk), 0);
	bpf_map_push_elem(&work_queue, &qv, BPF_ANY);
	bpf_map_push_elem(&undo_stack, &sv, BPF_ANY);

	struct lpm_v4_key lk = { .prefixlen = 32, .addr = { 10, 0, 0, 1 } };
	bpf_map_lookup_elem(&routes, &lk);

	inner = bpf_map_lookup_elem(&outer_array, &key);
	if (inner) {
		inner_v = bpf_map_lookup_elem(inner, &key);
		if (inner_v)
			*inner_v += 1;
	}
	inner = bpf_map_lookup_elem(&outer_hash, &key);
	if (inner)
		bpf_map_lookup_elem(inner, &key);

	bpf_tail_call(ctx, &jump_table, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

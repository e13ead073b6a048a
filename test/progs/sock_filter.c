// A socket filter (SEC("socket")) reading the packet the classic way: LD_ABS/LD_IND through clang's
// llvm.bpf.load.* intrinsics (constant and variable offsets, including offsets past the end, where the
// kernel ends the program with 0), bpf_skb_load_bytes, and the __sk_buff fields a socket filter may read;
// it writes cb[0]. The return value is how many bytes to keep: all of TCP to port 22, 64 of UDP, none of
// ICMP and other protocols, 0xffffffff (everything) for IPv6. Maps: per-IP-protocol counters (array) and
// per-source-address counters (hash); .bss keeps the last __sk_buff fields seen.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct src_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} ip_protos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct src_stats);
} sources SEC(".maps");

/* The last packet's __sk_buff fields: len, protocol, pkt_type, ifindex, mark, priority, queue_mapping,
 * cb[1], hash, ingress_ifindex, vlan_present. */
__u32 skb_fields[11];
__u32 first_bytes;
__u32 load_bytes_ret;

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	struct src_stats *s;
	__u32 proto, ihl, saddr, dport;
	__u64 *pc;
	__u8 buf[20];
	int r;

	skb_fields[0] = skb->len;
	skb_fields[1] = skb->protocol;
	skb_fields[2] = skb->pkt_type;
	skb_fields[3] = skb->ifindex;
	skb_fields[4] = skb->mark;
	skb_fields[5] = skb->priority;
	skb_fields[6] = skb->queue_mapping;
	skb_fields[7] = skb->cb[1];
	skb_fields[8] = skb->hash;
	skb_fields[9] = skb->ingress_ifindex;
	skb_fields[10] = skb->vlan_present;
	skb->cb[0] = skb->len + 1;

	r = bpf_skb_load_bytes(skb, 0, buf, sizeof(buf));
	load_bytes_ret = r;
	if (r == 0)
		first_bytes = buf[0] | (buf[1] << 8) | (buf[2] << 16) | ((__u32)buf[19] << 24);

	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		/* next header at offset 6 of the IPv6 header */
		proto = load_byte(skb, 6);
		pc = bpf_map_lookup_elem(&ip_protos, &proto);
		if (pc)
			__sync_fetch_and_add(pc, 1);
		return -1;
	}
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;

	ihl = (load_byte(skb, 0) & 0x0f) * 4;
	proto = load_byte(skb, 9);
	saddr = load_word(skb, 12);
	pc = bpf_map_lookup_elem(&ip_protos, &proto);
	if (pc)
		__sync_fetch_and_add(pc, 1);
	s = bpf_map_lookup_elem(&sources, &saddr);
	if (s) {
		s->packets++;
		s->bytes += skb->len;
	} else {
		struct src_stats init = { 1, skb->len };
		bpf_map_update_elem(&sources, &saddr, &init, BPF_ANY);
	}

	if (proto == IPPROTO_TCP) {
		/* LD_IND: a variable offset; past the end the kernel returns 0 from the program. */
		dport = load_half(skb, ihl + 2);
		return dport == 22 ? skb->len : 0;
	}
	if (proto == IPPROTO_UDP) {
		dport = load_half(skb, ihl + 2);
		if (dport == 53)
			return skb->len;
		return 64;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// XDP programs that move the packet tail with bpf_xdp_adjust_tail. xdp_tail trims IPv4 UDP datagrams to a
// payload of `udp_keep` bytes (fixing tot_len with an RFC 1624 checksum update, the UDP length, and
// clearing the UDP checksum) and answers them with XDP_TX; it appends a 4-byte trailer to IPv4 TCP frames.
// xdp_tail_limits probes the helper's edges (grow within the test run's 4 KiB frame, shrink to ETH_HLEN)
// and records each result in .bss. Run against the kernel by test/kernel_diff.test.ts.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_LEN 4096

enum { T_TRIMMED, T_GROWN, T_UNTOUCHED, T_FAILED, T_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, T_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tail_ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);	/* original length */
	__type(value, __u32);	/* length after */
} len_map SEC(".maps");

volatile const __u16 udp_keep = 8;
volatile const __u32 trailer = 0xc0ffee00;

int tail_results[7];
__u32 tail_len_after;

static __always_inline int op(__u32 o, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&tail_ops, &o);
	if (c)
		*c += 1;
	return verdict;
}

static __always_inline __u16 csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)~c;
}

SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = data_end - data;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u32 hlen, after;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return op(T_UNTOUCHED, XDP_PASS);
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return op(T_UNTOUCHED, XDP_PASS);
	hlen = iph->ihl * 4;
	if (hlen < sizeof(*iph) || hlen > 60)
		return op(T_FAILED, XDP_DROP);

	if (iph->protocol == IPPROTO_UDP) {
		__u32 keep = sizeof(*eth) + hlen + sizeof(struct udphdr) + udp_keep;
		struct udphdr *uh;
		__u16 old_tot, new_tot;
		__u32 sum;

		if (len <= keep)
			return op(T_UNTOUCHED, XDP_PASS);
		if (bpf_xdp_adjust_tail(ctx, (int)keep - (int)len))
			return op(T_FAILED, XDP_ABORTED);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		iph = data + sizeof(*eth);
		if ((void *)(iph + 1) > data_end)
			return op(T_FAILED, XDP_ABORTED);
		uh = (void *)iph + hlen;
		if ((void *)(uh + 1) > data_end)
			return op(T_FAILED, XDP_ABORTED);
		old_tot = bpf_ntohs(iph->tot_len);
		new_tot = hlen + sizeof(*uh) + udp_keep;
		sum = (__u16)~bpf_ntohs(iph->check) + (__u16)~old_tot + new_tot;
		iph->tot_len = bpf_htons(new_tot);
		iph->check = bpf_htons(csum_fold(sum));
		uh->len = bpf_htons(sizeof(*uh) + udp_keep);
		uh->check = 0;
		after = data_end - data;
		bpf_map_update_elem(&len_map, &len, &after, BPF_ANY);
		return op(T_TRIMMED, XDP_TX);
	}

	if (iph->protocol == IPPROTO_TCP) {
		__u64 off = len;
		__u8 *t;

		if (len >= MAX_LEN)
			return op(T_UNTOUCHED, XDP_PASS);
		if (bpf_xdp_adjust_tail(ctx, 4))
			return op(T_FAILED, XDP_ABORTED);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		/* clang drops a plain mask as redundant after the check above; the verifier needs to see it */
		asm volatile("%0 &= 0xfff" : "+r"(off));
		t = data + off;
		if ((void *)(t + 4) > data_end)
			return op(T_FAILED, XDP_ABORTED);
		*(__u32 *)t = bpf_htonl(trailer | (len & 0xff));
		after = data_end - data;
		bpf_map_update_elem(&len_map, &len, &after, BPF_ANY);
		return op(T_GROWN, XDP_PASS);
	}
	return op(T_UNTOUCHED, XDP_PASS);
}

SEC("xdp")
int xdp_tail_limits(struct xdp_md *ctx)
{
	int len = ctx->data_end - ctx->data;

	/* The test run's frame is one 4 KiB page: 256 bytes headroom, 320 of skb_shared_info tailroom. */
	tail_results[0] = bpf_xdp_adjust_tail(ctx, 4096);
	tail_results[1] = bpf_xdp_adjust_tail(ctx, 3520 - len + 1);
	tail_results[2] = bpf_xdp_adjust_tail(ctx, 3520 - len);
	tail_results[3] = bpf_xdp_adjust_tail(ctx, len - 3520);
	/* Shrinking must leave ETH_HLEN bytes. */
	tail_results[4] = bpf_xdp_adjust_tail(ctx, 13 - len);
	tail_results[5] = bpf_xdp_adjust_tail(ctx, 14 - len);
	tail_results[6] = bpf_xdp_adjust_tail(ctx, 0);
	tail_len_after = ctx->data_end - ctx->data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

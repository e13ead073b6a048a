/* sockex3, XDP twin: the flow dissector of flow_dissector.h on an XDP frame, reading the packet with
 * bpf_xdp_load_bytes (a failed read - the packet is too short - ends the program with XDP_PASS, as LD_ABS
 * ends the socket filter). The entry program starts at the MAC header and hands over to the Ethernet
 * parser. Bytes are counted from the network header (frame length - 14), as the socket-filter twin
 * counts skb->len, so both twins build the same flow table. Every program returns XDP_PASS.
 */
#define CTX_T struct xdp_md
#define PROG(name) SEC("xdp") int xdp_##name
#define PNAME(name) xdp_##name
#define RET XDP_PASS

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define LD_N(off, T, conv) ({						\
	T __v;								\
	if (bpf_xdp_load_bytes(ctx, (off), &__v, sizeof(__v)))	\
		return RET;						\
	(__u32)conv(__v);						\
})
#define LD8(off) LD_N(off, __u8, )
#define LD16(off) LD_N(off, __u16, bpf_ntohs)
#define LD32(off) LD_N(off, __u32, bpf_ntohl)

#include "flow_dissector.h"

SEC("xdp")
int xdp_dissect(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	struct dissect_state *st;

	if (len < 14)
		return XDP_PASS;
	st = begin(0, len - 14);
	if (!st)
		return XDP_PASS;
	bpf_tail_call(ctx, &parsers, PARSE_ETH);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

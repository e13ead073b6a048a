/* sockex3, socket-filter twin: the flow dissector of flow_dissector.h reading the packet the classic way,
 * with LD_ABS/LD_IND (clang's llvm.bpf.load.* intrinsics; a load past the end ends the program with 0).
 * A socket filter sees the packet from the network header (a SOCK_DGRAM packet socket, or
 * BPF_PROG_TEST_RUN after eth_type_trans), so the entry program takes the outer ethertype from
 * skb->protocol instead of parsing an Ethernet header; the Ethernet parser is still used for Ethernet
 * inside GRE. Every program returns 0: the socket receives nothing, user space reads the `flows` map.
 */
#define CTX_T struct __sk_buff
#define PROG(name) SEC("socket") int sk_##name
#define PNAME(name) sk_##name
#define RET 0

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

#define LD8(off) ((__u32)load_byte(ctx, (off)))
#define LD16(off) ((__u32)load_half(ctx, (off)))
#define LD32(off) ((__u32)load_word(ctx, (off)))

#include "flow_dissector.h"

SEC("socket")
int sk_dissect(struct __sk_buff *skb)
{
	struct dissect_state *st = begin(0, skb->len);

	if (!st)
		return 0;
	next_eth(skb, st, bpf_ntohs(skb->protocol));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// Program of `tsbpf bench` (src/cli/bench.ts): the RFC 1071 Internet checksum of the whole frame, as
// samples/checksum.asm computes it, but as an XDP program so that the kernel can run the same work
// (a compute-bound single program: 750 loop iterations over a 1500-byte frame). It returns XDP_DROP when
// the folded checksum is odd and XDP_PASS when even, so the result depends on every word and clang cannot
// drop the loop.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_WORDS 1024

SEC("xdp")
int bench_csum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u64 sum = 0;
	int i;

	for (i = 0; i < MAX_WORDS; i++) {
		if ((void *)(p + 2) > data_end)
			break;
		sum += ((__u32)p[0] << 8) | p[1];
		p += 2;
	}
	if ((void *)(p + 1) <= data_end)
		sum += (__u32)p[0] << 8;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return (sum & 1) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

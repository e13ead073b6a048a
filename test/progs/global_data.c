// Global data in every section kind the loader turns into an array map: `.data` (initialised globals),
// `.rodata` (const globals, read-only for programs), `.bss` (zero-initialised), a custom `.data.custom`
// section, and string literals (`.rodata.str1.1`). Both static variables (relocated against the section
// symbol, offset in the instruction's imm) and global ones (relocated against their own symbol).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 packet_count = 5;                     /* .data, global symbol */
static __u64 byte_count = 0x1122334455667788ULL; /* .data, static: section-relative */
const volatile __u32 drop_port = 53;        /* .rodata */
const volatile __u8 mode = 2;               /* .rodata */
static const char banner[8] = "tsbpf!!";    /* .rodata, static */
__u64 last_seen;                            /* .bss */
__u32 scratch[4];                           /* .bss */
static __u32 hits;                          /* .bss, static: section-relative */
__u32 custom_a SEC(".data.custom") = 0xdeadbeef;
__u16 custom_b SEC(".data.custom") = 0x4242;

SEC("xdp")
int global_data_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	packet_count++;
	byte_count += data_end - data;
	last_seen = byte_count;
	scratch[2] = drop_port + mode;
	hits++;
	custom_a ^= banner[3];
	custom_b += 1;
	if (mode == 1)
		bpf_printk("mode one %d", packet_count);
	return scratch[2] == 55 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

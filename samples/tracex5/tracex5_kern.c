/* tracex5: dispatch by syscall number through a prog array (the 2015 bpf_tail_call series' tracing
 * example). The entry program runs at every syscall entry, counts the call, and tail-calls the handler in
 * slot <syscall number> of `progs`; the handlers for read, write, openat, mmap and close print their
 * arguments with bpf_trace_printk. A syscall without a handler (empty slot: the tail call falls through)
 * is printed by the entry program itself, the generic handler.
 *
 * The hook: the program's ctx is the syscall-entry register frame (struct pt_regs as the x86-64 entry
 * code saves it: orig_ax = syscall number, di, si, dx, r10, r8, r9 = the six arguments). `tsbpf trace`
 * replays a strace log as such frames. In the kernel, the object loads and verifies as a kprobe program
 * (tested); a kprobe's registers are those of the probed kernel function, so attaching it for real needs a
 * probe point whose frame is the user's (the original probed seccomp_phase1 and read struct seccomp_data
 * instead).
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
#define NR_read		0
#define NR_write	1
#define NR_close	3
#define NR_mmap		9
#define NR_openat	257
/* One slot per possible number: x86-64 has fewer than 512 syscalls. */
#define NR_SLOTS	512

#define SYSCALL_NR(ctx) ((ctx)->orig_rax)
#define ARG1(ctx) PT_REGS_PARM1_SYSCALL(ctx)
#define ARG2(ctx) PT_REGS_PARM2_SYSCALL(ctx)
#define ARG3(ctx) PT_REGS_PARM3_SYSCALL(ctx)
#define ARG4(ctx) PT_REGS_PARM4_SYSCALL(ctx)
#define ARG5(ctx) PT_REGS_PARM5_SYSCALL(ctx)
#define ARG6(ctx) ((ctx)->r9)

int sys_read(struct pt_regs *ctx);
int sys_write(struct pt_regs *ctx);
int sys_close(struct pt_regs *ctx);
int sys_mmap(struct pt_regs *ctx);
int sys_openat(struct pt_regs *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, NR_SLOTS);
	__type(key, __u32);
	__array(values, int (void *));
} progs SEC(".maps") = {
	.values = {
		[NR_read] = (void *)&sys_read,
		[NR_write] = (void *)&sys_write,
		[NR_close] = (void *)&sys_close,
		[NR_mmap] = (void *)&sys_mmap,
		[NR_openat] = (void *)&sys_openat,
	},
};

/* Calls per syscall number, handled or not. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

SEC("kprobe/syscall_entry")
int syscall_entry(struct pt_regs *ctx)
{
	__u32 nr = SYSCALL_NR(ctx);
	__u64 *n = bpf_map_lookup_elem(&calls, &nr);

	if (n)
		__sync_fetch_and_add(n, 1);
	bpf_tail_call(ctx, &progs, nr);
	/* fell through: no handler for this number (or it is out of range) */
	bpf_printk("syscall %u: no handler, arg1=0x%lx arg2=0x%lx", nr, ARG1(ctx), ARG2(ctx));
	return 0;
}

SEC("kprobe/sys_read")
int sys_read(struct pt_regs *ctx)
{
	bpf_printk("read(fd=%d, buf=0x%lx, count=%lu)", (int)ARG1(ctx), ARG2(ctx), ARG3(ctx));
	return 0;
}

SEC("kprobe/sys_write")
int sys_write(struct pt_regs *ctx)
{
	bpf_printk("write(fd=%d, buf=0x%lx, count=%lu)", (int)ARG1(ctx), ARG2(ctx), ARG3(ctx));
	return 0;
}

SEC("kprobe/sys_close")
int sys_close(struct pt_regs *ctx)
{
	bpf_printk("close(fd=%d)", (int)ARG1(ctx));
	return 0;
}

SEC("kprobe/sys_openat")
int sys_openat(struct pt_regs *ctx)
{
	/* the path is a user pointer: the replayed log has only its address */
	bpf_printk("openat(dfd=%d, filename=0x%lx, flags=0x%lx)", (int)ARG1(ctx), ARG2(ctx), ARG3(ctx));
	return 0;
}

SEC("kprobe/sys_mmap")
int sys_mmap(struct pt_regs *ctx)
{
	/* six arguments, three per bpf_trace_printk */
	bpf_printk("mmap(addr=0x%lx, len=%lu, prot=0x%lx,", ARG1(ctx), ARG2(ctx), ARG3(ctx));
	bpf_printk("     flags=0x%lx, fd=%d, off=0x%lx)", ARG4(ctx), (int)ARG5(ctx), ARG6(ctx));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

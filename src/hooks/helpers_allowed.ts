// Which helpers each program type may call: the kernel's get_func_proto tables, for a privileged loader
// (CAP_BPF + CAP_PERFMON, which is what tsbpf models). Lists name ids, including a few helpers the kernel
// allows that tsbpf does not implement (so the loader can say "not implemented" rather than "not allowed").

/** bpf_base_func_proto(): map helpers, tail calls, clocks, PRNG, ring buffers; with CAP_PERFMON also
 *  trace_printk, snprintf and the probe_read_kernel/user family. */
export const BASE_HELPERS: readonly number[] = [
  1, 2, 3, 87, 88, 89, 195, // map lookup/update/delete, push/pop/peek, lookup_percpu
  7, 8, 42, 12, // prandom, smp_processor_id, numa_node_id, tail_call
  5, 125, 160, // ktime_get_ns, ktime_get_boot_ns, ktime_get_coarse_ns
  130, 131, 132, 133, 134, // ringbuf output/reserve/submit/discard/query
  6, 165, 112, 113, 114, 115, // trace_printk, snprintf, probe_read_{user,kernel}(_str)
];

/** bpf_tracing_func_proto() additions (kprobe, tracepoint): current task, legacy probe_read, perf output, stacks. */
export const TRACING_HELPERS: readonly number[] = [...BASE_HELPERS, 14, 15, 16, 35, 4, 45, 25, 27, 67];

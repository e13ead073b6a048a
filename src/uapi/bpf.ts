// Numbers of the kernel's bpf() ABI (include/uapi/linux/bpf.h as shipped by Debian 12, helper ids from libbpf's
// bpf_helper_defs.h, which the objects clang builds here are compiled against): commands, map and program types,
// attach types, helper ids, flags and XDP verdicts. These are facts, not code.

/** enum bpf_cmd */
export const BPF_CMD = {
  BPF_MAP_CREATE: 0,
  BPF_MAP_LOOKUP_ELEM: 1,
  BPF_MAP_UPDATE_ELEM: 2,
  BPF_MAP_DELETE_ELEM: 3,
  BPF_MAP_GET_NEXT_KEY: 4,
  BPF_PROG_LOAD: 5,
  BPF_OBJ_PIN: 6,
  BPF_OBJ_GET: 7,
  BPF_PROG_ATTACH: 8,
  BPF_PROG_DETACH: 9,
  BPF_PROG_TEST_RUN: 10,
  BPF_PROG_RUN: 10,
  BPF_PROG_GET_NEXT_ID: 11,
  BPF_MAP_GET_NEXT_ID: 12,
  BPF_PROG_GET_FD_BY_ID: 13,
  BPF_MAP_GET_FD_BY_ID: 14,
  BPF_OBJ_GET_INFO_BY_FD: 15,
  BPF_PROG_QUERY: 16,
  BPF_RAW_TRACEPOINT_OPEN: 17,
  BPF_BTF_LOAD: 18,
  BPF_BTF_GET_FD_BY_ID: 19,
  BPF_TASK_FD_QUERY: 20,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM: 21,
  BPF_MAP_FREEZE: 22,
  BPF_BTF_GET_NEXT_ID: 23,
  BPF_MAP_LOOKUP_BATCH: 24,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH: 25,
  BPF_MAP_UPDATE_BATCH: 26,
  BPF_MAP_DELETE_BATCH: 27,
  BPF_LINK_CREATE: 28,
  BPF_LINK_UPDATE: 29,
  BPF_LINK_GET_FD_BY_ID: 30,
  BPF_LINK_GET_NEXT_ID: 31,
  BPF_ENABLE_STATS: 32,
  BPF_ITER_CREATE: 33,
  BPF_LINK_DETACH: 34,
  BPF_PROG_BIND_MAP: 35,
} as const;

/** enum bpf_map_type */
export const BPF_MAP_TYPE = {
  BPF_MAP_TYPE_UNSPEC: 0,
  BPF_MAP_TYPE_HASH: 1,
  BPF_MAP_TYPE_ARRAY: 2,
  BPF_MAP_TYPE_PROG_ARRAY: 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY: 4,
  BPF_MAP_TYPE_PERCPU_HASH: 5,
  BPF_MAP_TYPE_PERCPU_ARRAY: 6,
  BPF_MAP_TYPE_STACK_TRACE: 7,
  BPF_MAP_TYPE_CGROUP_ARRAY: 8,
  BPF_MAP_TYPE_LRU_HASH: 9,
  BPF_MAP_TYPE_LRU_PERCPU_HASH: 10,
  BPF_MAP_TYPE_LPM_TRIE: 11,
  BPF_MAP_TYPE_ARRAY_OF_MAPS: 12,
  BPF_MAP_TYPE_HASH_OF_MAPS: 13,
  BPF_MAP_TYPE_DEVMAP: 14,
  BPF_MAP_TYPE_SOCKMAP: 15,
  BPF_MAP_TYPE_CPUMAP: 16,
  BPF_MAP_TYPE_XSKMAP: 17,
  BPF_MAP_TYPE_SOCKHASH: 18,
  BPF_MAP_TYPE_CGROUP_STORAGE: 19,
  BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: 20,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: 21,
  BPF_MAP_TYPE_QUEUE: 22,
  BPF_MAP_TYPE_STACK: 23,
  BPF_MAP_TYPE_SK_STORAGE: 24,
  BPF_MAP_TYPE_DEVMAP_HASH: 25,
  BPF_MAP_TYPE_STRUCT_OPS: 26,
  BPF_MAP_TYPE_RINGBUF: 27,
  BPF_MAP_TYPE_INODE_STORAGE: 28,
  BPF_MAP_TYPE_TASK_STORAGE: 29,
  BPF_MAP_TYPE_BLOOM_FILTER: 30,
  BPF_MAP_TYPE_USER_RINGBUF: 31,
} as const;

/** enum bpf_prog_type */
export const BPF_PROG_TYPE = {
  BPF_PROG_TYPE_UNSPEC: 0,
  BPF_PROG_TYPE_SOCKET_FILTER: 1,
  BPF_PROG_TYPE_KPROBE: 2,
  BPF_PROG_TYPE_SCHED_CLS: 3,
  BPF_PROG_TYPE_SCHED_ACT: 4,
  BPF_PROG_TYPE_TRACEPOINT: 5,
  BPF_PROG_TYPE_XDP: 6,
  BPF_PROG_TYPE_PERF_EVENT: 7,
  BPF_PROG_TYPE_CGROUP_SKB: 8,
  BPF_PROG_TYPE_CGROUP_SOCK: 9,
  BPF_PROG_TYPE_LWT_IN: 10,
  BPF_PROG_TYPE_LWT_OUT: 11,
  BPF_PROG_TYPE_LWT_XMIT: 12,
  BPF_PROG_TYPE_SOCK_OPS: 13,
  BPF_PROG_TYPE_SK_SKB: 14,
  BPF_PROG_TYPE_CGROUP_DEVICE: 15,
  BPF_PROG_TYPE_SK_MSG: 16,
  BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
  BPF_PROG_TYPE_CGROUP_SOCK_ADDR: 18,
  BPF_PROG_TYPE_LWT_SEG6LOCAL: 19,
  BPF_PROG_TYPE_LIRC_MODE2: 20,
  BPF_PROG_TYPE_SK_REUSEPORT: 21,
  BPF_PROG_TYPE_FLOW_DISSECTOR: 22,
  BPF_PROG_TYPE_CGROUP_SYSCTL: 23,
  BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: 24,
  BPF_PROG_TYPE_CGROUP_SOCKOPT: 25,
  BPF_PROG_TYPE_TRACING: 26,
  BPF_PROG_TYPE_STRUCT_OPS: 27,
  BPF_PROG_TYPE_EXT: 28,
  BPF_PROG_TYPE_LSM: 29,
  BPF_PROG_TYPE_SK_LOOKUP: 30,
  BPF_PROG_TYPE_SYSCALL: 31,
} as const;

/** enum bpf_attach_type */
export const BPF_ATTACH_TYPE = {
  BPF_CGROUP_INET_INGRESS: 0,
  BPF_CGROUP_INET_EGRESS: 1,
  BPF_CGROUP_INET_SOCK_CREATE: 2,
  BPF_CGROUP_SOCK_OPS: 3,
  BPF_SK_SKB_STREAM_PARSER: 4,
  BPF_SK_SKB_STREAM_VERDICT: 5,
  BPF_CGROUP_DEVICE: 6,
  BPF_SK_MSG_VERDICT: 7,
  BPF_CGROUP_INET4_BIND: 8,
  BPF_CGROUP_INET6_BIND: 9,
  BPF_CGROUP_INET4_CONNECT: 10,
  BPF_CGROUP_INET6_CONNECT: 11,
  BPF_CGROUP_INET4_POST_BIND: 12,
  BPF_CGROUP_INET6_POST_BIND: 13,
  BPF_CGROUP_UDP4_SENDMSG: 14,
  BPF_CGROUP_UDP6_SENDMSG: 15,
  BPF_LIRC_MODE2: 16,
  BPF_FLOW_DISSECTOR: 17,
  BPF_CGROUP_SYSCTL: 18,
  BPF_CGROUP_UDP4_RECVMSG: 19,
  BPF_CGROUP_UDP6_RECVMSG: 20,
  BPF_CGROUP_GETSOCKOPT: 21,
  BPF_CGROUP_SETSOCKOPT: 22,
  BPF_TRACE_RAW_TP: 23,
  BPF_TRACE_FENTRY: 24,
  BPF_TRACE_FEXIT: 25,
  BPF_MODIFY_RETURN: 26,
  BPF_LSM_MAC: 27,
  BPF_TRACE_ITER: 28,
  BPF_CGROUP_INET4_GETPEERNAME: 29,
  BPF_CGROUP_INET6_GETPEERNAME: 30,
  BPF_CGROUP_INET4_GETSOCKNAME: 31,
  BPF_CGROUP_INET6_GETSOCKNAME: 32,
  BPF_XDP_DEVMAP: 33,
  BPF_CGROUP_INET_SOCK_RELEASE: 34,
  BPF_XDP_CPUMAP: 35,
  BPF_SK_LOOKUP: 36,
  BPF_XDP: 37,
  BPF_SK_SKB_VERDICT: 38,
  BPF_SK_REUSEPORT_SELECT: 39,
  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  BPF_PERF_EVENT: 41,
  BPF_TRACE_KPROBE_MULTI: 42,
  BPF_LSM_CGROUP: 43,
} as const;

/** enum bpf_func_id: helper name (without the bpf_ prefix) -> id */
export const BPF_FUNC = {
  unspec: 0,
} as const;

/** helper id -> name, for messages ("unknown helper bpf_foo#123"). */
export const HELPER_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, id] of Object.entries(BPF_FUNC)) names[id] = name;
  return names;
})();

const nameOf = (table: Record<string, number>, v: number, what: string): string =>
  Object.keys(table).find((k) => table[k] === v) ?? `${what}#${v}`;
export const mapTypeName = (t: number): string => nameOf(BPF_MAP_TYPE, t, 'map_type');
export const progTypeName = (t: number): string => nameOf(BPF_PROG_TYPE, t, 'prog_type');
export const helperName = (id: number): string => (HELPER_NAMES[id] !== undefined ? `bpf_${HELPER_NAMES[id]}#${id}` : `helper#${id}`);

/** Map update flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** Map creation flags (map_flags). */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_NUMA_NODE = 1 << 2;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_MMAPABLE = 1 << 10;
export const BPF_F_INNER_MAP = 1 << 12;

/** Program load flags (prog_flags). */
export const BPF_F_STRICT_ALIGNMENT = 1 << 0;
export const BPF_F_ANY_ALIGNMENT = 1 << 1;
export const BPF_F_SLEEPABLE = 1 << 4;
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** XDP verdicts (enum xdp_action). */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;

/** Most tail calls one run may make (include/linux/bpf.h MAX_TAIL_CALL_CNT). */
export const MAX_TAIL_CALL_CNT = 33;
/** Headroom in front of an XDP packet (XDP_PACKET_HEADROOM). */
export const XDP_PACKET_HEADROOM = 256;
/** Name length of programs and maps, including the NUL (BPF_OBJ_NAME_LEN). */
export const BPF_OBJ_NAME_LEN = 16;

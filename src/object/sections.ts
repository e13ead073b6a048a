// Program section names -> program type and expected attach type, with libbpf 1.x's matching rules
// (tools/lib/bpf/libbpf.c section_defs): a definition ending in '+' matches the bare name or the name
// followed by '/...'; one ending in '/' matches any name with that prefix; any other matches exactly.
// The first matching definition in table order wins. A leading '?' (SEC("?xdp")) means "do not load
// by default" and is not part of the name that is matched. Unknown names give type UNSPEC, as in libbpf,
// where such a program can still be loaded once the caller sets its type.

import { BPF_ATTACH_TYPE as A, BPF_PROG_TYPE as P } from '../uapi/bpf.js';

/** Attach types newer than the uapi header the project's table was taken from (include/uapi/linux/bpf.h, 6.6+). */
export const BPF_TCX_INGRESS = 46;
export const BPF_TCX_EGRESS = 47;
export const BPF_TRACE_UPROBE_MULTI = 48;
export const BPF_NETKIT_PRIMARY = 54;
export const BPF_NETKIT_PEER = 55;

export interface SectionDef {
  /** Pattern as libbpf writes it: 'kprobe+', 'xdp', 'cgroup_skb/ingress'. */
  readonly sec: string;
  readonly progType: number;
  /** Expected attach type, when the definition has one (libbpf passes 0 otherwise). */
  readonly attachType?: number;
  /** Loaded with BPF_F_SLEEPABLE. */
  readonly sleepable?: boolean;
  /** Loaded with BPF_F_XDP_HAS_FRAGS. */
  readonly xdpFrags?: boolean;
}

const d = (sec: string, progType: number, attachType?: number, extra: Partial<SectionDef> = {}): SectionDef => ({ sec, progType, attachType, ...extra });
const S = { sleepable: true };
const F = { xdpFrags: true };

export const SECTION_DEFS: readonly SectionDef[] = [
  d('socket', P.BPF_PROG_TYPE_SOCKET_FILTER),
  d('sk_reuseport/migrate', P.BPF_PROG_TYPE_SK_REUSEPORT, A.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE),
  d('sk_reuseport', P.BPF_PROG_TYPE_SK_REUSEPORT, A.BPF_SK_REUSEPORT_SELECT),
  d('kprobe+', P.BPF_PROG_TYPE_KPROBE),
  d('uprobe+', P.BPF_PROG_TYPE_KPROBE),
  d('uprobe.s+', P.BPF_PROG_TYPE_KPROBE, undefined, S),
  d('kretprobe+', P.BPF_PROG_TYPE_KPROBE),
  d('uretprobe+', P.BPF_PROG_TYPE_KPROBE),
  d('uretprobe.s+', P.BPF_PROG_TYPE_KPROBE, undefined, S),
  d('kprobe.multi+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_KPROBE_MULTI),
  d('kretprobe.multi+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_KPROBE_MULTI),
  d('uprobe.multi+', P.BPF_PROG_TYPE_KPROBE, BPF_TRACE_UPROBE_MULTI),
  d('uretprobe.multi+', P.BPF_PROG_TYPE_KPROBE, BPF_TRACE_UPROBE_MULTI),
  d('uprobe.multi.s+', P.BPF_PROG_TYPE_KPROBE, BPF_TRACE_UPROBE_MULTI, S),
  d('uretprobe.multi.s+', P.BPF_PROG_TYPE_KPROBE, BPF_TRACE_UPROBE_MULTI, S),
  d('ksyscall+', P.BPF_PROG_TYPE_KPROBE),
  d('kretsyscall+', P.BPF_PROG_TYPE_KPROBE),
  d('usdt+', P.BPF_PROG_TYPE_KPROBE),
  d('usdt.s+', P.BPF_PROG_TYPE_KPROBE, undefined, S),
  d('tc/ingress', P.BPF_PROG_TYPE_SCHED_CLS, BPF_TCX_INGRESS),
  d('tc/egress', P.BPF_PROG_TYPE_SCHED_CLS, BPF_TCX_EGRESS),
  d('tcx/ingress', P.BPF_PROG_TYPE_SCHED_CLS, BPF_TCX_INGRESS),
  d('tcx/egress', P.BPF_PROG_TYPE_SCHED_CLS, BPF_TCX_EGRESS),
  d('tc', P.BPF_PROG_TYPE_SCHED_CLS),
  d('classifier', P.BPF_PROG_TYPE_SCHED_CLS),
  d('action', P.BPF_PROG_TYPE_SCHED_ACT),
  d('netkit/primary', P.BPF_PROG_TYPE_SCHED_CLS, BPF_NETKIT_PRIMARY),
  d('netkit/peer', P.BPF_PROG_TYPE_SCHED_CLS, BPF_NETKIT_PEER),
  d('tracepoint+', P.BPF_PROG_TYPE_TRACEPOINT),
  d('tp+', P.BPF_PROG_TYPE_TRACEPOINT),
  d('raw_tracepoint+', P.BPF_PROG_TYPE_RAW_TRACEPOINT),
  d('raw_tp+', P.BPF_PROG_TYPE_RAW_TRACEPOINT),
  d('raw_tracepoint.w+', P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE),
  d('raw_tp.w+', P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE),
  d('tp_btf+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_RAW_TP),
  d('fentry+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FENTRY),
  d('fmod_ret+', P.BPF_PROG_TYPE_TRACING, A.BPF_MODIFY_RETURN),
  d('fexit+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FEXIT),
  d('fentry.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FENTRY, S),
  d('fmod_ret.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_MODIFY_RETURN, S),
  d('fexit.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FEXIT, S),
  d('freplace+', P.BPF_PROG_TYPE_EXT),
  d('lsm+', P.BPF_PROG_TYPE_LSM, A.BPF_LSM_MAC),
  d('lsm.s+', P.BPF_PROG_TYPE_LSM, A.BPF_LSM_MAC, S),
  d('lsm_cgroup+', P.BPF_PROG_TYPE_LSM, A.BPF_LSM_CGROUP),
  d('iter+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_ITER),
  d('iter.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_ITER, S),
  d('syscall', P.BPF_PROG_TYPE_SYSCALL, undefined, S),
  d('xdp.frags/devmap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_DEVMAP, F),
  d('xdp/devmap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_DEVMAP),
  d('xdp.frags/cpumap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_CPUMAP, F),
  d('xdp/cpumap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_CPUMAP),
  d('xdp.frags', P.BPF_PROG_TYPE_XDP, A.BPF_XDP, F),
  d('xdp', P.BPF_PROG_TYPE_XDP, A.BPF_XDP),
  d('perf_event', P.BPF_PROG_TYPE_PERF_EVENT),
  d('lwt_in', P.BPF_PROG_TYPE_LWT_IN),
  d('lwt_out', P.BPF_PROG_TYPE_LWT_OUT),
  d('lwt_xmit', P.BPF_PROG_TYPE_LWT_XMIT),
  d('lwt_seg6local', P.BPF_PROG_TYPE_LWT_SEG6LOCAL),
  d('sockops', P.BPF_PROG_TYPE_SOCK_OPS, A.BPF_CGROUP_SOCK_OPS),
  d('sk_skb/stream_parser', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_STREAM_PARSER),
  d('sk_skb/stream_verdict', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_STREAM_VERDICT),
  d('sk_skb/verdict', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_VERDICT),
  d('sk_skb', P.BPF_PROG_TYPE_SK_SKB),
  d('sk_msg', P.BPF_PROG_TYPE_SK_MSG, A.BPF_SK_MSG_VERDICT),
  d('lirc_mode2', P.BPF_PROG_TYPE_LIRC_MODE2, A.BPF_LIRC_MODE2),
  d('flow_dissector', P.BPF_PROG_TYPE_FLOW_DISSECTOR, A.BPF_FLOW_DISSECTOR),
  d('cgroup_skb/ingress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS),
  d('cgroup_skb/egress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_EGRESS),
  d('cgroup/skb', P.BPF_PROG_TYPE_CGROUP_SKB),
  d('cgroup/sock_create', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE),
  d('cgroup/sock_release', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_RELEASE),
  d('cgroup/sock', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE),
  d('cgroup/post_bind4', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET4_POST_BIND),
  d('cgroup/post_bind6', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET6_POST_BIND),
  d('cgroup/bind4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_BIND),
  d('cgroup/bind6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_BIND),
  d('cgroup/connect4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_CONNECT),
  d('cgroup/connect6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_CONNECT),
  d('cgroup/sendmsg4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP4_SENDMSG),
  d('cgroup/sendmsg6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP6_SENDMSG),
  d('cgroup/recvmsg4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP4_RECVMSG),
  d('cgroup/recvmsg6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP6_RECVMSG),
  d('cgroup/getpeername4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_GETPEERNAME),
  d('cgroup/getpeername6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_GETPEERNAME),
  d('cgroup/getsockname4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_GETSOCKNAME),
  d('cgroup/getsockname6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_GETSOCKNAME),
  d('cgroup/sysctl', P.BPF_PROG_TYPE_CGROUP_SYSCTL, A.BPF_CGROUP_SYSCTL),
  d('cgroup/getsockopt', P.BPF_PROG_TYPE_CGROUP_SOCKOPT, A.BPF_CGROUP_GETSOCKOPT),
  d('cgroup/setsockopt', P.BPF_PROG_TYPE_CGROUP_SOCKOPT, A.BPF_CGROUP_SETSOCKOPT),
  d('cgroup/dev', P.BPF_PROG_TYPE_CGROUP_DEVICE, A.BPF_CGROUP_DEVICE),
  d('struct_ops+', P.BPF_PROG_TYPE_STRUCT_OPS),
  d('struct_ops.s+', P.BPF_PROG_TYPE_STRUCT_OPS, undefined, S),
  d('sk_lookup', P.BPF_PROG_TYPE_SK_LOOKUP, A.BPF_SK_LOOKUP),
];

function matches(def: string, name: string): boolean {
  const last = def[def.length - 1];
  if (last === '/') return name.startsWith(def);
  if (last === '+') {
    const stem = def.slice(0, -1);
    return name === stem || name.startsWith(stem + '/');
  }
  return name === def;
}

export interface SectionType {
  readonly progType: number;
  readonly expectedAttachType?: number;
  readonly def?: SectionDef;
  /** false for SEC("?...") programs. */
  readonly autoload: boolean;
}

/** Program type and expected attach type for a program section name. */
export function sectionType(secName: string): SectionType {
  const autoload = !secName.startsWith('?');
  const name = autoload ? secName : secName.slice(1);
  for (const def of SECTION_DEFS) {
    if (matches(def.sec, name)) return { progType: def.progType, expectedAttachType: def.attachType, def, autoload };
  }
  return { progType: P.BPF_PROG_TYPE_UNSPEC, autoload };
}

// Many libbpf section names, and several programs per section (libbpf 1.x: every global function in a
// program section is its own program). Bodies are trivial; the point is section -> program type.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PROG(sec, name) SEC(sec) int name(void *ctx) { return __LINE__; }

PROG("xdp", xdp_first)
PROG("xdp", xdp_second)
PROG("xdp", xdp_third)
PROG("xdp.frags", xdp_frags_prog)
PROG("xdp/devmap", xdp_devmap_prog)
PROG("xdp/cpumap", xdp_cpumap_prog)
PROG("socket", socket_prog)
PROG("sk_skb", sk_skb_prog)
PROG("sk_skb/stream_parser", sk_skb_parser)
PROG("sk_msg", sk_msg_prog)
PROG("kprobe/do_sys_open", kprobe_prog)
PROG("kretprobe/do_sys_open", kretprobe_prog)
PROG("uprobe", uprobe_prog)
PROG("tracepoint/syscalls/sys_enter_write", tracepoint_prog)
PROG("tp/sched/sched_switch", tp_prog)
PROG("raw_tracepoint/sys_enter", raw_tracepoint_prog)
PROG("raw_tp/sys_exit", raw_tp_prog)
PROG("tc", tc_prog)
PROG("tc", tc_prog2)
PROG("classifier", classifier_prog)
PROG("action", action_prog)
PROG("tc/ingress", tc_ingress_prog)
PROG("tcx/egress", tcx_egress_prog)
PROG("cgroup_skb/ingress", cgroup_ingress_prog)
PROG("cgroup_skb/egress", cgroup_egress_prog)
PROG("cgroup/connect4", cgroup_connect4_prog)
PROG("perf_event", perf_event_prog)
PROG("lwt_in", lwt_in_prog)
PROG("lwt_xmit", lwt_xmit_prog)
PROG("fentry/do_unlinkat", fentry_prog)
PROG("fexit/do_unlinkat", fexit_prog)
PROG("flow_dissector", flow_dissector_prog)
PROG("sockops", sockops_prog)
PROG("?xdp", xdp_no_autoload)
PROG("not_a_known_section", unknown_prog)

char LICENSE[] SEC("license") = "GPL";

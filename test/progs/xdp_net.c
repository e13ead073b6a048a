// XDP programs for the virtual network tests (test/net.test.ts): fixed verdicts, an ICMP filter that lets
// ARP through, MAC-swapping reflection with XDP_TX, redirects by ifindex and through a devmap (key and
// flags from the cfg array, or into a devmap whose slots carry an egress program), an invalid action,
// and a devmap egress program whose verdict comes from cfg.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* Slots with an egress program: struct bpf_devmap_val { u32 ifindex; int prog fd / u32 prog id; }. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_ports_prog SEC(".maps");

/* cfg[0]: ifindex for bpf_redirect; cfg[1]: devmap key; cfg[2]: bpf_redirect_map flags;
 * cfg[3]: verdict of the devmap egress program; cfg[4]: frames the egress program saw. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u32);
} cfg SEC(".maps");

static __always_inline __u32 cfg_get(__u32 k)
{
	__u32 *v = bpf_map_lookup_elem(&cfg, &k);
	return v ? *v : 0;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_drop_icmp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);

	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP) && iph->protocol == IPPROTO_ICMP)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	unsigned char *p = data;
	unsigned char tmp;
	int i;

	if (data + ETH_HLEN > data_end)
		return XDP_ABORTED;
	for (i = 0; i < ETH_ALEN; i++) {
		tmp = p[i];
		p[i] = p[i + ETH_ALEN];
		p[i + ETH_ALEN] = tmp;
	}
	return XDP_TX;
}

SEC("xdp")
int xdp_redirect_ifindex(struct xdp_md *ctx)
{
	return bpf_redirect(cfg_get(0), 0);
}

SEC("xdp")
int xdp_redirect_devmap(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_ports, cfg_get(1), cfg_get(2));
}

SEC("xdp")
int xdp_redirect_devmap_prog(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_ports_prog, cfg_get(1), 0);
}

SEC("xdp")
int xdp_bad_action(struct xdp_md *ctx)
{
	return 7;
}

SEC("xdp")
int xdp_redirect_nohelper(struct xdp_md *ctx)
{
	return XDP_REDIRECT;
}

SEC("xdp/devmap")
int xdp_egress(struct xdp_md *ctx)
{
	__u32 k = 4;
	__u32 *seen = bpf_map_lookup_elem(&cfg, &k);

	if (seen)
		__sync_fetch_and_add(seen, 1);
	return cfg_get(3);
}

char _license[] SEC("license") = "GPL";

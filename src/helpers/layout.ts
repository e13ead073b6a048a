// Layouts of the runtime-side context blocks that hooks build and helpers read (the kernel's struct
// xdp_buff and struct sk_buff, reduced to what programs and helpers can observe). A program's r1 points
// at one of these blocks; its first bytes mirror the user-visible ctx (struct xdp_md / struct __sk_buff)
// so that programs run without the verifier's ctx rewrites still read the right values.

/** XDP_PACKET_HEADROOM */
export const XDP_PACKET_HEADROOM = 256;
/** sizeof(struct xdp_frame): the reserved start of the headroom adjust_head/meta cannot enter. */
export const XDP_FRAME_SIZE = 40;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64: tailroom the kernel keeps after the frame data. */
export const SKB_SHARED_INFO_SIZE = 320;
/** Test-run frame size: one page (frame_sz = headroom + max data + tailroom). */
export const XDP_TEST_FRAME_SIZE = 4096;
/** ETH_HLEN */
export const ETH_HLEN = 14;
/** Largest metadata area: type_max(skb_shared_info.meta_len), a u8. */
export const XDP_META_MAX = 255;

// struct xdp_md mirror (u32 each; data pointers as 32-bit addresses, exact since the space is below 4 GiB).
export const XDP_MD_DATA = 0;
export const XDP_MD_DATA_END = 4;
export const XDP_MD_DATA_META = 8;
export const XDP_MD_INGRESS_IFINDEX = 12;
export const XDP_MD_RX_QUEUE_INDEX = 16;
export const XDP_MD_EGRESS_IFINDEX = 20;
/** sizeof(struct xdp_md) */
export const XDP_MD_SIZE = 24;

// The xdp_buff part: what convertCtxAccess rewrites ctx loads to (64-bit pointers) and what helpers use.
export const XDP_BUFF_FRAME_SZ = 24; // u32
export const XDP_BUFF_DATA = 32; // u64
export const XDP_BUFF_DATA_END = 40; // u64
export const XDP_BUFF_DATA_META = 48; // u64
export const XDP_BUFF_DATA_HARD_START = 56; // u64
export const XDP_BUFF_INGRESS_IFINDEX = 64; // u32, rxq->dev->ifindex
export const XDP_BUFF_RX_QUEUE_INDEX = 68; // u32, rxq->queue_index
export const XDP_BUFF_EGRESS_IFINDEX = 72; // u32, txq->dev->ifindex (devmap programs)
/** Region id of the packet in the address space: helpers move it to [data_meta, data_end) after adjusts. */
export const XDP_BUFF_PKT_REGION = 76; // u32
export const XDP_BUFF_SIZE = 80;

// struct __sk_buff (uapi) offsets.
export const SKB_LEN = 0;
export const SKB_PKT_TYPE = 4;
export const SKB_MARK = 8;
export const SKB_QUEUE_MAPPING = 12;
export const SKB_PROTOCOL = 16;
export const SKB_VLAN_PRESENT = 20;
export const SKB_VLAN_TCI = 24;
export const SKB_VLAN_PROTO = 28;
export const SKB_PRIORITY = 32;
export const SKB_INGRESS_IFINDEX = 36;
export const SKB_IFINDEX = 40;
export const SKB_TC_INDEX = 44;
export const SKB_CB = 48; // u32[5]
export const SKB_HASH = 68;
export const SKB_TC_CLASSID = 72;
export const SKB_DATA = 76;
export const SKB_DATA_END = 80;
export const SKB_NAPI_ID = 84;
export const SKB_FAMILY = 88;
export const SKB_REMOTE_IP4 = 92;
export const SKB_LOCAL_IP4 = 96;
export const SKB_REMOTE_IP6 = 100;
export const SKB_LOCAL_IP6 = 116;
export const SKB_REMOTE_PORT = 132;
export const SKB_LOCAL_PORT = 136;
export const SKB_DATA_META = 140;
export const SKB_FLOW_KEYS = 144; // pointer, 8 bytes
export const SKB_TSTAMP = 152; // u64
export const SKB_WIRE_LEN = 160;
export const SKB_GSO_SEGS = 164;
export const SKB_SK = 168; // pointer, 8 bytes
export const SKB_GSO_SIZE = 176;
export const SKB_TSTAMP_TYPE = 180; // u8, then 3 bytes of padding
export const SKB_HWTSTAMP = 184; // u64
/** sizeof(struct __sk_buff) */
export const SK_BUFF_SIZE = 192;

// Runtime-private tail of the skb block (not reachable by programs: outside the ctx region).
/** Address of skb->data (the network header for socket filters). */
export const SKB_INT_DATA = 192;
/** skb->len: bytes from skb->data. */
export const SKB_INT_LEN = 196;
export const SKB_BLOCK_SIZE = 200;

/** struct pt_regs on x86-64: 21 u64 registers. */
export const PT_REGS_SIZE = 168;
export const PT_REGS_NAMES = [
  'r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax',
  'ip', 'cs', 'flags', 'sp', 'ss',
] as const;

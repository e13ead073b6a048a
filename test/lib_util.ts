// Packets for the lib and CLI tests.

/** Ethernet + IPv4 (no options) + TCP, `payload` bytes of data; ports and addresses given. */
export function tcp4(sport: number, dport: number, payload = 0): Uint8Array {
  const len = 14 + 20 + 20 + payload;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], 0);
  dv.setUint16(12, 0x0800);
  b[14] = 0x45;
  dv.setUint16(16, 20 + 20 + payload);
  b[22] = 64;
  b[23] = 6; // TCP
  b.set([10, 0, 0, 1], 26);
  b.set([10, 0, 0, 2], 30);
  dv.setUint16(34, sport);
  dv.setUint16(36, dport);
  b[46] = 5 << 4;
  return b;
}

/** Ethernet + IPv4 + UDP with `payload` bytes (0xab). */
export function udp4(sport: number, dport: number, payload = 0): Uint8Array {
  const b = tcp4(sport, dport, payload - 12);
  const dv = new DataView(b.buffer);
  b[23] = 17; // UDP
  dv.setUint16(16, 20 + 8 + payload);
  dv.setUint16(38, 8 + payload); // udp length
  b.fill(0xab, 14 + 20 + 8);
  return b;
}

/** Insert an 802.1Q tag with VLAN id `vid` after the MAC addresses. */
export function vlanTag(pkt: Uint8Array, vid: number): Uint8Array {
  const out = new Uint8Array(pkt.length + 4);
  out.set(pkt.subarray(0, 12), 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(12, 0x8100);
  dv.setUint16(14, vid);
  out.set(pkt.subarray(12), 16);
  return out;
}

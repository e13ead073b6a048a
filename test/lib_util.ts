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

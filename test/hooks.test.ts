// Tests for src/hooks: ctx field layouts and access rules per program type, the XDP ctx rewrites, and
// BPF_PROG_TEST_RUN for XDP and socket filters (buffer geometry, adjust_head/meta/tail limits, data_out from
// data_meta, ctx_in/ctx_out checks and errnos), kprobe/tracepoint direct runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../src/isa/asm.js';
import { Vm } from '../src/engine/vm.js';
import { BpfError } from '../src/errors.js';
import { MapRegistry } from '../src/maps/map.js';
import { createMap } from '../src/maps/create.js';
import { BPF_ATTACH_TYPE, BPF_MAP_TYPE, BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { attachEnv } from '../src/helpers/table.js';
import { ManualClock } from '../src/helpers/env.js';
import type { CtxAccessInfo } from '../src/verifier/types.js';
import {
  testRun, xdpOps, socketFilterOps, kprobeOps, tracepointOps, runKprobe, runTracepoint, progTypeOps, XDP_MAX_DATA, SKB_MAX_DATA,
  type TestRunOpts,
} from '../src/hooks/index.js';

const XDP = BPF_PROG_TYPE.BPF_PROG_TYPE_XDP;
const SK = BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER;

function setup(): { vm: Vm; reg: MapRegistry } {
  const vm = new Vm();
  const reg = new MapRegistry(vm.space);
  attachEnv(vm, reg, { clock: new ManualClock(0), prandomSeed: 1 });
  return { vm, reg };
}

const info = (): CtxAccessInfo => ({ regType: 'SCALAR_VALUE', ctxFieldSize: 0 });
const pkt = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

function xdpRun(vm: Vm, text: string, opts: TestRunOpts, attach?: number) {
  return testRun(vm, { type: XDP, program: vm.load(assemble(text)), expectedAttachType: attach }, opts);
}

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof BpfError) return e.code;
    throw e;
  }
  return 'no error';
}

test('xdp_md access rules: u32 reads only, pointer kinds, egress_ifindex for devmap programs only, no writes', () => {
  const ops = xdpOps();
  const i = info();
  assert.equal(ops.isValidAccess(0, 4, false, i), true);
  assert.equal(i.regType, 'PTR_TO_PACKET');
  const e = info();
  assert.equal(ops.isValidAccess(4, 4, false, e), true);
  assert.equal(e.regType, 'PTR_TO_PACKET_END');
  const m = info();
  assert.equal(ops.isValidAccess(8, 4, false, m), true);
  assert.equal(m.regType, 'PTR_TO_PACKET_META');
  assert.equal(ops.isValidAccess(12, 4, false, info()), true);
  assert.equal(ops.isValidAccess(16, 4, false, info()), true);
  assert.equal(ops.isValidAccess(0, 8, false, info()), false);
  assert.equal(ops.isValidAccess(12, 2, false, info()), false);
  assert.equal(ops.isValidAccess(14, 2, false, info()), false);
  assert.equal(ops.isValidAccess(24, 4, false, info()), false);
  assert.equal(ops.isValidAccess(16, 4, true, info()), false);
  assert.equal(ops.isValidAccess(20, 4, false, info()), false);
  assert.equal(xdpOps(BPF_ATTACH_TYPE.BPF_XDP_DEVMAP).isValidAccess(20, 4, false, info()), true);
  assert.equal(ops.ctxSize, 24);
  assert.equal(ops.helperAllowed(44), true);
  assert.equal(ops.helperAllowed(26), false); // skb_load_bytes is not for XDP
  assert.equal(ops.helperAllowed(14), false); // get_current_pid_tgid is tracing-only
});

test('xdp ctx rewrites: data/data_end/data_meta become 64-bit loads and read the same values', () => {
  const { vm } = setup();
  const ops = xdpOps();
  const src = assemble('r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = *(u32 *)(r1 + 12)')
  const conv = src.map((si) => ops.convertCtxAccess(si));
  assert.deepEqual(conv.map((c) => c?.map((x) => [x.code, x.dst, x.src, x.off])), [[[0x79, 2, 1, 32]], [[0x79, 3, 1, 40]], [[0x61, 4, 1, 64]]]);
  const body = 'r0 = r3\nr0 -= r2\nr0 <<= 8\nr0 += r4\nexit';
  const plain = assemble(`r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = *(u32 *)(r1 + 12)\n${body}`);
  const rewritten = [...conv.flatMap((c) => c!), ...assemble(body)];
  const a = testRun(vm, { type: XDP, program: vm.load(plain) }, { dataIn: pkt(60) });
  const b = testRun(vm, { type: XDP, program: vm.load(rewritten) }, { dataIn: pkt(60) });
  assert.equal(a.retval, (60 << 8) + 1); // 60 bytes, ingress_ifindex of the loopback device
  assert.equal(b.retval, a.retval);
});

test('XDP test run: data_out is the packet, retval the verdict, duration a u32 average', () => {
  const { vm } = setup();
  const r = xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(64), repeat: 5 });
  assert.equal(r.retval, 2);
  assert.deepEqual(r.dataOut, pkt(64));
  assert.equal(r.dataSizeOut, 64);
  assert.ok(Number.isInteger(r.duration) && r.duration >= 0 && r.duration <= 0xffffffff);
  assert.equal(r.ctxOut, null);
  assert.equal(r.error, null);
});

test('XDP test run: repetitions share the buffer (no reset), as in the kernel', () => {
  const { vm } = setup();
  // Each run moves data up by 2 bytes: after 3 runs the output lost 6 bytes.
  const r = xdpRun(vm, 'r2 = 2\ncall 44\nexit', { dataIn: pkt(40), repeat: 3 });
  assert.deepEqual(r.dataOut, pkt(40).subarray(6));
});

test('adjust_head: -216 ok, -217 fails; up to data_end - 14', () => {
  const { vm } = setup();
  const adj = (d: number, n = 64) => xdpRun(vm, `r2 = ${d}\ncall 44\nexit`, { dataIn: pkt(n) });
  const ok = adj(-216);
  assert.equal(ok.retval, 0);
  assert.equal(ok.dataOut.length, 64 + 216);
  assert.deepEqual(ok.dataOut.subarray(216), pkt(64));
  assert.ok(ok.dataOut.subarray(0, 216).every((b) => b === 0));
  assert.equal(adj(-217).retval, (-22) >>> 0);
  assert.equal(adj(-217).dataOut.length, 64);
  assert.equal(adj(50).retval, 0);
  assert.deepEqual(adj(50).dataOut, pkt(64).subarray(50));
  assert.equal(adj(51).retval, (-22) >>> 0);
});

test('adjust_meta: multiples of 4 into the usable headroom; data_out starts at data_meta', () => {
  const { vm } = setup();
  const prog = (d: number) => `
    r6 = r1
    r2 = ${d}
    call 54
    if r0 != 0 goto +5
    r2 = *(u32 *)(r6 + 8)
    r3 = *(u32 *)(r6 + 0)
    if r2 >= r3 goto +2
    r1 = 0xabcdef01
    *(u32 *)(r2 + 0) = r1
    exit`;
  const r = xdpRun(vm, prog(-8), { dataIn: pkt(32) });
  assert.equal(r.retval, 0);
  assert.deepEqual(r.dataOut.subarray(0, 8), new Uint8Array([1, 0xef, 0xcd, 0xab, 0, 0, 0, 0]));
  assert.deepEqual(r.dataOut.subarray(8), pkt(32));
  assert.equal(xdpRun(vm, prog(-6), { dataIn: pkt(32) }).retval, (-13) >>> 0); // not a multiple of 4: -EACCES
  assert.equal(xdpRun(vm, prog(-216), { dataIn: pkt(32) }).retval, 0); // the whole usable headroom
  assert.equal(xdpRun(vm, prog(-220), { dataIn: pkt(32) }).retval, (-22) >>> 0); // into the frame descriptor
  assert.equal(xdpRun(vm, prog(4), { dataIn: pkt(32) }).retval, (-22) >>> 0); // past data
  // With metadata, adjust_head carries it along and can only go down to frame end + metalen.
  const both = xdpRun(vm, 'r6 = r1\nr2 = -8\ncall 54\nr1 = r6\nr2 = -208\ncall 44\nexit', { dataIn: pkt(32) });
  assert.equal(both.retval, 0);
  assert.equal(xdpRun(vm, 'r6 = r1\nr2 = -8\ncall 54\nr1 = r6\nr2 = -209\ncall 44\nexit', { dataIn: pkt(32) }).retval, (-22) >>> 0);
});

test('adjust_tail: grow into the tailroom (zeroed) up to the 3520-byte frame limit, shrink down to 14', () => {
  const { vm } = setup();
  const adj = (d: number, n = 100) => xdpRun(vm, `r2 = ${d}\ncall 65\nexit`, { dataIn: pkt(n) });
  const grown = adj(XDP_MAX_DATA - 100);
  assert.equal(grown.retval, 0);
  assert.equal(grown.dataOut.length, 3520);
  assert.ok(grown.dataOut.subarray(100).every((b) => b === 0));
  assert.equal(adj(XDP_MAX_DATA - 99).retval, (-22) >>> 0);
  assert.equal(adj(-86).retval, 0);
  assert.equal(adj(-86).dataOut.length, 14);
  assert.equal(adj(-87).retval, (-22) >>> 0);
  // Shrink then grow again: the bytes that come back are zero, not the old packet.
  const r = xdpRun(vm, 'r6 = r1\nr2 = -10\ncall 65\nr1 = r6\nr2 = 10\ncall 65\nexit', { dataIn: pkt(40) });
  assert.deepEqual(r.dataOut.subarray(0, 30), pkt(40).subarray(0, 30));
  assert.ok(r.dataOut.subarray(30).every((b) => b === 0));
});

test('XDP ctx_in/ctx_out: metadata from data_in, ctx fields checked with the kernel errnos', () => {
  const { vm } = setup();
  const md = (data: number, end: number, meta = 0, ingress = 0, rxq = 0, egress = 0): Uint8Array =>
    new Uint8Array(new Uint32Array([data, end, meta, ingress, rxq, egress]).buffer);
  const body = 'r2 = *(u32 *)(r1 + 8)\nr3 = *(u32 *)(r1 + 0)\nr0 = r3\nr0 -= r2\nexit';
  const r = xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(8, 40), ctxOut: true });
  assert.equal(r.retval, 8); // data - data_meta
  assert.deepEqual(r.dataOut, pkt(40)); // metadata comes back in front of the packet
  assert.deepEqual(r.ctxOut, md(8, 40));
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(0, 40, 4) })), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(0, 41) })), 'EINVAL'); // data_end past data_in
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(6, 40) })), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(300), ctxIn: md(256, 300) })), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(0, 40, 0, 0, 0, 1) })), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(0, 40, 0, 0, 1) })), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(0, 40, 0, 7) })), 'ENODEV');
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: md(0, 40, 0, 1, 1) })), 'EINVAL');
  const long = new Uint8Array(32);
  long.set(md(0, 40));
  long[30] = 1;
  assert.equal(errno(() => xdpRun(vm, body, { dataIn: pkt(40), ctxIn: long })), 'E2BIG');
  // ctx_out after adjust_head: data/data_end relative to data_meta.
  const moved = xdpRun(vm, 'r2 = 4\ncall 44\nexit', { dataIn: pkt(40), ctxIn: md(0, 40), ctxOut: true });
  assert.deepEqual(moved.ctxOut, md(0, 36));
});

test('XDP test run refusals: sizes, devmap/cpumap programs, flags', () => {
  const { vm } = setup();
  assert.equal(errno(() => xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(13) })), 'EINVAL');
  assert.equal(xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(XDP_MAX_DATA) }).dataSizeOut, 3520);
  // longer packets run as multi-buffer (test/hooks_frags.test.ts) up to MAX_SKB_FRAGS pages, then ENOMEM
  assert.equal(xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(XDP_MAX_DATA + 1) }).dataSizeOut, 3521);
  assert.equal(errno(() => xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(XDP_MAX_DATA + 17 * 4096 + 1) })), 'ENOMEM');
  assert.equal(errno(() => xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(64) }, BPF_ATTACH_TYPE.BPF_XDP_DEVMAP)), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(64) }, BPF_ATTACH_TYPE.BPF_XDP_CPUMAP)), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(64), flags: 1 })), 'EINVAL');
  assert.equal(errno(() => xdpRun(vm, 'r0 = 2\nexit', { dataIn: pkt(64), batchSize: 4 })), 'EINVAL');
  const clamped = xdpRun(vm, 'r0 = 1\nexit', { dataIn: pkt(64), dataSizeOut: 10 });
  assert.equal(clamped.error?.code, 'ENOSPC');
  assert.equal(clamped.dataOut.length, 10);
  assert.equal(clamped.dataSizeOut, 64);
  assert.equal(clamped.retval, 1);
});

test('XDP programs cannot touch bytes outside [data_meta, data_end) at run time', () => {
  const { vm } = setup();
  assert.equal(errno(() => xdpRun(vm, 'r2 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r2 + 0)\nexit', { dataIn: pkt(20) })), 'EFAULT');
  assert.equal(errno(() => xdpRun(vm, 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 - 1)\nexit', { dataIn: pkt(20) })), 'EFAULT');
  assert.equal(errno(() => xdpRun(vm, 'r0 = 0\n*(u32 *)(r1 + 0) = r0\nexit', { dataIn: pkt(20) })), 'EFAULT'); // ctx is read-only
});

test('XDP perf_event_output appends (flags >> 32) packet bytes after the sample', () => {
  const { vm, reg } = setup();
  const pe = createMap(vm.space, reg, { type: BPF_MAP_TYPE.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  const [buf] = (pe as import('../src/maps/fd_array.js').PerfEventArrayMap).openBuffers(1);
  const prog = (ctxLen: number) => `
    r2 = 0x7e
    *(u32 *)(r10 - 4) = r2
    r2 = 0x${pe.handle.toString(16)} ll
    r3 = 0x${(ctxLen * 2 ** 32 + 0xffffffff).toString(16)} ll
    r4 = r10
    r4 += -4
    r5 = 1
    call 25
    exit`;
  assert.equal(xdpRun(vm, prog(3), { dataIn: pkt(20) }).retval, 0);
  assert.deepEqual(buf.drain()[0].subarray(0, 4), new Uint8Array([0x7e, ...pkt(3)]));
  assert.equal(xdpRun(vm, prog(21), { dataIn: pkt(20) }).retval, (-14) >>> 0);
});

test('__sk_buff access rules for socket filters', () => {
  const ops = socketFilterOps;
  const fi = info();
  assert.equal(ops.isValidAccess(0, 4, false, fi), true); // len
  assert.equal(fi.ctxFieldSize, 4);
  assert.equal(ops.isValidAccess(1, 1, false, info()), true); // narrow read
  assert.equal(ops.isValidAccess(2, 2, false, info()), true);
  assert.equal(ops.isValidAccess(1, 2, false, info()), false); // misaligned
  assert.equal(ops.isValidAccess(0, 8, false, info()), false);
  assert.equal(ops.isValidAccess(8, 4, true, info()), false); // mark: read only here
  assert.equal(ops.isValidAccess(48, 4, true, info()), true); // cb[0]
  assert.equal(ops.isValidAccess(48, 8, false, info()), true);
  assert.equal(ops.isValidAccess(64, 8, false, info()), false); // past cb[4]
  assert.equal(ops.isValidAccess(72, 4, false, info()), false); // tc_classid
  assert.equal(ops.isValidAccess(76, 4, false, info()), false); // data
  assert.equal(ops.isValidAccess(80, 4, false, info()), false); // data_end
  assert.equal(ops.isValidAccess(92, 4, false, info()), false); // remote_ip4
  assert.equal(ops.isValidAccess(152, 8, false, info()), false); // tstamp
  assert.equal(ops.isValidAccess(180, 1, false, info()), false); // tstamp_type
  assert.equal(ops.isValidAccess(176, 4, false, info()), true); // gso_size
  assert.equal(ops.isValidAccess(192, 4, false, info()), false);
  assert.equal(ops.helperAllowed(26), true);
  assert.equal(ops.helperAllowed(44), false);
});

/** Ethernet + IPv4/UDP-ish packet of n bytes. */
function ipv4(n: number, dst = [0, 0, 0, 0, 0, 0]): Uint8Array {
  const p = pkt(n);
  p.set(dst, 0);
  p[12] = 0x08;
  p[13] = 0x00;
  p[14 + 9] = 17;
  return p;
}

test('socket filter test run: skb fields after eth_type_trans, LD_ABS from the network header, data_out', () => {
  const { vm } = setup();
  const run = (text: string, opts: TestRunOpts) => testRun(vm, { type: SK, program: vm.load(assemble(text)) }, opts);
  const p = ipv4(60);
  assert.equal(run('r0 = *(u32 *)(r1 + 0)\nexit', { dataIn: p }).retval, 46); // skb->len
  assert.equal(run('r0 = *(u32 *)(r1 + 16)\nexit', { dataIn: p }).retval, 0x0008); // htons(ETH_P_IP)
  assert.equal(run('r0 = *(u32 *)(r1 + 4)\nexit', { dataIn: p }).retval, 0); // PACKET_HOST: to lo's address
  // lo's broadcast address is 00:00:00:00:00:00, so ff:ff:ff:ff:ff:ff is just a group address: PACKET_MULTICAST
  assert.equal(run('r0 = *(u32 *)(r1 + 4)\nexit', { dataIn: ipv4(60, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }).retval, 2);
  assert.equal(run('r0 = *(u32 *)(r1 + 4)\nexit', { dataIn: ipv4(60, [1, 0, 0x5e, 0, 0, 1]) }).retval, 2);
  assert.equal(run('r0 = *(u32 *)(r1 + 4)\nexit', { dataIn: ipv4(60, [2, 0, 0, 0, 0, 1]) }).retval, 3);
  assert.equal(run('r0 = *(u32 *)(r1 + 40)\nexit', { dataIn: p }).retval, 1); // ifindex of lo
  const ldabs = run('r6 = r1\nr0 = *(u8 *)skb[9]\nexit', { dataIn: p });
  assert.equal(ldabs.retval, 17);
  assert.equal(run('r6 = r1\nr0 = *(u16 *)skb[45]\nr0 = 5\nexit', { dataIn: p }).retval, 0); // out of bounds ends with 0
  const out = run('r0 = -1\nexit', { dataIn: p });
  assert.equal(out.retval, 0xffffffff);
  assert.ok(out.dataOut.subarray(0, 14).every((b) => b === 0));
  assert.deepEqual(out.dataOut.subarray(14), p.subarray(14));
  // 802.2 / 802.3 frames (length field instead of an ethertype)
  const llc = ipv4(30);
  llc[12] = 0;
  llc[13] = 16;
  assert.equal(run('r0 = *(u32 *)(r1 + 16)\nexit', { dataIn: llc }).retval, 0x0400);
  llc[14] = 0xff;
  llc[15] = 0xff;
  assert.equal(run('r0 = *(u32 *)(r1 + 16)\nexit', { dataIn: llc }).retval, 0x0100);
});

test('socket filter ctx_in/ctx_out: allowed fields in, cb written by the program out, others rejected', () => {
  const { vm } = setup();
  const run = (text: string, opts: TestRunOpts) => testRun(vm, { type: SK, program: vm.load(assemble(text)) }, opts);
  const ctx = new Uint8Array(192);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(8, 77, true); // mark
  dv.setUint32(48, 5, true); // cb[0]
  const prog = 'r2 = *(u32 *)(r1 + 48)\nr2 += 1\n*(u32 *)(r1 + 52) = r2\nr0 = *(u32 *)(r1 + 8)\nexit';
  const r = run(prog, { dataIn: ipv4(40), ctxIn: ctx, ctxOut: true });
  assert.equal(r.retval, 77);
  const out = new DataView(r.ctxOut!.buffer, r.ctxOut!.byteOffset);
  assert.equal(out.getUint32(52, true), 6);
  assert.equal(out.getUint32(40, true), 1); // ifindex
  assert.equal(out.getUint32(160, true), 26); // wire_len = skb->len
  const bad = new Uint8Array(192);
  bad[0] = 1; // len may not be set
  assert.equal(errno(() => run(prog, { dataIn: ipv4(40), ctxIn: bad })), 'EINVAL');
  const dev = new Uint8Array(192);
  new DataView(dev.buffer).setUint32(40, 9, true);
  assert.equal(errno(() => run(prog, { dataIn: ipv4(40), ctxIn: dev })), 'ENODEV');
  const wl = new Uint8Array(192);
  new DataView(wl.buffer).setUint32(160, 10, true);
  assert.equal(errno(() => run(prog, { dataIn: ipv4(40), ctxIn: wl })), 'EINVAL'); // wire_len < len
  assert.equal(errno(() => run(prog, { dataIn: ipv4(13) })), 'EINVAL');
  assert.equal(errno(() => run(prog, { dataIn: pkt(SKB_MAX_DATA + 1) })), 'EINVAL');
  assert.equal(run('r0 = 3\nexit', { dataIn: pkt(SKB_MAX_DATA) }).retval, 3);
  assert.equal(errno(() => run(prog, { dataIn: ipv4(40), flags: 1 })), 'EINVAL');
});

test('skb_load_bytes copies from the network header and faults past skb->len', () => {
  const { vm } = setup();
  const p = ipv4(40);
  const prog = (off: number, len: number) => `
    r2 = -1
    *(u64 *)(r10 - 8) = r2
    r2 = ${off}
    r3 = r10
    r3 += -8
    r4 = ${len}
    call 26
    if r0 != 0 goto +1
    r0 = *(u32 *)(r10 - 8)
    exit`;
  const run = (text: string) => testRun(vm, { type: SK, program: vm.load(assemble(text)) }, { dataIn: p }).retval;
  assert.equal(run(prog(0, 4)), new DataView(p.buffer).getUint32(14, true));
  assert.equal(run(prog(24, 4)), (-14) >>> 0);
  assert.equal(run(prog(24, 4).replace('if r0 != 0 goto +1', 'r0 = 0')), 0); // and the buffer is zeroed
});

test('kprobe: pt_regs access rules, no test run (ENOTSUPP 524), direct runs with named registers', () => {
  const { vm } = setup();
  assert.equal(kprobeOps.isValidAccess(112, 8, false, info()), true); // di
  assert.equal(kprobeOps.isValidAccess(160, 8, false, info()), true); // ss
  assert.equal(kprobeOps.isValidAccess(164, 4, false, info()), true);
  assert.equal(kprobeOps.isValidAccess(164, 8, false, info()), false);
  assert.equal(kprobeOps.isValidAccess(0, 8, true, info()), false);
  assert.equal(kprobeOps.isValidAccess(168, 1, false, info()), false);
  assert.equal(kprobeOps.helperAllowed(14), true);
  assert.equal(kprobeOps.helperAllowed(44), false);
  const program = vm.load(assemble('r0 = *(u64 *)(r1 + 112)\nr2 = *(u64 *)(r1 + 104)\nr0 += r2\nexit'));
  const e = (() => {
    try {
      testRun(vm, { type: BPF_PROG_TYPE.BPF_PROG_TYPE_KPROBE, program }, {});
    } catch (err) {
      return err as BpfError;
    }
    return null;
  })();
  assert.equal(e?.code, 'ENOTSUPP');
  assert.equal(e?.errno, 524);
  assert.equal(runKprobe(vm, program, { di: 40n, si: 2 }), 42);
  const raw = new Uint8Array(168);
  raw[112] = 9;
  assert.equal(runKprobe(vm, program, raw), 9);
  assert.equal(errno(() => runKprobe(vm, vm.load(assemble('r0 = 1\n*(u64 *)(r1 + 0) = r0\nexit')), {})), 'EFAULT');
});

test('tracepoint: common fields unreadable, reads within the record, run on raw bytes', () => {
  const { vm } = setup();
  assert.equal(tracepointOps.isValidAccess(0, 4, false, info()), false);
  assert.equal(tracepointOps.isValidAccess(4, 4, false, info()), false);
  assert.equal(tracepointOps.isValidAccess(8, 8, false, info()), true);
  assert.equal(tracepointOps.isValidAccess(12, 8, false, info()), false);
  assert.equal(tracepointOps.isValidAccess(8, 4, true, info()), false);
  const rec = new Uint8Array(24);
  new DataView(rec.buffer).setUint32(16, 0xbeef, true);
  assert.equal(runTracepoint(vm, vm.load(assemble('r0 = *(u32 *)(r1 + 16)\nexit')), rec), 0xbeef);
  assert.equal(errno(() => runTracepoint(vm, vm.load(assemble('r0 = *(u32 *)(r1 + 24)\nexit')), rec)), 'EFAULT');
  assert.equal(errno(() => testRun(vm, { type: BPF_PROG_TYPE.BPF_PROG_TYPE_TRACEPOINT, program: vm.load(assemble('r0 = 0\nexit')) })), 'ENOTSUPP');
});

test('progTypeOps covers the four supported types and nothing else', () => {
  assert.equal(progTypeOps(XDP)?.name, 'xdp');
  assert.equal(progTypeOps(SK)?.name, 'socket_filter');
  assert.equal(progTypeOps(BPF_PROG_TYPE.BPF_PROG_TYPE_KPROBE)?.ctxSize, 168);
  assert.equal(progTypeOps(BPF_PROG_TYPE.BPF_PROG_TYPE_TRACEPOINT)?.name, 'tracepoint');
  assert.equal(progTypeOps(BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS), undefined);
});

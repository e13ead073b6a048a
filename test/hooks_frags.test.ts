// Tests for XDP multi-buffer test runs (src/hooks/xdp.ts, src/helpers/net.ts) and the other test-run rules
// the kernel differential test found: how data_in splits into the linear part and page frags, data_out,
// the helpers across frags (get_buff_len, load/store_bytes, adjust_tail growing, shrinking and releasing
// frags, perf_event_output), repeat, data_size_out clamping, ctx_in's data_end and metadata limits, and the
// socket filter's header-length and pkt_type rules. Expected values are what Linux 6.18 gives for the same
// programs and inputs (checked with bpftool prog run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../src/isa/asm.js';
import { Vm } from '../src/engine/vm.js';
import { BpfError } from '../src/errors.js';
import { MapRegistry } from '../src/maps/map.js';
import { createMap } from '../src/maps/create.js';
import type { PerfEventArrayMap } from '../src/maps/fd_array.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { attachEnv } from '../src/helpers/table.js';
import { ManualClock } from '../src/helpers/env.js';
import { testRun, type TestRunOpts, type TestRunResult } from '../src/hooks/index.js';
import { XDP_MAX_DATA, XDP_MAX_DATA_FRAGS, XDP_TEST_META_MAX, xdpBufferOf } from '../src/hooks/xdp.js';

const XDP: number = BPF_PROG_TYPE.BPF_PROG_TYPE_XDP;
const SK: number = BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER;
const EINVAL = (-22) >>> 0;
const EFAULT = (-14) >>> 0;

function setup(): { vm: Vm; reg: MapRegistry } {
  const vm = new Vm();
  const reg = new MapRegistry(vm.space);
  attachEnv(vm, reg, { clock: new ManualClock(0), prandomSeed: 1 });
  return { vm, reg };
}

const pkt = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const md = (data: number, end: number): Uint8Array => new Uint8Array(new Uint32Array([data, end, 0, 0, 0, 0]).buffer);

function run(vm: Vm, text: string, opts: TestRunOpts, type = XDP): TestRunResult {
  return testRun(vm, { type, program: vm.load(assemble(text)) }, opts);
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

/** r0 = data_end - data (the linear part a program reaches directly) */
const LINEAR = 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u32 *)(r1 + 4)\nr0 -= r2\nexit';
/** r0 = bpf_xdp_get_buff_len(ctx) */
const BUFF_LEN = 'call 188\nexit';
/** bpf_xdp_adjust_tail(ctx, d); r0 = its result, or get_buff_len when it succeeded */
const tail = (d: number): string => `r6 = r1\nr2 = ${d}\ncall 65\nif r0 != 0 goto +2\nr1 = r6\ncall 188\nexit`;

test('data_in past the 3520-byte linear part goes into page-sized frags; data_out is linear + frags', () => {
  const { vm } = setup();
  for (const [n, frags] of [[3520, []], [3521, [1]], [4000, [480]], [7616, [4096]], [7617, [4096, 1]]] as const) {
    const r = run(vm, LINEAR, { dataIn: pkt(n) });
    assert.equal(r.retval, Math.min(n, XDP_MAX_DATA), `linear part of ${n}`);
    assert.deepEqual(r.dataOut, pkt(n), `data_out of ${n}`);
    assert.equal(run(vm, BUFF_LEN, { dataIn: pkt(n) }).retval, n);
    // the last frag is a page with room for the rest of it: adjust_tail grows into exactly that room
    if (frags.length > 0) {
      const room = 4096 - frags[frags.length - 1];
      assert.equal(run(vm, tail(room), { dataIn: pkt(n) }).retval, n + room, `room in the last frag of ${n}`);
      assert.equal(run(vm, tail(room + 1), { dataIn: pkt(n) }).retval, EINVAL);
    }
  }
  // the buffer is linear again after a multi-buffer run (net/ devices share it)
  assert.equal(xdpBufferOf(vm).nrFrags, 0);
});

test('at most MAX_SKB_FRAGS (17) frags: 73152 bytes run, one more is ENOMEM, after the ctx_in device checks', () => {
  const { vm } = setup();
  assert.equal(XDP_MAX_DATA_FRAGS, 3520 + 17 * 4096);
  const big = run(vm, BUFF_LEN, { dataIn: pkt(XDP_MAX_DATA_FRAGS) });
  assert.equal(big.retval, 73152);
  assert.deepEqual(big.dataOut, pkt(XDP_MAX_DATA_FRAGS));
  assert.equal(errno(() => run(vm, BUFF_LEN, { dataIn: pkt(XDP_MAX_DATA_FRAGS + 1) })), 'ENOMEM');
  // ingress device 7 does not exist: ENODEV is checked before the frags are filled
  const dev7 = new Uint8Array(new Uint32Array([0, XDP_MAX_DATA_FRAGS + 1, 0, 7, 0, 0]).buffer);
  assert.equal(errno(() => run(vm, BUFF_LEN, { dataIn: pkt(XDP_MAX_DATA_FRAGS + 1), ctxIn: dev7 })), 'ENODEV');
  // metadata moves the linear limit: 4 bytes of metadata + 3520 linear bytes of packet, the rest in frags
  const meta = run(vm, BUFF_LEN, { dataIn: pkt(3600), ctxIn: md(4, 3600) });
  assert.equal(meta.retval, 3596);
  assert.equal(run(vm, LINEAR, { dataIn: pkt(3600), ctxIn: md(4, 3600) }).retval, 3520);
});

test('frag bytes are not reachable by direct packet access', () => {
  const { vm } = setup();
  // data + 3520 is data_end: the first frag byte is not behind it
  const prog = 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 3520)\nexit';
  assert.equal(errno(() => run(vm, prog, { dataIn: pkt(4000) })), 'EFAULT');
  assert.equal(run(vm, 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 3519)\nexit', { dataIn: pkt(4000) }).retval, pkt(3520)[3519]);
});

test('adjust_tail grows the last frag within its page (zeroed), and only that', () => {
  const { vm } = setup();
  const g = run(vm, tail(100), { dataIn: pkt(4000) });
  assert.equal(g.retval, 4100);
  assert.deepEqual(g.dataOut, cat(pkt(4000), new Uint8Array(100)));
  assert.equal(run(vm, tail(3616), { dataIn: pkt(4000) }).retval, 7616); // frag of 480 grows to a full page
  assert.equal(run(vm, tail(3617), { dataIn: pkt(4000) }).retval, EINVAL);
  assert.equal(run(vm, tail(100), { dataIn: pkt(7616) }).retval, EINVAL); // last frag is full
  assert.equal(run(vm, tail(4000), { dataIn: pkt(3521) }).retval, 7521);
  assert.equal(run(vm, tail(0), { dataIn: pkt(4000) }).retval, 4000);
  // the linear part never grows while there are frags
  assert.equal(run(vm, `r6 = r1\nr2 = 100\ncall 65\nr1 = r6\n${LINEAR}`, { dataIn: pkt(4000) }).retval, 3520);
});

test('adjust_tail shrinks from the last frag backwards, releasing emptied frags, then the linear part', () => {
  const { vm } = setup();
  const s = run(vm, tail(-100), { dataIn: pkt(4000) });
  assert.equal(s.retval, 3900);
  assert.deepEqual(s.dataOut, pkt(3900));
  // a 1-byte frag goes, the other 99 bytes come off the linear part
  const one = run(vm, `r6 = r1\nr2 = -100\ncall 65\nr1 = r6\n${LINEAR}`, { dataIn: pkt(3521) });
  assert.equal(one.retval, 3421);
  assert.deepEqual(one.dataOut, pkt(3421));
  // 5000 from 3520 + 4096: the frag goes, 904 from the linear part
  assert.equal(run(vm, `r6 = r1\nr2 = -5000\ncall 65\nr1 = r6\n${LINEAR}`, { dataIn: pkt(7616) }).retval, 2616);
  // 500 from 3520 + 4096 + 384: the last frag goes, the one before loses 116
  assert.equal(run(vm, tail(-500), { dataIn: pkt(8000) }).retval, 7500);
  assert.deepEqual(run(vm, tail(-500), { dataIn: pkt(8000) }).dataOut, pkt(7500));
  // down to ETH_HLEN of the whole buffer, not one byte more
  assert.equal(run(vm, tail(-3986), { dataIn: pkt(4000) }).retval, 14);
  assert.equal(run(vm, tail(-3987), { dataIn: pkt(4000) }).retval, EINVAL);
  assert.equal(run(vm, tail(-9000), { dataIn: pkt(8000) }).retval, EINVAL);
  // once the frags are gone the buffer is linear again: growing hits the frame's hard end
  const back = run(vm, 'r6 = r1\nr2 = -480\ncall 65\nr1 = r6\nr2 = 1\ncall 65\nexit', { dataIn: pkt(4000) });
  assert.equal(back.retval, EINVAL);
  assert.deepEqual(back.dataOut, pkt(3520));
});

test('repeat runs on the buffer the previous run left: frag shrinks accumulate', () => {
  const { vm } = setup();
  assert.equal(run(vm, tail(-500), { dataIn: pkt(4000), repeat: 3 }).retval, 2500);
  assert.equal(run(vm, tail(-500), { dataIn: pkt(8000), repeat: 3 }).retval, 6500);
  assert.equal(run(vm, tail(100), { dataIn: pkt(4000), repeat: 3 }).retval, 4300);
});

test('xdp_load_bytes/xdp_store_bytes cross from the linear part into and between frags', () => {
  const { vm } = setup();
  // load 40 bytes at 3500 (20 linear + 20 frag) onto the stack, store them at offset 0, return byte 0 and 39
  const loadStore = `
    r6 = r1
    r2 = 3500
    r3 = r10
    r3 += -64
    r4 = 40
    call 189
    if r0 != 0 goto +10
    r1 = r6
    r2 = 0
    r3 = r10
    r3 += -64
    r4 = 40
    call 190
    r0 = *(u8 *)(r10 - 64)
    r1 = *(u8 *)(r10 - 25)
    r1 <<= 8
    r0 |= r1
    exit`;
  const p = pkt(4000);
  const r = run(vm, loadStore, { dataIn: p });
  assert.equal(r.retval, p[3500] | (p[3539] << 8));
  assert.deepEqual(r.dataOut, cat(p.subarray(3500, 3540), p.subarray(40)));
  assert.equal(run(vm, loadStore, { dataIn: pkt(3520) }).retval, EINVAL); // 3540 > buff_len
  // store 1..40 at 3510 (linear/frag 1) and at 7600 (frag 1/frag 2)
  const store = `
    r6 = r1
    r2 = 0x0807060504030201 ll
    *(u64 *)(r10 - 40) = r2
    r2 = 0x100f0e0d0c0b0a09 ll
    *(u64 *)(r10 - 32) = r2
    r2 = 0x1817161514131211 ll
    *(u64 *)(r10 - 24) = r2
    r2 = 0x201f1e1d1c1b1a19 ll
    *(u64 *)(r10 - 16) = r2
    r2 = 0x2827262524232221 ll
    *(u64 *)(r10 - 8) = r2
    r2 = 3510
    r3 = r10
    r3 += -40
    r4 = 40
    call 190
    if r0 != 0 goto +6
    r1 = r6
    r2 = 7600
    r3 = r10
    r3 += -40
    r4 = 40
    call 190
    exit`;
  const ones = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
  const s = run(vm, store, { dataIn: pkt(8000) });
  assert.equal(s.retval, 0);
  const want = pkt(8000);
  want.set(ones, 3510);
  want.set(ones, 7600);
  assert.deepEqual(s.dataOut, want);
  assert.equal(run(vm, store, { dataIn: pkt(7616) }).retval, EINVAL); // 7640 > 7616: nothing from the second
  // the last 64 bytes load, 63 from the end does not; offsets above 0xffff are EFAULT
  const at = (off: string) => `r6 = r1\ncall 188\nr2 = r0\nr2 += ${off}\nr1 = r6\nr3 = r10\nr3 += -64\nr4 = 64\ncall 189\nexit`;
  assert.equal(run(vm, at('-64'), { dataIn: pkt(8000) }).retval, 0);
  assert.equal(run(vm, at('-63'), { dataIn: pkt(8000) }).retval, EINVAL);
  assert.equal(run(vm, at('0x10000'), { dataIn: pkt(8000) }).retval, EFAULT);
});

test('perf_event_output appends packet bytes across the frags; more than get_buff_len is EFAULT', () => {
  const { vm, reg } = setup();
  const pe = createMap(vm.space, reg, { type: BPF_MAP_TYPE.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  const [buf] = (pe as PerfEventArrayMap).openBuffers(32);
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
  assert.equal(run(vm, prog(3600), { dataIn: pkt(4000) }).retval, 0);
  const sample = buf.drain()[0];
  assert.deepEqual(sample.subarray(0, 3601), cat(new Uint8Array([0x7e]), pkt(3600)));
  assert.equal(run(vm, prog(4000), { dataIn: pkt(4000) }).retval, 0);
  assert.deepEqual(buf.drain()[0].subarray(1, 4001), pkt(4000));
  assert.equal(run(vm, prog(4001), { dataIn: pkt(4000) }).retval, EFAULT);
});

test('data_size_out below a multi-buffer packet: the first (size - frags) linear bytes then the frags, or nothing', () => {
  const { vm } = setup();
  const p = pkt(4000); // 3520 linear + 480 in a frag
  const r = run(vm, 'r0 = 2\nexit', { dataIn: p, dataSizeOut: 3900 });
  assert.equal(r.error?.code, 'ENOSPC');
  assert.equal(r.dataSizeOut, 4000);
  assert.deepEqual(r.dataOut, cat(p.subarray(0, 3420), p.subarray(3520)));
  assert.equal(r.ctxOut, null);
  const none = run(vm, 'r0 = 2\nexit', { dataIn: p, dataSizeOut: 400 });
  assert.equal(none.error?.code, 'ENOSPC');
  assert.equal(none.dataOut.length, 0);
  assert.equal(run(vm, 'r0 = 2\nexit', { dataIn: p, dataSizeOut: 4000 }).error, null);
});

test('ctx_in data_end is the linear length asked for (up to the frame), the rest of data_in in frags', () => {
  const { vm } = setup();
  assert.equal(run(vm, LINEAR, { dataIn: pkt(3600), ctxIn: md(0, 100) }).retval, 100);
  assert.equal(run(vm, BUFF_LEN, { dataIn: pkt(3600), ctxIn: md(0, 100) }).retval, 3600);
  assert.deepEqual(run(vm, LINEAR, { dataIn: pkt(3600), ctxIn: md(0, 100) }).dataOut, pkt(3600));
  // an empty linear part is allowed; adjust_head then has nothing to move over
  assert.equal(run(vm, LINEAR, { dataIn: pkt(100), ctxIn: md(0, 0) }).retval, 0);
  assert.equal(run(vm, BUFF_LEN, { dataIn: pkt(100), ctxIn: md(0, 0) }).retval, 100);
  // metadata only in the linear part: data_in 100 = 8 metadata + 92 packet bytes, all in frags
  assert.equal(run(vm, BUFF_LEN, { dataIn: pkt(100), ctxIn: md(8, 8) }).retval, 92);
  const out = run(vm, LINEAR, { dataIn: pkt(100), ctxIn: md(8, 8), ctxOut: true });
  assert.deepEqual(out.dataOut, pkt(100));
  assert.deepEqual(out.ctxOut, md(8, 8));
  assert.equal(errno(() => run(vm, LINEAR, { dataIn: pkt(100), ctxIn: md(0, 101) })), 'EINVAL');
  // data_end past the frame's room is capped: 3520 linear, 480 in frags
  assert.equal(run(vm, LINEAR, { dataIn: pkt(4000), ctxIn: md(0, 4000) }).retval, 3520);
});

test('ctx_in metadata: data_in minus the metadata must hold an Ethernet header; metadata up to 216 bytes', () => {
  const { vm } = setup();
  assert.equal(errno(() => run(vm, BUFF_LEN, { dataIn: pkt(17), ctxIn: md(4, 17) })), 'EINVAL');
  assert.equal(run(vm, BUFF_LEN, { dataIn: pkt(18), ctxIn: md(4, 18) }).retval, 14);
  assert.equal(errno(() => run(vm, BUFF_LEN, { dataIn: pkt(14), ctxIn: md(4, 14) })), 'EINVAL');
  assert.equal(XDP_TEST_META_MAX, 216);
  assert.equal(errno(() => run(vm, BUFF_LEN, { dataIn: pkt(229), ctxIn: md(216, 229) })), 'EINVAL');
  assert.equal(run(vm, BUFF_LEN, { dataIn: pkt(230), ctxIn: md(216, 230) }).retval, 14);
  assert.equal(errno(() => run(vm, BUFF_LEN, { dataIn: pkt(300), ctxIn: md(220, 300) })), 'EINVAL');
  assert.equal(errno(() => run(vm, BUFF_LEN, { dataIn: pkt(300), ctxIn: md(252, 300) })), 'EINVAL');
});

/** An Ethernet frame to `dst` with `ethertype` and n bytes in all. */
function frame(n: number, ethertype: number, dst = [0, 0, 0, 0, 0, 0]): Uint8Array {
  const p = pkt(n);
  p.set(dst, 0);
  p[12] = ethertype >> 8;
  p[13] = ethertype & 0xff;
  return p;
}

test('socket filter test run: an IPv4/IPv6 ethertype needs a whole IPv4 (20) / IPv6 (40) header', () => {
  const { vm } = setup();
  const len = 'r0 = *(u32 *)(r1 + 0)\nexit';
  assert.equal(errno(() => run(vm, len, { dataIn: frame(33, 0x0800) }, SK)), 'EINVAL');
  assert.equal(run(vm, len, { dataIn: frame(34, 0x0800) }, SK).retval, 20);
  assert.equal(errno(() => run(vm, len, { dataIn: frame(14, 0x0800) }, SK)), 'EINVAL');
  assert.equal(errno(() => run(vm, len, { dataIn: frame(53, 0x86dd) }, SK)), 'EINVAL');
  assert.equal(run(vm, len, { dataIn: frame(54, 0x86dd) }, SK).retval, 40);
  // other ethertypes (ARP, VLAN) and 802.3 length fields have no such rule
  assert.equal(run(vm, len, { dataIn: frame(20, 0x0806) }, SK).retval, 6);
  assert.equal(run(vm, len, { dataIn: frame(18, 0x8100) }, SK).retval, 4);
  assert.equal(run(vm, len, { dataIn: frame(14, 0x0800 - 0x0700) }, SK).retval, 0);
});

test("socket filter pkt_type as eth_type_trans on loopback: lo's address and broadcast address are all zeros", () => {
  const { vm } = setup();
  const pt = (dst: number[]) => run(vm, 'r0 = *(u32 *)(r1 + 4)\nexit', { dataIn: frame(60, 0x0806, dst) }, SK).retval;
  assert.equal(pt([0, 0, 0, 0, 0, 0]), 0); // PACKET_HOST: lo's own address
  assert.equal(pt([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 2); // PACKET_MULTICAST, not BROADCAST
  assert.equal(pt([0x01, 0x00, 0x5e, 0, 0, 1]), 2); // PACKET_MULTICAST
  assert.equal(pt([0x33, 0x33, 0, 0, 0, 1]), 2);
  assert.equal(pt([0x02, 0, 0, 0, 0, 1]), 3); // PACKET_OTHERHOST
});

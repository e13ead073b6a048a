// The libbpf-like API on the clang-built test objects: load (maps, global data, pins, static slots), run an
// XDP program on packets built here, read maps back; failures leave nothing behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BpfObject } from '../src/lib/index.js';
import { BpfRuntime } from '../src/syscall/index.js';
import { BpfError } from '../src/errors.js';
import { PROGS_DIR } from './object_util.js';
import { tcp4, udp4, vlanTag } from './lib_util.js';
import { BPF_MAP_TYPE as MT, BPF_NOEXIST, XDP_DROP, XDP_PASS, XDP_TX } from '../src/uapi/bpf.js';

const PROGS = PROGS_DIR;

const errno = (code: string, re?: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof BpfError, `expected BpfError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

const u64 = (b: Uint8Array | undefined, off = 0): bigint => {
  assert.ok(b !== undefined);
  return new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
};

test('xdp_parser: a TCP packet passes, protocol counters and the flow table are updated', () => {
  const obj = BpfObject.open(`${PROGS}xdp_parser.o`).load();
  const prog = obj.program('xdp_parser');
  assert.equal(prog.typeName, 'BPF_PROG_TYPE_XDP');
  const pkt = tcp4(1234, 80, 10);
  const r = prog.testRun({ dataIn: pkt, repeat: 3 });
  assert.equal(r.retval, XDP_PASS);
  assert.deepEqual([...r.dataOut], [...pkt]);
  assert.ok(r.durationNs >= 0);
  const stats = obj.map('proto_stats');
  assert.equal(stats.getNumber(1), 3n, 'SLOT_IPV4');
  assert.equal(stats.getNumber(3), 3n, 'SLOT_TCP');
  assert.equal(stats.getNumber(4), 0n, 'SLOT_UDP');
  const flows = obj.map('flow_table').entries();
  assert.equal(flows.length, 1);
  const [key, value] = flows[0];
  assert.deepEqual([key[0], key[1]], [4, 6]); // family, proto
  assert.equal(new DataView(key.buffer).getUint16(4), 80); // dport, network order
  assert.equal(u64(value, 0), 3n); // packets
  assert.equal(u64(value, 8), BigInt(3 * pkt.length)); // bytes
  // telnet is dropped, short frames are dropped and counted as bad
  assert.equal(prog.testRun({ dataIn: tcp4(1234, 23) }).retval, XDP_DROP);
  assert.equal(prog.testRun({ dataIn: new Uint8Array(20) }).retval, XDP_PASS); // ethertype 0: "other"
  assert.equal(stats.getNumber(0), 1n);
  // program info through the runtime
  const info = prog.info();
  assert.equal(info.name, 'xdp_parser');
  assert.deepEqual(info.mapIds.sort(), [obj.map('proto_stats').id, obj.map('flow_table').id].sort());
  assert.equal(info.runCnt, 5);
});

test('typed map access: get/set/delete/keys on a hash map, numbers and bytes, ENOENT as undefined', () => {
  const obj = BpfObject.open(`${PROGS}xdp_parser.o`).load();
  const stats = obj.map('proto_stats');
  stats.set(7, 99n);
  assert.equal(stats.getNumber(7), 99n);
  assert.equal(stats.keys().length, 8); // arrays have every key
  assert.equal(stats.get(8), undefined); // past the end: ENOENT
  const flows = obj.map('flow_table');
  const k = new Uint8Array(40).fill(1);
  flows.set(k, new Uint8Array(16).fill(2));
  assert.throws(() => flows.set(k, new Uint8Array(16), BPF_NOEXIST), errno('EEXIST'));
  assert.deepEqual([...flows.get(k)!], new Array(16).fill(2));
  assert.equal(flows.delete(k), true);
  assert.equal(flows.delete(k), false);
  assert.equal(flows.get(k), undefined);
  assert.throws(() => flows.set(1, 2), errno('EINVAL', /1 to 8 bytes/));
  assert.throws(() => obj.map('nope'), errno('ENOENT', /proto_stats/));
  assert.throws(() => obj.program('nope'), errno('ENOENT', /xdp_parser/));
});

test('global data: initial contents, .rodata frozen and read-only, program updates visible', () => {
  const obj = BpfObject.open(readFileSync(`${PROGS}global_data.o`), { name: 'global_data.o' }).load();
  const data = obj.map('global_d.data');
  const rodata = obj.map('global_d.rodata');
  const bss = obj.map('global_d.bss');
  const custom = obj.map('.data.custom');
  assert.equal(new DataView(data.get(0)!.buffer).getUint32(0, true), 5); // packet_count
  assert.equal(u64(data.get(0), 8), 0x1122334455667788n); // byte_count
  assert.equal(rodata.get(0)![0], 53); // drop_port
  assert.ok(rodata.info().frozen);
  assert.throws(() => rodata.set(0, new Uint8Array(17)), errno('EPERM', /frozen/));
  assert.deepEqual([...bss.get(0)!], new Array(28).fill(0));

  const r = obj.program('global_data_prog').testRun({ dataIn: new Uint8Array(64) });
  assert.equal(r.retval, XDP_PASS); // scratch[2] == 53 + 2
  assert.equal(new DataView(data.get(0)!.buffer).getUint32(0, true), 6);
  assert.equal(u64(data.get(0), 8), 0x1122334455667788n + 64n);
  assert.equal(u64(bss.get(0), 0), 0x1122334455667788n + 64n); // last_seen
  const cv = new DataView(custom.get(0)!.buffer);
  assert.equal(cv.getUint32(0, true), (0xdeadbeef ^ 0x70) >>> 0); // custom_a ^= banner[3] ('p')
  assert.equal(cv.getUint16(4, true), 0x4243);
});

test('maps_btf: every map created, static prog-array and map-in-map slots filled, pinned map reused', () => {
  const rt = new BpfRuntime();
  const obj = BpfObject.open(`${PROGS}maps_btf.o`).load({ runtime: rt });
  const jt = obj.map('jump_table');
  const slotId = (i: number): number | undefined => {
    const v = jt.get(i);
    return v === undefined ? undefined : new DataView(v.buffer).getUint32(0, true);
  };
  assert.equal(slotId(1), obj.program('tail_one').id);
  assert.equal(slotId(3), obj.program('tail_two').id);
  assert.equal(slotId(0), undefined);
  const outer = obj.map('outer_array');
  assert.equal(Number(outer.getNumber(0)), obj.map('inner_a').id);
  assert.equal(Number(outer.getNumber(2)), obj.map('inner_b').id);
  assert.equal(outer.get(1), undefined);
  // per-CPU map: one value per simulated CPU
  assert.equal(obj.map('percpu_stats').getPerCpu(0)!.length, 1);
  // the LIBBPF_PIN_BY_NAME map is pinned, and a second load reuses it
  const lru = obj.map('lru_cache');
  assert.equal(lru.pinPath, '/sys/fs/bpf/lru_cache');
  lru.set(new Uint8Array(8).fill(3), new Uint8Array(4).fill(4));
  const obj2 = BpfObject.open(`${PROGS}maps_btf.o`).load({ runtime: rt });
  assert.equal(obj2.map('lru_cache').reused, true);
  assert.equal(obj2.map('lru_cache').id, lru.id);
  assert.equal(obj2.map('counters').reused, false);
  assert.notEqual(obj2.map('counters').id, obj.map('counters').id);
  assert.deepEqual([...obj2.map('lru_cache').get(new Uint8Array(8).fill(3))!], [4, 4, 4, 4]);
  // tail programs run: tail_one bumps counters[1]
  assert.equal(obj.program('tail_one').testRun({ dataIn: new Uint8Array(60) }).retval, XDP_PASS);
  assert.equal(obj.map('counters').getNumber(1), 1n);
  assert.equal(obj.program('tail_two').testRun({ dataIn: new Uint8Array(60) }).retval, XDP_DROP);
});

test('pinned map of another shape is refused with EINVAL and the load leaves nothing behind', () => {
  const rt = new BpfRuntime();
  const fd = rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 8, maxEntries: 128 });
  rt.objPin({ bpfFd: fd, pathname: '/sys/fs/bpf/lru_cache' });
  rt.close(fd);
  const before = rt.mapGetNextId({ startId: 0 });
  assert.throws(() => BpfObject.open(`${PROGS}maps_btf.o`).load({ runtime: rt }), errno('EINVAL', /couldn't reuse pinned map.*type/));
  // only the pinned map remains
  assert.equal(rt.mapGetNextId({ startId: 0 }), before);
  assert.throws(() => rt.mapGetNextId({ startId: before }), errno('ENOENT'));
  assert.throws(() => rt.progGetNextId({ startId: 0 }), errno('ENOENT'));
});

test('legacy maps and a socket filter; a pin root elsewhere; programs option loads a subset', () => {
  const obj = BpfObject.open(`${PROGS}maps_legacy.o`).load({ programs: ['count_protocols'] });
  assert.equal(obj.license, 'Dual BSD/GPL');
  assert.ok(obj.program('count_protocols').loaded);
  assert.equal(obj.program('trace_getpid').loaded, false);
  assert.equal(obj.map('proto_count').maxEntries, 256);
  assert.equal(obj.map('pid_seen').typeName, 'BPF_MAP_TYPE_HASH');
  const o2 = BpfObject.open(`${PROGS}maps_btf.o`).load({ pinRoot: '/sys/fs/bpf/myapp' });
  assert.equal(o2.map('lru_cache').pinPath, '/sys/fs/bpf/myapp/lru_cache');
  assert.deepEqual(o2.runtime!.pins.list('/sys/fs/bpf/myapp'), ['lru_cache']);
});

test('a program the runtime cannot load fails the whole load naming it; close() frees everything', () => {
  const rt = new BpfRuntime();
  assert.throws(() => BpfObject.open(`${PROGS}sections.o`).load({ runtime: rt }), errno('EINVAL', /program '[a-z_]+' \(section/));
  assert.throws(() => rt.progGetNextId({ startId: 0 }), errno('ENOENT'));
  const obj = BpfObject.open(`${PROGS}sections.o`).load({ runtime: rt, programs: ['xdp_first', 'socket_prog'] });
  assert.equal(obj.program('xdp_first').testRun({ dataIn: new Uint8Array(14) }).retval, 8); // returns __LINE__
  assert.equal(obj.program('tc_prog').loaded, false);
  assert.throws(() => obj.program('tc_prog').testRun({}), errno('ENOENT', /not loaded/));
  assert.throws(() => obj.load(), errno('EINVAL', /already loaded/));
  obj.close();
  assert.throws(() => rt.progGetNextId({ startId: 0 }), errno('ENOENT'));
});

test('xdp_parser with helpers: UDP echo is sent back with MACs swapped, discard is trimmed, VLAN 100 is popped', () => {
  const obj = BpfObject.open(`${PROGS}xdp_parser.o`).load();
  const prog = obj.program('xdp_parser');
  const echo = udp4(5000, 7, 20);
  const r1 = prog.testRun({ dataIn: echo });
  assert.equal(r1.retval, XDP_TX);
  assert.deepEqual([...r1.dataOut.subarray(0, 6)], [...echo.subarray(6, 12)]);
  assert.deepEqual([...r1.dataOut.subarray(6, 12)], [...echo.subarray(0, 6)]);
  assert.deepEqual([...r1.dataOut.subarray(12)], [...echo.subarray(12)]);
  const discard = udp4(5000, 9, 100);
  const r2 = prog.testRun({ dataIn: discard });
  assert.equal(r2.retval, XDP_PASS);
  assert.equal(r2.dataOut.length, 64); // bpf_xdp_adjust_tail down to TRIM_TO
  assert.deepEqual([...r2.dataOut], [...discard.subarray(0, 64)]);
  const tagged = vlanTag(tcp4(1, 80), 100);
  const r3 = prog.testRun({ dataIn: tagged });
  assert.equal(r3.retval, XDP_PASS);
  assert.deepEqual([...r3.dataOut], [...tcp4(1, 80)]); // bpf_xdp_adjust_head(+4) after moving the MACs
  assert.equal(obj.map('proto_stats').getNumber(5), 1n, 'SLOT_VLAN');
  const other = vlanTag(tcp4(1, 80), 200);
  assert.deepEqual([...prog.testRun({ dataIn: other }).dataOut], [...other]); // only VLAN 100 is popped
});

test('maps_btf use_maps: every map type touched, ring buffer record, queue/stack, inner map, tail call into slot 1', () => {
  const obj = BpfObject.open(`${PROGS}maps_btf.o`).load({ pinRoot: '/sys/fs/bpf/t' });
  const r = obj.program('use_maps').testRun({ dataIn: new Uint8Array(60) });
  assert.equal(r.retval, XDP_PASS); // tail_one's verdict
  // counters[0] by use_maps, counters[1] by tail_one (reached through the tail call)
  assert.equal(obj.map('counters').getNumber(0), 1n);
  assert.equal(obj.map('counters').getNumber(1), 1n);
  assert.equal(obj.map('flows').entries().length, 1);
  assert.deepEqual([...obj.map('lru_cache').get(9n)!], [7, 0, 0, 0]);
  assert.deepEqual([...obj.map('work_queue').pop()!], [7, 0, 0, 0]);
  assert.equal(obj.map('work_queue').pop(), undefined);
  assert.equal(obj.map('undo_stack').getNumber(null), 9n);
  assert.equal(obj.map('inner_a').getNumber(0), 1n); // through outer_array[0]
  const records: Uint8Array[] = [];
  assert.equal(obj.map('events').consume((rec) => records.push(rec)), 1);
  assert.equal(records[0].length, 16); // struct flow_key
  // with the slot emptied, the tail call falls through and use_maps returns XDP_PASS itself
  obj.map('jump_table').delete(1);
  assert.equal(obj.program('use_maps').testRun({ dataIn: new Uint8Array(60) }).retval, XDP_PASS);
  assert.equal(obj.map('counters').getNumber(1), 1n);
  // and pointing slot 1 at tail_two makes the verdict XDP_DROP
  obj.map('jump_table').set(1, obj.program('tail_two'));
  assert.equal(obj.program('use_maps').testRun({ dataIn: new Uint8Array(60) }).retval, XDP_DROP);
});

test('setInitialValue configures .rodata before load; trace_printk output reaches the trace pipe', () => {
  const obj = BpfObject.open(`${PROGS}global_data.o`);
  const ro = obj.map('global_d.rodata');
  const cfg = ro.initialValue!.slice();
  cfg[4] = 1; // mode = 1: the program prints, and drop_port + mode != 55 -> XDP_DROP
  ro.setInitialValue(cfg);
  assert.throws(() => ro.setInitialValue(new Uint8Array(3)), errno('EINVAL', /value_size/));
  assert.throws(() => obj.map('global_d.data').setInitialValue(new Uint8Array(3)), errno('EINVAL'));
  obj.load();
  assert.throws(() => ro.setInitialValue(cfg), errno('EBUSY'));
  assert.equal(ro.get(0)![4], 1);
  const r = obj.program('global_data_prog').testRun({ dataIn: new Uint8Array(64) });
  assert.equal(r.retval, XDP_DROP);
  assert.deepEqual(obj.runtime!.tracePipe, ['mode one 6']);
});

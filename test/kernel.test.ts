// Tests of src/kernel, the bpftool-driven kernel backend: the parts that need no kernel (errno mapping,
// libbpf's map names, the probe object) always run; the rest loads the committed test objects into the
// running kernel and skips with the reason when the kernel is not reachable. Every test leaves nothing
// pinned (checked).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  kernelAvailable, loadObject, unloadObject, progRun, mapDump, mapUpdate, mapDelete, progArraySet, progArrayClear, mapInfo, progInfo,
  possibleCpus, cleanup, pinnedDirs, errnoOf, libbpfMapName, libbpfPinName, probeObject, PROBE_PROG_NAME,
} from '../src/kernel/index.js';
import { BpfError } from '../src/errors.js';
import { parseObject } from '../src/object/index.js';
import { BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { PROGS_DIR } from './object_util.js';
import { packet } from './packets/fixtures.js';

after(() => cleanup());

const u32le = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const u64le = (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);

test('errnoOf: libbpf -errno, strerror texts and bpftool exit statuses', () => {
  assert.equal(errnoOf("libbpf: prog 'x': failed to load: -13", 255), 'EACCES');
  assert.equal(errnoOf('failed to run program: Invalid argument', 234), 'EINVAL');
  assert.equal(errnoOf('update failed: Argument list too long', 255), 'E2BIG');
  assert.equal(errnoOf('something odd', 256 - 2), 'ENOENT');
  assert.equal(errnoOf('something odd', 255), 'EINVAL');
});

test("libbpf map names: BTF maps keep theirs, global data gets libbpf's internal names", () => {
  assert.equal(libbpfMapName('flow_table', 'x/xdp_parser.o'), 'flow_table');
  assert.equal(libbpfMapName('.rodata', 'test/progs/global_data.o'), 'global_d.rodata');
  assert.equal(libbpfMapName('.bss', 'global_data.o'), 'global_d.bss');
  assert.equal(libbpfMapName('.data', 'xdp.o'), 'xdp.data');
  assert.equal(libbpfMapName('.data.custom', 'global_data.o'), '.data.custom');
  assert.equal(libbpfMapName('.rodata.str1.1', 'a.o'), '.rodata.str1.1');
  assert.equal(libbpfPinName('.rodata', 'xdp_flow.o'), 'xdp_flow_rodata');
  assert.equal(libbpfPinName('.data.custom', 'global_data.o'), '_data_custom');
});

test('the probe object is a valid BPF ELF: one XDP program returning XDP_PASS, GPL', () => {
  const spec = parseObject(probeObject(), 'probe.o');
  assert.equal(spec.license, 'GPL');
  assert.deepEqual(spec.programs.map((p) => [p.name, p.section, p.type]), [[PROBE_PROG_NAME, 'xdp', BPF_PROG_TYPE.BPF_PROG_TYPE_XDP]]);
  assert.deepEqual(spec.programs[0].insns.map((i) => [i.code, i.imm]), [[0xb7, 2], [0x95, 0]]);
});

function needKernel(t: { skip: (m: string) => void }): boolean {
  const k = kernelAvailable();
  if (!k.ok) {
    t.skip(`kernel not reachable: ${k.why}`);
    return false;
  }
  return true;
}

test('kernel: loadObject pins every program and map; progRun, mapDump and mapInfo see them', (t) => {
  if (!needKernel(t)) return;
  try {
    const o = loadObject(`${PROGS_DIR}xdp_flow.o`);
    assert.match(o.pinDir, new RegExp(`^/sys/fs/bpf/tsbpf-${process.pid}-\\d+$`));
    assert.deepEqual([...o.progs.keys()], ['xdp_flow']);
    assert.deepEqual([...o.maps.keys()], ['flows', 'l4_counts', 'verdicts', 'xdp_flow_bss', 'xdp_flow_data', 'xdp_flow_rodata']);
    assert.equal(o.map('.rodata'), o.map('xdp_flow_rodata'));
    assert.throws(() => o.map('nope'), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
    const info = mapInfo(o.map('flows'));
    assert.deepEqual([info.type, info.name, info.keySize, info.valueSize, info.maxEntries], ['hash', 'flows', 40, 24, 1024]);
    assert.equal(progInfo(o.prog('xdp_flow')).type, 'xdp');
    // .rodata holds the initial policy: blocked port 23, min TTL 2.
    const ro = mapDump(o.map('.rodata'));
    assert.equal(ro.length, 1);
    assert.deepEqual([...ro[0].value!.slice(0, 3)], [23, 0, 2]);

    const syn = packet('ipv4_tcp_telnet').bytes;
    const r = progRun(o.prog('xdp_flow'), { dataIn: syn, repeat: 3 });
    assert.equal(r.retval, 1, 'XDP_DROP for the blocked port');
    assert.deepEqual(r.dataOut, syn);
    assert.ok(r.durationNs >= 0);
    // verdicts[XDP_DROP] counted 3 runs of 54 bytes
    const v = mapDump(o.map('verdicts'));
    assert.equal(v.length, 5);
    assert.equal(u64le(v[1].value!), 3n);
    assert.equal(u64le(v[1].value!.slice(8)), 3n * BigInt(syn.length));
    const flows = mapDump(o.map('flows'));
    assert.equal(flows.length, 1);
    assert.equal(u64le(flows[0].value!), 3n);
  } finally {
    cleanup();
  }
  assert.deepEqual(pinnedDirs(), []);
});

test('kernel: per-CPU values come per possible CPU, and progRun runs on the CPU it is given', (t) => {
  if (!needKernel(t)) return;
  try {
    const o = loadObject(`${PROGS_DIR}xdp_flow.o`);
    const n = possibleCpus();
    progRun(o.prog('xdp_flow'), { dataIn: packet('ipv4_udp_dns').bytes, repeat: 2 });
    if (n > 1) progRun(o.prog('xdp_flow'), { dataIn: packet('ipv4_udp_dns').bytes, repeat: 5, cpu: 1 });
    const d = mapDump(o.map('l4_counts'));
    assert.equal(d.length, 7);
    const udp = d[2].values!;
    assert.equal(udp.length, n);
    assert.equal(u64le(udp[0]), 2n, 'CPU 0 counted the default runs');
    if (n > 1) assert.equal(u64le(udp[1]), 5n, 'CPU 1 counted the pinned runs');
  } finally {
    cleanup();
  }
});

test('kernel: refusals come back as BpfErrors with the kernel errno', (t) => {
  if (!needKernel(t)) return;
  try {
    const o = loadObject(`${PROGS_DIR}xdp_flow.o`);
    assert.throws(() => progRun(o.prog('xdp_flow'), { dataIn: packet('tiny_frame_10').bytes }),
      (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && /failed to run program/.test(e.message));
    assert.throws(() => mapUpdate(o.map('verdicts'), u32le(5), new Uint8Array(16)), (e: unknown) => e instanceof BpfError && e.code === 'E2BIG');
    assert.throws(() => mapUpdate(o.map('.rodata'), u32le(0), new Uint8Array(3)), (e: unknown) => e instanceof BpfError);
    assert.throws(() => loadObject(`${PROGS_DIR}nonexistent.o`), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
    // maps_legacy.o uses the legacy `maps` section libbpf 1.x refuses: the load fails and pins nothing.
    const before = pinnedDirs().length;
    assert.throws(() => loadObject(`${PROGS_DIR}maps_legacy.o`), (e: unknown) => e instanceof BpfError);
    assert.equal(pinnedDirs().length, before);
  } finally {
    cleanup();
  }
  assert.deepEqual(pinnedDirs(), []);
});

test('kernel: mapUpdate seeds hash entries (per-CPU: every CPU), mapDelete removes them', (t) => {
  if (!needKernel(t)) return;
  try {
    const o = loadObject(`${PROGS_DIR}xdp_flow.o`);
    const key = new Uint8Array(40).fill(7);
    const val = new Uint8Array(24).fill(1);
    mapUpdate(o.map('flows'), key, val, 'noexist');
    assert.throws(() => mapUpdate(o.map('flows'), key, val, 'noexist'), (e: unknown) => e instanceof BpfError && e.code === 'EEXIST');
    assert.deepEqual(mapDump(o.map('flows')), [{ key, value: val }]);
    mapDelete(o.map('flows'), key);
    assert.deepEqual(mapDump(o.map('flows')), []);
    assert.throws(() => mapDelete(o.map('flows'), key), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
    const eight = new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0]);
    mapUpdate(o.map('l4_counts'), u32le(3), eight);
    const pc = mapDump(o.map('l4_counts'))[3];
    assert.deepEqual(pc.values, new Array(possibleCpus()).fill(eight));
  } finally {
    cleanup();
  }
});

test('kernel: prog-array slots set and cleared through pinned programs drive tail calls', (t) => {
  if (!needKernel(t)) return;
  try {
    const o = loadObject(`${PROGS_DIR}xdp_tailcall.o`);
    const tcp = packet('ipv4_tcp_syn').bytes;
    const udp = packet('ipv4_udp_dns').bytes;
    const run = (p: Uint8Array): number => progRun(o.prog('xdp_dispatch'), { dataIn: p }).retval;
    assert.deepEqual([run(tcp), run(udp)], [2, 2], 'empty slots: the dispatcher falls through to XDP_PASS');
    progArraySet(o.map('jump_table'), 0, o.prog('xdp_tcp_target'));
    progArraySet(o.map('jump_table'), 1, o.prog('xdp_udp_target'));
    assert.deepEqual([run(tcp), run(udp)], [1, 3]);
    const slots = mapDump(o.map('jump_table'));
    assert.equal(slots.length, 2);
    assert.equal(new DataView(slots[0].value!.buffer).getUint32(0, true), progInfo(o.prog('xdp_tcp_target')).id);
    progArrayClear(o.map('jump_table'), 0);
    assert.deepEqual([run(tcp), run(udp)], [2, 3]);
    const hits = mapDump(o.map('hits')).map((e) => u64le(e.value!));
    assert.deepEqual(hits, [1n, 2n, 6n]);
  } finally {
    cleanup();
  }
});

test('kernel: probing again and unloading one object leave the other objects pinned', (t) => {
  if (!needKernel(t)) return;
  try {
    const a = loadObject(`${PROGS_DIR}xdp_vlan.o`);
    const b = loadObject(`${PROGS_DIR}xdp_tail.o`);
    assert.deepEqual(kernelAvailable({ refresh: true }), { ok: true });
    assert.ok(existsSync(a.prog('xdp_vlan')) && existsSync(b.prog('xdp_tail')), 'the probe removed only its own pins');
    unloadObject(a);
    assert.ok(!existsSync(a.pinDir));
    assert.deepEqual(pinnedDirs(), [b.pinDir]);
    assert.equal(progRun(b.prog('xdp_tail'), { dataIn: packet('arp_request').bytes }).retval, 2);
  } finally {
    cleanup();
  }
});

test('kernel: cleanup removes every pin directory, even several, and is idempotent', (t) => {
  if (!needKernel(t)) return;
  const a = loadObject(`${PROGS_DIR}xdp_vlan.o`);
  const b = loadObject(`${PROGS_DIR}sock_filter.o`);
  assert.notEqual(a.pinDir, b.pinDir);
  assert.ok(existsSync(a.prog('xdp_vlan')) && existsSync(b.prog('sock_filter')));
  assert.equal(pinnedDirs().length, 2);
  cleanup();
  cleanup();
  assert.ok(!existsSync(a.pinDir) && !existsSync(b.pinDir));
  assert.deepEqual(pinnedDirs(), []);
});

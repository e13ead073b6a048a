// The bpf() command layer: every command's success path and the errno of each failure the kernel defines
// (CHECK_ATTR, fd validity, wrong object kind, missing ids, names, pin paths, access modes, log buffers).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfRuntime, type ProgInfo, type MapInfo } from '../src/syscall/index.js';
import { assemble } from '../src/isa/asm.js';
import { lddw, type Insn } from '../src/isa/insn.js';
import { BpfError } from '../src/errors.js';
import {
  BPF_ANY, BPF_EXIST, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_MAP_TYPE as MT, BPF_NOEXIST, BPF_PROG_TYPE as PT,
} from '../src/uapi/bpf.js';
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_VALUE } from '../src/isa/opcodes.js';

const errno = (code: string, re?: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof BpfError, `expected BpfError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

const u32le = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64le = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const readU64 = (b: Uint8Array): number => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));

function arrayMap(rt: BpfRuntime, extra: Partial<Parameters<BpfRuntime['mapCreate']>[0]> = {}): number {
  return rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapName: 'arr', ...extra });
}
function hashMap(rt: BpfRuntime, name = 'h'): number {
  return rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapName: name });
}

/** An lddw of a map (src kind given) as assembler text is awkward; build the slots directly. */
function withMap(fd: number, kind: number, body: string, pre = '', off = 0): Insn[] {
  const [a, b] = lddw(1, BigInt(fd) | (BigInt(off) << 32n), kind);
  return [...(pre ? assemble(pre) : []), a, b, ...assemble(body)];
}

/** Program: value = map[0]; *value = 7 (or +=1); return 2. */
function bumpProg(mapFd: number, kind = BPF_PSEUDO_MAP_FD): Insn[] {
  return withMap(mapFd, kind, `
    r2 = r10
    r2 += -4
    call 1
    if r0 == 0 goto +2
    r1 = 1
    lock *(u64 *)(r0 + 0) += r1
    r0 = 2
    exit`, '*(u32 *)(r10 - 4) = 0');
}

const RET2 = assemble('r0 = 2\nexit');
const PKT = new Uint8Array(64).map((_, i) => i);

test('MAP_CREATE: fds from 3 upward, lowest free reused; attribute errors', () => {
  const rt = new BpfRuntime();
  const a = arrayMap(rt), b = hashMap(rt);
  assert.deepEqual([a, b], [3, 4]);
  rt.close(a);
  assert.equal(hashMap(rt, 'again'), 3);
  // createMap's own checks surface unchanged
  assert.throws(() => arrayMap(rt, { keySize: 8 }), errno('EINVAL', /key_size/));
  assert.throws(() => rt.mapCreate({ mapType: 999, keySize: 4, valueSize: 4, maxEntries: 1 }), errno('EINVAL'));
  // names
  assert.throws(() => arrayMap(rt, { mapName: 'a_name_that_is_16' }), errno('EINVAL', /longer than 15/));
  assert.throws(() => arrayMap(rt, { mapName: 'bad-name' }), errno('EINVAL', /letters, digits/));
  assert.equal(typeof arrayMap(rt, { mapName: 'ok.name_15char' }), 'number');
  // CHECK_ATTR: a field MAP_CREATE does not read
  assert.throws(() => rt.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1, progFd: 3 } as never), errno('EINVAL', /progFd/));
  // file flags
  assert.throws(() => arrayMap(rt, { mapFlags: BPF_F_RDONLY | BPF_F_WRONLY }), errno('EINVAL', /RDONLY and BPF_F_WRONLY/));
  assert.throws(() => arrayMap(rt, { mapExtra: 3 }), errno('EINVAL', /map_extra/));
  assert.throws(() => arrayMap(rt, { numaNode: 1 }), errno('EINVAL', /numa/));
  // BTF ids without a BTF object
  assert.throws(() => arrayMap(rt, { btfKeyTypeId: 1 }), errno('EINVAL', /btf_value_type_id/));
  assert.throws(() => arrayMap(rt, { btfValueTypeId: 1, btfFd: 99 }), errno('EBADF'));
});

test('MAP_CREATE map-in-map: inner_map_fd resolved (EBADF / EINVAL), template may be closed afterwards', () => {
  const rt = new BpfRuntime();
  const inner = arrayMap(rt);
  const outer = rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner, mapName: 'outer' });
  assert.throws(() => rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: 77 }), errno('EBADF'));
  const pfd = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: RET2, license: 'GPL' });
  assert.throws(() => rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: pfd }), errno('EINVAL', /program, not a map/));
  // store the inner map by fd, read back its id
  rt.mapUpdateElem({ mapFd: outer, key: u32le(1), value: u32le(inner) });
  const innerId = (rt.objGetInfoByFd({ bpfFd: inner }) as MapInfo).id;
  assert.equal(new DataView(rt.mapLookupElem({ mapFd: outer, key: u32le(1) }).buffer).getUint32(0, true), innerId);
  // closing the inner fd keeps the map alive: the outer map holds it
  rt.close(inner);
  assert.equal(rt.mapGetNextId({ startId: innerId - 1 }), innerId);
  rt.mapDeleteElem({ mapFd: outer, key: u32le(1) });
  assert.throws(() => rt.mapGetFdById({ mapId: innerId }), errno('ENOENT'));
});

test('MAP_LOOKUP/UPDATE/DELETE/GET_NEXT_KEY: success and errno paths', () => {
  const rt = new BpfRuntime();
  const h = hashMap(rt);
  rt.mapUpdateElem({ mapFd: h, key: u32le(1), value: u64le(10) });
  rt.mapUpdateElem({ mapFd: h, key: u32le(2), value: u64le(20), flags: BPF_NOEXIST });
  assert.equal(readU64(rt.mapLookupElem({ mapFd: h, key: u32le(2) })), 20);
  assert.throws(() => rt.mapUpdateElem({ mapFd: h, key: u32le(2), value: u64le(1), flags: BPF_NOEXIST }), errno('EEXIST'));
  assert.throws(() => rt.mapUpdateElem({ mapFd: h, key: u32le(3), value: u64le(1), flags: BPF_EXIST }), errno('ENOENT'));
  assert.throws(() => rt.mapLookupElem({ mapFd: h, key: u32le(9) }), errno('ENOENT'));
  // iteration
  const first = rt.mapGetNextKey({ mapFd: h, key: null });
  const second = rt.mapGetNextKey({ mapFd: h, key: first });
  assert.deepEqual(new Set([first[0], second[0]]), new Set([1, 2]));
  assert.throws(() => rt.mapGetNextKey({ mapFd: h, key: second }), errno('ENOENT'));
  rt.mapDeleteElem({ mapFd: h, key: u32le(1) });
  assert.throws(() => rt.mapDeleteElem({ mapFd: h, key: u32le(1) }), errno('ENOENT'));
  // fds
  assert.throws(() => rt.mapLookupElem({ mapFd: 42, key: u32le(1) }), errno('EBADF'));
  const pfd = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: RET2, license: 'GPL' });
  assert.throws(() => rt.mapLookupElem({ mapFd: pfd, key: u32le(1) }), errno('EINVAL', /not a map/));
  assert.throws(() => rt.mapUpdateElem({ mapFd: pfd, key: u32le(1), value: u64le(1) }), errno('EINVAL'));
  // NULL key / value, bad flags, CHECK_ATTR
  assert.throws(() => rt.mapLookupElem({ mapFd: h, key: null }), errno('EFAULT'));
  assert.throws(() => rt.mapUpdateElem({ mapFd: h, key: u32le(1) }), errno('EFAULT'));
  assert.throws(() => rt.mapLookupElem({ mapFd: h, key: u32le(2), flags: 1 }), errno('EINVAL'));
  assert.throws(() => rt.mapDeleteElem({ mapFd: h, key: u32le(2), flags: 1 }), errno('EINVAL'));
  assert.throws(() => rt.mapLookupElem({ mapFd: h, key: u32le(2), startId: 1 } as never), errno('EINVAL', /startId/));
  // a key for a key-less map
  const q = rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 });
  rt.mapUpdateElem({ mapFd: q, value: u32le(5) });
  assert.throws(() => rt.mapUpdateElem({ mapFd: q, key: u32le(1), value: u32le(5) }), errno('EINVAL'));
  assert.deepEqual([...rt.mapLookupElem({ mapFd: q })], [...u32le(5)]);
  assert.deepEqual([...rt.mapLookupAndDeleteElem({ mapFd: q })], [...u32le(5)]);
  assert.throws(() => rt.mapLookupAndDeleteElem({ mapFd: q }), errno('ENOENT'));
});

test('LOOKUP_AND_DELETE on a hash; FREEZE: EPERM on writes, EBUSY twice; read-only/write-only fds', () => {
  const rt = new BpfRuntime();
  const h = hashMap(rt);
  rt.mapUpdateElem({ mapFd: h, key: u32le(1), value: u64le(5) });
  assert.equal(readU64(rt.mapLookupAndDeleteElem({ mapFd: h, key: u32le(1) })), 5);
  assert.throws(() => rt.mapLookupElem({ mapFd: h, key: u32le(1) }), errno('ENOENT'));

  const a = arrayMap(rt);
  rt.mapUpdateElem({ mapFd: a, key: u32le(0), value: u64le(3) });
  rt.mapFreeze({ mapFd: a });
  assert.throws(() => rt.mapFreeze({ mapFd: a }), errno('EBUSY'));
  assert.throws(() => rt.mapUpdateElem({ mapFd: a, key: u32le(0), value: u64le(4) }), errno('EPERM', /frozen/));
  assert.equal(readU64(rt.mapLookupElem({ mapFd: a, key: u32le(0) })), 3);

  const b = arrayMap(rt, { mapName: 'b' });
  const id = (rt.objGetInfoByFd({ bpfFd: b }) as MapInfo).id;
  const ro = rt.mapGetFdById({ mapId: id, openFlags: BPF_F_RDONLY });
  const wo = rt.mapGetFdById({ mapId: id, openFlags: BPF_F_WRONLY });
  assert.throws(() => rt.mapUpdateElem({ mapFd: ro, key: u32le(0), value: u64le(1) }), errno('EPERM', /read-only/));
  assert.throws(() => rt.mapDeleteElem({ mapFd: ro, key: u32le(0) }), errno('EPERM'));
  assert.throws(() => rt.mapFreeze({ mapFd: ro }), errno('EPERM'));
  rt.mapUpdateElem({ mapFd: wo, key: u32le(0), value: u64le(1) });
  assert.throws(() => rt.mapLookupElem({ mapFd: wo, key: u32le(0) }), errno('EPERM', /write-only/));
  assert.throws(() => rt.mapGetNextKey({ mapFd: wo, key: null }), errno('EPERM'));
  assert.equal(readU64(rt.mapLookupElem({ mapFd: ro, key: u32le(0) })), 1);
  assert.throws(() => rt.mapGetFdById({ mapId: id, openFlags: BPF_F_RDONLY | BPF_F_WRONLY }), errno('EINVAL'));
  assert.throws(() => rt.mapGetFdById({ mapId: id, openFlags: 1 }), errno('EINVAL'));
});

test('batch commands: lookup with cursor and ENOENT at the end, update, delete, lookup-and-delete', () => {
  const rt = new BpfRuntime();
  const h = rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 8 });
  const keys = new Uint8Array(3 * 4), vals = new Uint8Array(3 * 8);
  for (let i = 0; i < 3; i++) { keys.set(u32le(i + 1), 4 * i); vals.set(u64le(100 + i), 8 * i); }
  const up = rt.mapUpdateBatch({ mapFd: h, keys, values: vals, count: 3 });
  assert.deepEqual([up.count, up.error], [3, null]);
  const r1 = rt.mapLookupBatch({ mapFd: h, count: 2 });
  assert.equal(r1.count, 2);
  const r2 = rt.mapLookupBatch({ mapFd: h, inBatch: r1.outBatch, count: 8 });
  assert.equal(r1.count + r2.count, 3);
  assert.equal(r2.error?.code, 'ENOENT');
  const del = rt.mapDeleteBatch({ mapFd: h, keys: keys.subarray(0, 4), count: 1 });
  assert.equal(del.count, 1);
  const lad = rt.mapLookupAndDeleteBatch({ mapFd: h, count: 8 });
  assert.equal(lad.count, 2);
  assert.throws(() => rt.mapLookupElem({ mapFd: h, key: u32le(2) }), errno('ENOENT'));
  assert.throws(() => rt.mapUpdateBatch({ mapFd: h, count: 1 }), errno('EFAULT'));
  assert.throws(() => rt.mapLookupBatch({ mapFd: 99, count: 1 }), errno('EBADF'));
});

test('PROG_LOAD: success, fd/id/info, and every attribute check', () => {
  const rt = new BpfRuntime();
  const base = { progType: PT.BPF_PROG_TYPE_XDP, insns: RET2, license: 'GPL' };
  const fd = rt.progLoad({ ...base, progName: 'ret2' });
  const info = rt.objGetInfoByFd({ bpfFd: fd }) as ProgInfo;
  assert.equal(info.kind, 'prog');
  assert.equal(info.type, PT.BPF_PROG_TYPE_XDP);
  assert.equal(info.name, 'ret2');
  assert.equal(info.xlatedProgLen, 16);
  assert.equal(info.gplCompatible, true);
  assert.match(info.tag, /^[0-9a-f]{16}$/);
  // raw bytes work too, same tag for the same instructions
  const bytes = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const fd2 = rt.progLoad({ ...base, insns: bytes, license: 'Proprietary' });
  const info2 = rt.objGetInfoByFd({ bpfFd: fd2 }) as ProgInfo;
  assert.equal(info2.tag, info.tag);
  assert.equal(info2.gplCompatible, false);
  assert.equal(info2.id, info.id + 1);

  assert.throws(() => rt.progLoad({ ...base, insns: [] }), errno('E2BIG'));
  assert.throws(() => rt.progLoad({ ...base, insns: new Uint8Array(12) }), errno('EINVAL', /multiple of 8/));
  assert.throws(() => rt.progLoad({ ...base, progType: 999 }), errno('EINVAL', /not supported/));
  assert.throws(() => rt.progLoad({ ...base, progType: PT.BPF_PROG_TYPE_LSM }), errno('EINVAL'));
  assert.throws(() => rt.progLoad({ ...base, progFlags: 1 << 12 }), errno('EINVAL', /prog_flags/));
  // bit 4 is BPF_F_SLEEPABLE only for types that can sleep upstream (for XDP it is BPF_F_INJECT_CHAIN_CALLS: test/chain_api.test.ts)
  assert.throws(() => rt.progLoad({ ...base, progType: PT.BPF_PROG_TYPE_KPROBE, progFlags: 1 << 4 }), errno('EINVAL', /sleepable/));
  assert.throws(() => rt.progLoad({ ...base, progType: PT.BPF_PROG_TYPE_SOCKET_FILTER, progFlags: 1 << 5 }), errno('EINVAL', /XDP_HAS_FRAGS/));
  assert.throws(() => rt.progLoad({ ...base, license: undefined }), errno('EFAULT'));
  assert.throws(() => rt.progLoad({ ...base, progName: 'with space' }), errno('EINVAL'));
  assert.throws(() => rt.progLoad({ ...base, progName: 'x'.repeat(16) }), errno('EINVAL'));
  assert.throws(() => rt.progLoad({ ...base, progIfindex: 1 }), errno('EINVAL'));
  assert.throws(() => rt.progLoad({ ...base, mapFd: 1 } as never), errno('EINVAL', /mapFd/));
  // structural rejection names the instruction
  assert.throws(() => rt.progLoad({ ...base, insns: assemble('r0 = 1') }), errno('EINVAL', /insn 0/));
});

test('PROG_LOAD log: level without buffer is fine, buffer without level EINVAL, bad bits EINVAL, short buffer ENOSPC', () => {
  const rt = new BpfRuntime();
  const base = { progType: PT.BPF_PROG_TYPE_XDP, insns: RET2, license: 'GPL' };
  const a = { ...base, logLevel: 1, logSize: 4096 } as Parameters<BpfRuntime['progLoad']>[0];
  rt.progLoad(a);
  assert.match(a.logBuf!, /processed 2 insns/);
  assert.equal(a.logTrueSize, a.logBuf!.length + 1);
  rt.progLoad({ ...base, logLevel: 1 });
  assert.throws(() => rt.progLoad({ ...base, logSize: 100 }), errno('EINVAL', /without log_level/));
  assert.throws(() => rt.progLoad({ ...base, logLevel: 16, logSize: 100 }), errno('EINVAL', /log_level/));
  const small = { ...base, logLevel: 1, logSize: 8 } as Parameters<BpfRuntime['progLoad']>[0];
  assert.throws(() => rt.progLoad(small), errno('ENOSPC'));
  assert.equal(small.logBuf!.length, 7);
  // a rejected program: the log says why, on the attr and on the error
  const bad = { ...base, insns: assemble('r0 = 1'), logLevel: 1, logSize: 1000 } as Parameters<BpfRuntime['progLoad']>[0];
  assert.throws(() => rt.progLoad(bad), (e: unknown) => {
    assert.ok(e instanceof BpfError);
    assert.match((e as BpfError & { log: string }).log, /insn 0/);
    return true;
  });
  assert.match(bad.logBuf!, /insn 0/);
});

test('PROG_LOAD map references: fd, value, fd_array index, and their errnos', () => {
  const rt = new BpfRuntime();
  const arr = arrayMap(rt);
  const fd = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(arr), license: 'GPL' });
  const info = rt.objGetInfoByFd({ bpfFd: fd }) as ProgInfo;
  const mapId = (rt.objGetInfoByFd({ bpfFd: arr }) as MapInfo).id;
  assert.deepEqual(info.mapIds, [mapId]);
  // the xlated dump shows the map id, like bpftool
  const ld = info.xlatedProgInsns[1];
  assert.deepEqual([ld.src, ld.imm], [BPF_PSEUDO_MAP_FD, mapId]);

  // fd_array
  const viaIdx = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(0, BPF_PSEUDO_MAP_IDX), license: 'GPL', fdArray: [arr] });
  assert.ok(viaIdx > fd);
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(0, BPF_PSEUDO_MAP_IDX), license: 'GPL' }), errno('EINVAL', /fd_array/));
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(1, BPF_PSEUDO_MAP_IDX), license: 'GPL', fdArray: [arr] }), errno('EFAULT'));
  // bad fd, fd of a program, unknown lddw kind
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(77), license: 'GPL' }), errno('EBADF', /insn 1|fd 77/));
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(fd), license: 'GPL' }), errno('EINVAL', /program, not a map/));
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(arr, 7), license: 'GPL' }), errno('EINVAL', /unrecognized/));

  // direct value access: only single-element arrays, offset inside the value
  const one = rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, mapName: 'glob' });
  const valueProg = (mfd: number, off: number): Insn[] => withMap(mfd, BPF_PSEUDO_MAP_VALUE, 'r0 = *(u32 *)(r1 + 0)\nexit', '', off);
  rt.mapUpdateElem({ mapFd: one, key: u32le(0), value: new Uint8Array(16).fill(0).map((_, i) => (i === 8 ? 42 : 0)) });
  const vfd = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: valueProg(one, 8), license: 'GPL' });
  assert.equal(rt.progTestRun({ progFd: vfd, dataIn: PKT }).retval, 42);
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: valueProg(one, 16), license: 'GPL' }), errno('EINVAL', /value_size=16 off=16/));
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: valueProg(arr, 0), license: 'GPL' }), errno('ENOTSUPP'));
  const h = hashMap(rt);
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: valueProg(h, 0), license: 'GPL' }), errno('EINVAL', /direct value/));
});

test('PROG_TEST_RUN: XDP program updates a map; retval, data_out, repeat, stats, ENOSPC and fd errors', () => {
  const rt = new BpfRuntime();
  const arr = arrayMap(rt);
  const fd = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(arr), license: 'GPL' });
  const r = rt.progTestRun({ progFd: fd, dataIn: PKT, repeat: 5 });
  assert.equal(r.retval, 2);
  assert.deepEqual([...r.dataOut], [...PKT]);
  assert.ok(r.duration >= 0);
  assert.equal(readU64(rt.mapLookupElem({ mapFd: arr, key: u32le(0) })), 5);
  const info = rt.objGetInfoByFd({ bpfFd: fd }) as ProgInfo;
  assert.equal(info.runCnt, 5);
  assert.throws(() => rt.progTestRun({ progFd: fd, dataIn: PKT, dataSizeOut: 10 }), (e: unknown) => {
    assert.ok(e instanceof BpfError && e.code === 'ENOSPC');
    const res = (e as BpfError & { result: { dataOut: Uint8Array; dataSizeOut: number } }).result;
    assert.deepEqual([res.dataOut.length, res.dataSizeOut], [10, 64]);
    return true;
  });
  assert.throws(() => rt.progTestRun({ progFd: 99, dataIn: PKT }), errno('EBADF'));
  assert.throws(() => rt.progTestRun({ progFd: arr, dataIn: PKT }), errno('EINVAL', /not a program/));
  assert.throws(() => rt.progTestRun({ progFd: fd, dataIn: new Uint8Array(10) }), errno('EINVAL'));
  assert.throws(() => rt.progTestRun({ progFd: fd, dataIn: PKT, flags: 1 }), errno('EINVAL'));
  assert.throws(() => rt.progTestRun({ progFd: fd, dataIn: PKT, mapFd: 1 } as never), errno('EINVAL', /mapFd/));
});

test('GET_NEXT_ID / GET_FD_BY_ID: order, ENOENT, EINVAL for start_id >= INT_MAX', () => {
  const rt = new BpfRuntime();
  const m1 = arrayMap(rt), m2 = hashMap(rt);
  const id1 = (rt.objGetInfoByFd({ bpfFd: m1 }) as MapInfo).id, id2 = (rt.objGetInfoByFd({ bpfFd: m2 }) as MapInfo).id;
  assert.equal(rt.mapGetNextId({ startId: 0 }), id1);
  assert.equal(rt.mapGetNextId({ startId: id1 }), id2);
  assert.throws(() => rt.mapGetNextId({ startId: id2 }), errno('ENOENT'));
  assert.throws(() => rt.mapGetNextId({ startId: 0x7fffffff }), errno('EINVAL'));
  assert.throws(() => rt.progGetNextId({ startId: 0 }), errno('ENOENT'));
  const p = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: RET2, license: 'GPL' });
  const pid = rt.progGetNextId({ startId: 0 });
  assert.equal(pid, (rt.objGetInfoByFd({ bpfFd: p }) as ProgInfo).id);
  const p2 = rt.progGetFdById({ progId: pid });
  assert.equal(rt.progTestRun({ progFd: p2, dataIn: PKT }).retval, 2);
  assert.throws(() => rt.progGetFdById({ progId: 999 }), errno('ENOENT'));
  assert.throws(() => rt.progGetFdById({ progId: pid, openFlags: 1 } as never), errno('EINVAL'));
  assert.throws(() => rt.mapGetFdById({ mapId: 999 }), errno('ENOENT'));
  // a closed map's id disappears; a program keeps its maps alive
  rt.close(m2);
  assert.throws(() => rt.mapGetFdById({ mapId: id2 }), errno('ENOENT'));
  assert.throws(() => rt.close(m2), errno('EBADF'));
  assert.throws(() => rt.objGetInfoByFd({ bpfFd: m2 }), errno('EBADFD'));
  const used = arrayMap(rt, { mapName: 'used' });
  const uid = (rt.objGetInfoByFd({ bpfFd: used }) as MapInfo).id;
  const up = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(used), license: 'GPL' });
  rt.close(used);
  const again = rt.mapGetFdById({ mapId: uid });
  rt.close(again);
  const upId = (rt.objGetInfoByFd({ bpfFd: up }) as ProgInfo).id;
  rt.close(up);
  assert.throws(() => rt.progGetFdById({ progId: upId }), errno('ENOENT'));
  assert.throws(() => rt.mapGetFdById({ mapId: uid }), errno('ENOENT'));
});

test('OBJ_PIN / OBJ_GET: path rules, references, access flags', () => {
  const rt = new BpfRuntime();
  const m = arrayMap(rt);
  const id = (rt.objGetInfoByFd({ bpfFd: m }) as MapInfo).id;
  rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/counts' });
  assert.throws(() => rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/counts' }), errno('EEXIST'));
  assert.throws(() => rt.objPin({ bpfFd: m, pathname: '/tmp/counts' }), errno('EPERM', /bpf filesystem/));
  assert.throws(() => rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/no/such' }), errno('ENOENT'));
  assert.throws(() => rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/a.b' }), errno('EPERM', /'\.'/));
  assert.throws(() => rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/counts/x' }), errno('ENOTDIR'));
  assert.throws(() => rt.objPin({ bpfFd: 50, pathname: '/sys/fs/bpf/x' }), errno('EINVAL'));
  assert.throws(() => rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/x', fileFlags: 1 }), errno('EINVAL'));
  assert.throws(() => rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/' + 'n'.repeat(256) }), errno('ENAMETOOLONG'));
  rt.mkdir('/sys/fs/bpf/tc/globals', true);
  rt.objPin({ bpfFd: m, pathname: '/sys/fs/bpf/tc/globals/counts' });
  // the pin keeps the map alive after close
  rt.close(m);
  const fd = rt.objGet({ pathname: '/sys/fs/bpf/counts' });
  assert.equal((rt.objGetInfoByFd({ bpfFd: fd }) as MapInfo).id, id);
  rt.close(fd);
  assert.throws(() => rt.objGet({ pathname: '/sys/fs/bpf/missing' }), errno('ENOENT'));
  assert.throws(() => rt.objGet({ pathname: '/sys/fs/bpf/tc' }), errno('EACCES'));
  assert.throws(() => rt.objGet({ pathname: '/sys/fs/bpf/counts', bpfFd: 3 }), errno('EINVAL'));
  assert.throws(() => rt.objGet({ pathname: '/sys/fs/bpf/counts', fileFlags: 1 }), errno('EINVAL'));
  const ro = rt.objGet({ pathname: '/sys/fs/bpf/counts', fileFlags: BPF_F_RDONLY });
  assert.throws(() => rt.mapUpdateElem({ mapFd: ro, key: u32le(0), value: u64le(1) }), errno('EPERM'));
  rt.close(ro);
  // both pins gone -> the map is freed
  rt.unlink('/sys/fs/bpf/counts');
  assert.equal(rt.mapGetNextId({ startId: 0 }), id);
  rt.unlink('/sys/fs/bpf/tc/globals/counts');
  assert.throws(() => rt.mapGetNextId({ startId: 0 }), errno('ENOENT'));
  assert.throws(() => rt.unlink('/sys/fs/bpf/counts'), errno('ENOENT'));
  // programs pin too
  const p = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: RET2, license: 'GPL' });
  rt.objPin({ bpfFd: p, pathname: '/sys/fs/bpf/prog' });
  rt.close(p);
  const p2 = rt.objGet({ pathname: '/sys/fs/bpf/prog' });
  assert.equal(rt.progTestRun({ progFd: p2, dataIn: PKT }).retval, 2);
});

test('prog arrays: update by program fd, lookup gives the id, owner type, slots cleared with the last user reference', () => {
  const rt = new BpfRuntime();
  const pa = rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapName: 'jmp' });
  const xdp = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: RET2, license: 'GPL' });
  const sock = rt.progLoad({ progType: PT.BPF_PROG_TYPE_SOCKET_FILTER, insns: RET2, license: 'GPL' });
  const xid = (rt.objGetInfoByFd({ bpfFd: xdp }) as ProgInfo).id;
  rt.mapUpdateElem({ mapFd: pa, key: u32le(1), value: u32le(xdp), flags: BPF_ANY });
  assert.equal(new DataView(rt.mapLookupElem({ mapFd: pa, key: u32le(1) }).buffer).getUint32(0, true), xid);
  assert.throws(() => rt.mapUpdateElem({ mapFd: pa, key: u32le(2), value: u32le(sock) }), errno('EINVAL', /owner/));
  assert.throws(() => rt.mapUpdateElem({ mapFd: pa, key: u32le(2), value: u32le(77) }), errno('EBADF'));
  assert.throws(() => rt.mapUpdateElem({ mapFd: pa, key: u32le(2), value: u32le(pa) }), errno('EINVAL', /not a program/));
  // the array holds the program: closing its fd keeps the id alive
  rt.close(xdp);
  assert.equal(rt.progGetNextId({ startId: 0 }), xid);
  // a program loaded against a prog array of another type is refused (bpf_check_tail_call)
  const tail = withMap(pa, BPF_PSEUDO_MAP_FD, 'r0 = 2\nexit');
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_SOCKET_FILTER, insns: tail, license: 'GPL' }), errno('EINVAL', /prog array/));
  const user = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: tail, license: 'GPL' });
  // last fd of the prog array goes: slots emptied (the program using the array keeps the map itself)
  const paId = (rt.objGetInfoByFd({ bpfFd: pa }) as MapInfo).id;
  rt.close(pa);
  assert.throws(() => rt.progGetFdById({ progId: xid }), errno('ENOENT'));
  const paAgain = rt.mapGetFdById({ mapId: paId });
  assert.throws(() => rt.mapLookupElem({ mapFd: paAgain, key: u32le(1) }), errno('ENOENT'));
  rt.close(paAgain);
  rt.close(user);
  assert.throws(() => rt.mapGetFdById({ mapId: paId }), errno('ENOENT'));
});

test('bpf(cmd, attr) dispatches by number and name; unknown commands are EINVAL', () => {
  const rt = new BpfRuntime();
  const fd = rt.bpf(0, { mapType: MT.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }) as number;
  rt.bpf('BPF_MAP_UPDATE_ELEM', { mapFd: fd, key: u32le(0), value: u32le(9) });
  assert.deepEqual([...(rt.bpf(1, { mapFd: fd, key: u32le(0) }) as Uint8Array)], [...u32le(9)]);
  assert.throws(() => rt.bpf(8, {}), errno('EINVAL', /unknown or unsupported/));
  assert.throws(() => rt.bpf(12345, {}), errno('EINVAL'));
});

test('verifier rejections: EACCES with the log (read-only map write, uninitialised register), unknown helper EINVAL by name', () => {
  const rt = new BpfRuntime();
  const ro = arrayMap(rt, { mapFlags: BPF_F_RDONLY_PROG });
  const a = { progType: PT.BPF_PROG_TYPE_XDP, insns: bumpProg(ro), license: 'GPL', logLevel: 1, logSize: 1 << 16 } as Parameters<BpfRuntime['progLoad']>[0];
  assert.throws(() => rt.progLoad(a), errno('EACCES', /write into map forbidden/));
  assert.match(a.logBuf!, /write into map forbidden/);
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: assemble('r0 = r5\nexit'), license: 'GPL' }), errno('EACCES', /R5 !read_ok/));
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: assemble('call 211\nexit'), license: 'GPL' }), errno('EINVAL', /cgrp_storage_delete/));
  // gpl_only helpers need a GPL-compatible license
  assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_KPROBE, insns: assemble('r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 113\nr0 = 0\nexit'), license: 'MIT' }), errno('EINVAL', /GPL/));
  // nothing was left behind by the failed loads
  assert.throws(() => rt.progGetNextId({ startId: 0 }), errno('ENOENT'));
});

test('PROG_TEST_RUN of a type without a test run in the kernel is ENOTSUPP; ctx_in/ctx_out for XDP', () => {
  const rt = new BpfRuntime();
  const kp = rt.progLoad({ progType: PT.BPF_PROG_TYPE_KPROBE, insns: RET2, license: 'GPL' });
  assert.throws(() => rt.progTestRun({ progFd: kp }), errno('ENOTSUPP'));
  const xdp = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: assemble('r0 = *(u32 *)(r1 + 12)\nexit'), license: 'GPL' });
  const ctx = new Uint8Array(24);
  new DataView(ctx.buffer).setUint32(4, PKT.length, true); // data_end = len
  new DataView(ctx.buffer).setUint32(12, 1, true); // ingress_ifindex lo
  const r = rt.progTestRun({ progFd: xdp, dataIn: PKT, ctxIn: ctx });
  assert.equal(r.retval, 1);
  assert.equal(r.ctxOut?.length, 24);
});

test('tail calls go through the runtime program table: slot program runs, empty slot falls through', () => {
  const rt = new BpfRuntime();
  const pa = rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
  const target = rt.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: assemble('r0 = 3\nexit'), license: 'GPL' });
  const caller = rt.progLoad({
    progType: PT.BPF_PROG_TYPE_XDP, license: 'GPL',
    insns: withMap(pa, BPF_PSEUDO_MAP_FD, 'r1 = r6\nr3 = 2\ncall 12\nr0 = 1\nexit', 'r6 = r1')
      .map((i, k) => (k === 1 ? { ...i, dst: 2 } : i)),
  });
  assert.equal(rt.progTestRun({ progFd: caller, dataIn: PKT }).retval, 1); // slot 2 empty: falls through
  rt.mapUpdateElem({ mapFd: pa, key: u32le(2), value: u32le(target) });
  assert.equal(rt.progTestRun({ progFd: caller, dataIn: PKT }).retval, 3);
});

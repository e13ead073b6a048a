// Maps part 1: the factory's checks, arrays, hash maps (plain, per-CPU, LRU), freeze and permissions,
// batch commands, handles and regions, jhash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BPF_ANY, BPF_EXIST, BPF_F_INNER_MAP, BPF_F_LOCK, BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY,
  BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_MAP_TYPE as T, BPF_NOEXIST,
} from '../src/uapi/bpf.js';
import { PERM_READ, PERM_WRITE } from '../src/vm/memory.js';
import { ArrayMap, HashMap, HANDLE_ID, HANDLE_STRIDE, HANDLE_VALUES, jhash } from '../src/maps/index.js';
import { bytes, cat, readU32, readU64, runtime, throwsErrno, u32, u64 } from './maps_helpers.js';

const ERR = { EPERM: -1, ENOENT: -2, E2BIG: -7, EEXIST: -17, EINVAL: -22 };

test('jhash matches lookup3 test vectors (the kernel jhash)', () => {
  const u8 = new Uint8Array(64);
  assert.equal(jhash(u8, 0, 0, 0), 0xdeadbeef);
  const s = new TextEncoder().encode('Four score and seven years ago');
  u8.set(s, 3);
  assert.equal(jhash(u8, 3, s.length, 0), 0x17770551);
  assert.equal(jhash(u8, 3, s.length, 1), 0xcd628161);
});

test('createMap: attribute checks with the kernel errnos', () => {
  const { mk } = runtime(4);
  const a = { type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 };
  throwsErrno(() => mk({ ...a, keySize: 8 }), 'EINVAL', 'key_size');
  throwsErrno(() => mk({ ...a, valueSize: 0 }), 'EINVAL', 'value_size');
  throwsErrno(() => mk({ ...a, maxEntries: 0 }), 'EINVAL', 'max_entries');
  throwsErrno(() => mk({ ...a, flags: 1 << 20 }), 'EINVAL', 'unknown map_flags');
  throwsErrno(() => mk({ ...a, flags: BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG }), 'EINVAL');
  throwsErrno(() => mk({ ...a, flags: BPF_F_RDONLY | BPF_F_WRONLY }), 'EINVAL');
  throwsErrno(() => mk({ ...a, type: T.BPF_MAP_TYPE_PERCPU_ARRAY, flags: BPF_F_MMAPABLE }), 'EINVAL');
  throwsErrno(() => mk({ ...a, type: T.BPF_MAP_TYPE_PERCPU_ARRAY, valueSize: 32769 }), 'E2BIG');
  throwsErrno(() => mk({ ...a, name: 'bad name!' }), 'EINVAL', 'name');
  throwsErrno(() => mk({ ...a, name: 'a_very_long_map_name' }), 'EINVAL', 'name');
  throwsErrno(() => mk({ ...a, type: 999 }), 'EINVAL', 'unknown map type');
  throwsErrno(() => mk({ ...a, type: T.BPF_MAP_TYPE_SOCKMAP }), 'EOPNOTSUPP');
  throwsErrno(() => mk({ ...a, keySize: -1 }), 'EINVAL');
  throwsErrno(() => mk({ ...a, maxEntries: 0xffffffff, valueSize: 4096 }), 'ENOMEM');
  const h = { type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 };
  throwsErrno(() => mk({ ...h, keySize: 0 }), 'EINVAL');
  throwsErrno(() => mk({ ...h, valueSize: 0 }), 'EINVAL');
  throwsErrno(() => mk({ ...h, maxEntries: 0 }), 'EINVAL');
  throwsErrno(() => mk({ ...h, flags: BPF_F_MMAPABLE }), 'EINVAL');
  throwsErrno(() => mk({ ...h, flags: BPF_F_NO_COMMON_LRU }), 'EINVAL', 'NO_COMMON_LRU');
  throwsErrno(() => mk({ ...h, type: T.BPF_MAP_TYPE_LRU_HASH, flags: BPF_F_NO_PREALLOC }), 'ENOTSUPP');
  throwsErrno(() => mk({ ...h, valueSize: 1 << 22 }), 'E2BIG');
  throwsErrno(() => mk({ ...h, type: T.BPF_MAP_TYPE_PERCPU_HASH, valueSize: 40000 }), 'E2BIG');
  throwsErrno(() => mk({ ...h, flags: BPF_F_INNER_MAP }), 'EINVAL');
  // Valid ones carry their attributes, a unique id and a handle.
  const m1 = mk({ ...a, name: 'counters' });
  const m2 = mk({ ...h, flags: BPF_F_NO_PREALLOC });
  assert.equal(m1.name, 'counters');
  assert.notEqual(m1.id, m2.id);
  assert.ok(m1 instanceof ArrayMap && m2 instanceof HashMap);
});

test('handles: registry finds maps by handle and id; handles are not program-accessible', () => {
  const { mk, reg, space } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 12, maxEntries: 3 }) as ArrayMap;
  assert.equal(reg.byHandle(m.handle), m);
  assert.equal(reg.byId(m.id), m);
  assert.equal(reg.byHandle(m.handle + 8), undefined);
  assert.equal(space.findRegion(m.handle, 1, PERM_READ), -1);
  assert.equal(space.dv.getUint32(m.handle + HANDLE_ID, true), m.id);
  assert.equal(space.dv.getUint32(m.handle + HANDLE_VALUES, true), m.values);
  assert.equal(space.dv.getUint32(m.handle + HANDLE_STRIDE, true), 16);
  m.destroy();
  assert.equal(reg.byHandle(m.handle), undefined);
  assert.equal(reg.byId(m.id), undefined);
});

test('array: flags, bounds, delete, index-order iteration', () => {
  const { mk } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
  // Elements exist from creation, zeroed.
  assert.deepEqual(m.lookupElem(u32(3)), new Uint8Array(8));
  m.updateElem(u32(1), u64(0x1122), BPF_ANY);
  m.updateElem(u32(1), u64(0x3344), BPF_EXIST);
  assert.equal(readU64(m.lookupElem(u32(1))), 0x3344);
  throwsErrno(() => m.updateElem(u32(1), u64(1), BPF_NOEXIST), 'EEXIST');
  throwsErrno(() => m.updateElem(u32(1), u64(1), 3), 'EINVAL');
  throwsErrno(() => m.updateElem(u32(4), u64(1), BPF_ANY), 'E2BIG');
  throwsErrno(() => m.updateElem(u32(1), u64(1), BPF_F_LOCK), 'EINVAL', 'spin_lock');
  throwsErrno(() => m.lookupElem(u32(4)), 'ENOENT');
  throwsErrno(() => m.deleteElem(u32(1)), 'EINVAL');
  throwsErrno(() => m.lookupAndDeleteElem(u32(1)), 'ENOTSUPP');
  throwsErrno(() => m.updateElem(u32(1), bytes(1, 2)), 'EINVAL', 'value is 2 bytes');
  throwsErrno(() => m.lookupElem(bytes(1)), 'EINVAL', 'key');
  // get_next_key: index order; null or an out-of-range key gives 0; the last gives ENOENT.
  const keys: number[] = [];
  let k: Uint8Array | null = null;
  for (;;) {
    try {
      k = m.getNextKey(k);
    } catch {
      break;
    }
    keys.push(readU32(k));
  }
  assert.deepEqual(keys, [0, 1, 2, 3]);
  assert.equal(readU32(m.getNextKey(u32(77))), 0);
  throwsErrno(() => m.getNextKey(u32(3)), 'ENOENT');
});

test('array: program-side lookup returns a writable pointer; user lookup sees the write', () => {
  const { mk, space, scratch } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
  space.dv.setUint32(scratch, 2, true);
  const p = m.lookup(scratch);
  assert.ok(p > 0);
  assert.ok(space.findRegion(p, 8, PERM_READ | PERM_WRITE) >= 0);
  space.dv.setBigUint64(p, 0xabcdefn, true);
  assert.equal(readU64(m.lookupElem(u32(2))), 0xabcdef);
  // Same pointer each time; out of range gives NULL.
  assert.equal(m.lookup(scratch), p);
  space.dv.setUint32(scratch, 4, true);
  assert.equal(m.lookup(scratch), 0);
  // Program-side update returns errnos as negative numbers.
  space.dv.setUint32(scratch, 1, true);
  space.dv.setBigUint64(scratch + 8, 99n, true);
  assert.equal(m.update(scratch, scratch + 8, BPF_ANY), 0);
  assert.equal(m.update(scratch, scratch + 8, BPF_NOEXIST), ERR.EEXIST);
  assert.equal(m.update(scratch, scratch + 8, 7), ERR.EINVAL);
  assert.equal(m.update(scratch, scratch + 8, 2 ** 32), ERR.EINVAL); // a high flag bit
  assert.equal(m.delete(scratch), ERR.EINVAL);
  space.dv.setUint32(scratch, 9, true);
  assert.equal(m.update(scratch, scratch + 8, BPF_ANY), ERR.E2BIG);
  assert.equal(readU64(m.lookupElem(u32(1))), 99);
});

test('array: BPF_F_RDONLY_PROG values are read-only for programs; WRONLY_PROG write-only', () => {
  const { mk, space, scratch } = runtime();
  const ro = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: BPF_F_RDONLY_PROG });
  space.dv.setUint32(scratch, 0, true);
  const p = ro.lookup(scratch);
  assert.ok(space.findRegion(p, 8, PERM_READ) >= 0);
  assert.equal(space.findRegion(p, 8, PERM_WRITE), -1);
  const wo = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: BPF_F_WRONLY_PROG });
  const q = wo.lookup(scratch);
  assert.ok(space.findRegion(q, 8, PERM_WRITE) >= 0);
  assert.equal(space.findRegion(q, 8, PERM_READ), -1);
});

test('percpu_array: one value per CPU, user sees all CPUs padded to 8 bytes', () => {
  const { mk, reg, space, scratch } = runtime(3);
  const m = mk({ type: T.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
  assert.equal(m.userValueSize, 24);
  space.dv.setUint32(scratch, 1, true);
  for (let cpu = 0; cpu < 3; cpu++) {
    reg.setCpu(cpu);
    const p = m.lookup(scratch);
    space.dv.setUint32(p, 100 + cpu, true);
  }
  // Pointers differ per CPU.
  reg.setCpu(0);
  const p0 = m.lookup(scratch);
  reg.setCpu(1);
  assert.notEqual(m.lookup(scratch), p0);
  assert.equal(m.lookupPercpu(scratch, 2), p0 + 16);
  assert.equal(m.lookupPercpu(scratch, 3), 0);
  const v = m.lookupElem(u32(1));
  assert.deepEqual([readU32(v, 0), readU32(v, 8), readU32(v, 16)], [100, 101, 102]);
  // Program update on CPU 2 touches only CPU 2.
  reg.setCpu(2);
  space.dv.setUint32(scratch + 8, 7, true);
  assert.equal(m.update(scratch, scratch + 8, BPF_ANY), 0);
  const v2 = m.lookupElem(u32(1));
  assert.deepEqual([readU32(v2, 0), readU32(v2, 8), readU32(v2, 16)], [100, 101, 7]);
  // User update writes every CPU.
  m.updateElem(u32(0), cat(u64(1), u64(2), u64(3)));
  const v3 = m.lookupElem(u32(0));
  assert.deepEqual([readU32(v3, 0), readU32(v3, 8), readU32(v3, 16)], [1, 2, 3]);
  throwsErrno(() => m.updateElem(u32(0), u64(1)), 'EINVAL', 'expected 24');
  throwsErrno(() => reg.setCpu(3), 'EINVAL');
});

test('hash: NOEXIST/EXIST, full map E2BIG, replace when full, delete, lookup-and-delete', () => {
  const { mk } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 3 }) as HashMap;
  throwsErrno(() => m.lookupElem(u32(1)), 'ENOENT');
  throwsErrno(() => m.updateElem(u32(1), u64(10), BPF_EXIST), 'ENOENT');
  m.updateElem(u32(1), u64(10), BPF_NOEXIST);
  throwsErrno(() => m.updateElem(u32(1), u64(11), BPF_NOEXIST), 'EEXIST');
  m.updateElem(u32(1), u64(11), BPF_EXIST);
  m.updateElem(u32(2), u64(20));
  m.updateElem(u32(3), u64(30));
  assert.equal(m.count, 3);
  throwsErrno(() => m.updateElem(u32(4), u64(40)), 'E2BIG', 'full');
  m.updateElem(u32(3), u64(33)); // replacing works when full
  throwsErrno(() => m.updateElem(u32(4), u64(1), 4 | 8), 'EINVAL');
  assert.equal(readU64(m.lookupElem(u32(3))), 33);
  m.deleteElem(u32(2));
  throwsErrno(() => m.deleteElem(u32(2)), 'ENOENT');
  m.updateElem(u32(4), u64(40));
  assert.equal(readU64(m.lookupAndDeleteElem(u32(4))), 40);
  throwsErrno(() => m.lookupAndDeleteElem(u32(4)), 'ENOENT');
  assert.equal(m.count, 2);
  const got = m.entries().map(([k, v]) => [readU32(k), readU64(v)]).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(got, [[1, 11], [3, 33]]);
});

test('hash: iteration visits each key once; a missing key restarts at the first; order is bucket order', () => {
  const { mk } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 4, maxEntries: 64 }) as HashMap;
  for (let i = 0; i < 50; i++) m.updateElem(u64(i * 7919), u32(i));
  const seen: number[] = [];
  let k: Uint8Array | null = null;
  for (;;) {
    try {
      k = m.getNextKey(k);
    } catch {
      break;
    }
    seen.push(readU64(k));
  }
  assert.equal(seen.length, 50);
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i * 7919));
  assert.deepEqual(m.getNextKey(u64(123456789)), m.getNextKey(null));
  // Buckets come in increasing jhash & (n_buckets - 1) order.
  const u8 = new Uint8Array(8);
  const bucket = (key: number): number => {
    u8.set(u64(key));
    return jhash(u8, 0, 8, 0) & (m.nBuckets - 1);
  };
  const bs = seen.map(bucket);
  for (let i = 1; i < bs.length; i++) assert.ok(bs[i] >= bs[i - 1]);
});

test('hash: program writes through the lookup pointer; an update swaps in a fresh element', () => {
  const { mk, space, scratch } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 8 });
  space.dv.setUint32(scratch, 42, true);
  assert.equal(m.lookup(scratch), 0);
  space.dv.setBigUint64(scratch + 8, 5n, true);
  assert.equal(m.update(scratch, scratch + 8, BPF_NOEXIST), 0);
  assert.equal(m.update(scratch, scratch + 8, BPF_NOEXIST), ERR.EEXIST);
  assert.equal(m.update(scratch, scratch + 8, 2 ** 33 + 1), ERR.EINVAL);
  const p = m.lookup(scratch);
  assert.ok(p > 0 && space.findRegion(p, 8, PERM_WRITE) >= 0);
  space.dv.setBigUint64(p, 77n, true);
  assert.equal(readU64(m.lookupElem(u32(42))), 77);
  // Like the kernel, updating an existing key links a new element: the old pointer is detached.
  m.updateElem(u32(42), u64(88));
  const p2 = m.lookup(scratch);
  assert.notEqual(p2, p);
  space.dv.setBigUint64(p, 1n, true);
  assert.equal(readU64(m.lookupElem(u32(42))), 88);
  assert.equal(m.delete(scratch), 0);
  assert.equal(m.delete(scratch), ERR.ENOENT);
});

test('percpu_hash: a new element from a program holds the value on this CPU and zeros elsewhere', () => {
  const { mk, reg, space, scratch } = runtime(2);
  const m = mk({ type: T.BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
  reg.setCpu(1);
  space.dv.setUint32(scratch, 9, true);
  space.dv.setUint32(scratch + 8, 5, true);
  assert.equal(m.update(scratch, scratch + 8, BPF_ANY), 0);
  let v = m.lookupElem(u32(9));
  assert.equal(v.length, 16);
  assert.deepEqual([readU32(v, 0), readU32(v, 8)], [0, 5]);
  reg.setCpu(0);
  const p = m.lookup(scratch);
  space.dv.setUint32(p, 3, true);
  v = m.lookupElem(u32(9));
  assert.deepEqual([readU32(v, 0), readU32(v, 8)], [3, 5]);
  m.updateElem(u32(9), cat(u64(11), u64(12)));
  v = m.lookupElem(u32(9));
  assert.deepEqual([readU32(v, 0), readU32(v, 8)], [11, 12]);
  assert.deepEqual([readU32(m.lookupAndDeleteElem(u32(9)), 8)], [12]);
});

test('lru_hash: evicts the least recently used; program lookups refresh, user lookups do not', () => {
  const { mk, space, scratch } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 3 });
  for (const k of [1, 2, 3]) m.updateElem(u32(k), u64(k * 10));
  // Program touches 1: now 2 is the oldest.
  space.dv.setUint32(scratch, 1, true);
  assert.ok(m.lookup(scratch) > 0);
  m.updateElem(u32(4), u64(40));
  const keys = () => m.entries().map(([k]) => readU32(k)).sort();
  assert.deepEqual(keys(), [1, 3, 4]);
  // A user lookup of 3 does not refresh it: 3 goes next.
  m.lookupElem(u32(3));
  m.updateElem(u32(5), u64(50));
  assert.deepEqual(keys(), [1, 4, 5]);
  // Updating an existing key makes it most recent and does not evict.
  m.updateElem(u32(1), u64(11));
  assert.deepEqual(keys(), [1, 4, 5]);
  m.updateElem(u32(6), u64(60)); // evicts 4
  assert.deepEqual(keys(), [1, 5, 6]);
  // NOEXIST on a present key still fails; delete frees a slot so nothing is evicted.
  throwsErrno(() => m.updateElem(u32(5), u64(0), BPF_NOEXIST), 'EEXIST');
  m.deleteElem(u32(5));
  m.updateElem(u32(7), u64(70));
  assert.deepEqual(keys(), [1, 6, 7]);
});

test('lru_percpu_hash with BPF_F_NO_COMMON_LRU: one LRU list per CPU', () => {
  const { mk, reg, space, scratch } = runtime(2);
  const m = mk({ type: T.BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 3, flags: BPF_F_NO_COMMON_LRU });
  assert.equal(m.maxEntries, 4); // rounded up to a multiple of the CPU count
  const put = (cpu: number, key: number): void => {
    reg.setCpu(cpu);
    space.dv.setUint32(scratch, key, true);
    space.dv.setUint32(scratch + 8, key, true);
    assert.equal(m.update(scratch, scratch + 8, BPF_ANY), 0);
  };
  put(0, 1);
  put(0, 2);
  put(1, 3);
  put(0, 4); // CPU 0's list holds 2: evicts 1 although the map has a free element
  const keys = m.entries().map(([k]) => readU32(k)).sort();
  assert.deepEqual(keys, [2, 3, 4]);
});

test('freeze and access flags: EPERM for user writes, programs still write', () => {
  const { mk, space, scratch } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
  m.updateElem(u32(0), u32(1));
  m.freeze();
  throwsErrno(() => m.freeze(), 'EBUSY');
  throwsErrno(() => m.updateElem(u32(0), u32(2)), 'EPERM', 'frozen');
  assert.equal(readU32(m.lookupElem(u32(0))), 1);
  space.dv.setUint32(scratch, 0, true);
  space.dv.setUint32(scratch + 8, 5, true);
  assert.equal(m.update(scratch, scratch + 8, BPF_ANY), 0);
  assert.equal(readU32(m.lookupElem(u32(0))), 5);
  const h = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
  h.updateElem(u32(1), u32(1));
  h.freeze();
  throwsErrno(() => h.deleteElem(u32(1)), 'EPERM');
  throwsErrno(() => h.lookupAndDeleteElem(u32(1)), 'EPERM');
  throwsErrno(() => h.updateBatch(u32(2), u32(2), 1), 'EPERM');
  const ro = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2, flags: BPF_F_RDONLY });
  throwsErrno(() => ro.updateElem(u32(1), u32(1)), 'EPERM');
  throwsErrno(() => ro.freeze(), 'EPERM');
  const wo = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2, flags: BPF_F_WRONLY });
  wo.updateElem(u32(1), u32(1));
  throwsErrno(() => wo.lookupElem(u32(1)), 'EPERM');
  throwsErrno(() => wo.getNextKey(null), 'EPERM');
});

test('array batch: key cursor, ENOENT at the end with the data', () => {
  const { mk } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 5 });
  const up = m.updateBatch(cat(u32(0), u32(1), u32(2), u32(3), u32(4)), cat(u32(10), u32(11), u32(12), u32(13), u32(14)), 5);
  assert.deepEqual(up, { count: 5, error: null });
  const r1 = m.lookupBatch(null, 3);
  assert.equal(r1.count, 3);
  assert.equal(r1.error, null);
  assert.deepEqual(r1.keys, cat(u32(0), u32(1), u32(2)));
  assert.deepEqual(r1.values, cat(u32(10), u32(11), u32(12)));
  assert.deepEqual(r1.outBatch, u32(2));
  const r2 = m.lookupBatch(r1.outBatch, 3);
  assert.equal(r2.count, 2);
  assert.equal(r2.error?.code, 'ENOENT');
  assert.deepEqual(r2.values, cat(u32(13), u32(14)));
  assert.deepEqual(r2.outBatch, u32(4));
  const r3 = m.lookupBatch(r2.outBatch, 3);
  assert.equal(r3.count, 0);
  assert.equal(r3.outBatch, null);
  assert.equal(r3.error?.code, 'ENOENT');
  assert.equal(m.lookupBatch(null, 0).count, 0);
  throwsErrno(() => m.lookupBatch(null, 1, { elemFlags: 8 }), 'EINVAL');
  throwsErrno(() => m.deleteBatch(u32(0), 1), 'ENOTSUPP');
  throwsErrno(() => m.lookupAndDeleteBatch(null, 1), 'ENOTSUPP');
  // An update batch stops at the first failing element and reports how many went in.
  const bad = m.updateBatch(cat(u32(1), u32(9), u32(2)), cat(u32(1), u32(1), u32(1)), 3);
  assert.equal(bad.count, 1);
  assert.equal(bad.error?.code, 'E2BIG');
});

test('hash batch: bucket cursor, whole buckets, ENOSPC, lookup-and-delete empties the map', () => {
  const { mk } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 32 }) as HashMap;
  for (let i = 0; i < 20; i++) m.updateElem(u32(i), u32(i + 100));
  const seen = new Map<number, number>();
  let cursor: Uint8Array | null = null;
  let rounds = 0;
  for (;;) {
    const r = m.lookupBatch(cursor, 4);
    for (let i = 0; i < r.count; i++) seen.set(readU32(r.keys, 4 * i), readU32(r.values, 4 * i));
    rounds++;
    if (r.error) {
      assert.equal(r.error.code, 'ENOENT');
      break;
    }
    assert.ok(r.count > 0 && r.count <= 4);
    cursor = r.outBatch;
  }
  assert.ok(rounds >= 5);
  assert.equal(seen.size, 20);
  for (const [k, v] of seen) assert.equal(v, k + 100);
  // A bucket bigger than count: ENOSPC when nothing was copied yet, else the batch stops before it.
  const full = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }) as HashMap;
  const u8 = new Uint8Array(4);
  const bucketOf = (k: number): number => {
    u8.set(u32(k));
    return jhash(u8, 0, 4, 0) & 3;
  };
  const same: number[] = [];
  for (let k = 0; same.length < 2; k++) if (bucketOf(k) === 0) same.push(k);
  let other = 0;
  while (bucketOf(other) === 0) other++;
  for (const k of [...same, other]) full.updateElem(u32(k), u32(k));
  const tiny = full.lookupBatch(null, 1);
  assert.equal(tiny.error?.code, 'ENOSPC');
  assert.equal(tiny.count, 0);
  assert.deepEqual(tiny.outBatch, u32(0));
  const two = full.lookupBatch(null, 2);
  assert.equal(two.count, 2);
  assert.equal(two.error, null);
  assert.deepEqual(new Set([readU32(two.keys, 0), readU32(two.keys, 4)]), new Set(same));
  assert.deepEqual(two.outBatch, u32(bucketOf(other))); // empty buckets are skipped: the cursor is the next non-empty one
  const rest = full.lookupBatch(two.outBatch, 2);
  assert.equal(rest.count, 1);
  assert.equal(readU32(rest.keys), other);
  assert.equal(rest.error?.code, 'ENOENT');
  throwsErrno(() => m.lookupBatch(null, 4, { flags: 1 }), 'EINVAL');
  const past = m.lookupBatch(u32(m.nBuckets), 4);
  assert.equal(past.error?.code, 'ENOENT');
  // Delete everything through lookup-and-delete batches.
  let total = 0;
  cursor = null;
  for (;;) {
    const r = m.lookupAndDeleteBatch(cursor, 8);
    total += r.count;
    if (r.error) break;
    cursor = r.outBatch;
  }
  assert.equal(total, 20);
  assert.equal(m.count, 0);
  // delete batch stops at a missing key.
  m.updateElem(u32(1), u32(1));
  const d = m.deleteBatch(cat(u32(1), u32(2)), 2);
  assert.equal(d.count, 1);
  assert.equal(d.error?.code, 'ENOENT');
});

// Maps part 2: LPM trie, queue/stack, ring buffer, prog array, map-in-map, devmap/devmap_hash/cpumap,
// perf event array.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BPF_ANY, BPF_ATTACH_TYPE, BPF_EXIST, BPF_F_INNER_MAP, BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_MAP_TYPE as T,
  BPF_NOEXIST, BPF_PROG_TYPE,
} from '../src/uapi/bpf.js';
import { PERM_READ, PERM_WRITE } from '../src/vm/memory.js';
import { BpfError } from '../src/errors.js';
import {
  ArrayOfMapsMap, BPF_F_CURRENT_CPU, BPF_RB_AVAIL_DATA, BPF_RB_CONS_POS, BPF_RB_PROD_POS, BPF_RB_RING_SIZE,
  BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, CpuMap, DevMap, DevMapHash, HashMap, PerfEventArrayMap, ProgArrayMap,
  QueueStackMap, RingBufMap, ringbufFromSample, type ProgRef,
} from '../src/maps/index.js';
import { bytes, cat, readU32, readU64, runtime, throwsErrno, u32, u64 } from './maps_helpers.js';

// ---- LPM trie -------------------------------------------------------------------------------------------

const v4 = (s: string, len: number): Uint8Array => cat(u32(len), Uint8Array.from(s.split('.').map(Number)));
function v6(s: string, len: number): Uint8Array {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[2 * i] = g >> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return cat(u32(len), b);
}
const keyStr4 = (k: Uint8Array): string => `${[...k.subarray(4)].join('.')}/${readU32(k)}`;

test('lpm_trie: creation checks', () => {
  const { mk } = runtime();
  const a = { type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, flags: BPF_F_NO_PREALLOC };
  throwsErrno(() => mk({ ...a, flags: 0 }), 'EINVAL', 'NO_PREALLOC');
  throwsErrno(() => mk({ ...a, keySize: 4 }), 'EINVAL', 'key_size');
  throwsErrno(() => mk({ ...a, keySize: 261 }), 'EINVAL', 'key_size');
  throwsErrno(() => mk({ ...a, valueSize: 0 }), 'EINVAL');
  throwsErrno(() => mk({ ...a, maxEntries: 0 }), 'EINVAL');
  throwsErrno(() => mk({ ...a, flags: BPF_F_NO_PREALLOC | BPF_F_INNER_MAP }), 'EINVAL');
  assert.equal(mk(a).keySize, 8);
});

test('lpm_trie: IPv4 longest-prefix match, flags, ENOSPC, delete', () => {
  const { mk, space, scratch } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 5, flags: BPF_F_NO_PREALLOC });
  m.updateElem(v4('10.0.0.0', 8), u32(1));
  m.updateElem(v4('10.1.0.0', 16), u32(2));
  m.updateElem(v4('10.1.2.0', 24), u32(3));
  m.updateElem(v4('192.168.0.0', 16), u32(4));
  const look = (ip: string, len = 32): number | null => {
    try {
      return readU32(m.lookupElem(v4(ip, len)));
    } catch (e) {
      if (e instanceof BpfError && e.code === 'ENOENT') return null;
      throw e;
    }
  };
  assert.equal(look('10.1.2.3'), 3);
  assert.equal(look('10.1.9.9'), 2);
  assert.equal(look('10.200.0.1'), 1);
  assert.equal(look('192.168.77.1'), 4);
  assert.equal(look('11.0.0.1'), null);
  assert.equal(look('10.1.2.3', 20), 2); // the key's prefixlen bounds the match
  // Program side: pointer to the value, writable.
  space.u8.set(v4('10.1.2.200', 32), scratch);
  const p = m.lookup(scratch);
  assert.ok(p > 0 && space.findRegion(p, 4, PERM_WRITE) >= 0);
  space.dv.setUint32(p, 33, true);
  assert.equal(look('10.1.2.1'), 33);
  // Flags.
  throwsErrno(() => m.updateElem(v4('10.1.0.0', 16), u32(9), BPF_NOEXIST), 'EEXIST');
  throwsErrno(() => m.updateElem(v4('10.2.0.0', 16), u32(9), BPF_EXIST), 'ENOENT');
  throwsErrno(() => m.updateElem(v4('10.2.0.0', 16), u32(9), 3), 'EINVAL');
  throwsErrno(() => m.updateElem(v4('10.2.0.0', 33), u32(9)), 'EINVAL', 'prefixlen');
  m.updateElem(v4('10.1.0.0', 16), u32(22), BPF_EXIST);
  assert.equal(look('10.1.9.9'), 22);
  // Full: adding fails with ENOSPC, replacing still works.
  m.updateElem(v4('172.16.0.0', 12), u32(5));
  throwsErrno(() => m.updateElem(v4('172.17.0.0', 16), u32(6)), 'ENOSPC');
  m.updateElem(v4('172.16.0.0', 12), u32(55));
  assert.equal(look('172.20.1.1'), 55);
  // Delete: exact prefix only.
  throwsErrno(() => m.deleteElem(v4('10.1.0.0', 17)), 'ENOENT');
  throwsErrno(() => m.deleteElem(v4('10.1.0.0', 40)), 'EINVAL');
  m.deleteElem(v4('10.1.0.0', 16));
  assert.equal(look('10.1.9.9'), 1);
  assert.equal(look('10.1.2.3'), 33);
  m.deleteElem(v4('10.1.2.0', 24));
  assert.equal(look('10.1.2.3'), 1);
  m.updateElem(v4('172.17.0.0', 16), u32(6));
  assert.equal(look('172.17.0.1'), 6);
});

test('lpm_trie: get_next_key in the kernel postorder (more specific first)', () => {
  const { mk } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, flags: BPF_F_NO_PREALLOC });
  // The example of lpm_trie.c.
  m.updateElem(v4('192.168.0.0', 16), u32(1));
  m.updateElem(v4('192.168.0.0', 24), u32(2));
  m.updateElem(v4('192.168.1.0', 24), u32(3));
  m.updateElem(v4('192.168.128.0', 24), u32(4));
  const order = m.entries().map(([k]) => keyStr4(k));
  assert.deepEqual(order, ['192.168.0.0/24', '192.168.1.0/24', '192.168.128.0/24', '192.168.0.0/16']);
  // A key not in the trie restarts at the leftmost.
  assert.equal(keyStr4(m.getNextKey(v4('1.2.3.4', 32))), '192.168.0.0/24');
  throwsErrno(() => m.getNextKey(v4('192.168.0.0', 16)), 'ENOENT');
  const r = m.lookupBatch(null, 10);
  assert.equal(r.count, 4);
  assert.equal(r.error?.code, 'ENOENT');
});

test('lpm_trie: IPv6 keys', () => {
  const { mk } = runtime();
  const m = mk({ type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 20, valueSize: 8, maxEntries: 16, flags: BPF_F_NO_PREALLOC });
  m.updateElem(v6('2001:db8::', 32), u64(1));
  m.updateElem(v6('2001:db8:1::', 48), u64(2));
  m.updateElem(v6('2001:db8:1:2::', 64), u64(3));
  m.updateElem(v6('::', 0), u64(9)); // default route
  const look = (a: string): number => readU64(m.lookupElem(v6(a, 128)));
  assert.equal(look('2001:db8:1:2::1'), 3);
  assert.equal(look('2001:db8:1:3::1'), 2);
  assert.equal(look('2001:db8:ffff::1'), 1);
  assert.equal(look('fe80::1'), 9);
  m.updateElem(v6('fe80::1', 128), u64(7));
  assert.equal(look('fe80::1'), 7);
  assert.equal(look('fe80::2'), 9);
  assert.equal(m.entries().length, 5);
});

// ---- queue / stack --------------------------------------------------------------------------------------

test('queue: FIFO, full E2BIG, BPF_EXIST overwrites the oldest, empty pop zeros the value', () => {
  const { mk, space, scratch } = runtime();
  const a = { type: T.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 3 };
  throwsErrno(() => mk({ ...a, keySize: 4 }), 'EINVAL', 'key_size');
  throwsErrno(() => mk({ ...a, valueSize: 0 }), 'EINVAL');
  throwsErrno(() => mk({ ...a, maxEntries: 0 }), 'EINVAL');
  const q = mk(a) as QueueStackMap;
  for (const v of [1, 2, 3]) q.updateElem(null, u32(v));
  throwsErrno(() => q.updateElem(null, u32(4)), 'E2BIG');
  throwsErrno(() => q.updateElem(null, u32(4), BPF_NOEXIST), 'EINVAL');
  q.updateElem(null, u32(4), BPF_EXIST); // drops 1
  assert.equal(readU32(q.lookupElem(null)), 2); // peek
  assert.equal(q.length, 3);
  const popped = [1, 2, 3].map(() => readU32(q.lookupAndDeleteElem(null)));
  assert.deepEqual(popped, [2, 3, 4]);
  throwsErrno(() => q.lookupAndDeleteElem(null), 'ENOENT');
  throwsErrno(() => q.lookupElem(null), 'ENOENT');
  throwsErrno(() => q.deleteElem(null), 'EINVAL');
  throwsErrno(() => q.getNextKey(null), 'EINVAL');
  // Program side.
  space.dv.setUint32(scratch, 7, true);
  assert.equal(q.push(scratch, BPF_ANY), 0);
  space.dv.setUint32(scratch + 8, 0xffffffff, true);
  assert.equal(q.peek(scratch + 8), 0);
  assert.equal(space.dv.getUint32(scratch + 8, true), 7);
  assert.equal(q.pop(scratch + 8), 0);
  space.dv.setUint32(scratch + 8, 0xffffffff, true);
  assert.equal(q.pop(scratch + 8), -2);
  assert.equal(space.dv.getUint32(scratch + 8, true), 0);
  assert.equal(q.push(scratch, 4), -22);
});

test('stack: LIFO, BPF_EXIST overwrites the oldest (bottom) element', () => {
  const { mk } = runtime();
  const s = mk({ type: T.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 8, maxEntries: 3 });
  for (const v of [1, 2, 3]) s.updateElem(null, u64(v));
  throwsErrno(() => s.updateElem(null, u64(4)), 'E2BIG');
  s.updateElem(null, u64(4), BPF_EXIST);
  assert.equal(readU64(s.lookupElem(null)), 4);
  const popped = [1, 2, 3].map(() => readU64(s.lookupAndDeleteElem(null)));
  assert.deepEqual(popped, [4, 3, 2]);
  throwsErrno(() => s.lookupAndDeleteElem(null), 'ENOENT');
  throwsErrno(() => s.lookupAndDeleteElem(null, 1), 'EINVAL');
});

// ---- ring buffer ----------------------------------------------------------------------------------------

test('ringbuf: creation checks and element commands', () => {
  const { mk } = runtime();
  const a = { type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 };
  throwsErrno(() => mk({ ...a, maxEntries: 4096 * 3 }), 'EINVAL', 'power of 2');
  throwsErrno(() => mk({ ...a, maxEntries: 2048 }), 'EINVAL');
  throwsErrno(() => mk({ ...a, keySize: 4 }), 'EINVAL');
  throwsErrno(() => mk({ ...a, flags: BPF_F_RDONLY_PROG }), 'EINVAL');
  const rb = mk(a);
  throwsErrno(() => rb.lookupElem(null), 'ENOTSUPP');
  throwsErrno(() => rb.updateElem(null, new Uint8Array(0)), 'ENOTSUPP');
  throwsErrno(() => rb.getNextKey(null), 'ENOTSUPP');
});

test('ringbuf: reserve/submit/discard, header layout, consumer order, busy records block', () => {
  const { mk, reg, space, scratch } = runtime();
  const rb = mk({ type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }) as RingBufMap;
  assert.equal(rb.base % 4096, 0);
  const r1 = rb.reserve(5, 0);
  const r2 = rb.reserve(12, 0);
  const r3 = rb.reserve(3, 0);
  assert.ok(r1 > 0 && r2 > 0 && r3 > 0);
  assert.equal(r2 - r1, 16); // 8-byte header + 5 bytes rounded to 8
  assert.equal(r3 - r2, 24);
  assert.equal(rb.reserve(1, 1), 0); // flags must be 0
  // Header: len with the busy bit, page offset from the ring's block.
  assert.equal(space.dv.getUint32(r1 - 8, true), (5 | BPF_RINGBUF_BUSY_BIT) >>> 0);
  assert.equal(space.dv.getUint32(r1 - 4, true), 3);
  assert.ok(space.findRegion(r1, 5, PERM_WRITE) >= 0);
  assert.equal(ringbufFromSample(reg, r2), rb);
  assert.equal(ringbufFromSample(reg, scratch + 64), null);
  space.u8.set([1, 2, 3, 4, 5], r1);
  space.u8.set([9, 9, 9], r3);
  // r1 submitted, r2 still busy: the consumer stops at r2.
  rb.commit(r1, 0, false);
  rb.commit(r3, 0, false);
  assert.deepEqual(rb.drain(), [bytes(1, 2, 3, 4, 5)]);
  // Discard r2: the consumer skips it and continues.
  rb.commit(r2, 0, true);
  assert.equal(space.dv.getUint32(r2 - 8, true), (12 | BPF_RINGBUF_DISCARD_BIT) >>> 0);
  assert.deepEqual(rb.drain(), [bytes(9, 9, 9)]);
  assert.equal(rb.query(BPF_RB_AVAIL_DATA), 0);
  assert.equal(rb.query(BPF_RB_RING_SIZE), 4096);
  assert.equal(rb.query(BPF_RB_PROD_POS), 16 + 24 + 16);
  assert.equal(rb.query(BPF_RB_CONS_POS), 56);
  // output() copies from program memory.
  space.u8.set([7, 8], scratch);
  assert.equal(rb.output(scratch, 2, 0), 0);
  assert.equal(rb.output(scratch, 2, 4), -22);
  assert.equal(rb.query(BPF_RB_AVAIL_DATA), 16);
  const got: Uint8Array[] = [];
  assert.equal(rb.consume((s) => void got.push(s)), 1);
  assert.deepEqual(got, [bytes(7, 8)]);
});

test('ringbuf: full ring refuses reservations; records wrap around the end intact', () => {
  const { mk, space, scratch } = runtime();
  const rb = mk({ type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }) as RingBufMap;
  // 4096-byte ring: producer may run at most 4095 bytes ahead. 1000-byte samples take 1008.
  const recs = [1, 2, 3, 4].map(() => rb.reserve(1000, 0));
  assert.deepEqual(recs.map((r) => r > 0), [true, true, true, true]);
  assert.equal(rb.reserve(1000, 0), 0);
  assert.equal(rb.reserve(4096, 0), 0);
  for (const r of recs) rb.commit(r, 0, false);
  assert.equal(rb.output(scratch, 100, 0), -11); // EAGAIN: consumer has not caught up
  assert.equal(rb.drain().length, 4);
  // Many rounds of odd-sized samples: every byte comes back, across the wrap.
  let seq = 0;
  for (let round = 0; round < 50; round++) {
    const sizes = [1, 333, 700, 64, 1500].slice(0, 1 + (round % 5));
    const expect: Uint8Array[] = [];
    for (const size of sizes) {
      const data = Uint8Array.from({ length: size }, (_, i) => (seq * 31 + i) & 0xff);
      seq++;
      space.u8.set(data, scratch);
      if (rb.output(scratch, size, 0) === 0) expect.push(data);
    }
    assert.deepEqual(rb.drain(), expect);
  }
  assert.ok(rb.query(BPF_RB_PROD_POS) > 3 * 4096);
  assert.equal(rb.query(BPF_RB_PROD_POS), rb.query(BPF_RB_CONS_POS));
});

// ---- prog array -----------------------------------------------------------------------------------------

const prog = (id: number, type: number = BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, expectedAttachType?: number): ProgRef => ({ id, type, expectedAttachType });

test('prog_array: slots hold programs, owner type, user lookup gives the id, clear()', () => {
  const { mk, reg } = runtime();
  throwsErrno(() => mk({ type: T.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 }), 'EINVAL');
  throwsErrno(() => mk({ type: T.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: BPF_F_RDONLY_PROG }), 'EINVAL');
  const pa = mk({ type: T.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 }) as ProgArrayMap;
  const p1 = prog(11);
  pa.setProg(0, p1);
  assert.equal(pa.ownerType, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP);
  assert.equal(pa.progAt(0), p1);
  assert.equal(pa.progAt(1), null);
  assert.equal(pa.progAt(99), null);
  assert.equal(readU32(pa.lookupElem(u32(0))), 11);
  throwsErrno(() => pa.lookupElem(u32(1)), 'ENOENT');
  throwsErrno(() => pa.setProg(1, prog(12, BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER)), 'EINVAL', 'owner');
  throwsErrno(() => pa.setProg(4, prog(13)), 'E2BIG');
  throwsErrno(() => pa.setProg(1, prog(13), BPF_NOEXIST), 'EINVAL', 'BPF_ANY');
  // Through fds, with the bpf() layer's resolver.
  throwsErrno(() => pa.updateElem(u32(2), u32(5)), 'EBADF');
  reg.resolveProgFd = (fd) => {
    if (fd !== 5) throw new BpfError('EBADF', `fd ${fd}`);
    return prog(55);
  };
  pa.updateElem(u32(2), u32(5));
  assert.equal(readU32(pa.lookupElem(u32(2))), 55);
  throwsErrno(() => pa.updateElem(u32(2), u32(6)), 'EBADF');
  assert.deepEqual(pa.entries().map(([k, v]) => [readU32(k), readU32(v)]), [[0, 11], [2, 55]]);
  // Delete empties; deleting an empty slot is ENOENT; out of range E2BIG.
  pa.deleteElem(u32(0));
  assert.equal(pa.progAt(0), null);
  throwsErrno(() => pa.deleteElem(u32(0)), 'ENOENT');
  throwsErrno(() => pa.deleteElem(u32(7)), 'E2BIG');
  pa.clear();
  assert.equal(pa.progAt(2), null);
  // Programs cannot look up or update a prog array directly.
  assert.equal(pa.lookup(0), 0);
});

// ---- map in map -----------------------------------------------------------------------------------------

test('array_of_maps / hash_of_maps: template checks, program lookup gives the inner handle', () => {
  const { mk, reg, space, scratch } = runtime();
  const tmpl = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
  const outerA = { type: T.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, inner: tmpl };
  throwsErrno(() => mk({ ...outerA, inner: undefined }), 'EBADF');
  throwsErrno(() => mk({ ...outerA, valueSize: 8 }), 'EINVAL');
  const pa = mk({ type: T.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  throwsErrno(() => mk({ ...outerA, inner: pa }), 'ENOTSUPP');
  const aom = mk(outerA) as ArrayOfMapsMap;
  throwsErrno(() => mk({ ...outerA, inner: aom }), 'EINVAL', 'one level');

  const good = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
  const otherSize = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 4 });
  const otherMax = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 5 });
  const otherType = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
  const otherFlags = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: BPF_F_RDONLY_PROG });
  aom.setInner(0, good);
  throwsErrno(() => aom.setInner(1, otherSize), 'EINVAL', 'value_size');
  throwsErrno(() => aom.setInner(1, otherMax), 'EINVAL', 'max_entries');
  throwsErrno(() => aom.setInner(1, otherType), 'EINVAL', 'type');
  throwsErrno(() => aom.setInner(1, otherFlags), 'EINVAL', 'map_flags');
  throwsErrno(() => aom.setInner(9, good), 'E2BIG');
  // Program side: the outer lookup yields the inner handle, which resolves to the map.
  space.dv.setUint32(scratch, 0, true);
  const h = aom.lookup(scratch);
  assert.equal(h, good.handle);
  assert.equal(reg.byHandle(h), good);
  space.dv.setUint32(scratch, 1, true);
  assert.equal(aom.lookup(scratch), 0);
  // User side: the inner map id.
  assert.equal(readU32(aom.lookupElem(u32(0))), good.id);
  throwsErrno(() => aom.lookupElem(u32(1)), 'ENOENT');
  reg.resolveMapFd = (fd) => (fd === 3 ? good : otherMax);
  aom.updateElem(u32(2), u32(3));
  throwsErrno(() => aom.updateElem(u32(3), u32(4)), 'EINVAL');
  aom.deleteElem(u32(2));
  throwsErrno(() => aom.deleteElem(u32(2)), 'ENOENT');

  // BPF_F_INNER_MAP lifts the max_entries rule for arrays.
  const flexible = mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: BPF_F_INNER_MAP });
  const aom2 = mk({ ...outerA, inner: flexible }) as ArrayOfMapsMap;
  aom2.setInner(0, mk({ type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 100, flags: BPF_F_INNER_MAP }));
  throwsErrno(() => aom2.setInner(1, good), 'EINVAL', 'map_flags');

  // hash_of_maps: hash templates do not compare max_entries.
  const hom = mk({ type: T.BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 8, valueSize: 4, maxEntries: 4, inner: otherType }) as HashMap;
  const bigger = mk({ type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 1000 });
  hom.updateInner(u64(77), bigger);
  throwsErrno(() => hom.updateInner(u64(78), good), 'EINVAL', 'type');
  throwsErrno(() => hom.updateInner(u64(77), bigger, BPF_NOEXIST), 'EEXIST');
  assert.equal(readU32(hom.lookupElem(u64(77))), bigger.id);
  space.u8.set(u64(77), scratch);
  assert.equal(hom.lookup(scratch), bigger.handle);
  assert.equal(hom.innerAt(u64(77)), bigger);
  const b = hom.lookupBatch(null, 4);
  assert.equal(b.count, 1);
  assert.equal(readU32(b.values), bigger.id);
  assert.equal(hom.update(scratch, scratch + 8, BPF_ANY), -524);
  throwsErrno(() => hom.lookupAndDeleteElem(u64(77)), 'ENOTSUPP');
  hom.deleteElem(u64(77));
  assert.equal(hom.lookup(scratch), 0);
});

// ---- devmap / cpumap --------------------------------------------------------------------------------------

test('devmap: redirect targets, read-only values, delete semantics', () => {
  const { mk, reg, space, scratch } = runtime();
  throwsErrno(() => mk({ type: T.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 6, maxEntries: 4 }), 'EINVAL', 'bpf_devmap_val');
  throwsErrno(() => mk({ type: T.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4, flags: BPF_F_NO_PREALLOC }), 'EINVAL');
  const dm = mk({ type: T.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 8, maxEntries: 4 }) as DevMap;
  assert.ok(dm.flags & BPF_F_RDONLY_PROG);
  dm.updateElem(u32(1), cat(u32(7), u32(0)));
  assert.deepEqual(dm.redirectTarget(1), { ifindex: 7, prog: null });
  assert.equal(dm.redirectTarget(0), null);
  assert.equal(dm.redirectTarget(4), null);
  assert.deepEqual(dm.lookupElem(u32(1)), cat(u32(7), u32(0)));
  throwsErrno(() => dm.lookupElem(u32(0)), 'ENOENT');
  throwsErrno(() => dm.updateElem(u32(1), cat(u32(7), u32(0)), BPF_NOEXIST), 'EEXIST');
  throwsErrno(() => dm.updateElem(u32(4), cat(u32(7), u32(0))), 'E2BIG');
  throwsErrno(() => dm.updateElem(u32(2), cat(u32(0), u32(3))), 'EINVAL', 'ifindex');
  space.dv.setUint32(scratch, 1, true);
  const p = dm.lookup(scratch);
  assert.ok(space.findRegion(p, 8, PERM_READ) >= 0);
  assert.equal(space.findRegion(p, 8, PERM_WRITE), -1);
  // A program in the value must be XDP with expected_attach_type BPF_XDP_DEVMAP.
  reg.resolveProgFd = (fd) => (fd === 1 ? prog(40, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, BPF_ATTACH_TYPE.BPF_XDP_DEVMAP) : prog(41));
  dm.updateElem(u32(2), cat(u32(8), u32(1)));
  assert.equal(dm.redirectTarget(2)?.prog?.id, 40);
  assert.deepEqual(dm.lookupElem(u32(2)), cat(u32(8), u32(40)));
  throwsErrno(() => dm.updateElem(u32(3), cat(u32(8), u32(2))), 'EINVAL', 'XDP');
  // ifindex validation when the runtime knows its devices.
  reg.resolveIfindex = (i) => i < 10;
  throwsErrno(() => dm.updateElem(u32(3), cat(u32(12), u32(0))), 'EINVAL', 'ifindex 12');
  // Delete: always succeeds in range (no ENOENT), EINVAL out of range; ifindex 0 empties too.
  dm.deleteElem(u32(1));
  dm.deleteElem(u32(1));
  throwsErrno(() => dm.deleteElem(u32(4)), 'EINVAL');
  dm.updateElem(u32(2), cat(u32(0), u32(0)));
  assert.equal(dm.redirectTarget(2), null);
  assert.deepEqual(dm.entries().map(([k]) => readU32(k)), []);
});

test('devmap_hash: any u32 key, E2BIG when full, ENOENT on delete, iteration', () => {
  const { mk } = runtime();
  const dh = mk({ type: T.BPF_MAP_TYPE_DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 2 }) as DevMapHash;
  dh.updateElem(u32(1000), u32(3));
  dh.updateElem(u32(7), u32(4));
  throwsErrno(() => dh.updateElem(u32(8), u32(5)), 'E2BIG');
  throwsErrno(() => dh.updateElem(u32(7), u32(5), BPF_NOEXIST), 'EEXIST');
  throwsErrno(() => dh.updateElem(u32(9), u32(0)), 'EINVAL');
  dh.updateElem(u32(7), u32(6));
  assert.equal(dh.redirectTarget(7)?.ifindex, 6);
  assert.equal(dh.redirectTarget(8), null);
  // Buckets are key & (n_buckets - 1): 1000 & 1 = 0 comes before 7 & 1 = 1.
  assert.deepEqual(dh.entries().map(([k]) => readU32(k)), [1000, 7]);
  dh.deleteElem(u32(1000));
  throwsErrno(() => dh.deleteElem(u32(1000)), 'ENOENT');
  dh.updateElem(u32(8), u32(5));
  assert.equal(dh.count, 2);
});

test('cpumap: qsize limits, CPU existence, delete', () => {
  const { mk, reg } = runtime(2);
  throwsErrno(() => mk({ type: T.BPF_MAP_TYPE_CPUMAP, keySize: 4, valueSize: 4, maxEntries: 8193 }), 'E2BIG');
  throwsErrno(() => mk({ type: T.BPF_MAP_TYPE_CPUMAP, keySize: 4, valueSize: 12, maxEntries: 4 }), 'EINVAL');
  const cm = mk({ type: T.BPF_MAP_TYPE_CPUMAP, keySize: 4, valueSize: 8, maxEntries: 4 }) as CpuMap;
  cm.updateElem(u32(1), cat(u32(192), u32(0)));
  assert.deepEqual(cm.redirectTarget(1), { cpu: 1, qsize: 192, prog: null });
  throwsErrno(() => cm.updateElem(u32(0), cat(u32(16385), u32(0))), 'EOVERFLOW');
  throwsErrno(() => cm.updateElem(u32(2), cat(u32(10), u32(0))), 'ENODEV');
  throwsErrno(() => cm.updateElem(u32(4), cat(u32(10), u32(0))), 'E2BIG');
  throwsErrno(() => cm.updateElem(u32(0), cat(u32(10), u32(0)), BPF_NOEXIST), 'EEXIST');
  reg.resolveProgFd = () => prog(60, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, BPF_ATTACH_TYPE.BPF_XDP_CPUMAP);
  cm.updateElem(u32(0), cat(u32(10), u32(3)));
  assert.deepEqual(cm.lookupElem(u32(0)), cat(u32(10), u32(60)));
  cm.updateElem(u32(0), cat(u32(0), u32(0))); // qsize 0 = delete
  assert.equal(cm.redirectTarget(0), null);
  cm.deleteElem(u32(1));
  throwsErrno(() => cm.deleteElem(u32(4)), 'EINVAL');
  throwsErrno(() => cm.lookupElem(u32(1)), 'ENOENT');
});

// ---- perf event array -------------------------------------------------------------------------------------

test('perf_event_array: per-CPU buffers, BPF_F_CURRENT_CPU, wrong CPU, padding, lost samples', () => {
  const { mk, reg, space, scratch } = runtime(2);
  const pe = mk({ type: T.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }) as PerfEventArrayMap;
  space.u8.set([1, 2, 3, 4, 5], scratch);
  assert.equal(pe.output(BPF_F_CURRENT_CPU, scratch, 5), -2); // no event yet
  const [b0, b1] = pe.openBuffers(1);
  reg.setCpu(1);
  assert.equal(pe.output(BPF_F_CURRENT_CPU, scratch, 5), 0);
  assert.equal(pe.output(0, scratch, 5), -95); // CPU 0's event while running on CPU 1
  assert.equal(pe.output(2, scratch, 5), -7);
  assert.equal(pe.output(1, scratch, 3, scratch + 3, 2), 0); // data + ctx bytes
  assert.deepEqual(b0.drain(), []);
  const got = b1.drain();
  // raw size padded so that size + 4 is a multiple of 8: 5 -> 12 bytes.
  assert.deepEqual(got, [cat(bytes(1, 2, 3, 4, 5), new Uint8Array(7)), cat(bytes(1, 2, 3, 4, 5), new Uint8Array(7))]);
  throwsErrno(() => pe.lookupElem(u32(0)), 'ENOTSUPP');
  // A full buffer loses samples.
  let ok = 0;
  for (let i = 0; i < 100; i++) if (pe.output(BPF_F_CURRENT_CPU, scratch, 100) === 0) ok++;
  assert.equal(ok, Math.floor(4096 / 112)); // 8 header + 4 size + 100 data
  assert.equal(b1.lost, 100 - ok);
  assert.equal(b1.drain().length, ok);
  pe.deleteElem(u32(1));
  throwsErrno(() => pe.deleteElem(u32(1)), 'ENOENT');
});

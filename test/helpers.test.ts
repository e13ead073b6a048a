// Tests for src/helpers: each helper's results and errnos, run through hand-assembled programs on a Vm
// with a RunEnv (attachEnv), plus the format engine of trace_printk/snprintf and the prototype table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../src/isa/asm.js';
import { Vm } from '../src/engine/vm.js';
import { MapRegistry, type BpfMap } from '../src/maps/map.js';
import { createMap } from '../src/maps/create.js';
import { PerfEventArrayMap, ProgArrayMap } from '../src/maps/fd_array.js';
import { RingBufMap } from '../src/maps/ringbuf.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { PERM_READ } from '../src/vm/memory.js';
import { attachEnv, implementedHelperIds } from '../src/helpers/table.js';
import { helperProto, allHelperProtos } from '../src/helpers/protos.js';
import { hostClock, ManualClock, prandomNext, seedPrandom, REDIRECT_IFINDEX, REDIRECT_MAP, type RunEnv, type RunEnvOptions } from '../src/helpers/env.js';
import { bprintf } from '../src/helpers/printk.js';
import { runProgram } from '../src/hooks/types.js';
import { xdpTestRun } from '../src/hooks/xdp.js';

const T = BPF_MAP_TYPE;
const EINVAL = -22n, EFAULT = -14n, E2BIG = -7n, EACCES = -13n, ENOENT = -2n;
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);

function setup(opts: RunEnvOptions = {}, nCpus = 1): { vm: Vm; reg: MapRegistry; env: RunEnv } {
  const vm = new Vm();
  const reg = new MapRegistry(vm.space, { nCpus });
  const env = attachEnv(vm, reg, { clock: new ManualClock(0), prandomSeed: 1, ...opts });
  return { vm, reg, env };
}

/** Assemble with `MAP`, `MAP2` replaced by map handles; run with r1 = ctx; r0 as a signed bigint. */
function run(vm: Vm, text: string, maps: BpfMap[] = [], r1 = 0n): bigint {
  let src = text;
  maps.forEach((m, i) => {
    src = src.replaceAll(`MAP${i === 0 ? '' : i + 1} `, `0x${m.handle.toString(16)} `);
  });
  return s64(vm.run(vm.load(assemble(src)), r1));
}

const mk = (reg: MapRegistry, type: number, keySize: number, valueSize: number, maxEntries: number): BpfMap =>
  createMap(reg.space, reg, { type, keySize, valueSize, maxEntries });

test('map_update/lookup/delete through a program: the value pointer is writable, errors are the map errnos', () => {
  const { vm, reg } = setup();
  const h = mk(reg, T.BPF_MAP_TYPE_HASH, 4, 8, 2);
  const prog = `
    *(u32 *)(r10 - 4) = 7
    *(u64 *)(r10 - 16) = 1000
    r1 = MAP ll
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = 0
    call 2
    if r0 != 0 goto +10
    r1 = MAP ll
    r2 = r10
    r2 += -4
    call 1
    if r0 == 0 goto +4
    r1 = *(u64 *)(r0 + 0)
    r1 += 5
    *(u64 *)(r0 + 0) = r1
    r0 = r1
    exit`;
  assert.equal(run(vm, prog, [h]), 1005n);
  assert.deepEqual(h.lookupElem(new Uint8Array([7, 0, 0, 0])), new Uint8Array([0xed, 3, 0, 0, 0, 0, 0, 0]));
  // BPF_NOEXIST on an existing key: -EEXIST; upper flag bits: -EINVAL; delete of a missing key: -ENOENT.
  const upd = (flags: string): string => `
    *(u32 *)(r10 - 4) = 7
    *(u64 *)(r10 - 16) = 1
    r1 = MAP ll
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = ${flags} ll
    call 2
    exit`;
  assert.equal(run(vm, upd('1'), [h]), -17n);
  assert.equal(run(vm, upd('0x100000000'), [h]), EINVAL);
  assert.equal(run(vm, `
    *(u32 *)(r10 - 4) = 99
    r1 = MAP ll
    r2 = r10
    r2 += -4
    call 3
    exit`, [h]), ENOENT);
});

test('queue push/pop/peek and lookup_percpu_elem', () => {
  const { vm, reg } = setup({}, 2);
  const q = mk(reg, T.BPF_MAP_TYPE_QUEUE, 0, 4, 2);
  const push = (v: number): string => `
    *(u32 *)(r10 - 4) = ${v}
    r1 = MAP ll
    r2 = r10
    r2 += -4
    r3 = 0
    call 87
    exit`;
  assert.equal(run(vm, push(11), [q]), 0n);
  assert.equal(run(vm, push(22), [q]), 0n);
  assert.equal(run(vm, push(33), [q]), E2BIG);
  const take = (id: number): string => `
    r1 = MAP ll
    r2 = r10
    r2 += -4
    call ${id}
    if r0 != 0 goto +1
    r0 = *(u32 *)(r10 - 4)
    exit`;
  assert.equal(run(vm, take(89), [q]), 11n);
  assert.equal(run(vm, take(88), [q]), 11n);
  assert.equal(run(vm, take(88), [q]), 22n);
  assert.equal(run(vm, take(88), [q]), ENOENT);
  const pa = mk(reg, T.BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1);
  pa.updateElem(new Uint8Array(4), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]));
  const percpu = (cpu: number): string => `
    *(u32 *)(r10 - 4) = 0
    r1 = MAP ll
    r2 = r10
    r2 += -4
    r3 = ${cpu}
    call 195
    if r0 == 0 goto +1
    r0 = *(u64 *)(r0 + 0)
    exit`;
  assert.equal(run(vm, percpu(1), [pa]), 2n);
  assert.equal(run(vm, percpu(2), [pa]), 0n);
});

test('ktime_get_ns / boot_ns / coarse_ns read the env clock as full 64-bit values', () => {
  const clock = new ManualClock(5_000_000_123_456, 1000);
  const { vm } = setup({ clock });
  assert.equal(run(vm, 'call 5\nexit'), 5_000_000_123_456n);
  assert.equal(run(vm, 'call 125\nexit'), 5_000_000_124_456n);
  assert.equal(run(vm, 'call 160\nexit'), 5_000_000_000_000n);
  clock.advance(10);
  assert.equal(run(vm, 'call 5\nexit'), 5_000_000_123_466n);
});

test('hostClock is strictly increasing and follows host time', () => {
  const c = hostClock(0);
  let prev = c.monotonicNs();
  for (let i = 0; i < 1000; i++) {
    const v = c.monotonicNs();
    assert.ok(v > prev);
    prev = v;
  }
  const t0 = performance.now();
  while (performance.now() - t0 < 5) { /* busy wait 5 ms */ }
  for (let i = 0; i < 300; i++) prev = c.monotonicNs();
  assert.ok(prev >= 5_000_000, `clock advanced only to ${prev} ns`);
});

test('get_prandom_u32 is the kernel LFSR113 (prandom_u32_state) over a seeded state', () => {
  // Reference: the generator written out with BigInt from the kernel's TAUSWORTHE() definition.
  const taus = (s: bigint, a: bigint, b: bigint, c: bigint, d: bigint): bigint =>
    (((s & c) << d) ^ ((((s << a) & 0xffffffffn) ^ s) >> b)) & 0xffffffffn;
  const st = new Uint32Array(4);
  seedPrandom(st, 99);
  const ref = Array.from(st, (x) => BigInt(x));
  const { vm } = setup({ prandomSeed: 99 });
  for (let i = 0; i < 5; i++) {
    ref[0] = taus(ref[0], 6n, 13n, 4294967294n, 18n);
    ref[1] = taus(ref[1], 2n, 27n, 4294967288n, 2n);
    ref[2] = taus(ref[2], 13n, 21n, 4294967280n, 7n);
    ref[3] = taus(ref[3], 3n, 12n, 4294967168n, 13n);
    assert.equal(BigInt.asUintN(64, run(vm, 'call 7\nexit')), ref[0] ^ ref[1] ^ ref[2] ^ ref[3]);
  }
  const other = new Uint32Array(4);
  seedPrandom(other, 100);
  assert.notEqual(prandomNext(other), prandomNext(st));
});

test('get_smp_processor_id follows the registry CPU', () => {
  const { vm, reg } = setup({}, 4);
  reg.setCpu(3);
  assert.equal(run(vm, 'call 8\nexit'), 3n);
});

test('get_current_pid_tgid packs tgid << 32 | pid; get_current_comm pads and truncates', () => {
  const { vm } = setup({ pid: 1234, tgid: 1200, comm: 'a-very-long-command-name' });
  assert.equal(run(vm, 'call 14\nexit'), (1200n << 32n) | 1234n);
  const prog = (size: number): string => `
    r1 = -1
    *(u64 *)(r10 - 8) = r1
    *(u64 *)(r10 - 16) = r1
    *(u64 *)(r10 - 24) = r1
    r1 = r10
    r1 += -24
    r2 = ${size}
    call 16
    r6 = r0
    r0 = *(u64 *)(r10 - 24)
    exit`;
  // 8 bytes: 7 characters and a NUL.
  assert.equal(BigInt.asUintN(64, run(vm, prog(8))), Buffer.from('a-very-\0').readBigUInt64LE(0));
  const { vm: vm2 } = setup({ comm: 'ab' });
  // 24-byte buffer: "ab" then zero padding over the 0xff bytes.
  assert.equal(BigInt.asUintN(64, run(vm2, prog(24))), 0x6261n);
});

test('trace_printk formats like bpf_trace_printk and emits one line per call', () => {
  const lines: string[] = [];
  const { vm } = setup({ traceSink: (l) => lines.push(l) });
  // "v=%d u=%x\n" on the stack (NUL-terminated), r3 = -5, r4 = 255
  const fmt = Buffer.from('v=%d u=%x\n\0');
  const words: string[] = [];
  for (let i = 0; i < fmt.length; i++) words.push(`*(u8 *)(r10 - ${16 - i}) = ${fmt[i]}`);
  const prog = `
    ${words.join('\n')}
    r1 = r10
    r1 += -16
    r2 = ${fmt.length}
    r3 = -5
    r4 = 255
    call 6
    exit`;
  assert.equal(run(vm, prog), BigInt('v=-5 u=ff\n'.length));
  assert.deepEqual(lines, ['v=-5 u=ff']);
  // No NUL inside fmt_size: -EINVAL, nothing emitted.
  const noNul = prog.replace(`r2 = ${fmt.length}`, `r2 = ${fmt.length - 1}`);
  assert.equal(run(vm, noNul), EINVAL);
  assert.equal(lines.length, 1);
});

test('trace_printk pipe format names comm, pid and cpu', () => {
  const lines: string[] = [];
  const { vm } = setup({ traceSink: (l) => lines.push(l), traceFormat: 'pipe', pid: 77, comm: 'curl', clock: new ManualClock(12_345_678_000) });
  const prog = `
    *(u32 *)(r10 - 4) = 0x216968
    r1 = r10
    r1 += -4
    r2 = 4
    call 6
    exit`;
  assert.equal(run(vm, prog), 3n);
  assert.equal(lines[0], '            curl-77      [000] ....    12.345678: bpf_trace_printk: hi!');
});

test('bprintf: the kernel format rules (conversions, flags, argument count, -EINVAL cases)', () => {
  const { vm } = setup();
  const sp = vm.space;
  const str = sp.alloc(16);
  sp.mapRegion(str, 16, PERM_READ);
  sp.u8.set(Buffer.from('kernel\0'), str);
  const ip = sp.alloc(16);
  sp.mapRegion(ip, 16, PERM_READ);
  sp.u8.set([10, 1, 2, 254], ip);
  const f = (fmt: string, ...args: bigint[]): string | number => bprintf(Buffer.from(fmt), args, sp);
  assert.equal(f('%d %i %u', -1n, 42n, -1n), '-1 42 4294967295');
  assert.equal(f('%ld %llu %lx', -1n, -1n, 0x1234567890n), '-1 18446744073709551615 1234567890');
  assert.equal(f('%x %X', 0xdeadbeefcafen, 0xabcn), 'beefcafe ABC');
  assert.equal(f('[%5d|%-5d|%05d|%+d|% d]', 42n, 42n, -42n, 7n, 7n), '[   42|42   |-0042|+7| 7]');
  assert.equal(f('%c%c', 0x4fn, 0x4bn), 'OK');
  assert.equal(f('%s!', BigInt(str)), 'kernel!');
  assert.equal(f('%s.', 8n), '.'); // a faulting string prints as empty
  assert.equal(f('%pI4 %pi4', BigInt(ip), BigInt(ip)), '10.1.2.254 010.001.002.254');
  assert.equal(f('%px', 0xffff888012345678n), 'ffff888012345678');
  assert.equal(f('100%%'), '100%');
  assert.equal(f('%pks', BigInt(str)), 'kernel');
  for (const bad of ['%5.2d', '%q', '%hd', '%sabc', '%pZ', '%lp', '%', 'tab\x01', '%lld %d %d %d']) {
    assert.equal(f(bad, 1n, 2n, 3n), -22, bad);
  }
  assert.equal(f('%d %d', 1n), -22); // more conversions than arguments
});

test('snprintf writes at most str_size - 1 characters and returns the full length + 1', () => {
  const { vm, reg } = setup();
  const ro = mk(reg, T.BPF_MAP_TYPE_ARRAY, 4, 16, 1);
  ro.updateElem(new Uint8Array(4), Buffer.from('n=%d/%s\0\0\0\0\0\0\0\0\0'));
  const text = sp(vm);
  function sp(v: Vm): number {
    const a = v.space.alloc(8);
    v.space.mapRegion(a, 8, PERM_READ);
    v.space.u8.set(Buffer.from('abc\0'), a);
    return a;
  }
  const prog = (size: number, dataLen: number): string => `
    *(u32 *)(r10 - 4) = 0
    r1 = MAP ll
    r2 = r10
    r2 += -4
    call 1
    if r0 == 0 goto +13
    r3 = r0
    r1 = -12
    *(u64 *)(r10 - 24) = r1
    r1 = ${text} ll
    *(u64 *)(r10 - 16) = r1
    r1 = 0
    *(u64 *)(r10 - 48) = r1
    *(u64 *)(r10 - 40) = r1
    r1 = r10
    r1 += -48
    r2 = ${size}
    r4 = r10
    r4 += -24
    r5 = ${dataLen}
    call 165
    exit`;
  assert.equal(run(vm, prog(16, 16), [ro]), BigInt('n=-12/abc'.length + 1));
  assert.equal(Buffer.from(vm.space.read(vm.stackTop() - 48, 10)).toString('latin1'), 'n=-12/abc\0');
  assert.equal(run(vm, prog(4, 16), [ro]), 10n);
  assert.equal(Buffer.from(vm.space.read(vm.stackTop() - 48, 4)).toString('latin1'), 'n=-\0');
  assert.equal(run(vm, prog(16, 12), [ro]), EINVAL); // data_len not a multiple of 8
  assert.equal(run(vm, prog(16, 8), [ro]), EINVAL); // two conversions, one argument
});

test('probe_read_kernel/user copy from mapped memory; faults zero the destination and return -EFAULT', () => {
  const { vm } = setup();
  const sp = vm.space;
  const blob = sp.alloc(32);
  sp.mapRegion(blob, 32, PERM_READ);
  sp.u8.set(Buffer.from('task_struct\0comm\0'), blob);
  const unmapped = sp.alloc(64);
  const read = (id: number, addr: number, size: number): string => `
    r1 = -1
    *(u64 *)(r10 - 8) = r1
    *(u64 *)(r10 - 16) = r1
    r1 = r10
    r1 += -16
    r2 = ${size}
    r3 = ${addr} ll
    call ${id}
    r6 = r0
    r6 <<= 32
    r6 >>= 32
    r0 = *(u64 *)(r10 - 16)
    r0 <<= 32
    r0 |= r6
    exit`;
  const lo = (v: bigint): bigint => BigInt.asIntN(32, v & 0xffffffffn);
  const firstWord = (v: bigint): bigint => BigInt.asUintN(32, v >> 32n);
  for (const id of [4, 112, 113]) {
    const ok = run(vm, read(id, blob, 8));
    assert.equal(lo(ok), 0n);
    assert.equal(firstWord(ok), 0x6b736174n); // "task"
    const bad = run(vm, read(id, unmapped, 8));
    assert.equal(lo(bad), EFAULT);
    assert.equal(firstWord(bad), 0n);
    // A read that runs off the end of the region faults too.
    assert.equal(lo(run(vm, read(id, blob + 28, 8))), EFAULT);
  }
  // Strings: length including the NUL; `size` when truncated; empty string: kernel 1, user 0.
  for (const [id, user] of [[115, false], [114, true], [45, false]] as const) {
    assert.equal(lo(run(vm, read(id, blob, 16))), 12n);
    const t = run(vm, read(id, blob, 5));
    assert.equal(lo(t), 5n);
    assert.equal(firstWord(t), 0x6b736174n);
    assert.equal(lo(run(vm, read(id, blob + 11, 8))), user ? 0n : 1n);
    assert.equal(lo(run(vm, read(id, unmapped, 8))), EFAULT);
  }
});

test('csum_diff: one\'s-complement sum of seed, ~from and to; bad sizes are -EINVAL', () => {
  const { vm } = setup();
  const refSum = (seed: bigint, from: bigint[], to: bigint[]): bigint => {
    let s = seed;
    const add = (w: bigint): void => {
      s += w;
      if (s > 0xffffffffn) s -= 0xffffffffn;
    };
    from.forEach((w) => add(~w & 0xffffffffn));
    to.forEach(add);
    return s;
  };
  const prog = (fromSize: number, toSize: number, seed: number): string => `
    r1 = 0x04030201
    *(u32 *)(r10 - 8) = r1
    r1 = 0xfffefdfc
    *(u32 *)(r10 - 4) = r1
    r1 = 0x08070605
    *(u32 *)(r10 - 16) = r1
    r1 = r10
    r1 += -8
    r2 = ${fromSize}
    r3 = r10
    r3 += -16
    r4 = ${toSize}
    r5 = ${seed}
    call 28
    exit`;
  assert.equal(run(vm, prog(4, 4, 0)), refSum(0n, [0x04030201n], [0x08070605n]));
  assert.equal(run(vm, prog(8, 4, 0x1234)), refSum(0x1234n, [0x04030201n, 0xfffefdfcn], [0x08070605n]));
  assert.equal(run(vm, prog(0, 4, 0xffffffff)), refSum(0xffffffffn, [], [0x08070605n]));
  assert.equal(run(vm, prog(3, 4, 0)), EINVAL);
  assert.equal(run(vm, prog(512, 4, 0)), EINVAL);
});

test('perf_event_output writes a sample to the current CPU buffer; bad index and flags fail like the kernel', () => {
  const { vm, reg, env } = setup({}, 2);
  const pe = mk(reg, T.BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2) as PerfEventArrayMap;
  const bufs = pe.openBuffers(1);
  reg.setCpu(1);
  env.progType = BPF_PROG_TYPE.BPF_PROG_TYPE_KPROBE;
  const prog = (flags: string): string => `
    r1 = 0x11223344
    *(u32 *)(r10 - 4) = r1
    r1 = 0
    r2 = MAP ll
    r3 = ${flags} ll
    r4 = r10
    r4 += -4
    r5 = 4
    call 25
    exit`;
  assert.equal(run(vm, prog('0xffffffff'), [pe]), 0n);
  assert.deepEqual(bufs[1].drain(), [new Uint8Array([0x44, 0x33, 0x22, 0x11])]);
  assert.equal(bufs[0].drain().length, 0);
  assert.equal(run(vm, prog('0'), [pe]), -95n); // slot 0's event is bound to CPU 0: -EOPNOTSUPP
  assert.equal(run(vm, prog('5'), [pe]), E2BIG);
  assert.equal(run(vm, prog('0x100000000'), [pe]), EINVAL); // tracing programs cannot append ctx bytes
});

test('ringbuf output/reserve/submit/discard/query', () => {
  const { vm, reg } = setup();
  const rb = mk(reg, T.BPF_MAP_TYPE_RINGBUF, 0, 0, 4096) as RingBufMap;
  const out = `
    r1 = 0x0a0b0c0d
    *(u32 *)(r10 - 4) = r1
    r1 = MAP ll
    r2 = r10
    r2 += -4
    r3 = 4
    r4 = 0
    call 130
    exit`;
  assert.equal(run(vm, out, [rb]), 0n);
  assert.equal(run(vm, out.replace('r4 = 0', 'r4 = 4'), [rb]), EINVAL);
  const reserve = (commitId: number): string => `
    r1 = MAP ll
    r2 = 8
    r3 = 0
    call 131
    if r0 == 0 goto +5
    r1 = 0x55
    *(u64 *)(r0 + 0) = r1
    r1 = r0
    r2 = 0
    call ${commitId}
    r1 = MAP ll
    r2 = 0
    call 134
    exit`;
  assert.equal(run(vm, reserve(132), [rb]), 16n + 16n); // two records, each 8-byte header + 8
  assert.equal(run(vm, reserve(133), [rb]), 48n);
  const samples = rb.drain();
  assert.equal(samples.length, 2); // the discarded one is skipped
  assert.deepEqual(samples[0], new Uint8Array([0x0d, 0x0c, 0x0b, 0x0a]));
  assert.equal(samples[1][0], 0x55);
  // reserve with flags: NULL
  assert.equal(run(vm, `
    r1 = MAP ll
    r2 = 8
    r3 = 1
    call 131
    exit`, [rb]), 0n);
});

test('redirect records the ifindex; redirect_map uses devmap slots and the flags fallback action', () => {
  const { vm, reg, env } = setup();
  env.beginRun(BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, 0);
  assert.equal(run(vm, 'r1 = 5\nr2 = 0\ncall 23\nexit'), 4n);
  assert.equal(env.redirect.kind, REDIRECT_IFINDEX);
  assert.equal(env.redirect.tgtIndex, 5);
  assert.equal(run(vm, 'r1 = 5\nr2 = 1\ncall 23\nexit'), 0n); // any flag: XDP_ABORTED
  const dm = mk(reg, T.BPF_MAP_TYPE_DEVMAP, 4, 4, 4);
  dm.updateElem(new Uint8Array([2, 0, 0, 0]), new Uint8Array([9, 0, 0, 0]));
  const rm = (key: number, flags: number): string => `
    r1 = MAP ll
    r2 = ${key}
    r3 = ${flags}
    call 51
    exit`;
  assert.equal(run(vm, rm(2, 0), [dm]), 4n);
  assert.equal(env.redirect.kind, REDIRECT_MAP);
  assert.equal(env.redirect.tgtIndex, 2);
  assert.equal(env.redirect.mapId, dm.id);
  assert.equal(run(vm, rm(3, 2), [dm]), 2n); // empty slot: the low flag bits (XDP_PASS)
  assert.equal(env.redirect.kind, REDIRECT_IFINDEX);
  assert.equal(run(vm, rm(3, 8), [dm]), 4n); // BPF_F_BROADCAST does not need the slot
  assert.equal(run(vm, rm(2, 4), [dm]), 0n); // unknown flag bit: XDP_ABORTED
  const cm = mk(reg, T.BPF_MAP_TYPE_CPUMAP, 4, 4, 1);
  assert.equal(run(vm, rm(0, 8), [cm]), 0n); // broadcast is devmap-only
  assert.equal(run(vm, rm(0, 1), [cm]), 1n);
});

test('tail_call: jumps with the same ctx, at most 33 times, falls through on an empty slot', () => {
  const { vm, reg, env } = setup();
  const pa = mk(reg, T.BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4) as ProgArrayMap;
  const self = { id: 1, type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP };
  const callSlot = (slot: number, after: number): string => `
    r2 = 0x${pa.handle.toString(16)} ll
    r3 = ${slot}
    call 12
    r0 = ${after}
    exit`;
  const looping = vm.load(assemble(callSlot(0, 7)));
  const target = vm.load(assemble('r0 = r1\nexit'));
  pa.setProg(0, self);
  pa.setProg(1, { id: 2, type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP });
  env.resolveProg = (ref) => (ref.id === 1 ? looping : target);
  assert.equal(runProgram(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, looping, 0x12345), 7);
  assert.equal(env.tailCallCount, 33);
  assert.equal(runProgram(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, vm.load(assemble(callSlot(1, 7))), 0x12345), 0x12345);
  assert.equal(env.tailCallCount, 1);
  assert.equal(runProgram(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, vm.load(assemble(callSlot(2, 9))), 0x12345), 9);
  assert.equal(env.tailCallCount, 0);
  assert.equal(runProgram(vm, env, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, vm.load(assemble(callSlot(4, 9))), 0x12345), 9);
});

test('xdp helpers refuse a ctx that is not the running XDP buffer', () => {
  const { vm } = setup();
  assert.throws(() => run(vm, 'r1 = 0x10000\nr2 = 4\ncall 44\nexit'), /not the XDP context/);
});

test('every implemented helper has a prototype and every prototype an implementation', () => {
  const ids = implementedHelperIds().sort((a, b) => a - b);
  assert.deepEqual(allHelperProtos().map((p) => p.id), ids);
  assert.equal(helperProto(6)?.gplOnly, true);
  assert.equal(helperProto(1)?.ret, 'RET_PTR_TO_MAP_VALUE_OR_NULL');
  assert.deepEqual(helperProto(44)?.args, ['ARG_PTR_TO_CTX', 'ARG_ANYTHING']);
  assert.equal(helperProto(9), undefined);
});

test('adjust_meta errors come back through a test run as -EACCES / -EINVAL', () => {
  const { vm } = setup();
  const prog = (d: number): ReturnType<Vm['load']> => vm.load(assemble(`r2 = ${d}\ncall 54\nexit`));
  const opts = { dataIn: new Uint8Array(64) };
  assert.equal(BigInt.asIntN(32, BigInt(xdpTestRun(vm, { type: 6, program: prog(-3) }, opts).retval)), EACCES);
  assert.equal(BigInt.asIntN(32, BigInt(xdpTestRun(vm, { type: 6, program: prog(4) }, opts).retval)), EINVAL);
});

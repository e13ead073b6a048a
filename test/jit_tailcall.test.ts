// Tail calls and chain calls on the JIT (src/engine/jit/): the same programs on both engines give the same
// results and counters; a 33-deep tail-call chain replaces wasm frames instead of stacking them (the stack
// seen by a helper in the last program holds one program frame); a slot update and a chain change take
// effect on the next packet; unverified programs see every register across a tail call as in the
// interpreter; inline array lookups return the helper's addresses; the packet loop allocates nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfRuntime } from '../src/syscall/index.js';
import { assemble } from '../src/isa/asm.js';
import { BPF_PROG_TYPE, BPF_MAP_TYPE } from '../src/uapi/bpf.js';
import type { Engine } from '../src/engine/vm.js';
import { runProgram } from '../src/hooks/types.js';
import { PerformanceObserver } from 'node:perf_hooks';

const u32le = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n >>> 0, true); return b; };
const ENGINES: Engine[] = ['interp', 'jit'];
const XDP = BPF_PROG_TYPE.BPF_PROG_TYPE_XDP;

function rig(engine: Engine) {
  const rt = new BpfRuntime({ engine });
  const load = (text: string, maps: number[] = []): number => rt.progLoad({ progType: XDP, license: 'GPL', insns: assemble(text), fdArray: maps });
  const pa = rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapName: 'pa' });
  const set = (i: number, fd: number): void => rt.mapUpdateElem({ mapFd: pa, key: u32le(i), value: u32le(fd) });
  const run = (fd: number, n = 64): number => rt.progTestRun({ progFd: fd, dataIn: new Uint8Array(n) }).retval;
  const cnt = rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'cnt' });
  const count = (): number => new DataView(rt.mapLookupElem({ mapFd: cnt, key: u32le(0) }).buffer).getUint32(0, true);
  const zero = (): void => rt.mapUpdateElem({ mapFd: cnt, key: u32le(0), value: u32le(0) });
  return { rt, load, pa, set, run, cnt, count, zero };
}

/** Count this execution in cnt[0] (map 1) and leave the count in r7; r6 = ctx. */
const COUNT = `
  r6 = r1
  *(u32 *)(r10 - 4) = 0
  r1 = map_idx(1) ll
  r2 = r10
  r2 += -4
  call 1
  r7 = 0
  if r0 == 0 goto +3
  r7 = *(u32 *)(r0 + 0)
  r7 += 1
  *(u32 *)(r0 + 0) = r7
  r1 = r6`;

// Counts its executions, tail-calls slot 0; returns the count when the call falls through.
const SELF = `${COUNT}
  r2 = map_idx(0) ll
  r3 = 0
  call 12
  r0 = r7
  exit`;

test('jit: a self tail call runs 1 + 33 times on both engines; the counter ends at 33', () => {
  for (const engine of ENGINES) {
    const r = rig(engine);
    const fd = r.load(SELF, [r.pa, r.cnt]);
    r.set(0, fd);
    assert.equal(r.run(fd), 34, engine);
    assert.equal(r.rt.env.tailCallCount, 33, engine);
    r.zero();
    assert.equal(r.run(fd), 34, `${engine}: the counter starts at 0 for each run`);
  }
});

test('jit: 33 tail calls replace the wasm frame (return_call_indirect): a helper in the last program sees one program frame', () => {
  const r = rig('jit');
  const fd = r.load(`${COUNT}
    r2 = map_idx(0) ll
    r3 = 0
    call 12
    *(u32 *)(r10 - 8) = 0x216968
    r1 = r10
    r1 += -8
    r2 = 4
    call 6
    r0 = r7
    exit`, [r.pa, r.cnt]);
  r.set(0, fd);
  let stack = '';
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 500;
  r.rt.env.traceSink = () => { stack = new Error().stack ?? ''; };
  try {
    assert.equal(r.run(fd), 34);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const wasmFrames = stack.split('\n').filter((l) => l.includes('wasm')).length;
  assert.ok(stack.length > 0, 'the helper ran');
  // the run wrapper and one program frame (tail calls replaced the 33 others); stacked calls would show 34+
  assert.ok(wasmFrames >= 1 && wasmFrames <= 3, `wasm frames on the stack: ${wasmFrames}\n${stack}`);
});

test('jit: out-of-range index and empty slot fall through without using the budget, r0 unchanged', () => {
  for (const engine of ENGINES) {
    const r = rig(engine);
    const leaf = r.load('r0 = 77\nexit');
    const fd = r.load(`
      r6 = r1
      r2 = map_idx(0) ll
      r3 = 9
      call 12
      r1 = r6
      r2 = map_idx(0) ll
      r3 = 2
      call 12
      r1 = r6
      r2 = map_idx(0) ll
      r3 = 1
      call 12
      r0 = 5
      exit`, [r.pa]);
    assert.equal(r.run(fd), 5, engine);
    assert.equal(r.rt.env.tailCallCount, 0, engine);
    r.set(1, leaf);
    assert.equal(r.run(fd), 77, engine);
    assert.equal(r.rt.env.tailCallCount, 1, engine);
  }
});

test('jit: a slot updated between packets takes effect at the next packet', () => {
  for (const engine of ENGINES) {
    const r = rig(engine);
    const a = r.load('r0 = 1\nexit'), b = r.load('r0 = 2\nexit');
    const fd = r.load('r2 = map_idx(0) ll\nr3 = 0\ncall 12\nr0 = 0\nexit', [r.pa]);
    assert.equal(r.run(fd), 0);
    r.set(0, a);
    assert.equal(r.run(fd), 1);
    r.set(0, b);
    assert.equal(r.run(fd), 2);
    r.rt.mapDeleteElem({ mapFd: r.pa, key: u32le(0) });
    assert.equal(r.run(fd), 0, engine);
  }
});

test('jit: a tail call from a subprogram returns the target\'s r0 to the subprogram\'s caller; the counter is shared', () => {
  for (const engine of ENGINES) {
    const r = rig(engine);
    const leaf = r.load('r0 = 77\nexit');
    r.set(0, leaf);
    const fd = r.load(`
      r8 = r1
      r7 = 0
      r6 = 0
    loop:
      r1 = r8
      call sub
      r7 += r0
      r6 += 1
      if r6 < 40 goto loop
      r0 = r7
      exit
    sub:
      r2 = map_idx(0) ll
      r3 = 0
      call 12
      r0 = 5
      exit`, [r.pa]);
    assert.equal(r.run(fd), 33 * 77 + 7 * 5, engine);
    assert.equal(r.rt.env.tailCallCount, 33, engine);
  }
});

test('jit: unverified programs see every register across a tail call, as in the interpreter', () => {
  for (const engine of ENGINES) {
    const rt = new BpfRuntime({ engine });
    const pa = rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'pa' });
    const vm = rt.vm;
    // the target sums r0, r2..r9 as the caller left them (the verifier would refuse reading them)
    const target = vm.loadUnchecked(assemble(`
      r0 += r2
      r0 += r3
      r0 += r4
      r0 += r5
      r0 += r6
      r0 += r7
      r0 += r8
      r0 += r9
      exit`));
    const targetFd = rt.progLoad({ progType: XDP, license: 'GPL', insns: assemble('r0 = 0\nexit') });
    const bp = rt.progFromFd('test', targetFd) as unknown as { program: unknown };
    (bp as { program: unknown }).program = target; // run the unverified code through the slot
    rt.mapUpdateElem({ mapFd: pa, key: u32le(0), value: u32le(targetFd) });
    const handle = rt.mapFromFd('test', pa).handle;
    const caller = vm.loadUnchecked(assemble(`
      r0 = 1000
      r4 = 4
      r5 = 50
      r6 = 600
      r7 = 7000
      r8 = 80000
      r9 = 900000
      r2 = 0x${handle.toString(16)} ll
      r3 = 0
      call 12
      r0 = 1
      exit`));
    rt.env.beginRun(XDP, 0);
    const got = Number(vm.run(caller, 0n));
    assert.equal(got, 1000 + handle + 0 + 4 + 50 + 600 + 7000 + 80000 + 900000, engine);
  }
});

test('jit: native chain hops in compiled code follow ADD/DEL between packets, sharing the 33 budget', () => {
  for (const engine of ENGINES) {
    const rt = new BpfRuntime({ engine, chainMode: 'native' });
    const load = (text: string): number => rt.progLoad({ progType: XDP, license: 'GPL', insns: assemble(text) });
    const pass = load('r0 = 2\nexit'), drop = load('r0 = 1\nexit'), tx = load('r0 = 3\nexit');
    const run = (): number => rt.progTestRun({ progFd: pass, dataIn: new Uint8Array(64) }).retval;
    assert.equal(run(), 2);
    rt.bpfProgChainAdd(pass, 2, drop);
    assert.equal(run(), 1, `${engine}: exact XDP_PASS slot`);
    rt.bpfProgChainAdd(pass, 2, tx);
    assert.equal(run(), 3, `${engine}: replaced`);
    rt.bpfProgChainDel(pass, 2);
    assert.equal(run(), 2, `${engine}: deleted`);
    rt.bpfProgChainAdd(pass, -1, drop);
    assert.equal(run(), 1, `${engine}: wildcard`);
    assert.equal(rt.env.tailCallCount, 1);
    // a successor's own chain changes: the exit that calls it directly is recompiled too
    const mid = load('r0 = 2\nexit');
    rt.bpfProgChainDel(pass, -1);
    rt.bpfProgChainAdd(pass, -1, mid);
    assert.equal(run(), 2, `${engine}: pass -> mid`);
    rt.bpfProgChainAdd(mid, 2, tx);
    assert.equal(run(), 3, `${engine}: pass -> mid -> tx`);
    rt.bpfProgChainAdd(mid, 2, drop);
    assert.equal(run(), 1, `${engine}: pass -> mid -> drop`);
    // a cycle: pass -> mid -> pass ... until the budget: 34 programs
    rt.bpfProgChainAdd(mid, 2, pass);
    assert.equal(run(), 2, `${engine}: cycle`);
    assert.equal(rt.env.tailCallCount, 33, `${engine}: cycle`);
    // a self-chain: 1 + 33 runs, then the budget stops it
    const cnt = load('r0 = 2\nexit');
    rt.bpfProgChainAdd(cnt, -1, cnt);
    assert.equal(rt.progTestRun({ progFd: cnt, dataIn: new Uint8Array(64) }).retval, 2);
    assert.equal(rt.env.tailCallCount, 33, engine);
  }
});

test('jit: inline array and per-CPU array lookups return the helper\'s addresses and NULL past the end', () => {
  for (const engine of ENGINES) {
    const rt = new BpfRuntime({ engine, nCpus: 4 });
    const arr = rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 12, maxEntries: 3, mapName: 'a' });
    const pc = rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, mapName: 'p' });
    // returns: for key in 0..3: value present? add (key+1) to the element and sum it; 100 per NULL
    const prog = (m: number): number => rt.progLoad({ progType: XDP, license: 'GPL', fdArray: [m], insns: assemble(`
      r7 = 0
      r6 = 0
    loop:
      *(u32 *)(r10 - 4) = r6
      r1 = map_idx(0) ll
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto null
      r1 = *(u32 *)(r0 + 0)
      r1 += r6
      r1 += 1
      *(u32 *)(r0 + 0) = r1
      r7 += r1
      goto next
    null:
      r7 += 100
    next:
      r6 += 1
      if r6 < 4 goto loop
      r0 = r7
      exit`) });
    const a = prog(arr), p = prog(pc);
    const run = (fd: number): number => rt.progTestRun({ progFd: fd, dataIn: new Uint8Array(64) }).retval;
    assert.equal(run(a), 1 + 2 + 3 + 100, engine);
    assert.equal(run(a), 2 + 4 + 6 + 100, engine);
    rt.registry.cpu = 2;
    assert.equal(run(p), 1 + 2 + 3 + 100, engine);
    rt.registry.cpu = 1;
    assert.equal(run(p), 1 + 2 + 3 + 100, `${engine}: another CPU's values`);
    rt.registry.cpu = 2;
    assert.equal(run(p), 2 + 4 + 6 + 100, engine);
    rt.registry.cpu = 0;
  }
});

test('jit hot path: 200k packets with a tail call and a chain hop cause no garbage collection (no per-packet allocation)', async () => {
  const rt = new BpfRuntime({ engine: 'jit', chainMode: 'native' });
  const pa = rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'pa' });
  const load = (text: string, maps: number[] = []): number => rt.progLoad({ progType: XDP, license: 'GPL', insns: assemble(text), fdArray: maps });
  const leaf = load('r0 = 2\nexit'), drop = load('r0 = 1\nexit');
  const entry = load('r2 = map_idx(0) ll\nr3 = 0\ncall 12\nr0 = 0\nexit', [pa]);
  rt.mapUpdateElem({ mapFd: pa, key: u32le(0), value: u32le(leaf) });
  rt.bpfProgChainAdd(leaf, 2, drop);
  const vm = rt.vm, env = rt.env, p = rt.progFromFd('test', entry).program, ctx = vm.stackTop() - 64;
  const batch = (n: number): number => { let r = 0; for (let i = 0; i < n; i++) r += runProgram(vm, env, XDP, p, ctx); return r; };
  assert.equal(batch(20000), 20000, 'entry -> tail call -> leaf -> chain hop -> drop');
  const gcDuring = async (work: () => void): Promise<number> => {
    const seen: number[] = [];
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) seen.push(e.startTime); });
    obs.observe({ entryTypes: ['gc'] });
    const t0 = performance.now();
    work();
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 100));
    obs.disconnect();
    return seen.filter((t) => t >= t0 && t <= t1).length;
  };
  // the detector works: a loop that allocates 32 bytes per iteration collects
  let keep: number[] = [];
  assert.ok(await gcDuring(() => { for (let i = 0; i < 200000; i++) keep = [i, i, i]; }) > 0, 'an allocating loop collects');
  void keep;
  assert.equal(await gcDuring(() => { batch(200000); }), 0);
});

test('jit: a tail call from code that moved r10 reaches a target compiled with unchecked stack accesses: same EFAULT', () => {
  const outcomes: string[] = [];
  for (const engine of ENGINES) {
    const rt = new BpfRuntime({ engine });
    const pa = rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'pa' });
    const vm = rt.vm;
    // r10-relative accesses inside the frame are compiled without a check (the frame pointer is trusted)
    const targetFd = rt.progLoad({ progType: XDP, license: 'GPL', insns: assemble('*(u64 *)(r10 - 8) = 7\nr0 = *(u64 *)(r10 - 8)\nexit') });
    rt.mapUpdateElem({ mapFd: pa, key: u32le(0), value: u32le(targetFd) });
    const handle = rt.mapFromFd('test', pa).handle;
    const run = (r10: string): string => {
      const caller = vm.loadUnchecked(assemble(`${r10}\nr2 = 0x${handle.toString(16)} ll\nr3 = 0\ncall 12\nr0 = 1\nexit`));
      rt.env.beginRun(XDP, 0);
      try { return String(vm.run(caller, 0n)); } catch (e) { return (e as Error).message; }
    };
    outcomes.push(`${run('r0 = 0')} | ${run('r10 = 4096')} | ${run('r10 += -512')}`);
  }
  assert.equal(outcomes[0], '7 | EFAULT: insn 0: invalid memory access: write of 8 bytes at 0xff8 | 7');
  assert.equal(outcomes[1], outcomes[0]);
});

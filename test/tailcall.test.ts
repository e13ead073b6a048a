// Tail-call rules (issue 4, item 6): every scenario runs the same clang-built objects (test/progs/tailcall_*.o)
// with the same inputs on tsbpf and, when it is reachable, on the running kernel (through bpftool, see
// src/kernel), and both must give the expected numbers. The kernel half skips with the reason otherwise.
// Numbers come from the programs' return values and from the `counts` array map (executions per program).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { BpfObject } from '../src/lib/object.js';
import { BpfRuntime } from '../src/syscall/runtime.js';
import { BpfError } from '../src/errors.js';
import { assemble } from '../src/isa/asm.js';
import { BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { MAX_BPF_STACK } from '../src/isa/opcodes.js';
import {
  kernelAvailable, loadObject, progRun, mapUpdate, mapDump, progArraySet, progArrayClear, progInfo, cleanup, bpftool,
  type KernelObject,
} from '../src/kernel/index.js';
import { PROGS_DIR } from './object_util.js';

after(() => cleanup());

const RULES = `${PROGS_DIR}tailcall_rules.o`;
const OWNER = `${PROGS_DIR}tailcall_owner.o`;
const STATIC = `${PROGS_DIR}tailcall_static.o`;
/** An Ethernet-sized frame: XDP test runs need at least ETH_HLEN bytes. */
const FRAME = new Uint8Array(64);
/** counts[] keys, as in tailcall_rules.c */
const C_CHAIN = 0, C_LEAF = 1, C_PING = 2, C_PONG = 3, C_STACK = 4, C_SUB = 5, C_LOOP = 6;

const u32le = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n >>> 0, true); return b; };
const u64le = (n: number): Uint8Array => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n), true); return b; };

/** One backend running tailcall_rules.o: tsbpf or the kernel. */
interface Rig {
  /** Fill slot `i` of `jmp` with program `prog`, or empty it (null; already empty is fine). */
  slot(i: number, prog: string | null): void;
  /** cfg[0..3]: target slot, out-of-range failures, empty-slot failures, the empty slot. */
  cfg(target: number, oor?: number, empty?: number, emptySlot?: number): void;
  /** counts[] as numbers, after zeroing them with reset(). */
  counts(): number[];
  reset(): void;
  run(prog: string): number;
  /** User-space view of `jmp`: the program id in slot i (null when empty), and the raw commands. */
  lookup(i: number): number | null;
  progId(prog: string): number;
  update(i: number, prog: string, flag: 'any' | 'exist' | 'noexist'): void;
  del(i: number): void;
}

const FLAG = { any: 0, noexist: 1, exist: 2 } as const;

/** `engine`: the trace hook these tests use to watch frames is an interpreter feature. */
function tsbpfRig(engine?: 'interp' | 'jit'): Rig & { obj: BpfObject } {
  const obj = BpfObject.open(RULES).load(engine === undefined ? {} : { engine });
  const jmp = obj.map('jmp'), cfg = obj.map('cfg'), counts = obj.map('counts');
  return {
    obj,
    slot: (i, prog) => (prog === null ? void jmp.delete(i) : jmp.set(i, obj.program(prog))),
    cfg: (t, oor = 0, empty = 0, es = 3) => [t, oor, empty, es].forEach((v, i) => cfg.set(i, v)),
    reset: () => { for (let i = 0; i < 8; i++) counts.set(i, 0); },
    counts: () => Array.from({ length: 8 }, (_, i) => Number(counts.getNumber(i))),
    run: (prog) => obj.program(prog).testRun({ dataIn: FRAME }).retval,
    lookup: (i) => { const v = jmp.getNumber(i); return v === undefined ? null : Number(v); },
    progId: (prog) => obj.program(prog).id,
    update: (i, prog, flag) => jmp.set(i, obj.program(prog), FLAG[flag]),
    del: (i) => obj.runtime!.mapDeleteElem({ mapFd: jmp.fd, key: u32le(i) }),
  };
}

function kernelRig(): Rig & { k: KernelObject } {
  const k = loadObject(RULES);
  return {
    k,
    slot: (i, prog) => {
      if (prog !== null) return progArraySet(k.map('jmp'), i, k.prog(prog));
      try { progArrayClear(k.map('jmp'), i); } catch (e) { if (!(e instanceof BpfError && e.code === 'ENOENT')) throw e; }
    },
    cfg: (t, oor = 0, empty = 0, es = 3) => [t, oor, empty, es].forEach((v, i) => mapUpdate(k.map('cfg'), u32le(i), u32le(v))),
    reset: () => { for (let i = 0; i < 8; i++) mapUpdate(k.map('counts'), u32le(i), u64le(0)); },
    counts: () => mapDump(k.map('counts')).map((e) => Number(new DataView(e.value!.buffer, e.value!.byteOffset).getBigUint64(0, true))),
    run: (prog) => progRun(k.prog(prog), { dataIn: FRAME }).retval,
    lookup: (i) => {
      const e = mapDump(k.map('jmp')).find((x) => new DataView(x.key.buffer, x.key.byteOffset).getUint32(0, true) === i);
      return e === undefined ? null : new DataView(e.value!.buffer, e.value!.byteOffset).getUint32(0, true);
    },
    progId: (prog) => progInfo(k.prog(prog)).id,
    update: (i, prog, flag) => void bpftool(['map', 'update', 'pinned', k.map('jmp'), 'key', ...hex(u32le(i)), 'value', 'pinned', k.prog(prog), flag]),
    del: (i) => progArrayClear(k.map('jmp'), i),
  };
}

const hex = (b: Uint8Array): string[] => ['hex', ...[...b].map((x) => x.toString(16).padStart(2, '0'))];

/** A scenario as two subtests: tsbpf, then the kernel with the same steps (skipped when unreachable). */
function onBoth(name: string, scenario: (rig: Rig) => void): void {
  test(name, async (t) => {
    await t.test('tsbpf', () => scenario(tsbpfRig()));
    await t.test('kernel', (tt) => {
      const k = kernelAvailable();
      if (!k.ok) return tt.skip(`kernel not reachable: ${k.why}`);
      try {
        scenario(kernelRig());
      } finally {
        cleanup();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Prog arrays from user space

onBoth('prog array from user space: update takes a program fd, lookup gives its id, delete empties', (r) => {
  const errno = (code: string) => (e: unknown): boolean => e instanceof BpfError && e.code === code;
  assert.equal(r.lookup(0), null);
  r.update(0, 'tc_leaf', 'any');
  assert.equal(r.lookup(0), r.progId('tc_leaf'));
  r.update(0, 'tc_chain', 'any'); // replaces
  assert.equal(r.lookup(0), r.progId('tc_chain'));
  assert.throws(() => r.update(1, 'tc_leaf', 'noexist'), errno('EINVAL'), 'only BPF_ANY');
  assert.throws(() => r.update(0, 'tc_leaf', 'exist'), errno('EINVAL'), 'only BPF_ANY');
  assert.throws(() => r.update(4, 'tc_leaf', 'any'), errno('E2BIG'), 'index >= max_entries');
  r.del(0);
  assert.equal(r.lookup(0), null);
  assert.throws(() => r.del(0), errno('ENOENT'), 'deleting an empty slot');
  assert.throws(() => r.del(4), errno('E2BIG'), 'deleting past max_entries');
});

// ---------------------------------------------------------------------------------------------------------
// The counter

onBoth('a program tail-calling itself: exactly 33 tail calls, then it falls through', (r) => {
  r.slot(0, 'tc_chain');
  r.cfg(0);
  r.reset();
  assert.equal(r.run('tc_chain'), 34, 'the 34th execution falls through and returns its number');
  assert.deepEqual(r.counts(), [34, 0, 0, 0, 0, 0, 0, 0]);
  r.reset();
  assert.equal(r.run('tc_chain'), 34, 'the budget is per run: a second run gets 33 calls again');
});

onBoth('two programs calling each other: 33 tail calls in all, the 34th execution falls through', (r) => {
  r.slot(1, 'tc_ping');
  r.slot(2, 'tc_pong');
  r.reset();
  // ping, pong, ping, ... 34 executions: the last one is pong (2000 + its 17th run).
  assert.equal(r.run('tc_ping'), 2017);
  const c = r.counts();
  assert.equal(c[C_PING], 17);
  assert.equal(c[C_PONG], 17);
});

onBoth('index out of range and empty slot: 40 failed calls of each kind leave all 33 tail calls available', (r) => {
  r.slot(0, 'tc_chain');
  r.cfg(0, 40, 40, 3); // slot 3 stays empty
  r.reset();
  assert.equal(r.run('tc_chain'), 34);
  assert.equal(r.counts()[C_CHAIN], 34);
  // With the target slot itself empty, nothing happens at all.
  r.slot(0, null);
  r.reset();
  assert.equal(r.run('tc_chain'), 1);
  assert.equal(r.counts()[C_CHAIN], 1);
});

onBoth('a slot replaced between runs: the next run follows the new program; deleted: falls through', (r) => {
  r.cfg(0);
  r.slot(0, 'tc_chain');
  r.reset();
  assert.equal(r.run('tc_chain'), 34);
  r.slot(0, 'tc_leaf');
  r.reset();
  assert.equal(r.run('tc_chain'), 77);
  assert.deepEqual(r.counts().slice(0, 2), [1, 1]);
  r.slot(0, null);
  r.reset();
  assert.equal(r.run('tc_chain'), 1);
  assert.deepEqual(r.counts().slice(0, 2), [1, 0]);
});

// ---------------------------------------------------------------------------------------------------------
// The frame

onBoth('the frame is reused: the target reads the stack bytes its caller wrote', (r) => {
  r.slot(2, 'tc_stack_b');
  r.reset();
  // tc_stack_a stores 0x1122334455667788 at fp-256 and 0x0badcafe at fp-200; tc_stack_b folds them.
  assert.equal(r.run('tc_stack_a'), (0x55667788 ^ 0x11223344 ^ 0x0badcafe) >>> 0);
  assert.equal(r.counts()[C_STACK], 1);
});

test('tsbpf: a run through 33 tail calls uses one frame (r10 never changes, no frame is pushed)', () => {
  const r = tsbpfRig('interp');
  r.slot(0, 'tc_chain');
  r.cfg(0);
  r.reset();
  const vm = r.obj.runtime!.vm;
  const fps = new Set<number>();
  let starts = 0;
  vm.trace = (ev) => {
    fps.add(vm.lo[10] >>> 0);
    if (ev.pc === 0) starts++;
  };
  try {
    assert.equal(r.run('tc_chain'), 34);
  } finally {
    vm.trace = undefined;
  }
  assert.equal(starts, 34, 'each execution starts at slot 0 of the target');
  assert.deepEqual([...fps], [vm.stackTop()], 'every instruction ran with the main frame');
});

test('tsbpf: the jump keeps every register (r1 = ctx) and continues at the target\'s first instruction', () => {
  const rt = new BpfRuntime();
  const load = (text: string, maps: number[] = []): number => rt.progLoad({
    progType: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, license: 'GPL', insns: assemble(text), fdArray: maps,
  });
  const pa = rt.mapCreate({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 2, mapName: 'pa' });
  // The target returns ctx->data_end - ctx->data (needs r1 = ctx) plus what r6 held in the caller: the
  // verifier forbids reading r6 in the target, so the register file check is done through r1 only.
  const target = load(`
    r2 = *(u32 *)(r1 + 4)
    r3 = *(u32 *)(r1 + 0)
    r2 -= r3
    r0 = r2
    exit`);
  rt.mapUpdateElem({ mapFd: pa, key: u32le(1), value: u32le(target) });
  const caller = load(`
    r2 = map_idx(0) ll
    r3 = 1
    call 12
    r0 = 9
    exit`, [pa]);
  assert.equal(rt.progTestRun({ progFd: caller, dataIn: new Uint8Array(99) }).retval, 99);
});

// ---------------------------------------------------------------------------------------------------------
// bpf-to-bpf calls

onBoth('a tail call from a subprogram replaces that subprogram only: the target\'s r0 returns to its caller', (r) => {
  r.slot(0, 'tc_leaf');
  r.cfg(0);
  r.reset();
  assert.equal(r.run('tc_sub'), 1000 + 77, 'tc_sub returns 1000 + what sub_tc returned (the leaf\'s 77)');
  assert.deepEqual([r.counts()[C_SUB], r.counts()[C_LEAF]], [1, 1]);
  r.slot(0, null);
  r.reset();
  assert.equal(r.run('tc_sub'), 1005, 'falling through, sub_tc returns 5');
});

onBoth('the counter is shared across bpf-to-bpf calls: 40 subprogram calls, 33 tail calls succeed', (r) => {
  r.slot(0, 'tc_leaf');
  r.cfg(0);
  r.reset();
  assert.equal(r.run('tc_sub_loop'), 33 * 77 + 7 * 5);
  const c = r.counts();
  assert.deepEqual([c[C_LOOP], c[C_SUB], c[C_LEAF]], [40, 40, 33]);
});

onBoth('tail calls from subprograms nest: 33 levels, each returning into the level that called', (r) => {
  r.slot(3, 'tc_sub'); // tc_sub -> sub_tc -> tail call -> tc_sub (in sub_tc's frame) -> sub_tc -> ...
  r.cfg(3);
  r.reset();
  // The innermost sub_tc falls through (5); each of the 34 tc_sub levels adds 1000 on the way out.
  assert.equal(r.run('tc_sub'), 34 * 1000 + 5);
  assert.equal(r.counts()[C_SUB], 34);
});

test('tsbpf: nested tail calls from subprograms keep one 8-frame limit per program', () => {
  const r = tsbpfRig('interp');
  r.slot(3, 'tc_sub');
  r.cfg(3);
  const vm = r.obj.runtime!.vm;
  const fps = new Set<number>();
  vm.trace = () => void fps.add(vm.lo[10] >>> 0);
  try {
    assert.equal(r.run('tc_sub'), 34005);
  } finally {
    vm.trace = undefined;
  }
  // main frame + 34 nested sub_tc frames (each tc_sub after the first runs in its caller's sub_tc frame)
  assert.equal(fps.size, 35);
  assert.equal(vm.frameTop(1), vm.stackTop() - MAX_BPF_STACK);
  assert.ok(fps.has(vm.frameTop(34)), 'the 35th frame lies in the extension region');
});

// ---------------------------------------------------------------------------------------------------------
// Slots updated during a run

test('tsbpf: a slot updated while a run is under way takes effect at the next tail call', () => {
  const r = tsbpfRig('interp');
  r.slot(0, 'tc_chain');
  r.cfg(0);
  r.reset();
  const vm = r.obj.runtime!.vm;
  let starts = 0;
  vm.trace = (ev) => {
    if (ev.pc === 0 && ++starts === 5) r.slot(0, 'tc_leaf'); // during the 5th execution of tc_chain
  };
  try {
    assert.equal(r.run('tc_chain'), 77);
  } finally {
    vm.trace = undefined;
  }
  assert.deepEqual(r.counts().slice(0, 2), [5, 1]);
});

// ---------------------------------------------------------------------------------------------------------
// Loading and owners

test('tsbpf: r0 cannot be read after bpf_tail_call (RET_VOID): EACCES at load', () => {
  const rt = new BpfRuntime();
  const pa = rt.mapCreate({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 2, mapName: 'pa' });
  const load = (tail: string): number => rt.progLoad({
    progType: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, license: 'GPL', fdArray: [pa], logLevel: 1, logSize: 1 << 16,
    insns: assemble(`r2 = map_idx(0) ll\nr3 = 0\ncall 12\n${tail}`),
  });
  assert.throws(() => load('exit'), (e: unknown) => e instanceof BpfError && e.code === 'EACCES' && /R0 !read_ok/.test(e.message));
  assert.ok(load('r0 = 2\nexit') > 0);
});

test('a tail call through a map that is not a prog array is refused at load with EINVAL', async (t) => {
  const obj = `${PROGS_DIR}reject/tailcall_badmap.o`;
  const isEinval = (e: unknown): boolean => e instanceof BpfError && e.code === 'EINVAL';
  await t.test('tsbpf', () => {
    assert.throws(() => BpfObject.open(obj).load(), (e: unknown) => isEinval(e) && /insn 3: .*bpf_tail_call#12/.test((e as Error).message));
  });
  await t.test('kernel', (tt) => {
    const k = kernelAvailable();
    if (!k.ok) return tt.skip(`kernel not reachable: ${k.why}`);
    try {
      // 6.18 says "expected prog array map for tail call" at insn 3.
      assert.throws(() => loadObject(obj), (e: unknown) => isEinval(e) && /3: \(85\) call bpf_tail_call#12/.test((e as Error).message));
    } finally {
      cleanup();
    }
  });
});

/** Owner checks: store a socket filter into the XDP-owned `jmp`, and load one against it. */
function ownerScenario(store: (prog: string) => void, loadAgainst: () => void, loadWhy: RegExp): void {
  const isEinval = (e: unknown): boolean => e instanceof BpfError && e.code === 'EINVAL';
  assert.throws(() => store('sock_plain'), isEinval, 'a socket filter stored in an XDP-owned prog array');
  assert.throws(() => loadAgainst(), (e: unknown) => isEinval(e) && loadWhy.test((e as Error).message),
    'a socket filter loaded against an XDP-owned prog array');
}

test('owner-type mismatch: EINVAL when storing or loading a program of another type', async (t) => {
  await t.test('tsbpf', () => {
    const r = tsbpfRig();
    const rt = r.obj.runtime!;
    const owner = BpfObject.open(OWNER).load({ runtime: rt }); // its own `jmp` is owned by socket filters
    const jmpFd = r.obj.map('jmp').fd;
    ownerScenario(
      (prog) => r.obj.map('jmp').set(0, owner.program(prog)),
      () => rt.progLoad({
        progType: BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER, license: 'GPL', insns: owner.program('sock_tc').spec.insns,
        fdArray: [jmpFd],
      }),
      /prog array 'jmp' .* is owned by program type 6, not 1/,
    );
    // The socket filters' own array takes them; an XDP program is refused there.
    owner.map('jmp').set(0, owner.program('sock_plain'));
    assert.throws(() => owner.map('jmp').set(1, r.obj.program('tc_leaf')), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  });
  await t.test('kernel', (tt) => {
    const k = kernelAvailable();
    if (!k.ok) return tt.skip(`kernel not reachable: ${k.why}`);
    try {
      const rules = loadObject(RULES);
      const owner = loadObject(OWNER);
      const pin = `${rules.pinDir}/sock_tc`;
      ownerScenario(
        (prog) => progArraySet(rules.map('jmp'), 0, owner.prog(prog)),
        () => bpftool(['prog', 'load', OWNER, pin, 'type', 'socket', 'map', 'name', 'jmp', 'pinned', rules.map('jmp')]),
        /processed \d+ insns[\s\S]*failed to load: -22/, // the verifier passed it; the owner check refused it
      );
    } finally {
      cleanup();
    }
  });
});

test('slots are emptied when the last user-space reference (fd or pin) goes away', async (t) => {
  await t.test('tsbpf', () => {
    const r = tsbpfRig();
    const rt = r.obj.runtime!;
    r.slot(0, 'tc_chain');
    r.cfg(0);
    const jmp = r.obj.map('jmp');
    const id = jmp.id;
    jmp.pin('/sys/fs/bpf/tc_jmp');
    rt.close(jmp.fd);
    jmp.fd = -1;
    r.reset();
    assert.equal(r.run('tc_chain'), 34, 'the pin still holds the array: slots kept');
    rt.unlink('/sys/fs/bpf/tc_jmp');
    r.reset();
    assert.equal(r.run('tc_chain'), 1, 'no fd or pin left: slots emptied (the program still holds the map)');
    const fd = rt.mapGetFdById({ mapId: id });
    assert.throws(() => rt.mapLookupElem({ mapFd: fd, key: u32le(0) }), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
  });
  await t.test('kernel', (tt) => {
    const k = kernelAvailable();
    if (!k.ok) return tt.skip(`kernel not reachable: ${k.why}`);
    try {
      const r = kernelRig();
      r.slot(0, 'tc_chain');
      r.cfg(0);
      r.reset();
      assert.equal(r.run('tc_chain'), 34);
      rmSync(r.k.map('jmp')); // bpftool exited long ago: the pin was the last user reference
      r.reset();
      assert.equal(r.run('tc_chain'), 1);
    } finally {
      cleanup();
    }
  });
});

test('static prog-array initialisation from the object (__array(values, ...) with [i] = &prog)', async (t) => {
  await t.test('tsbpf', () => {
    const o = BpfObject.open(STATIC).load();
    assert.equal(o.program('st_entry').testRun({ dataIn: FRAME }).retval, 3);
    const st = o.map('st_jmp');
    assert.equal(st.getNumber(0), BigInt(o.program('st_second').id));
    assert.equal(st.getNumber(2), BigInt(o.program('st_third').id));
    assert.equal(st.get(1), undefined);
  });
  await t.test('kernel', (tt) => {
    const k = kernelAvailable();
    if (!k.ok) return tt.skip(`kernel not reachable: ${k.why}`);
    try {
      const o = loadObject(STATIC);
      assert.equal(progRun(o.prog('st_entry'), { dataIn: FRAME }).retval, 3);
    } finally {
      cleanup();
    }
  });
});

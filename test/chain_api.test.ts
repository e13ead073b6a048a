// Every rule of the chain-call user API (BPF_PROG_CHAIN_ADD/DEL/GET, the load flag, slots, errors,
// references) and of chain execution, in both execution models ("native" and "inject").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../src/isa/asm.js';
import {
  BPF_CMD, BPF_F_INJECT_CHAIN_CALLS, BPF_MAP_TYPE as MT, BPF_PROG_TYPE as PT, XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX,
} from '../src/uapi/bpf.js';
import { BpfRuntime, type ProgInfo } from '../src/syscall/index.js';
import { CHAIN_EXIT_SEQ_LEN } from '../src/verifier/chain_inject.js';
import { ChainLab, MODES, errno, firstByteProg, packet, retProg, withProgArray } from './chain_util.js';

const WILD = 0xffffffff;

for (const mode of MODES) {
  test(`[${mode}] ADD/GET: wildcard and exact slots, GET returns the next program's id, the chain runs`, () => {
    const L = new ChainLab(mode);
    L.load('pass', retProg(XDP_PASS));
    L.load('drop', retProg(XDP_DROP), { flag: false });
    L.load('tx', retProg(XDP_TX), { flag: false });
    assert.deepEqual(L.run('pass'), { retval: XDP_PASS, ran: ['pass'] });
    L.add('pass', WILD, 'drop');
    assert.equal(L.rt.bpfProgChainGet(L.fd('pass'), WILD), L.id('drop'));
    assert.equal(L.rt.bpfProgChainGet(L.fd('pass'), -1), L.id('drop'), '-1 is ~0 too');
    assert.deepEqual(L.run('pass'), { retval: XDP_DROP, ran: ['pass', 'drop'] });
    // the exact code wins over the wildcard
    L.add('pass', XDP_PASS, 'tx');
    assert.equal(L.rt.bpfProgChainGet(L.fd('pass'), XDP_PASS), L.id('tx'));
    assert.deepEqual(L.run('pass'), { retval: XDP_TX, ran: ['pass', 'tx'] });
    // a slot for another code is not used: the wildcard applies
    L.rt.bpfProgChainDel(L.fd('pass'), XDP_PASS);
    L.add('pass', XDP_ABORTED, 'tx');
    assert.deepEqual(L.run('pass'), { retval: XDP_DROP, ran: ['pass', 'drop'] });
    // without the wildcard, no chain for PASS
    L.rt.bpfProgChainDel(L.fd('pass'), WILD);
    assert.deepEqual(L.run('pass'), { retval: XDP_PASS, ran: ['pass'] });
    // the attr form writes next_prog_id back
    const attr = { prevProgFd: L.fd('pass'), retcode: XDP_ABORTED, nextProgId: 0 };
    assert.equal(L.rt.progChainGet(attr), L.id('tx'));
    assert.equal(attr.nextProgId, L.id('tx'));
  });

  test(`[${mode}] bpf() dispatches the chain commands by number and by name`, () => {
    const L = new ChainLab(mode);
    L.load('a', retProg(XDP_PASS));
    L.load('b', retProg(XDP_DROP));
    assert.equal(BPF_CMD.BPF_PROG_CHAIN_ADD, 0x100);
    L.rt.bpf(BPF_CMD.BPF_PROG_CHAIN_ADD, { prevProgFd: L.fd('a'), nextProgFd: L.fd('b'), retcode: XDP_PASS });
    assert.equal(L.rt.bpf('BPF_PROG_CHAIN_GET', { prevProgFd: L.fd('a'), retcode: XDP_PASS }), L.id('b'));
    L.rt.bpf(BPF_CMD.BPF_PROG_CHAIN_DEL, { prevProgFd: L.fd('a'), retcode: XDP_PASS });
    assert.throws(() => L.rt.bpf(BPF_CMD.BPF_PROG_CHAIN_GET, { prevProgFd: L.fd('a'), retcode: XDP_PASS }), errno('ENOENT'));
  });

  test(`[${mode}] slots: retcode 0..6 and ~0 are valid, 7 and up E2BIG (checked before the fds), non-u32 EINVAL`, () => {
    const L = new ChainLab(mode);
    L.load('a', retProg(6));
    L.load('b', retProg(XDP_DROP));
    for (let rc = 0; rc <= 6; rc++) {
      L.add('a', rc, 'b');
      assert.equal(L.rt.bpfProgChainGet(L.fd('a'), rc), L.id('b'));
    }
    assert.deepEqual(L.run('a'), { retval: XDP_DROP, ran: ['a', 'b'] }, 'retcode 6 uses slot 7');
    for (const rc of [7, 8, 0xfffffffe, 1000]) {
      assert.throws(() => L.add('a', rc, 'b'), errno('E2BIG', /slot/));
      assert.throws(() => L.rt.bpfProgChainDel(L.fd('a'), rc), errno('E2BIG'));
      assert.throws(() => L.rt.bpfProgChainGet(L.fd('a'), rc), errno('E2BIG'));
    }
    assert.throws(() => L.rt.bpfProgChainAdd(999, 7, 998), errno('E2BIG'), 'the slot is checked before the fds');
    for (const rc of [1.5, -2, 2 ** 32, NaN]) assert.throws(() => L.add('a', rc, 'b'), errno('EINVAL', /u32/));
  });

  test(`[${mode}] return codes >= 7 (and ~0) go to the wildcard only`, () => {
    const L = new ChainLab(mode);
    L.load('w', retProg(XDP_TX));
    L.load('exact', retProg(XDP_ABORTED));
    for (const code of [7, 100, -1, 0x7fffffff]) {
      const name = `r${code >>> 0}`;
      L.load(name, retProg(code));
      L.add(name, 6, 'exact');
      L.add(name, WILD, 'w');
      assert.deepEqual(L.run(name), { retval: XDP_TX, ran: [name, 'w'] }, `code ${code >>> 0}`);
    }
  });

  test(`[${mode}] EBADF for bad fds, EINVAL for a map fd or a program of another type, EINVAL for unknown attr fields`, () => {
    const L = new ChainLab(mode);
    L.load('a', retProg(XDP_PASS));
    L.load('b', retProg(XDP_DROP));
    L.load('sk', retProg(0), { type: PT.BPF_PROG_TYPE_SOCKET_FILTER });
    const mfd = L.rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    assert.throws(() => L.rt.bpfProgChainAdd(77, XDP_PASS, L.fd('b')), errno('EBADF'));
    assert.throws(() => L.rt.bpfProgChainAdd(L.fd('a'), XDP_PASS, 77), errno('EBADF'));
    assert.throws(() => L.rt.bpfProgChainDel(77, XDP_PASS), errno('EBADF'));
    assert.throws(() => L.rt.bpfProgChainGet(77, XDP_PASS), errno('EBADF'));
    assert.throws(() => L.rt.bpfProgChainAdd(mfd, XDP_PASS, L.fd('b')), errno('EINVAL', /map/));
    assert.throws(() => L.rt.bpfProgChainAdd(L.fd('a'), XDP_PASS, mfd), errno('EINVAL', /map/));
    assert.throws(() => L.rt.bpfProgChainAdd(L.fd('a'), XDP_PASS, L.fd('sk')), errno('EINVAL', /type/));
    assert.throws(() => L.rt.progChainAdd({ prevProgFd: L.fd('a'), nextProgFd: L.fd('b'), retcode: 2, flags: 1 } as never), errno('EINVAL', /flags/));
    // nothing half-done: the slot stays empty
    assert.throws(() => L.rt.bpfProgChainGet(L.fd('a'), XDP_PASS), errno('ENOENT'));
  });

  test(`[${mode}] DEL and GET of an empty slot are ENOENT`, () => {
    const L = new ChainLab(mode);
    L.load('a', retProg(XDP_PASS));
    L.load('b', retProg(XDP_DROP));
    assert.throws(() => L.rt.bpfProgChainDel(L.fd('a'), XDP_PASS), errno('ENOENT', /retcode 2/));
    assert.throws(() => L.rt.bpfProgChainGet(L.fd('a'), WILD), errno('ENOENT', /wildcard/));
    L.add('a', XDP_PASS, 'b');
    L.rt.bpfProgChainDel(L.fd('a'), XDP_PASS);
    assert.throws(() => L.rt.bpfProgChainDel(L.fd('a'), XDP_PASS), errno('ENOENT'));
    assert.throws(() => L.rt.bpfProgChainGet(L.fd('a'), XDP_PASS), errno('ENOENT'));
  });

  test(`[${mode}] ADD replaces silently and drops the old program's reference; chains hold their programs`, () => {
    const L = new ChainLab(mode);
    L.load('a', retProg(XDP_PASS));
    L.load('b', retProg(XDP_DROP));
    L.load('c', retProg(XDP_TX));
    const idB = L.id('b'), idC = L.id('c');
    L.add('a', XDP_PASS, 'b');
    L.rt.close(L.fd('b')); // the chain keeps b alive
    assert.ok(L.rt.programs().some((p) => p.id === idB));
    assert.equal(L.run('a').retval, XDP_DROP);
    L.add('a', XDP_PASS, 'c'); // replaces b: its last reference is gone
    assert.equal(L.rt.bpfProgChainGet(L.fd('a'), XDP_PASS), idC);
    assert.ok(!L.rt.programs().some((p) => p.id === idB), 'the replaced program was freed');
    assert.throws(() => L.rt.progGetFdById({ progId: idB }), errno('ENOENT'));
    assert.equal(L.run('a').retval, XDP_TX);
    // DEL drops the reference too
    L.rt.close(L.fd('c'));
    L.rt.bpfProgChainDel(L.fd('a'), XDP_PASS);
    assert.ok(!L.rt.programs().some((p) => p.id === idC));
    // a freed prev releases what it chains to (cycles included)
    L.load('x', retProg(XDP_PASS));
    L.load('y', retProg(XDP_PASS));
    const idX = L.id('x'), idY = L.id('y');
    L.add('x', WILD, 'y');
    L.add('y', WILD, 'x');
    L.rt.close(L.fd('y'));
    assert.ok(L.rt.programs().some((p) => p.id === idY));
    L.rt.close(L.fd('x'));
    assert.ok(!L.rt.programs().some((p) => p.id === idX || p.id === idY), 'x <-> y cycle collected');
    // the hidden slot tables are not maps anyone can see
    assert.deepEqual(L.rt.registry.all().map((m) => m.name), []);
  });

  test(`[${mode}] the 33-hop budget: a self-chain runs 1 + 33 programs and returns the last verdict`, () => {
    const L = new ChainLab(mode);
    L.load('loop', retProg(XDP_PASS));
    L.add('loop', WILD, 'loop');
    const r = L.run('loop');
    assert.equal(r.retval, XDP_PASS);
    assert.equal(r.ran.length, 34);
    // a two-program loop alternates and stops after 33 hops
    L.load('p', retProg(XDP_PASS));
    L.load('d', retProg(XDP_DROP));
    L.add('p', XDP_PASS, 'd');
    L.add('d', XDP_DROP, 'p');
    const r2 = L.run('p');
    assert.equal(r2.ran.length, 34);
    assert.equal(r2.ran[33], 'd');
    assert.equal(r2.retval, XDP_DROP);
  });

  test(`[${mode}] tail calls and chain hops share one budget; the chain of the tail-call target applies`, () => {
    const L = new ChainLab(mode);
    const pa = L.rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
    // 'tc' tail-calls slot 0 of the prog array, then returns PASS if that fell through
    const tc = withProgArray('', pa, 'r3 = 0\ncall 12\nr0 = 2\nexit');
    L.load('tc', tc);
    L.load('target', retProg(XDP_TX));
    L.load('afterTc', retProg(XDP_ABORTED));
    L.load('afterTarget', retProg(XDP_DROP));
    L.rt.mapUpdateElem({ mapFd: pa, key: new Uint8Array(4), value: new Uint8Array(new Uint32Array([L.fd('target')]).buffer) });
    L.add('tc', WILD, 'afterTc');
    L.add('target', WILD, 'afterTarget');
    assert.deepEqual(L.run('tc'), { retval: XDP_DROP, ran: ['tc', 'target', 'afterTarget'] });
    // budget: tc -> (tail) tc ... a prog array slot pointing at itself makes 33 tail calls; no chain hop is left
    L.rt.mapUpdateElem({ mapFd: pa, key: new Uint8Array(4), value: new Uint8Array(new Uint32Array([L.fd('tc')]).buffer) });
    const r = L.run('tc');
    assert.equal(r.ran.length, 34, 'entry + 33 tail calls, then the chain hop has no budget');
    assert.ok(r.ran.every((n) => n === 'tc'));
    assert.equal(r.retval, XDP_PASS);
  });

  test(`[${mode}] ctx reaches the next program even when the program overwrote r1`, () => {
    const L = new ChainLab(mode);
    L.load('clobber', assemble('r1 = 0\nr0 = 2\nexit'));
    L.load('first', firstByteProg());
    L.add('clobber', XDP_PASS, 'first');
    assert.deepEqual(L.run('clobber', packet(0x2a)), { retval: 0x2a, ran: ['clobber', 'first'] });
  });

  test(`[${mode}] only the main program's exits chain, not a subprogram's`, () => {
    const L = new ChainLab(mode);
    // main calls a subprogram that returns 1 (DROP), then returns PASS
    L.load('sub', assemble('call sub1\nr0 = 2\nexit\nsub1:\nr0 = 1\nexit'));
    L.load('onDrop', retProg(XDP_TX));
    L.load('onPass', retProg(XDP_ABORTED));
    L.add('sub', XDP_DROP, 'onDrop');
    assert.deepEqual(L.run('sub'), { retval: XDP_PASS, ran: ['sub'] });
    L.add('sub', XDP_PASS, 'onPass');
    assert.deepEqual(L.run('sub'), { retval: XDP_ABORTED, ran: ['sub', 'onPass'] });
  });

  test(`[${mode}] a chain changed during a run takes effect at the next hop`, () => {
    const L = new ChainLab(mode);
    // 'talk' writes a trace_printk line (the sink runs inside the helper), then returns PASS
    L.load('talk', assemble(`
      *(u32 *)(r10 - 8) = 0x216968
      r1 = r10
      r1 += -8
      r2 = 4
      call 6
      r0 = 2
      exit`));
    L.load('old', retProg(XDP_DROP));
    L.load('new', retProg(XDP_TX));
    L.add('talk', XDP_PASS, 'old');
    L.rt.env.traceSink = () => L.add('talk', XDP_PASS, 'new');
    assert.deepEqual(L.run('talk'), { retval: XDP_TX, ran: ['talk', 'new'] });
  });
}

test('[inject] EOPNOTSUPP: only a program loaded with BPF_F_INJECT_CHAIN_CALLS can be a prev', () => {
  const L = new ChainLab('inject');
  L.load('plain', retProg(XDP_PASS), { flag: false });
  L.load('b', retProg(XDP_DROP), { flag: false });
  assert.throws(() => L.add('plain', XDP_PASS, 'b'), errno('EOPNOTSUPP', /BPF_F_INJECT_CHAIN_CALLS/));
  assert.throws(() => L.rt.bpfProgChainDel(L.fd('plain'), XDP_PASS), errno('EOPNOTSUPP'));
  assert.throws(() => L.rt.bpfProgChainGet(L.fd('plain'), XDP_PASS), errno('EOPNOTSUPP'));
  assert.throws(() => L.rt.bpfProgChainAdd(L.fd('plain'), XDP_PASS, 99), errno('EOPNOTSUPP'), 'before the next fd');
  // a non-flagged program can be a next
  L.load('flagged', retProg(XDP_PASS));
  L.add('flagged', XDP_PASS, 'plain');
  assert.deepEqual(L.run('flagged'), { retval: XDP_PASS, ran: ['flagged', 'plain'] });
});

test('[native] any program can be a prev, without the flag', () => {
  const L = new ChainLab('native');
  L.load('plain', retProg(XDP_PASS), { flag: false });
  L.load('b', retProg(XDP_DROP), { flag: false });
  L.add('plain', XDP_PASS, 'b');
  assert.deepEqual(L.run('plain'), { retval: XDP_DROP, ran: ['plain', 'b'] });
});

test('load flag: rewrites exits in the inject model only (xlated), bit 4 is SLEEPABLE for kprobes, E2BIG without a free stack slot', () => {
  const insns = assemble('if r1 == 0 goto +2\nr0 = 1\nexit\nr0 = 2\nexit');
  const inj = new BpfRuntime({ chainMode: 'inject' });
  const fd = inj.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns, license: 'GPL', progFlags: BPF_F_INJECT_CHAIN_CALLS });
  const info = inj.objGetInfoByFd({ bpfFd: fd }) as ProgInfo;
  assert.equal(info.xlatedProgInsns.length, 1 + 3 + 2 * CHAIN_EXIT_SEQ_LEN);
  assert.equal(info.xlatedProgInsns.filter((i) => i.code === 0x85 && i.imm === 12).length, 4, 'two tail calls per exit');
  assert.deepEqual(info.xlatedProgInsns[0], { code: 0x7b, dst: 10, src: 1, off: -8, imm: 0 }, 'ctx spill at entry');
  const plain = inj.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns, license: 'GPL' });
  assert.equal((inj.objGetInfoByFd({ bpfFd: plain }) as ProgInfo).xlatedProgInsns.length, 5);
  const nat = new BpfRuntime({ chainMode: 'native' });
  const nfd = nat.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns, license: 'GPL', progFlags: BPF_F_INJECT_CHAIN_CALLS });
  assert.equal((nat.objGetInfoByFd({ bpfFd: nfd }) as ProgInfo).xlatedProgInsns.length, 5, 'native: flag accepted, nothing rewritten');
  for (const rt of [inj, nat]) {
    assert.throws(() => rt.progLoad({ progType: PT.BPF_PROG_TYPE_KPROBE, insns: assemble('r0 = 0\nexit'), license: 'GPL', progFlags: 1 << 4 }), errno('EINVAL', /sleepable/));
  }
  // a main frame using all 512 bytes leaves nowhere to keep ctx
  const full = assemble('*(u64 *)(r10 - 512) = 0\nr0 = 2\nexit');
  assert.throws(() => inj.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: full, license: 'GPL', progFlags: BPF_F_INJECT_CHAIN_CALLS }), errno('E2BIG', /stack/));
  assert.deepEqual(inj.registry.all().length, 0, 'the failed load left no slot table behind');
  // 504 bytes used: the spill goes at -512
  const fd504 = inj.progLoad({ progType: PT.BPF_PROG_TYPE_XDP, insns: assemble('*(u64 *)(r10 - 504) = 0\nr0 = 2\nexit'), license: 'GPL', progFlags: BPF_F_INJECT_CHAIN_CALLS });
  assert.equal((inj.objGetInfoByFd({ bpfFd: fd504 }) as ProgInfo).xlatedProgInsns[0].off, -512);
});

test('chain mode option is checked', () => {
  assert.throws(() => new BpfRuntime({ chainMode: 'direct' as never }), errno('EINVAL', /chain mode/));
  assert.equal(new BpfRuntime().chains.mode, 'native');
});

// Multi-program XDP on one device (src/net/multiprog.ts): libxdp's dispatcher (ordering with every
// tie-break of cmp_xdp_programs, chain_call_actions continue rules, the final XDP_PASS, errors, atomic swap)
// and bpf_mprog (every position rule and errno of kernel/bpf/mprog.c, revisions, query, running with the
// "next" convention). Programs are tiny assembly programs loaded through the bpf() layer, so names,
// instruction counts and tags can be chosen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../src/isa/asm.js';
import { BpfError } from '../src/errors.js';
import type { BpfProg } from '../src/syscall/prog.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../src/uapi/bpf.js';
import { Net, defaultXdpProgramRunner, type NetDevice } from '../src/net/index.js';
import {
  BPF_F_AFTER, BPF_F_BEFORE, BPF_F_ID, BPF_F_LINK, BPF_F_REPLACE, XdpProgram, cmpXdpPrograms, mprogAttach, mprogDetach,
  mprogQuery, xdpAttach, xdpAttachMulti, xdpDetach, xdpDetachMulti, xdpMultiprog, type XdpProgramOrderKey,
} from '../src/net/multiprog.js';

const code = (e: unknown): string => (e instanceof BpfError ? e.code : `not a BpfError: ${String(e)}`);
const throwsCode = (fn: () => unknown, c: string): void => {
  assert.throws(fn, (e: unknown) => {
    assert.equal(code(e), c, e instanceof Error ? e.message : String(e));
    return true;
  });
};

interface Env {
  net: Net;
  dev: NetDevice;
  /** Names of the programs that ran, in order, since the last reset. */
  ran: string[];
  /** Load an XDP program `name` returning `ret` (`pad` extra instructions change its size and tag). */
  load(name: string, ret: number, pad?: number, type?: number): BpfProg;
  fd(p: BpfProg): number;
  /** Send one frame; the hook's verdict. */
  send(): number;
}

function env(): Env {
  const net = new Net();
  const dev = net.createDevice('eth0');
  const ran: string[] = [];
  const fds = new Map<BpfProg, number>();
  net.runner = (rt, prog, ctx, obs) => {
    ran.push(prog.name);
    return defaultXdpProgramRunner(rt, prog, ctx, obs);
  };
  return {
    net, dev, ran,
    load(name, ret, pad = 0, type = BPF_PROG_TYPE.BPF_PROG_TYPE_XDP) {
      const text = [`r0 = ${ret}`, ...Array.from({ length: pad }, (_, i) => `r2 = ${i}`), 'exit'].join('\n');
      const fd = net.rt.progLoad({ progType: type, insns: assemble(text), license: 'GPL', progName: name });
      const p = net.rt.progFromFd('test', fd);
      fds.set(p, fd);
      return p;
    },
    fd: (p) => fds.get(p)!,
    send() {
      ran.length = 0;
      return dev.receive(new Uint8Array(60));
    },
  };
}

const names = (ps: readonly BpfProg[]): string[] => ps.map((p) => p.name);

// =========================================================================================== libxdp

test('libxdp: programs run in priority order, ties by name, then loaded-before-new, then size', () => {
  const e = env();
  const b = new XdpProgram(e.load('b', XDP_PASS));
  const z = new XdpProgram(e.load('z', XDP_PASS), { runPrio: 10 });
  const aLong = new XdpProgram(e.load('a', XDP_PASS, 3));
  const aShort = new XdpProgram(e.load('a', XDP_PASS, 1));
  const d = xdpAttachMulti(e.dev, [b, z, aLong, aShort]);
  assert.deepEqual(d.entries.map((x) => `${x.name}/${x.runPrio}/${x.insnCnt}`), ['z/10/2', 'a/50/3', 'a/50/5', 'b/50/2']);
  assert.equal(e.send(), XDP_PASS);
  assert.deepEqual(e.ran, ['z', 'a', 'a', 'b']);
  assert.deepEqual(d.runPrios, [10, 50, 50, 50]);
  // A new program with the same priority and name as an attached one goes after it, even when smaller.
  const aTiny = new XdpProgram(e.load('a', XDP_DROP));
  const d2 = xdpAttach(e.dev, aTiny);
  const aIdx = d2.entries.map((x, i) => (x.name === 'a' ? i : -1)).filter((i) => i >= 0);
  assert.equal(d2.entries[aIdx[2]].prog, aTiny.prog, 'the new program is the last of the a-s');
  // The attached ones are compared by tag now (they are "loaded" and read back from the dispatcher).
  const tags = aIdx.slice(0, 2).map((i) => d2.entries[i].tag);
  assert.deepEqual(tags, [...tags].sort());
  assert.equal(d2.entries.length, 5);
  assert.notEqual(d2.id, d.id, 'a change builds a new dispatcher');
});

test('libxdp: cmp_xdp_programs tie-breaks beyond the name: tag bytes, then load time', () => {
  const k = (o: Partial<XdpProgramOrderKey>): XdpProgramOrderKey => ({
    runPrio: 50, name: 'p', loaded: true, fromObject: false, insnCnt: 2, tag: '00', loadTime: 0, ...o,
  });
  assert.equal(cmpXdpPrograms(k({ runPrio: 0xffffffff }), k({ runPrio: 3 })), 1, 'priorities are unsigned');
  assert.equal(cmpXdpPrograms(k({ name: 'B' }), k({ name: 'a' })), -1, 'strcmp: uppercase sorts first');
  assert.equal(cmpXdpPrograms(k({ loaded: false }), k({})), 1);
  assert.equal(cmpXdpPrograms(k({ insnCnt: 9, fromObject: true }), k({ insnCnt: 1 })), 0, 'size only when both come from objects');
  assert.equal(cmpXdpPrograms(k({ insnCnt: 9, fromObject: true, loaded: false }), k({ insnCnt: 1, fromObject: true, loaded: false })), 1);
  assert.equal(cmpXdpPrograms(k({ tag: '0a' }), k({ tag: 'a0' })), -1);
  assert.equal(cmpXdpPrograms(k({ loadTime: 5 }), k({ loadTime: 4 })), 1);
  assert.equal(cmpXdpPrograms(k({}), k({})), 0);
});

test('libxdp: continue only when bit ret of the chain_call_actions mask is set; XDP_PASS when every program continues', () => {
  const e = env();
  const p1 = new XdpProgram(e.load('p1', XDP_PASS), { runPrio: 1 });
  const p2 = new XdpProgram(e.load('p2', XDP_DROP), { runPrio: 2 });
  const p3 = new XdpProgram(e.load('p3', XDP_TX), { runPrio: 3 });
  xdpAttachMulti(e.dev, [p3, p2, p1]);
  assert.equal(e.send(), XDP_DROP);
  assert.deepEqual(e.ran, ['p1', 'p2'], 'p2 returned DROP, which its default mask (PASS only) does not continue on');
  assert.equal(e.dev.stats.verdicts[XDP_DROP], 1);
  xdpDetachMulti(e.dev, [p1, p2, p3]);
  assert.equal(e.dev.hook, null);

  // Masks are fixed when the dispatcher is built: new XdpProgram objects with other masks.
  const q1 = new XdpProgram(e.load('q1', XDP_PASS), { runPrio: 1 });
  const q2 = new XdpProgram(e.load('q2', XDP_DROP), { runPrio: 2 });
  q2.setChainCallEnabled(XDP_DROP, true);
  const q3 = new XdpProgram(e.load('q3', XDP_TX), { runPrio: 3 });
  xdpAttachMulti(e.dev, [q1, q2, q3]);
  assert.equal(e.send(), XDP_TX, 'q2 continues on DROP, q3 returns TX, which is not in its mask');
  assert.deepEqual(e.ran, ['q1', 'q2', 'q3']);
  xdpDetach(e.dev, q3);
  const q4 = new XdpProgram(e.load('q4', XDP_TX), { runPrio: 3, chainCallActions: (1 << XDP_TX) | (1 << XDP_PASS) });
  xdpAttach(e.dev, q4);
  assert.equal(e.send(), XDP_PASS, 'the last program continued too: the dispatcher returns XDP_PASS, not TX');
  assert.deepEqual(e.ran, ['q1', 'q2', 'q4']);
});

test('libxdp: the mask is tested with the BPF shift (ret mod 32); -1 continues through XDP_DISPATCHER_RETVAL', () => {
  const e = env();
  const m1 = new XdpProgram(e.load('m1', -1), { runPrio: 1 });
  const m2 = new XdpProgram(e.load('m2', 35), { runPrio: 2, chainCallActions: 1 << XDP_TX });
  const m3 = new XdpProgram(e.load('m3', 36), { runPrio: 3, chainCallActions: 1 << XDP_TX });
  xdpAttachMulti(e.dev, [m1, m2, m3]);
  assert.equal(e.send(), 36, '-1 continued, 35 = bit 3 (TX) continued, 36 = bit 4 (REDIRECT) stopped');
  assert.deepEqual(e.ran, ['m1', 'm2', 'm3']);
  assert.equal(e.dev.stats.exceptions, 1, 'an unknown action is an exception');
});

test('libxdp: errors and setters', () => {
  const e = env();
  const progs = Array.from({ length: 6 }, (_, i) => new XdpProgram(e.load(`p${i}`, XDP_PASS)));
  throwsCode(() => xdpAttachMulti(e.dev, []), 'EINVAL');
  throwsCode(() => xdpAttachMulti(e.dev, progs.slice(0, 1), 1), 'EINVAL');
  throwsCode(() => xdpDetach(e.dev, progs[0]), 'ENOENT');
  xdpAttachMulti(e.dev, progs);
  const more = Array.from({ length: 5 }, (_, i) => new XdpProgram(e.load(`m${i}`, XDP_PASS)));
  throwsCode(() => xdpAttachMulti(e.dev, more), 'E2BIG');
  assert.equal(xdpMultiprog(e.dev).entries.length, 6, 'a failed attach changes nothing');
  xdpAttachMulti(e.dev, more.slice(0, 4));
  assert.equal(xdpMultiprog(e.dev).entries.length, 10);
  throwsCode(() => xdpAttach(e.dev, more[4]), 'E2BIG');
  // Loaded (attached) programs cannot change; actions past 30 never can.
  throwsCode(() => progs[0].setRunPrio(1), 'EINVAL');
  throwsCode(() => progs[0].setChainCallEnabled(XDP_DROP, true), 'EINVAL');
  throwsCode(() => more[4].setChainCallEnabled(31, true), 'EINVAL');
  throwsCode(() => more[4].setRunPrio(-1), 'EINVAL');
  assert.equal(more[4].chainCallEnabled(XDP_PASS), true);
  assert.equal(more[4].chainCallEnabled(XDP_DROP), false);
  more[4].setChainCallEnabled(XDP_PASS, false);
  assert.equal(more[4].chainCallActions, 0);
  // Detach: a program never loaded is EINVAL; one loaded but not here ENOENT.
  throwsCode(() => xdpDetach(e.dev, more[4]), 'EINVAL');
  const other = e.net.createDevice('eth1');
  xdpAttach(other, more[4]);
  throwsCode(() => xdpDetach(e.dev, more[4]), 'ENOENT');
  xdpDetachMulti(e.dev, progs.slice(0, 3));
  assert.deepEqual(names(e.dev.programs()), ['m0', 'm1', 'm2', 'm3', 'p3', 'p4', 'p5']);
  // A plain program on the device: libxdp refuses to replace it; a non-XDP program never attaches.
  const single = e.net.createDevice('eth2');
  single.attachXdp(e.load('solo', XDP_PASS));
  throwsCode(() => xdpAttach(single, new XdpProgram(e.load('x', XDP_PASS))), 'EBUSY');
  throwsCode(() => xdpAttach(other, new XdpProgram(e.load('sf', 0, 0, BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER))), 'EINVAL');
  throwsCode(() => e.dev.attachXdp(e.load('y', XDP_PASS)), 'EBUSY');
});

test('libxdp: a change swaps the whole dispatcher atomically, also in the middle of a frame', () => {
  const e = env();
  const first = new XdpProgram(e.load('first', XDP_PASS), { runPrio: 10 });
  const second = new XdpProgram(e.load('second', XDP_PASS), { runPrio: 20 });
  xdpAttachMulti(e.dev, [first, second]);
  const dropper = new XdpProgram(e.load('dropper', XDP_DROP), { runPrio: 15 });
  let changed = false;
  e.net.runner = (rt, prog, ctx, obs) => {
    e.ran.push(prog.name);
    // While the first program of the frame runs, the set changes: the frame must finish on the old set.
    if (!changed && prog.name === 'first') {
      changed = true;
      xdpAttach(e.dev, dropper);
      xdpDetach(e.dev, second);
    }
    return defaultXdpProgramRunner(rt, prog, ctx, obs);
  };
  assert.equal(e.send(), XDP_PASS);
  assert.deepEqual(e.ran, ['first', 'second'], 'old set: the frame never saw dropper and still ran second');
  assert.equal(e.send(), XDP_DROP);
  assert.deepEqual(e.ran, ['first', 'dropper'], 'new set from the next frame on');
});

// =========================================================================================== bpf_mprog

test('bpf_mprog: front/back and relative positions by fd and by id; revision and query', () => {
  const e = env();
  const [A, B, C, D, E, F] = ['A', 'B', 'C', 'D', 'E', 'F'].map((n) => e.load(n, -1));
  assert.deepEqual(mprogQuery(e.dev), { progIds: [], revision: 1, count: 0 });
  mprogAttach(e.dev, { attachBpfFd: e.fd(A) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(B) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE, relativeFd: e.fd(A) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(D), attachFlags: BPF_F_AFTER | BPF_F_ID, relativeId: A.id });
  mprogAttach(e.dev, { attachBpfFd: e.fd(E), attachFlags: BPF_F_BEFORE });
  mprogAttach(e.dev, { attachBpfFd: e.fd(F), attachFlags: BPF_F_AFTER });
  assert.deepEqual(names(e.dev.programs()), ['E', 'C', 'A', 'D', 'B', 'F']);
  const q = mprogQuery(e.dev);
  assert.deepEqual(q.progIds, [E, C, A, D, B, F].map((p) => p.id));
  assert.equal(q.revision, 7);
  assert.equal(q.count, 6);
  // Before/after the first and last by relative.
  const G = e.load('G', -1), H = e.load('H', -1);
  mprogAttach(e.dev, { attachBpfFd: e.fd(G), attachFlags: BPF_F_BEFORE, relativeFd: e.fd(E), expectedRevision: 7 });
  mprogAttach(e.dev, { attachBpfFd: e.fd(H), attachFlags: BPF_F_AFTER, relativeFd: e.fd(F), expectedRevision: 8 });
  assert.deepEqual(names(e.dev.programs()), ['G', 'E', 'C', 'A', 'D', 'B', 'F', 'H']);
  // Query with a short buffer: ENOSPC with the first ids; count 0: only count and revision.
  assert.throws(() => mprogQuery(e.dev, { count: 2 }), (err: unknown) => {
    assert.equal(code(err), 'ENOSPC');
    assert.deepEqual((err as { result: { progIds: number[]; count: number } }).result.progIds, [G.id, E.id]);
    assert.equal((err as { result: { count: number } }).result.count, 8);
    return true;
  });
  assert.deepEqual(mprogQuery(e.dev, { count: 0 }), { progIds: [], revision: 9, count: 8 });
  throwsCode(() => mprogQuery(e.dev, { queryFlags: 1 }), 'EINVAL');
});

test('bpf_mprog: attach errnos in the kernel\'s order', () => {
  const e = env();
  const [A, B, C] = ['A', 'B', 'C'].map((n) => e.load(n, -1));
  const X = e.load('X', -1);
  mprogAttach(e.dev, { attachBpfFd: e.fd(A) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(B) }); // [A, B], revision 3
  const sf = e.load('sf', 0, 0, BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER);
  const mapFd = e.net.rt.mapCreate({ mapType: BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  const cases: Array<[string, Parameters<typeof mprogAttach>[1], string]> = [
    ['unknown flag bits', { attachBpfFd: e.fd(C), attachFlags: 1 << 1 }, 'EINVAL'],
    ['bad program fd', { attachBpfFd: 999 }, 'EBADF'],
    ['a map fd as program', { attachBpfFd: mapFd }, 'EINVAL'],
    ['a program of another type', { attachBpfFd: e.fd(sf) }, 'EINVAL'],
    ['replace with a bad fd', { attachBpfFd: e.fd(C), attachFlags: BPF_F_REPLACE, replaceBpfFd: 998 }, 'EBADF'],
    ['stale revision', { attachBpfFd: e.fd(C), expectedRevision: 2 }, 'ESTALE'],
    ['duplicate', { attachBpfFd: e.fd(A) }, 'EEXIST'],
    ['stale revision before duplicate', { attachBpfFd: e.fd(A), expectedRevision: 9 }, 'ESTALE'],
    ['relative fd not open', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE, relativeFd: 997 }, 'EBADF'],
    ['relative fd is a map', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE, relativeFd: mapFd }, 'EINVAL'],
    ['relative of another type', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE, relativeFd: e.fd(sf) }, 'EINVAL'],
    ['relative id that does not exist', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE | BPF_F_ID, relativeId: 4242 }, 'ENOENT'],
    ['BPF_F_ID with id 0', { attachBpfFd: e.fd(C), attachFlags: BPF_F_ID }, 'ENOENT'],
    ['relative not attached', { attachBpfFd: e.fd(C), attachFlags: BPF_F_AFTER, relativeFd: e.fd(X) }, 'ENOENT'],
    ['relative without before/after', { attachBpfFd: e.fd(C), relativeFd: e.fd(A) }, 'EINVAL'],
    ['before and after the same program', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE | BPF_F_AFTER, relativeFd: e.fd(A) }, 'ERANGE'],
    ['before and after with no relative', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE | BPF_F_AFTER }, 'ERANGE'],
    ['replace a program not attached', { attachBpfFd: e.fd(C), attachFlags: BPF_F_REPLACE, replaceBpfFd: e.fd(X) }, 'ENOENT'],
    ['replace A but place before A', { attachBpfFd: e.fd(C), attachFlags: BPF_F_REPLACE | BPF_F_BEFORE, replaceBpfFd: e.fd(A), relativeFd: e.fd(A) }, 'ERANGE'],
    ['a link relative by fd', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE | BPF_F_LINK, relativeFd: e.fd(A) }, 'EINVAL'],
    ['a link relative by id', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE | BPF_F_LINK | BPF_F_ID, relativeId: 1 }, 'ENOENT'],
    ['relative fd and id together', { attachBpfFd: e.fd(C), attachFlags: BPF_F_BEFORE, relativeFd: e.fd(A), relativeId: A.id }, 'EINVAL'],
  ];
  for (const [what, attr, errno] of cases) {
    assert.throws(() => mprogAttach(e.dev, attr), (err: unknown) => {
      assert.equal(code(err), errno, `${what}: ${err instanceof Error ? err.message : ''}`);
      return true;
    }, what);
  }
  assert.deepEqual(names(e.dev.programs()), ['A', 'B'], 'no failed attach changed the list');
  assert.equal(mprogQuery(e.dev).revision, 3, 'nor the revision');
  // Replace in place, alone or with a matching position rule.
  mprogAttach(e.dev, { attachBpfFd: e.fd(C), attachFlags: BPF_F_REPLACE, replaceBpfFd: e.fd(B), expectedRevision: 3 });
  assert.deepEqual(names(e.dev.programs()), ['A', 'C']);
  mprogAttach(e.dev, { attachBpfFd: e.fd(X), attachFlags: BPF_F_REPLACE | BPF_F_BEFORE, replaceBpfFd: e.fd(A), relativeFd: e.fd(C) });
  assert.deepEqual(names(e.dev.programs()), ['X', 'C']);
  assert.equal(mprogQuery(e.dev).revision, 5);
});

test('bpf_mprog: 63 programs at most (ERANGE), replace still works when full', () => {
  const e = env();
  const progs = Array.from({ length: 64 }, (_, i) => e.load(`p${i}`, -1));
  for (let i = 0; i < 63; i++) mprogAttach(e.dev, { attachBpfFd: e.fd(progs[i]) });
  throwsCode(() => mprogAttach(e.dev, { attachBpfFd: e.fd(progs[63]) }), 'ERANGE');
  throwsCode(() => mprogAttach(e.dev, { attachBpfFd: e.fd(progs[63]), attachFlags: BPF_F_BEFORE }), 'ERANGE');
  mprogAttach(e.dev, { attachBpfFd: e.fd(progs[63]), attachFlags: BPF_F_REPLACE, replaceBpfFd: e.fd(progs[0]) });
  assert.equal(e.dev.programs()[0], progs[63]);
  assert.equal(mprogQuery(e.dev).count, 63);
  // The kernel's detach "from the back" with nothing named lands on index 63 of a full list: ERANGE.
  throwsCode(() => mprogDetach(e.dev), 'ERANGE');
  mprogDetach(e.dev, { attachBpfFd: e.fd(progs[62]) });
  assert.equal(mprogQuery(e.dev).count, 62);
});

test('bpf_mprog: detach by fd, by position, errnos, and the list (with its revision) going away', () => {
  const e = env();
  const [A, B, C, D, X] = ['A', 'B', 'C', 'D', 'X'].map((n) => e.load(n, -1));
  throwsCode(() => mprogDetach(e.dev, { attachBpfFd: e.fd(A) }), 'ENOENT');
  for (const p of [A, B, C, D]) mprogAttach(e.dev, { attachBpfFd: e.fd(p) });
  assert.equal(mprogQuery(e.dev).revision, 5);
  throwsCode(() => mprogDetach(e.dev, { attachBpfFd: e.fd(X) }), 'ENOENT');
  throwsCode(() => mprogDetach(e.dev, { attachBpfFd: e.fd(A), attachFlags: BPF_F_REPLACE }), 'EINVAL');
  throwsCode(() => mprogDetach(e.dev, { attachBpfFd: e.fd(A), expectedRevision: 4 }), 'ESTALE');
  throwsCode(() => mprogDetach(e.dev, { attachBpfFd: e.fd(A), attachFlags: 1 }), 'EINVAL');
  throwsCode(() => mprogDetach(e.dev, { attachBpfFd: e.fd(B), attachFlags: BPF_F_BEFORE, relativeFd: e.fd(A) }), 'ERANGE');
  throwsCode(() => mprogDetach(e.dev, { relativeFd: e.fd(A) }), 'EINVAL');
  throwsCode(() => mprogDetach(e.dev, { attachFlags: BPF_F_AFTER, relativeFd: e.fd(X) }), 'ENOENT');
  throwsCode(() => mprogDetach(e.dev, { attachBpfFd: 555 }), 'EBADF');
  // B named together with a consistent rule: B is right before C.
  mprogDetach(e.dev, { attachBpfFd: e.fd(B), attachFlags: BPF_F_BEFORE, relativeFd: e.fd(C), expectedRevision: 5 });
  assert.deepEqual(names(e.dev.programs()), ['A', 'C', 'D']);
  // By position: BPF_F_BEFORE alone is the first, BPF_F_AFTER alone the last, nothing at all the last.
  mprogAttach(e.dev, { attachBpfFd: e.fd(B) });
  mprogDetach(e.dev, { attachFlags: BPF_F_BEFORE });
  assert.deepEqual(names(e.dev.programs()), ['C', 'D', 'B']);
  mprogDetach(e.dev, { attachFlags: BPF_F_AFTER });
  assert.deepEqual(names(e.dev.programs()), ['C', 'D']);
  // The program after C, found by id.
  mprogDetach(e.dev, { attachFlags: BPF_F_AFTER | BPF_F_ID, relativeId: C.id });
  assert.deepEqual(names(e.dev.programs()), ['C']);
  assert.equal(mprogQuery(e.dev).revision, 10);
  mprogDetach(e.dev);
  assert.equal(e.dev.hook, null);
  assert.deepEqual(mprogQuery(e.dev), { progIds: [], revision: 1, count: 0 }, 'the revision went with the list');
  throwsCode(() => mprogDetach(e.dev), 'ENOENT');
});

test('bpf_mprog: run until a program returns something other than next (-1); all next is XDP_PASS', () => {
  const e = env();
  const n1 = e.load('n1', -1), n2 = e.load('n2', -1), d = e.load('d', XDP_DROP), t = e.load('t', XDP_TX);
  mprogAttach(e.dev, { attachBpfFd: e.fd(n1) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(n2) });
  assert.equal(e.send(), XDP_PASS);
  assert.deepEqual(e.ran, ['n1', 'n2']);
  mprogAttach(e.dev, { attachBpfFd: e.fd(d) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(t) });
  assert.equal(e.send(), XDP_DROP);
  assert.deepEqual(e.ran, ['n1', 'n2', 'd'], 't never ran');
  mprogDetach(e.dev, { attachBpfFd: e.fd(t) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(t), attachFlags: BPF_F_REPLACE, replaceBpfFd: e.fd(d) });
  assert.equal(e.send(), XDP_TX);
  assert.deepEqual(e.ran, ['n1', 'n2', 't']);
  mprogDetach(e.dev, { attachBpfFd: e.fd(t) });
  const a = e.load('a', XDP_ABORTED), r = e.load('r', XDP_REDIRECT);
  mprogAttach(e.dev, { attachBpfFd: e.fd(a), attachFlags: BPF_F_AFTER, relativeFd: e.fd(n1) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(r), attachFlags: BPF_F_BEFORE });
  assert.equal(e.send(), XDP_REDIRECT);
  assert.deepEqual(e.ran, ['r']);
  assert.deepEqual(e.dev.progStats().map((s) => [s.prog.name, s.runs]), [['n1', 3], ['n2', 3], ['d', 1], ['t', 1], ['r', 1]]);
});

test('bpf_mprog: an attach in the middle of a frame applies from the next frame; policies do not mix', () => {
  const e = env();
  const p = e.load('p', -1), q = e.load('q', -1), x = e.load('x', XDP_DROP);
  mprogAttach(e.dev, { attachBpfFd: e.fd(p) });
  mprogAttach(e.dev, { attachBpfFd: e.fd(q) });
  let done = false;
  e.net.runner = (rt, prog, ctx, obs) => {
    e.ran.push(prog.name);
    if (!done) {
      done = true;
      mprogAttach(e.dev, { attachBpfFd: e.fd(x), attachFlags: BPF_F_AFTER, relativeFd: e.fd(p) });
    }
    return defaultXdpProgramRunner(rt, prog, ctx, obs);
  };
  assert.equal(e.send(), XDP_PASS);
  assert.deepEqual(e.ran, ['p', 'q']);
  assert.equal(e.send(), XDP_DROP);
  assert.deepEqual(e.ran, ['p', 'x']);
  throwsCode(() => xdpAttach(e.dev, new XdpProgram(e.load('l', XDP_PASS))), 'EBUSY');
  throwsCode(() => e.dev.attachXdp(e.load('s', XDP_PASS)), 'EBUSY');
  const other = e.net.createDevice('eth9');
  other.attachXdp(e.load('s2', XDP_PASS));
  throwsCode(() => mprogAttach(other, { attachBpfFd: e.fd(p) }), 'EBUSY');
});

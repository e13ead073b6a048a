// The tracex5 sample (syscall dispatch through a prog array): the shipped strace logs replayed through
// the kprobe entry program give, for every logged call, the handler's lines (read/write/openat/mmap/close
// with their arguments, formatted here from the log independently of the program) or the generic
// handler's line, in log order; the `calls` map counts every call; the committed object is fresh; the CLI
// prints it. In the kernel: kprobe programs have no BPF_PROG_TEST_RUN, so only loading/verification is
// compared (same programs, same prog-array slots, and the same ENOTSUPP when asked to test-run).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfError } from '../src/errors.js';
import { replayStrace, TRACEX5, TRACEX5_DIR } from '../src/cli/trace.js';
import { BpfObject } from '../src/lib/index.js';
import { kernelAvailable, loadObject, mapDump, progRun, progInfo, cleanup } from '../src/kernel/index.js';

const DIR = 'samples/tracex5';
const CLI = 'dist/src/cli/main.js';

/** What the sample must print for one log line, computed from the line's text alone. */
function expectedLines(logLine: string): string[] {
  const m = /^\d+ ([a-z0-9_]+)\(([^)]*?)(?: <unfinished \.\.\.>)?\)?\s*(=.*)?$/.exec(logLine);
  if (m === null) return [];
  const a = m[2].split(', ').filter((x) => x !== '').map((x) => BigInt(x));
  while (a.length < 6) a.push(0n);
  const hx = (v: bigint): string => `0x${v.toString(16)}`;
  const int = (v: bigint): string => String(BigInt.asIntN(32, v));
  switch (m[1]) {
    case 'read': case 'write': return [`${m[1]}(fd=${int(a[0])}, buf=${hx(a[1])}, count=${a[2]})`];
    case 'close': return [`close(fd=${int(a[0])})`];
    case 'openat': return [`openat(dfd=${int(a[0])}, filename=${hx(a[1])}, flags=${hx(a[2])})`];
    case 'mmap': return [`mmap(addr=${hx(a[0])}, len=${a[1]}, prot=${hx(a[2])},`, `     flags=${hx(a[3])}, fd=${int(a[4])}, off=${hx(a[5])})`];
    default: {
      const nr = new Map([['execve', 59], ['brk', 12], ['access', 21], ['newfstatat', 262], ['mprotect', 10], ['pread64', 17], ['arch_prctl', 158],
        ['set_tid_address', 218], ['set_robust_list', 273], ['rseq', 334], ['prlimit64', 302], ['munmap', 11], ['getrandom', 318], ['statfs', 137],
        ['ioctl', 16], ['getdents64', 217], ['statx', 332], ['futex', 202], ['exit_group', 231]]).get(m[1]);
      assert.ok(nr !== undefined, `the test's table lacks ${m[1]}`);
      return [`syscall ${nr}: no handler, arg1=${hx(a[0])} arg2=${hx(a[1])}`];
    }
  }
}

test('tracex5 on ls.strace: every call dispatched to its handler or the generic one, in order', () => {
  const log = readFileSync(`${DIR}/ls.strace`, 'utf8');
  const r = replayStrace(log);
  const lines = log.split('\n').filter((l) => /^\d+ [a-z]/.test(l));
  assert.equal(r.events.length, lines.length);
  assert.deepEqual(r.trace.map((t) => t.text), lines.flatMap(expectedLines));
  const pid = Number(lines[0].split(' ')[0]);
  assert.ok(r.trace.every((t) => t.pid === pid));
  // Spot checks written out by hand from the log's first lines.
  assert.equal(r.trace[0].text.startsWith('syscall 59: no handler, arg1=0x'), true, 'execve has no handler');
  assert.equal(r.trace[1].text, 'syscall 12: no handler, arg1=0x0 arg2=0x0');
  assert.equal(r.trace[2].text, 'mmap(addr=0x0, len=8192, prot=0x3,');
  assert.equal(r.trace[3].text, '     flags=0x22, fd=-1, off=0x0)');
  assert.ok(r.trace.some((t) => /^openat\(dfd=-100, filename=0x[0-9a-f]+, flags=0x80000\)$/.test(t.text)));
  assert.ok(r.trace.some((t) => /^read\(fd=3, buf=0x[0-9a-f]+, count=832\)$/.test(t.text)));
  assert.ok(r.trace.some((t) => /^write\(fd=1, buf=0x[0-9a-f]+, count=\d+\)$/.test(t.text)));
});

test('tracex5: the calls map counts every call per number, handlers from the prog array', () => {
  const log = readFileSync(`${DIR}/ls.strace`, 'utf8');
  const r = replayStrace(log);
  const counts = new Map<string, number>();
  for (const l of log.split('\n')) {
    const m = /^\d+ ([a-z0-9_]+)\(/.exec(l);
    if (m) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  assert.deepEqual(new Map(r.calls.map((c) => [c.name, c.count])), counts);
  const handler = new Map(r.calls.map((c) => [c.name, c.handler]));
  assert.equal(handler.get('openat'), 'sys_openat');
  assert.equal(handler.get('mmap'), 'sys_mmap');
  assert.equal(handler.get('read'), 'sys_read');
  assert.equal(handler.get('write'), 'sys_write');
  assert.equal(handler.get('close'), 'sys_close');
  assert.equal(handler.get('newfstatat'), null);
  for (let i = 1; i < r.calls.length; i++) assert.ok(r.calls[i - 1].count >= r.calls[i].count, 'most called first');
});

test('tracex5 on pipeline.strace: several processes, resumed calls printed once with the right pid', () => {
  const log = readFileSync(`${DIR}/pipeline.strace`, 'utf8');
  const r = replayStrace(log);
  const pids = new Set(r.events.map((e) => e.pid));
  assert.ok(pids.size >= 3);
  // Each handled call prints as many lines as its handler prints; all lines carry the caller's pid.
  for (const t of r.trace) assert.equal(r.events.find((e) => e.line === t.logLine)!.pid, t.pid);
  const writes = r.events.filter((e) => e.name === 'write');
  assert.equal(r.trace.filter((t) => t.text.startsWith('write(')).length, writes.length);
  assert.ok(r.events.some((e) => log.split('\n')[e.line - 1].includes('<unfinished ...>')), 'the log has split calls');
});

const slotsOf = (entries: Array<[Uint8Array, Uint8Array]>): number[] => entries.map(([k]) => new DataView(k.buffer, k.byteOffset).getUint32(0, true));

test('tracex5: a handler slot emptied falls back to the generic handler; an out-of-range number too', () => {
  const log = '1 read(0x3, 0x10, 0x20) = 0\n1 syscall_0x1ff(0x5, 0x6) = -1 ENOSYS\n1 syscall_0x400(0x7, 0x8) = -1 ENOSYS\n';
  let slots: number[] = [];
  const full = replayStrace(log, { prepare: (obj) => { slots = slotsOf(obj.map('progs').entries()); } });
  assert.deepEqual(slots, [0, 1, 3, 9, 257], 'the static slots: read, write, close, mmap, openat');
  assert.deepEqual(full.trace.map((t) => t.text), [
    'read(fd=3, buf=0x10, count=32)', 'syscall 511: no handler, arg1=0x5 arg2=0x6', 'syscall 1024: no handler, arg1=0x7 arg2=0x8',
  ]);
  const emptied = replayStrace(log, { prepare: (obj) => { assert.equal(obj.map('progs').delete(0), true); } });
  assert.deepEqual(emptied.trace.map((t) => t.text)[0], 'syscall 0: no handler, arg1=0x3 arg2=0x10');
  assert.deepEqual(emptied.calls.map((c) => [c.name, c.count, c.handler]), [['read', 1, null], ['syscall_511', 1, null]],
    'number 1024 is past the calls array too: not counted');
});

test('tracex5: committed object is fresh (clang-19)', (t) => {
  if (spawnSync('clang-19', ['--version']).status !== 0) { t.skip('clang-19 is not installed'); return; }
  const out = mkdtempSync(join(tmpdir(), 'tracex5-'));
  try {
    execFileSync('sh', [`${DIR}/build.sh`], { env: { ...process.env, OUT_DIR: out } });
    assert.deepEqual(readFileSync(join(out, TRACEX5.object)), readFileSync(`${DIR}/${TRACEX5.object}`), `stale: run ${DIR}/build.sh`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('tsbpf trace: the trace pipe with pids, then the call counts', () => {
  const out = execFileSync('node', [CLI, 'trace', '--log', `${DIR}/ls.strace`], { encoding: 'utf8' });
  assert.match(out, /^\d+ {2}syscall 59: no handler, arg1=0x[0-9a-f]+ arg2=0x[0-9a-f]+$/m);
  assert.match(out, /^\d+ {2}openat\(dfd=-100, filename=0x[0-9a-f]+, flags=0x80000\)$/m);
  assert.match(out, /^146 syscalls replayed$/m);
  assert.match(out, /^ {4}34 {2}openat +257 {2}sys_openat$/m);
  assert.match(out, /^ {4}22 {2}newfstatat +262 {2}- \(generic\)$/m);
  const js = JSON.parse(execFileSync('node', [CLI, 'trace', `${DIR}/ls.strace`, '--json'], { encoding: 'utf8' }));
  assert.equal(js.events, 146);
  assert.equal(js.calls[0].name, 'openat');
  const bad = spawnSync('node', [CLI, 'trace', '--log', `${DIR}/tracex5_kern.c`], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /EINVAL: strace log line 1: not a syscall line/);
});

test('tracex5: tsbpf refuses BPF_PROG_TEST_RUN for the kprobe programs with ENOTSUPP, as the kernel does', () => {
  const obj = BpfObject.open(TRACEX5_DIR + TRACEX5.object).load();
  try {
    assert.throws(() => obj.program('syscall_entry').testRun({ dataIn: new Uint8Array(168) }), (e: unknown) => e instanceof BpfError && e.code === 'ENOTSUPP');
  } finally {
    obj.close();
  }
});

const kernel = kernelAvailable();
test('tracex5 in the kernel: the same programs load and verify, the same slots, test runs refused (load-only comparison)',
  { skip: kernel.ok ? false : `kernel not reachable: ${kernel.ok ? '' : kernel.why}` }, () => {
    try {
      const k = loadObject(`${DIR}/${TRACEX5.object}`);
      const obj = BpfObject.open(TRACEX5_DIR + TRACEX5.object).load();
      try {
        assert.deepEqual([...k.progs.keys()].sort(), obj.programs().filter((p) => p.loaded).map((p) => p.name).sort());
        for (const name of k.progs.keys()) assert.equal(progInfo(k.prog(name)).type, 'kprobe');
        const slots = mapDump(k.map('progs')).map((e) => new DataView(e.key.buffer).getUint32(0, true));
        assert.deepEqual(slots, slotsOf(obj.map('progs').entries()));
        assert.deepEqual(slots, [0, 1, 3, 9, 257]);
        assert.throws(() => progRun(k.prog('syscall_entry'), { dataIn: new Uint8Array(168) }), (e: unknown) => e instanceof BpfError && e.code === 'ENOTSUPP');
      } finally {
        obj.close();
      }
    } finally {
      cleanup();
    }
  });

// src/trace/strace.ts: the raw-argument strace log format (pids, timestamps, hex/decimal/negative
// arguments, return values and errnos, unfinished/resumed calls across processes, skipped signal/exit
// lines, unknown-number syscalls, restart_syscall), the pt_regs frame of an event, and malformed logs
// (BpfError EINVAL naming the line), on hand-written lines and on the two shipped logs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BpfError } from '../src/errors.js';
import { parseStrace, syscallEntryRegs } from '../src/trace/strace.js';
import { syscallName, syscallNumber, X86_64_SYSCALLS } from '../src/trace/syscalls_x86_64.js';

test('strace: a complete call with pid, hex/decimal/negative arguments and the return value', () => {
  const [e] = parseStrace('4242 read(0x3, 0x7ffd4699c5e8, 832)  = 0x340\n');
  assert.deepEqual(e, { line: 1, pid: 4242, nr: 0, name: 'read', args: [3n, 0x7ffd4699c5e8n, 832n, 0n, 0n, 0n], ret: 0x340n });
  const [o] = parseStrace('openat(-100, 0x7f00, 0x80000, 0) = -1 ENOENT (No such file or directory)');
  assert.equal(o.pid, 0);
  assert.equal(o.nr, 257);
  assert.equal(o.args[0], 0xffffffffffffff9cn, 'a negative argument is its u64 register value');
  assert.equal(o.ret, -1n);
  assert.equal(o.errno, 'ENOENT');
  const [m] = parseStrace('mmap(0, 0x2000, 0x3, 0x22, 0xffffffff, 0) = 0x7eff1c83d000');
  assert.deepEqual(m.args, [0n, 0x2000n, 3n, 0x22n, 0xffffffffn, 0n]);
});

test('strace: timestamps (-t, -tt, -ttt, -r), [pid N] prefixes, -T durations, exit_group = ?', () => {
  const ev = parseStrace([
    '[pid  77] 12:34:56 close(0x1) = 0',
    '77 12:34:56.123456 close(0x2) = 0 <0.000012>',
    '1700000000.123456 getpid() = 0x4d',
    '     0.000123 brk(0) = 0x55ca9bf81000',
    '77 exit_group(0)                     = ?',
  ].join('\n'));
  assert.deepEqual(ev.map((e) => [e.pid, e.name, e.args[0], e.ret]), [
    [77, 'close', 1n, 0n], [77, 'close', 2n, 0n], [0, 'getpid', 0n, 0x4dn], [0, 'brk', 0n, 0x55ca9bf81000n], [77, 'exit_group', 0n, null],
  ]);
});

test('strace: unfinished and resumed calls of several processes become events at their entry line', () => {
  const ev = parseStrace([
    '10 read(0x3, <unfinished ...>',
    '11 write(0x1, 0x5000, 0x10 <unfinished ...>',
    '11 <... write resumed>)              = 0x10',
    '12 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---',
    '10 <... read resumed>0x7ffc0000, 0x100) = 0x20',
    '11 +++ exited with 0 +++',
    '[ Process PID=13 runs in 32 bit mode. ]',
    '13 wait4(0xffffffff <unfinished ...>',
  ].join('\n'));
  assert.deepEqual(ev.map((e) => [e.line, e.pid, e.name, e.args.slice(0, 3), e.ret]), [
    [1, 10, 'read', [3n, 0x7ffc0000n, 0x100n], 0x20n],
    [2, 11, 'write', [1n, 0x5000n, 0x10n], 0x10n],
    [8, 13, 'wait4', [0xffffffffn, 0n, 0n], null],
  ]);
});

test('strace: numbers strace cannot name, restart_syscall', () => {
  const ev = parseStrace('syscall_0x1c3(0x1, 0x2) = -1 ENOSYS (Function not implemented)\nsyscall_500() = -1 ENOSYS\n' +
    'restart_syscall(<... resuming interrupted read ...>) = 0');
  assert.deepEqual(ev.map((e) => [e.nr, e.name, e.args[1]]), [[0x1c3, 'cachestat', 2n], [500, 'syscall_500', 0n], [219, 'restart_syscall', 0n]]);
});

test('strace: the x86-64 table', () => {
  assert.equal(X86_64_SYSCALLS.length, 468);
  for (const [n, nr] of [['read', 0], ['write', 1], ['close', 3], ['mmap', 9], ['execve', 59], ['openat', 257], ['newfstatat', 262], ['rseq', 334], ['clone3', 435], ['mseal', 462]] as const) {
    assert.equal(syscallNumber(n), nr, n);
    assert.equal(syscallName(nr), n);
  }
  assert.equal(syscallNumber('nosuch'), undefined);
  assert.equal(syscallName(400), 'syscall_400');
});

test('strace: syscallEntryRegs puts the number in orig_ax and the arguments in di, si, dx, r10, r8, r9', () => {
  const [e] = parseStrace('mmap(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = 0');
  assert.deepEqual(syscallEntryRegs(e), { orig_ax: 9n, ax: 0xffffffffffffffdan, di: 1n, si: 2n, dx: 3n, r10: 4n, r8: 5n, r9: 6n });
});

function einval(log: string, re: RegExp): void {
  assert.throws(() => parseStrace(log), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && re.test(e.message), re.source);
}

test('strace: malformed logs are EINVAL naming the line', () => {
  einval('close(0x1) = 0\nopenat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3', /line 2: argument 1 of openat \('AT_FDCWD'\) is not a number; record the log with raw arguments/);
  einval('close(0x1) = 0\n\nfrobnicate(0x1) = 0', /line 3: 'frobnicate' is not an x86-64 syscall/);
  einval('read(0x3, 0x4, 0x5', /line 1: no '\)' ends the arguments of read/);
  einval('read(0x3) = ', /line 1: expected ' = RETURN'/);
  einval('read(0x3) = banana', /line 1: return value 'banana' is not a number/);
  einval('5 <... read resumed>) = 0', /line 1: 'read' resumed in pid 5 without an unfinished call/);
  einval('5 read(0x3, <unfinished ...>\n5 <... write resumed>) = 0', /line 2: 'write' resumed, but pid 5 was in 'read' \(line 1\)/);
  einval('mmap(1, 2, 3, 4, 5, 6, 7) = 0', /line 1: mmap has 7 arguments/);
  einval('hello world', /line 1: not a syscall line/);
});

test('strace: the shipped logs parse completely', () => {
  for (const f of ['samples/tracex5/ls.strace', 'samples/tracex5/pipeline.strace']) {
    const text = readFileSync(f, 'utf8');
    const calls = text.split('\n').filter((l) => /^\d+ (?:[a-z_0-9]+\(|<\.\.\.)/.test(l) && !l.includes(' resumed>'));
    const ev = parseStrace(text);
    assert.equal(ev.length, calls.length, f);
    assert.ok(ev.every((e) => e.args.length === 6 && e.pid > 0), f);
    assert.deepEqual(ev.map((e) => e.name), calls.map((l) => /^\d+ ([a-z_0-9]+)\(/.exec(l)![1]), f);
  }
  const multi = parseStrace(readFileSync('samples/tracex5/pipeline.strace', 'utf8'));
  assert.ok(new Set(multi.map((e) => e.pid)).size >= 3, 'sh, ls and wc');
});

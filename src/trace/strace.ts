// A parser for syscall logs recorded by strace with raw arguments, turned into syscall-entry events: the
// x86-64 syscall number and its six argument registers, which the tracex5 sample receives as pt_regs.
//
// The format (what `strace -f -X raw -e raw=all -o LOG CMD` writes, strace 6.x):
//   [PID ][TIME ]NAME(ARG, ...) = RET[ ERRNO (text)][ <DURATION>]
// - PID: present with -f (`1234 ` when writing to a file, `[pid 1234] ` on the terminal);
// - TIME: -t / -tt (`12:34:56[.123456]`) or -ttt / -r (`1700000000.123456`), ignored;
// - ARG: integers only (hex `0x...`, decimal, negative): -e raw=all prints every argument as a number,
//   anything else (a decoded string, flag names, a struct) is rejected with the line and argument;
// - NAME is an x86-64 syscall name, or `syscall_0x1c3` / `syscall_451` for numbers strace does not know;
// - calls interrupted by another process's output are split: `NAME(ARGS <unfinished ...>` and later
//   `<... NAME resumed>MORE ARGS) = RET`; the event is placed at its entry line with all the arguments;
// - signals (`--- SIGCHLD ... ---`), exits (`+++ exited with 0 +++`) and strace's own notices (`[ Process
//   PID=... runs in 32 bit mode. ]`, `strace: ...`) are skipped. 32-bit processes' calls are not told apart.
// A malformed line is a BpfError EINVAL naming the line number.

import { fail } from '../errors.js';
import { syscallName, syscallNumber } from './syscalls_x86_64.js';

export interface SyscallEvent {
  /** 1-based line of the log where the call was entered */
  line: number;
  /** process/thread id (0 when the log has none) */
  pid: number;
  nr: number;
  name: string;
  /** the arguments as u64 register values (missing ones are 0) */
  args: bigint[];
  /** the return value as strace printed it (signed), or null when unknown (`?`, never resumed) */
  ret: bigint | null;
  /** the errno name strace printed after a failing return, if any */
  errno?: string;
}

const INT_RE = /^(-)?(0x[0-9a-f]+|\d+)$/i;
const U64 = (1n << 64n) - 1n;

function parseInt64(text: string): bigint | null {
  const m = INT_RE.exec(text);
  if (m === null) return null;
  let v = BigInt(m[2]);
  if (m[1] !== undefined) v = -v;
  return v;
}

/** Index of the `)` closing an argument list that starts at `from` (depth 0), or -1. */
function closeParen(s: string, from: number): number {
  let depth = 0;
  let quote = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) return c === ')' ? i : -1;
      depth--;
    }
  }
  return -1;
}

/** Split an argument list at top-level commas. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last !== '' || out.length > 0) out.push(last);
  return out;
}

function nrOf(name: string, line: number): number {
  const m = /^syscall_(0x[0-9a-f]+|\d+)$/i.exec(name);
  if (m !== null) return Number(BigInt(m[1]));
  const nr = syscallNumber(name);
  if (nr === undefined) fail('EINVAL', `strace log line ${line}: '${name}' is not an x86-64 syscall`);
  return nr;
}

function parseArgList(text: string, name: string, line: number): bigint[] {
  const parts = splitArgs(text);
  // restart_syscall's only "argument" is strace's note `<... resuming interrupted read ...>`.
  if (parts.length === 1 && /^<.*>$/.test(parts[0])) return [0n, 0n, 0n, 0n, 0n, 0n];
  if (parts.length > 6) fail('EINVAL', `strace log line ${line}: ${name} has ${parts.length} arguments, a syscall has at most 6`);
  const args = parts.map((p, i) => {
    const v = parseInt64(p);
    if (v === null) {
      fail('EINVAL', `strace log line ${line}: argument ${i + 1} of ${name} ('${p.length > 40 ? p.slice(0, 40) + '...' : p}') is not a number; record the log with raw arguments: strace -f -X raw -e raw=all -o LOG CMD`);
    }
    return v & U64;
  });
  while (args.length < 6) args.push(0n);
  return args;
}

function parseRet(rest: string, line: number): { ret: bigint | null; errno?: string } {
  const m = /^\s*=\s*(\S+)(?:\s+(E[A-Z0-9]+))?/.exec(rest);
  if (m === null) fail('EINVAL', `strace log line ${line}: expected ' = RETURN' after the arguments, got '${rest.trim()}'`);
  if (m[1] === '?') return { ret: null };
  const v = parseInt64(m[1]);
  if (v === null) fail('EINVAL', `strace log line ${line}: return value '${m[1]}' is not a number`);
  return m[2] !== undefined ? { ret: v, errno: m[2] } : { ret: v };
}

interface Pending {
  event: SyscallEvent;
  argText: string;
}

const PREFIX_RE = /^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(?:(?:\d+:\d\d:\d\d(?:\.\d+)?|\d+\.\d+)\s+)?/;

/** Parse a whole strace log into syscall-entry events, in the order the calls were entered. */
export function parseStrace(text: string): SyscallEvent[] {
  const events: SyscallEvent[] = [];
  const pending = new Map<number, Pending>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i].replace(/\r$/, '').trimStart();
    if (raw.trim() === '') continue;
    const pre = PREFIX_RE.exec(raw)!;
    const pid = Number(pre[1] ?? pre[2] ?? 0);
    const body = raw.slice(pre[0].length);
    if (body.startsWith('---') || body.startsWith('+++') || body.startsWith('[ ') || body.startsWith('strace: ')) continue;

    const resumed = /^<\.\.\.\s+([A-Za-z0-9_]+)\s+resumed>\s?/.exec(body);
    if (resumed !== null) {
      const p = pending.get(pid);
      if (p === undefined) fail('EINVAL', `strace log line ${lineNo}: '${resumed[1]}' resumed in pid ${pid} without an unfinished call`);
      if (p.event.name !== resumed[1]) fail('EINVAL', `strace log line ${lineNo}: '${resumed[1]}' resumed, but pid ${pid} was in '${p.event.name}' (line ${p.event.line})`);
      const more = body.slice(resumed[0].length);
      const unf = more.indexOf('<unfinished ...>');
      if (unf >= 0) { // interrupted again: keep collecting
        p.argText += more.slice(0, unf);
        continue;
      }
      const close = closeParen(more, 0);
      if (close < 0) fail('EINVAL', `strace log line ${lineNo}: no ')' ends the arguments of ${p.event.name}`);
      pending.delete(pid);
      p.event.args = parseArgList(p.argText + more.slice(0, close), p.event.name, p.event.line);
      Object.assign(p.event, parseRet(more.slice(close + 1), lineNo));
      continue;
    }

    const call = /^([A-Za-z_][A-Za-z0-9_]*)\(/.exec(body);
    if (call === null) fail('EINVAL', `strace log line ${lineNo}: not a syscall line: '${body.length > 60 ? body.slice(0, 60) + '...' : body}'`);
    const name = call[1];
    const nr = nrOf(name, lineNo);
    const ev: SyscallEvent = { line: lineNo, pid, nr, name: /^syscall_/.test(name) ? syscallName(nr) : name, args: [], ret: null };
    events.push(ev);
    const argsStart = call[0].length;
    const unf = body.indexOf('<unfinished ...>', argsStart);
    if (unf >= 0) {
      if (pending.has(pid)) fail('EINVAL', `strace log line ${lineNo}: pid ${pid} enters ${name} while '${pending.get(pid)!.event.name}' (line ${pending.get(pid)!.event.line}) is unfinished`);
      pending.set(pid, { event: ev, argText: body.slice(argsStart, unf) });
      continue;
    }
    const close = closeParen(body, argsStart);
    if (close < 0) fail('EINVAL', `strace log line ${lineNo}: no ')' ends the arguments of ${name}`);
    ev.args = parseArgList(body.slice(argsStart, close), name, lineNo);
    Object.assign(ev, parseRet(body.slice(close + 1), lineNo));
  }
  // Calls still unfinished at the end (the process was killed): the arguments seen so far.
  for (const p of pending.values()) p.event.args = parseArgList(p.argText.replace(/,\s*$/, ''), p.event.name, p.event.line);
  return events;
}

/** -ENOSYS as a u64: what the x86-64 entry code puts in ax before the syscall runs. */
const NEG_ENOSYS = (1n << 64n) - 38n;

/** The syscall-entry register frame of an event (x86-64 pt_regs names; see tracex5_kern.c). */
export function syscallEntryRegs(ev: SyscallEvent): Record<'orig_ax' | 'ax' | 'di' | 'si' | 'dx' | 'r10' | 'r8' | 'r9', bigint> {
  const a = ev.args;
  return { orig_ax: BigInt(ev.nr), ax: NEG_ENOSYS, di: a[0] ?? 0n, si: a[1] ?? 0n, dx: a[2] ?? 0n, r10: a[3] ?? 0n, r8: a[4] ?? 0n, r9: a[5] ?? 0n };
}

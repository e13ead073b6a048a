// Runs bpftool (the kernel's own user-space tool) as a child process and turns its answers into values or
// BpfErrors. tsbpf has no native code, so bpftool is how it reaches the bpf() syscall when it wants the
// real kernel as an oracle. Commands run synchronously: tests compare step by step.

import { spawnSync } from 'node:child_process';
import { BpfError } from '../errors.js';
import { ERRNO, type ErrnoName } from '../uapi/errno.js';

export interface ToolOptions {
  /** Pin the bpftool process to this CPU (taskset -c), so per-CPU effects land on a known CPU. */
  cpu?: number;
  /** Parse stdout as JSON (adds --json). */
  json?: boolean;
  timeoutMs?: number;
}

/** strerror() texts (glibc) of the errnos bpf() returns, for bpftool messages that end in one. */
const STRERROR: Array<[string, ErrnoName]> = [
  ['Operation not permitted', 'EPERM'],
  ['No such file or directory', 'ENOENT'],
  ['Argument list too long', 'E2BIG'],
  ['Bad file descriptor', 'EBADF'],
  ['Resource temporarily unavailable', 'EAGAIN'],
  ['Cannot allocate memory', 'ENOMEM'],
  ['Permission denied', 'EACCES'],
  ['Bad address', 'EFAULT'],
  ['Device or resource busy', 'EBUSY'],
  ['File exists', 'EEXIST'],
  ['No such device', 'ENODEV'],
  ['Not a directory', 'ENOTDIR'],
  ['Invalid argument', 'EINVAL'],
  ['No space left on device', 'ENOSPC'],
  ['Numerical result out of range', 'ERANGE'],
  ['Function not implemented', 'ENOSYS'],
  ['Operation not supported', 'EOPNOTSUPP'],
  ['Unknown error 524', 'ENOTSUPP'],
  ['Value too large for defined data type', 'EOVERFLOW'],
  ['Too many levels of symbolic links', 'ELOOP'],
];

const BY_NUMBER = new Map<number, ErrnoName>(Object.entries(ERRNO).map(([k, v]) => [v, k as ErrnoName]));

/** The errno a bpftool failure stands for: from libbpf's "-errno", the strerror text in its message, else its exit status
 * (bpftool exits with -errno for several commands), else EINVAL. */
export function errnoOf(message: string, status: number | null): ErrnoName {
  // libbpf: "prog 'x': failed to load: -13"
  const m = /failed to (?:load|create map)[^\n]*?: -(\d+)/.exec(message);
  if (m !== null) {
    const n = BY_NUMBER.get(Number(m[1]));
    if (n !== undefined) return n;
  }
  for (const [text, name] of STRERROR) if (message.includes(text)) return name;
  if (status !== null && status > 128 && status < 255) {
    const n = BY_NUMBER.get(256 - status);
    if (n !== undefined) return n;
  }
  return 'EINVAL';
}

let toolPath: string | undefined;

/** The bpftool binary (BPFTOOL in the environment, else `bpftool` on PATH). */
export function bpftoolPath(): string {
  return toolPath ?? process.env.BPFTOOL ?? 'bpftool';
}

export function setBpftoolPath(path: string | undefined): void {
  toolPath = path;
}

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** Run bpftool with `args`; nothing is thrown here. */
export function runTool(args: string[], opts: ToolOptions = {}): ToolRun {
  const full = opts.json ? ['--json', ...args] : args;
  const [cmd, argv] = opts.cpu !== undefined
    ? ['taskset', ['-c', String(opts.cpu), bpftoolPath(), ...full]]
    : [bpftoolPath(), full];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Run bpftool and return its (JSON-parsed, with opts.json) output; a failure raises a BpfError whose
 * message names the command and carries bpftool's error and the tail of its stderr (the verifier log). */
export function bpftool(args: string[], opts: ToolOptions = {}): unknown {
  const r = runTool(args, opts);
  const what = `bpftool ${args.join(' ')}`;
  if (r.error !== undefined) {
    throw new BpfError('ENOENT', `${what}: could not run ${bpftoolPath()}: ${r.error.message}`);
  }
  let parsed: unknown;
  if (opts.json) {
    const text = r.stdout.trim();
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // bpftool prints one JSON value; anything else means it failed before it could.
        parsed = undefined;
      }
    }
  }
  const jsonError = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String((parsed as { error: unknown }).error) : undefined;
  if (r.status !== 0 || jsonError !== undefined) {
    const stderr = r.stderr.trim();
    const msg = jsonError ?? (stderr.split('\n').filter((l) => l.startsWith('Error:')).pop()?.slice(7) ?? `exit status ${r.status}`);
    const tail = stderr === '' ? '' : `\n${stderr.length > 8000 ? '...' + stderr.slice(-8000) : stderr}`;
    const err = new BpfError(errnoOf(`${msg}\n${stderr}`, r.status), `${what}: ${msg}${tail}`);
    (err as BpfError & { stderr?: string }).stderr = r.stderr;
    throw err;
  }
  return opts.json ? parsed : r.stdout;
}

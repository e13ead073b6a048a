// BpfError: the one error type tsbpf throws for anything a user or a program can get wrong.
// It carries the errno the Linux kernel would return, so callers can match on `errno`/`code`
// exactly as they would on a failed bpf() call.

import { ERRNO, type ErrnoName } from './uapi/errno.js';

export class BpfError extends Error {
  /** errno name, e.g. 'EINVAL' */
  readonly code: ErrnoName;
  /** errno number, e.g. 22 */
  readonly errno: number;
  /** instruction index at fault, when the error concerns one instruction */
  readonly insn: number | undefined;

  constructor(code: ErrnoName, message: string, insn?: number) {
    super(`${code}: ${message}`);
    this.name = 'BpfError';
    this.code = code;
    this.errno = ERRNO[code];
    this.insn = insn;
  }
}

/** Throw-helper that keeps call sites short: `fail('EINVAL', 'bad flags')`. */
export function fail(code: ErrnoName, message: string, insn?: number): never {
  throw new BpfError(code, message, insn);
}

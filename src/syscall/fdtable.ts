// The fd table of one runtime: small integers naming maps and programs, handed out lowest-free first from 3
// (0-2 are a process's stdio), as the kernel's fd allocator does. Each fd carries the access mode it was
// opened with (O_RDONLY / O_WRONLY / O_RDWR of bpf_map_new_fd): a map fd opened read-only cannot update.

import { fail } from '../errors.js';

/** FMODE_CAN_READ / FMODE_CAN_WRITE of the fd's file. */
export const FMODE_READ = 1;
export const FMODE_WRITE = 2;
export const FMODE_RW = FMODE_READ | FMODE_WRITE;

export type FdKind = 'map' | 'prog';

export interface FdEntry<M, P> {
  kind: FdKind;
  obj: M | P;
  mode: number;
}

/** First fd number handed out. */
export const FIRST_FD = 3;
/** RLIMIT_NOFILE-like cap, so a leaking caller gets EMFILE instead of exhausting memory. */
export const MAX_FDS = 65536;

export class FdTable<M, P> {
  private readonly entries: Array<FdEntry<M, P> | undefined> = [];

  /** Install `obj` at the lowest free fd >= 3. */
  open(kind: FdKind, obj: M | P, mode: number): number {
    let fd = FIRST_FD;
    while (fd < this.entries.length && this.entries[fd] !== undefined) fd++;
    if (fd >= MAX_FDS) fail('EMFILE', `too many open fds (${MAX_FDS})`);
    this.entries[fd] = { kind, obj, mode };
    return fd;
  }

  /** The entry at `fd`, or undefined when the fd is not open. */
  get(fd: number): FdEntry<M, P> | undefined {
    if (!Number.isInteger(fd) || fd < 0) return undefined;
    return this.entries[fd];
  }

  /** Remove `fd`; returns the entry it held. */
  close(fd: number): FdEntry<M, P> {
    const e = this.get(fd);
    if (e === undefined) fail('EBADF', `close: fd ${fd} is not open`);
    this.entries[fd] = undefined;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
    return e;
  }

  /** Every open fd with its entry, in fd order. */
  *list(): IterableIterator<[number, FdEntry<M, P>]> {
    for (let fd = 0; fd < this.entries.length; fd++) {
      const e = this.entries[fd];
      if (e !== undefined) yield [fd, e];
    }
  }
}

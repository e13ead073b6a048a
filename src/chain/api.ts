// The friendlier, typed face of chain calls: return codes by name ('pass', 'drop', 'any' ...), and a
// ProgChain bound to one program (BpfProgram.chain in src/lib) with set/get/delete/clear/entries. Under it
// are the bpf() commands (BpfRuntime.progChainAdd/Del/Get and the libbpf-named bpfProgChain* wrappers), so
// every rule and errno is the same.

import { BpfError, fail } from '../errors.js';
import type { BpfRuntime } from '../syscall/runtime.js';
import type { BpfProg } from '../syscall/prog.js';
import { BPF_CHAIN_WILDCARD, BPF_NUM_CHAIN_SLOTS, XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../uapi/bpf.js';

/** A return code: a u32, ~0 / 'any' for the wildcard, or an XDP verdict name (with or without XDP_). */
export type Retcode = number | 'any' | 'aborted' | 'drop' | 'pass' | 'tx' | 'redirect' | string;

const VERDICTS: Record<string, number> = { aborted: XDP_ABORTED, drop: XDP_DROP, pass: XDP_PASS, tx: XDP_TX, redirect: XDP_REDIRECT };

/** The u32 retcode a user wrote: a number (decimal or 0x), 'any'/'*'/'~0' for the wildcard, or a verdict name. */
export function parseRetcode(rc: Retcode): number {
  if (typeof rc === 'number') {
    if (rc === -1) return BPF_CHAIN_WILDCARD;
    if (!Number.isInteger(rc) || rc < 0 || rc > 0xffffffff) fail('EINVAL', `retcode ${rc} is not a u32`);
    return rc;
  }
  const s = String(rc).trim().toLowerCase();
  if (s === 'any' || s === '*' || s === '~0' || s === 'wildcard') return BPF_CHAIN_WILDCARD;
  const name = s.startsWith('xdp_') ? s.slice(4) : s;
  if (name in VERDICTS) return VERDICTS[name];
  if (/^(0x[0-9a-f]+|[0-9]+)$/.test(s)) return parseRetcode(Number(s));
  return fail('EINVAL', `retcode '${rc}' is not a number, 'any' or an XDP verdict (aborted, drop, pass, tx, redirect)`);
}

/** The retcode of slot `i`: ~0 for slot 0, else i - 1. */
export const slotRetcode = (i: number): number => (i === 0 ? BPF_CHAIN_WILDCARD : i - 1);

/** Something that names a loaded program: an fd, a runtime program, or an object with an fd (BpfProgram). */
export type ProgHandle = number | BpfProg | { readonly fd: number };

export interface ChainEntry {
  /** ~0 (0xffffffff) for the wildcard. */
  retcode: number;
  /** The next program's id. */
  id: number;
  name: string;
}

/** The chain of one program. */
export class ProgChain {
  constructor(readonly rt: BpfRuntime, readonly prevFd: number) {}

  private fdOf(p: ProgHandle): number {
    if (typeof p === 'number') return p;
    if ('fd' in p && typeof p.fd === 'number') return p.fd;
    // a runtime program: open a temporary fd by id (closed by the caller)
    return -1;
  }

  /** Chain `next` after this program for `retcode` (replacing what the slot held). */
  set(retcode: Retcode, next: ProgHandle): this {
    const rc = parseRetcode(retcode);
    let fd = this.fdOf(next);
    let temp = false;
    if (fd < 0) {
      fd = this.rt.progGetFdById({ progId: (next as BpfProg).id });
      temp = true;
    }
    try {
      this.rt.bpfProgChainAdd(this.prevFd, rc, fd);
    } finally {
      if (temp) this.rt.close(fd);
    }
    return this;
  }

  /** The id of the program chained for `retcode`, or null when the slot is empty. */
  get(retcode: Retcode): number | null {
    try {
      return this.rt.bpfProgChainGet(this.prevFd, parseRetcode(retcode));
    } catch (e) {
      if (e instanceof BpfError && e.code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Empty the slot of `retcode`; false when it was empty. */
  delete(retcode: Retcode): boolean {
    try {
      this.rt.bpfProgChainDel(this.prevFd, parseRetcode(retcode));
      return true;
    } catch (e) {
      if (e instanceof BpfError && e.code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Every occupied slot, wildcard first. */
  entries(): ChainEntry[] {
    const out: ChainEntry[] = [];
    for (let i = 0; i < BPF_NUM_CHAIN_SLOTS; i++) {
      const id = this.get(slotRetcode(i));
      if (id === null) continue;
      const p = this.rt.programs().find((x) => x.id === id);
      out.push({ retcode: slotRetcode(i), id, name: p?.name ?? '' });
    }
    return out;
  }

  /** Empty every slot; returns how many were occupied. */
  clear(): number {
    let n = 0;
    for (let i = 0; i < BPF_NUM_CHAIN_SLOTS; i++) if (this.delete(slotRetcode(i))) n++;
    return n;
  }
}

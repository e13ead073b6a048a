// Shared pieces of the chain-call tests: small XDP programs written in assembly, a loader that names them,
// and a run that returns the verdict and the programs that ran (the chain core's record).

import assert from 'node:assert/strict';
import { BpfRuntime } from '../src/syscall/index.js';
import type { ChainMode } from '../src/chain/core.js';
import { assemble } from '../src/isa/asm.js';
import { lddw, type Insn } from '../src/isa/insn.js';
import { BPF_PSEUDO_MAP_FD } from '../src/isa/opcodes.js';
import { BpfError } from '../src/errors.js';
import { BPF_F_INJECT_CHAIN_CALLS, BPF_PROG_TYPE as PT } from '../src/uapi/bpf.js';

export const MODES: readonly ChainMode[] = ['native', 'inject'];

export const errno = (code: string, re?: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof BpfError, `expected BpfError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

/** An Ethernet frame of 64 bytes whose first byte is `b0`. */
export function packet(b0 = 0): Uint8Array {
  const p = new Uint8Array(64);
  p[0] = b0;
  p[12] = 0x08;
  return p;
}

/** `r0 = code; exit` (code as a signed 32-bit immediate, sign-extended like the kernel's mov). */
export const retProg = (code: number): Insn[] => assemble(`r0 = ${code | 0}\nexit`);

/** Returns ctx->data[0] (the first packet byte): needs r1 = ctx at entry. */
export const firstByteProg = (): Insn[] => assemble(`
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r0 = 0
  r4 = r2
  r4 += 1
  if r4 > r3 goto +1
  r0 = *(u8 *)(r2 + 0)
  exit`);

/** Loads `insns` prefixed by `r2 = <prog array fd>` where the text says `r2 = PA`. */
export function withProgArray(pre: string, fd: number, post: string): Insn[] {
  const [a, b] = lddw(2, BigInt(fd), BPF_PSEUDO_MAP_FD);
  return [...(pre.trim() ? assemble(pre) : []), a, b, ...assemble(post)];
}

export class ChainLab {
  readonly rt: BpfRuntime;
  readonly mode: ChainMode;
  readonly fds = new Map<string, number>();
  private readonly names = new Map<number, string>();
  readonly ran: import('../src/syscall/prog.js').BpfProg[] = [];

  constructor(mode: ChainMode) {
    this.mode = mode;
    this.rt = new BpfRuntime({ chainMode: mode });
    this.rt.chains.record = this.ran;
  }

  /** Load an XDP program called `name` (with the inject flag unless told otherwise). */
  load(name: string, insns: Insn[], opts: { flag?: boolean; type?: number } = {}): number {
    const fd = this.rt.progLoad({
      progType: opts.type ?? PT.BPF_PROG_TYPE_XDP, insns, license: 'GPL', progName: name,
      progFlags: opts.flag === false ? 0 : BPF_F_INJECT_CHAIN_CALLS,
    });
    this.fds.set(name, fd);
    this.names.set(this.rt.progFromFd('test', fd).id, name);
    return fd;
  }

  fd(name: string): number {
    const fd = this.fds.get(name);
    assert.ok(fd !== undefined, `no program ${name}`);
    return fd;
  }

  id(name: string): number {
    return this.rt.progFromFd('test', this.fd(name)).id;
  }

  add(prev: string, retcode: number, next: string): void {
    this.rt.bpfProgChainAdd(this.fd(prev), retcode, this.fd(next));
  }

  /** Test-run `name` on a packet: the verdict and the names of the programs that ran, in order. */
  run(name: string, pkt = packet()): { retval: number; ran: string[] } {
    const r = this.rt.progTestRun({ progFd: this.fd(name), dataIn: pkt });
    return { retval: r.retval, ran: this.ran.map((p) => this.names.get(p.id) ?? `#${p.id}`) };
  }
}

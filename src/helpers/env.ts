// RunEnv: the per-runtime state helpers read and write (the kernel's per-CPU and `current` state), reachable
// from a helper as `vm.env`. One RunEnv per Vm; hooks (src/hooks) fill in the current program type and the
// per-run records (redirect target, tail-call counter) and read them back after a run.
//
// Hot-path rule: everything a helper touches per call is preallocated here (redirect record, PRNG state,
// scratch buffers), so helpers allocate nothing.

import type { AddressSpace } from '../vm/memory.js';
import type { MapRegistry, ProgRef } from '../maps/map.js';
import type { Program } from '../engine/interp.js';
import type { Vm } from '../engine/vm.js';
import { BpfError } from '../errors.js';

/** Clock source of ktime helpers, in nanoseconds (doubles: exact below 2^53 ns, about 104 days). */
export interface BpfClock {
  /** CLOCK_MONOTONIC (bpf_ktime_get_ns, bpf_ktime_get_coarse_ns). */
  monotonicNs(): number;
  /** CLOCK_BOOTTIME (bpf_ktime_get_boot_ns): monotonic plus time spent suspended. */
  bootNs(): number;
}

/**
 * A clock over performance.now(), started at `startNs` (a plausible uptime by default). Reading the host
 * clock allocates in Node (a boxed double per performance.now() call), so it is sampled once every
 * SAMPLE_EVERY reads and advanced by 1 ns per read in between: strictly increasing, never behind by more
 * than a few hundred helper calls, and allocation-free on average for bpf_ktime_get_ns-heavy programs.
 */
export function hostClock(startNs = 1_000_000_000): BpfClock {
  const SAMPLE_EVERY = 256;
  const t0 = performance.now();
  const st = new Float64Array(1); // last value handed out
  let reads = 0;
  const read = (): number => {
    let v = st[0] + 1;
    if ((reads++ & (SAMPLE_EVERY - 1)) === 0) {
      const host = startNs + Math.floor((performance.now() - t0) * 1e6);
      if (host > v) v = host;
    }
    st[0] = v;
    return v;
  };
  return { monotonicNs: read, bootNs: read };
}

/** A clock that only moves when told to (deterministic tests). */
export class ManualClock implements BpfClock {
  constructor(public ns = 0, public suspendedNs = 0) {}
  monotonicNs(): number {
    return this.ns;
  }
  bootNs(): number {
    return this.ns + this.suspendedNs;
  }
  advance(ns: number): void {
    this.ns += ns;
  }
}

/** struct bpf_redirect_info, as bpf_redirect / bpf_redirect_map leave it. */
export const REDIRECT_NONE = 0;
/** bpf_redirect(ifindex): kernel map_type UNSPEC with map_id INT_MAX. */
export const REDIRECT_IFINDEX = 1;
/** bpf_redirect_map(): target found in a devmap/cpumap (or broadcast). */
export const REDIRECT_MAP = 2;

export interface RedirectInfo {
  kind: number;
  /** ifindex for REDIRECT_IFINDEX; the map key for REDIRECT_MAP (ri->tgt_index). */
  tgtIndex: number;
  mapId: number;
  mapType: number;
  /** BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS when broadcasting, else 0. */
  flags: number;
}

/** A network device the runtime pretends exists (test runs check ingress_ifindex against these). */
export interface NetDev {
  ifindex: number;
  name: string;
  rxQueues: number;
}

export interface RunEnvOptions {
  /** Receives each bpf_trace_printk line (without a trailing newline). Default: collect in `traceLines`. */
  traceSink?: (line: string) => void;
  /**
   * 'text' (default): the sink gets the formatted text only. 'pipe': the sink gets a line shaped like
   * /sys/kernel/tracing/trace_pipe: `<comm>-<pid> [<cpu>] .... <sec>.<usec>: bpf_trace_printk: <text>`
   * (comm right-aligned in 16 columns, pid left-aligned in 7, cpu in 3 digits, the monotonic clock).
   */
  traceFormat?: 'text' | 'pipe';
  clock?: BpfClock;
  /** Seed of the bpf_get_prandom_u32 state (prandom_seed_state); random by default. */
  prandomSeed?: number;
  /** The task the program runs in (bpf_get_current_pid_tgid / _comm). */
  pid?: number;
  tgid?: number;
  comm?: string;
  /** Devices (loopback, ifindex 1, one rx queue, by default). */
  netdevs?: NetDev[];
}

/** Default task: a user-space tool running the test. */
export const DEFAULT_PID = 4242;
export const DEFAULT_COMM = 'tsbpf';
/** TASK_COMM_LEN */
export const TASK_COMM_LEN = 16;

export class RunEnv {
  readonly registry: MapRegistry;
  readonly space: AddressSpace;
  traceSink: (line: string) => void;
  traceFormat: 'text' | 'pipe';
  /** Lines written by trace_printk when no sink was given. */
  readonly traceLines: string[] = [];
  clock: BpfClock;
  /** struct rnd_state (s1..s4) of bpf_get_prandom_u32. */
  readonly prandom = new Uint32Array(4);
  pid: number;
  tgid: number;
  /** current->comm, NUL-padded to TASK_COMM_LEN. */
  readonly comm = new Uint8Array(TASK_COMM_LEN);
  readonly netdevs: Map<number, NetDev>;

  /** BPF_PROG_TYPE_* of the program running now (helpers whose semantics differ per type read it). */
  progType = 0;
  /** Address of the ctx of the current run (r1 at entry). */
  ctx = 0;
  /** Set by bpf_redirect / bpf_redirect_map, read by the XDP hook after the run. */
  readonly redirect: RedirectInfo = { kind: REDIRECT_NONE, tgtIndex: 0, mapId: 0, mapType: 0, flags: 0 };

  // Tail calls (helper 12). The counter belongs to the whole run; the target is run by the hook's run loop.
  tailCallCount = 0;
  /** The program a successful bpf_tail_call asked to continue in (the helper halts the caller). */
  pendingTailCall: Program | null = null;
  /** Turns a prog-array entry into runnable code; installed by the bpf() layer. Null: tail calls fall through. */
  resolveProg: ((ref: ProgRef) => Program | null) | null = null;
  /**
   * The runtime's run loop, installed by the chain-call core (src/chain/core.ts): hooks' runProgram hands it
   * each top-level run (after beginRun) so that chains are followed; null: run the program and its tail calls.
   */
  runHook: ((program: Program, ctx: number) => number) | null = null;

  /** Scratch for formatting helpers (one 1 KiB buffer, MAX_BPRINTF_BUF). */
  readonly fmtBuf = new Uint8Array(1024);

  constructor(registry: MapRegistry, opts: RunEnvOptions = {}) {
    this.registry = registry;
    this.space = registry.space;
    this.traceSink = opts.traceSink ?? ((line) => void this.traceLines.push(line));
    this.traceFormat = opts.traceFormat ?? 'text';
    this.clock = opts.clock ?? hostClock();
    this.pid = opts.pid ?? DEFAULT_PID;
    this.tgid = opts.tgid ?? this.pid;
    this.setComm(opts.comm ?? DEFAULT_COMM);
    seedPrandom(this.prandom, opts.prandomSeed ?? Math.floor(Math.random() * 0xffffffff));
    const devs = opts.netdevs ?? [{ ifindex: 1, name: 'lo', rxQueues: 1 }];
    this.netdevs = new Map(devs.map((d) => [d.ifindex, d]));
  }

  get cpu(): number {
    return this.registry.cpu;
  }

  /** Set current->comm (truncated to 15 bytes plus NUL, like the kernel's set_task_comm). */
  setComm(name: string): void {
    const bytes = new TextEncoder().encode(name);
    this.comm.fill(0);
    this.comm.set(bytes.subarray(0, TASK_COMM_LEN - 1));
  }

  commString(): string {
    const end = this.comm.indexOf(0);
    return new TextDecoder().decode(this.comm.subarray(0, end < 0 ? TASK_COMM_LEN : end));
  }

  /** Clear the per-run records (called by hooks before each top-level run, not per tail call). */
  beginRun(progType: number, ctx: number): void {
    this.progType = progType;
    this.ctx = ctx;
    this.tailCallCount = 0;
    this.pendingTailCall = null;
    const r = this.redirect;
    r.kind = REDIRECT_NONE;
    r.tgtIndex = 0;
    r.mapId = 0;
    r.mapType = 0;
    r.flags = 0;
  }

  /** Hand a trace_printk text to the sink in the configured format. */
  emitTrace(text: string): void {
    if (this.traceFormat === 'text') {
      this.traceSink(text);
      return;
    }
    const ns = this.clock.monotonicNs();
    const sec = Math.floor(ns / 1e9);
    const usec = Math.floor((ns % 1e9) / 1e3);
    // The trace_pipe layout: "%16s-%-7d [%03d] <irq/preempt flags> %5lu.%06lu: <event>: <text>".
    const task = `${this.commString().padStart(16)}-${String(this.pid).padEnd(7)}`;
    const cpu = String(this.cpu).padStart(3, '0');
    this.traceSink(`${task} [${cpu}] .... ${String(sec).padStart(5)}.${String(usec).padStart(6, '0')}: bpf_trace_printk: ${text}`);
  }
}

/** prandom_seed_state(): derive the four Tausworthe states from a seed and warm them up. */
export function seedPrandom(state: Uint32Array, seed: number): void {
  // i = (seed >> 32) ^ (seed << 10) ^ seed, truncated to 32 bits; our seeds are 32-bit so seed >> 32 is 0.
  const i = ((seed << 10) ^ seed) >>> 0;
  const s = (x: number, m: number): number => (x < m ? x + m : x) >>> 0;
  state[0] = s(i, 2);
  state[1] = s(i, 8);
  state[2] = s(i, 16);
  state[3] = s(i, 128);
  for (let k = 0; k < 10; k++) prandomNext(state);
}

/** prandom_u32_state(): one step of the kernel's LFSR113 (Tausworthe) generator. */
export function prandomNext(st: Uint32Array): number {
  let a = st[0], b = st[1], c = st[2], d = st[3];
  a = (((a & 0xfffffffe) << 18) ^ (((a << 6) ^ a) >>> 13)) >>> 0;
  b = (((b & 0xfffffff8) << 2) ^ (((b << 2) ^ b) >>> 27)) >>> 0;
  c = (((c & 0xfffffff0) << 7) ^ (((c << 13) ^ c) >>> 21)) >>> 0;
  d = (((d & 0xffffff80) << 13) ^ (((d << 3) ^ d) >>> 12)) >>> 0;
  st[0] = a; st[1] = b; st[2] = c; st[3] = d;
  return (a ^ b ^ c ^ d) >>> 0;
}

/** The env a helper runs with; a helper table installed without one is a runtime set-up error. */
export function envOf(vm: Vm): RunEnv {
  const e = vm.env;
  if (e === undefined) throw new BpfError('EINVAL', `insn ${vm.pc}: helper called on a Vm without a RunEnv (see attachEnv)`, vm.pc);
  return e;
}

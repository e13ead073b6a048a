// `tsbpf bench`: the performance table of issue 6 (the 2019 letter's table and more). For each engine
// (interpreter, JIT) and, with --kernel, for the running Linux kernel, the same objects run on the same
// frames: a single XDP_DROP program; a tail-call pair with a constant and with a variable key; a chain hop
// (exact code and wildcard, "native" and "inject" models); a 33-deep tail-call chain; a realistic parser
// (test/progs/xdp_flow.o: VLAN + IPv4 + TCP and IPv6 + UDP, hash-map update); the sockex3 flow dissector
// (XDP twin: Ethernet -> VLAN -> IPv4 -> ports by tail calls); the RFC 1071 checksum over a 1500-byte
// frame, as an XDP program (test/progs/bench_csum.o) and as samples/checksum.asm run on the Vm directly.
//
// How it measures:
// - tsbpf runs go through BPF_PROG_TEST_RUN with repeat (BpfProgram.testRun, the path of `tsbpf prog run
//   --repeat N`): the time of one call over `repeat` runs, so the run loop itself, not the process or the
//   setup. The time is this process's CPU time (process.cpuUsage), not wall time: the kernel's test-run
//   timer also leaves out the time its task spends rescheduled, and a busy machine would otherwise charge
//   other processes' time to tsbpf. The kernel runs through `bpftool prog run ... repeat N` on one CPU and
//   reports its own average.
// - Every (case, engine) pair is a unit; each round runs every unit once (round-robin, the starting unit
//   rotating), and the table shows the median over the rounds. Each unit is checked (its return value)
//   and warmed up (V8 tiers up) before the first round.
// - ns/hop is the case's time minus the single-program baseline's (same engine), per tail call or chain
//   hop. Chain calls do not exist in the kernel: their kernel cells are "-" and their hop is compared with
//   the kernel's tail-call hop, as the letter compares them (the variable-key one: see CHAIN_HOP_REF).
// - Heavy cases run `repeat / weight` times per sample so that a round stays short on the interpreter.
// The performance targets of the issue are printed as a checklist computed from the medians.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BpfError, fail } from '../errors.js';
import { BpfObject } from '../lib/index.js';
import { BpfRuntime, type RuntimeOptions } from '../syscall/runtime.js';
import type { ChainMode } from '../chain/core.js';
import { Vm, type Engine } from '../engine/vm.js';
import { assemble } from '../isa/asm.js';
import { PERM_RW } from '../vm/memory.js';
import { BPF_F_INJECT_CHAIN_CALLS, XDP_DROP, XDP_PASS } from '../uapi/bpf.js';
import { cleanup, kernelAvailable, loadObject, progArraySet, progRun, type KernelObject } from '../kernel/index.js';

const USAGE = `usage: tsbpf bench [--engine interp|jit|both] [--kernel] [--json] [--repeat N] [--rounds R]
                   [--cases ID,ID...] [--cpu N|none]
  --engine   engines to measure (both by default)
  --kernel   also run the same objects in the kernel (bpftool prog run, BPF_PROG_TEST_RUN with repeat)
  --repeat   runs per sample (default 200000; heavy cases run fewer: each row's repeat in --json)
  --rounds   interleaved rounds; the table shows the median (default 9)
  --cases    only these cases (ids: see --json or the list below)
  --cpu      pin tsbpf's main thread and the kernel runs to this CPU (default 0; none: no pinning)
  --quiet    no progress line on stderr (drawn only on a terminal)
cases: ${'%CASES%'}
`;

/** Repository root (objects and samples live there): dist/src/cli/ -> ../../.. */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

// ---------------------------------------------------------------------------------------------------------
// Frames.

const ipv4Header = (proto: number, payloadLen: number, src: number[], dst: number[]): number[] => {
  const h = [0x45, 0, (20 + payloadLen) >> 8, (20 + payloadLen) & 0xff, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0, ...src, ...dst];
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (h[i] << 8) | h[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  s = ~s & 0xffff;
  h[10] = s >> 8; h[11] = s & 0xff;
  return h;
};

const MAC = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];

/** 64-byte frame with an IPv4 ethertype and nothing else (the letter's test packet). */
export function minFrame(): Uint8Array {
  const f = new Uint8Array(64);
  f.set(MAC);
  f[12] = 0x08;
  return f;
}

/** Ethernet + 802.1Q (VLAN 100) + IPv4 + TCP (ACK, 443 -> 50000) + 64 bytes of payload: 122 bytes. */
export function tcp4Frame(): Uint8Array {
  const payload = Array.from({ length: 64 }, (_, i) => (i * 7) & 0xff);
  const tcp = [0x01, 0xbb, 0xc3, 0x50, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0x50, 0x10, 0x01, 0xf5, 0, 0, 0, 0];
  const ip = ipv4Header(6, tcp.length + payload.length, [10, 6, 0, 1], [10, 6, 0, 2]);
  return Uint8Array.from([...MAC, 0x81, 0x00, 0x00, 100, 0x08, 0x00, ...ip, ...tcp, ...payload]);
}

/** Ethernet + IPv6 + UDP (5353 -> 53) + 40 bytes of payload: 102 bytes. */
export function udp6Frame(): Uint8Array {
  const payload = Array.from({ length: 40 }, (_, i) => (i * 13) & 0xff);
  const udpLen = 8 + payload.length;
  const udp = [0x14, 0xe9, 0x00, 0x35, udpLen >> 8, udpLen & 0xff, 0, 0];
  const addr = (last: number): number[] => [0x20, 0x01, 0x0d, 0xb8, 0, 5, ...new Array<number>(9).fill(0), last];
  const ip6 = [0x60, 0, 0, 0, udpLen >> 8, udpLen & 0xff, 17, 64, ...addr(1), ...addr(2)];
  return Uint8Array.from([...MAC, 0x86, 0xdd, ...ip6, ...udp, ...payload]);
}

/** samples/packet.bin: 1500 bytes. */
function mtuFrame(): Uint8Array {
  return new Uint8Array(readFileSync(`${ROOT}/samples/packet.bin`));
}

/** RFC 1071 checksum of `b` as samples/checksum.asm computes it (the expected r0). */
function inetChecksum(b: Uint8Array): number {
  let s = 0;
  let i = 0;
  for (; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < b.length) s += b[i] << 8;
  s = (s & 0xffff) + Math.floor(s / 65536);
  s = (s & 0xffff) + Math.floor(s / 65536);
  return (s & 0xffff) ^ 0xffff;
}

// ---------------------------------------------------------------------------------------------------------
// Cases.

export type BenchEngine = Engine;
type Group = 'single' | 'tail' | 'chain' | 'deep' | 'flow' | 'compute';

/** Runs `repeat` runs; returns the last run's return value. */
type Runner = (repeat: number) => { retval: number };

interface KernelSide {
  obj: string;
  prog: string;
  /** prog-array slots to fill: [map, index, program] */
  slots?: [string, number, string][];
}

interface CaseDef {
  id: string;
  label: string;
  group: Group;
  /** Tail calls or chain hops per packet (0: none or not meaningful). */
  hops: number;
  /** A sample runs repeat / weight times. */
  weight: number;
  frame: () => Uint8Array;
  /** Return value every run must give (the same on the kernel). */
  expect: number;
  tsbpf: (engine: Engine, frame: Uint8Array) => Runner;
  kernel?: KernelSide;
  /** Counts for the "single program <= kernel" target. */
  single?: boolean;
}

const obj = (rel: string): string => `${ROOT}/${rel}`;

/**
 * The kernel case whose tail-call hop a chain hop is compared with: the variable-key tail call. A chain hop
 * looks its next program up at run time, as the kernel's indirect tail-call path does; the kernel's JIT
 * patches a constant-key tail call into a direct jump (since Linux 5.5, after the letter), which is what
 * the letter's "direct calls" are about, not its measured tail call.
 */
export const CHAIN_HOP_REF = 'tail-var';

/** A runtime whose Vm runs `engine`. */
export function newRuntime(engine: Engine, opts: RuntimeOptions = {}): BpfRuntime {
  return new BpfRuntime({ ...opts, engine });
}

interface ObjRun {
  path: string;
  prog: string;
  /** Programs to load (all by default). */
  load?: string[];
  chainMode?: ChainMode;
  /** Programs to load with BPF_F_INJECT_CHAIN_CALLS. */
  inject?: string[];
  setup?: (o: BpfObject) => void;
}

/** BPF_PROG_TEST_RUN of one program of a freshly loaded object, on `frame`, `repeat` times. */
function objRunner(r: ObjRun): (engine: Engine, frame: Uint8Array) => Runner {
  return (engine, frame) => {
    const rt = newRuntime(engine, { stats: false, chainMode: r.chainMode });
    const o = BpfObject.open(r.path);
    for (const n of r.inject ?? []) o.program(n).progFlags |= BPF_F_INJECT_CHAIN_CALLS;
    o.load({ runtime: rt, programs: r.load });
    r.setup?.(o);
    const p = o.program(r.prog);
    return (repeat) => ({ retval: p.testRun({ dataIn: frame, repeat }).retval });
  };
}

const TAIL = obj('test/progs/bench_tail.o');
const tailSetup = (o: BpfObject): void => {
  o.map('bt_jmp').set(0, o.program('bt_drop'));
  o.map('bt_jmp').set(1, o.program('bt_self'));
};
const TAIL_SLOTS: [string, number, string][] = [['bt_jmp', 0, 'bt_drop'], ['bt_jmp', 1, 'bt_self']];
const CHAIN = obj('test/progs/xdp_chain.o');
const FLOW = obj('test/progs/xdp_flow.o');
const SOCKEX3 = obj('samples/sockex3/sockex3_xdp.o');
const CSUM = obj('test/progs/bench_csum.o');

function chainCase(id: string, label: string, mode: ChainMode, retcode: 'any' | number): CaseDef {
  return {
    id, label, group: 'chain', hops: 1, weight: 1, frame: minFrame, expect: XDP_DROP,
    tsbpf: objRunner({
      path: CHAIN, prog: 'xdp_pass', load: ['xdp_pass', 'xdp_drop'], chainMode: mode,
      inject: mode === 'inject' ? ['xdp_pass'] : [],
      setup: (o) => o.program('xdp_pass').chain.set(retcode, o.program('xdp_drop')),
    }),
  };
}

/** Checksum of samples/checksum.asm on the Vm directly (r1 = buffer, r2 = length), no test run around it. */
function asmChecksum(engine: Engine, frame: Uint8Array): Runner {
  const vm = new Vm({ engine });
  const prog = vm.load(assemble(readFileSync(`${ROOT}/samples/checksum.asm`, 'utf8')));
  const addr = vm.space.alloc(frame.length);
  vm.space.write(addr, frame);
  vm.space.mapRegion(addr, frame.length, PERM_RW);
  const len = frame.length;
  return (repeat) => {
    const n = repeat === 0 ? 1 : repeat;
    let r = 0;
    for (let i = 0; i < n; i++) r = vm.runRaw(prog, addr, 0, len, 0);
    return { retval: r >>> 0 };
  };
}

export const CASES: readonly CaseDef[] = [
  {
    id: 'drop', label: 'XDP_DROP program alone', group: 'single', hops: 0, weight: 1, frame: minFrame, expect: XDP_DROP,
    tsbpf: objRunner({ path: TAIL, prog: 'bt_drop', setup: tailSetup }), kernel: { obj: TAIL, prog: 'bt_drop' }, single: true,
  },
  {
    id: 'tail-const', label: 'tail call, constant key', group: 'tail', hops: 1, weight: 1, frame: minFrame, expect: XDP_DROP,
    tsbpf: objRunner({ path: TAIL, prog: 'bt_const', setup: tailSetup }), kernel: { obj: TAIL, prog: 'bt_const', slots: TAIL_SLOTS },
  },
  {
    id: 'tail-var', label: 'tail call, variable key', group: 'tail', hops: 1, weight: 1, frame: minFrame, expect: XDP_DROP,
    tsbpf: objRunner({ path: TAIL, prog: 'bt_var', setup: tailSetup }), kernel: { obj: TAIL, prog: 'bt_var', slots: TAIL_SLOTS },
  },
  chainCase('chain-exact', 'chain hop, exact (XDP_PASS), native', 'native', XDP_PASS),
  chainCase('chain-any', 'chain hop, wildcard, native', 'native', 'any'),
  chainCase('inject-exact', 'chain hop, exact (XDP_PASS), inject', 'inject', XDP_PASS),
  chainCase('inject-any', 'chain hop, wildcard, inject', 'inject', 'any'),
  {
    id: 'tail-33', label: '33-deep tail-call chain', group: 'deep', hops: 33, weight: 8, frame: minFrame, expect: XDP_DROP,
    tsbpf: objRunner({ path: TAIL, prog: 'bt_self', setup: tailSetup }), kernel: { obj: TAIL, prog: 'bt_self', slots: TAIL_SLOTS },
  },
  {
    id: 'parser-tcp4', label: 'parser xdp_flow, VLAN+IPv4+TCP', group: 'flow', hops: 0, weight: 4, frame: tcp4Frame, expect: XDP_PASS,
    tsbpf: objRunner({ path: FLOW, prog: 'xdp_flow' }), kernel: { obj: FLOW, prog: 'xdp_flow' }, single: true,
  },
  {
    id: 'parser-udp6', label: 'parser xdp_flow, IPv6+UDP', group: 'flow', hops: 0, weight: 4, frame: udp6Frame, expect: XDP_PASS,
    tsbpf: objRunner({ path: FLOW, prog: 'xdp_flow' }), kernel: { obj: FLOW, prog: 'xdp_flow' }, single: true,
  },
  {
    id: 'sockex3', label: 'sockex3 flow dissector (4 progs)', group: 'flow', hops: 0, weight: 8, frame: tcp4Frame, expect: XDP_PASS,
    tsbpf: objRunner({ path: SOCKEX3, prog: 'xdp_dissect' }), kernel: { obj: SOCKEX3, prog: 'xdp_dissect' },
  },
  {
    id: 'csum-xdp', label: 'checksum 1500 B, XDP (bench_csum.o)', group: 'compute', hops: 0, weight: 100, frame: mtuFrame,
    expect: inetChecksum(mtuFrame()) & 1 ? XDP_DROP : XDP_PASS,
    tsbpf: objRunner({ path: CSUM, prog: 'bench_csum' }), kernel: { obj: CSUM, prog: 'bench_csum' }, single: true,
  },
  {
    id: 'csum-asm', label: 'checksum 1500 B, checksum.asm on the Vm', group: 'compute', hops: 0, weight: 100, frame: mtuFrame,
    expect: inetChecksum(mtuFrame()), tsbpf: asmChecksum,
  },
];

// ---------------------------------------------------------------------------------------------------------
// Measuring.

export interface BenchOptions {
  engines: Engine[];
  kernel: boolean;
  repeat: number;
  rounds: number;
  /** Case ids to run (all by default). */
  cases?: string[];
  /** CPU to pin to; null: no pinning. */
  cpu: number | null;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface BenchRow {
  case: string;
  label: string;
  group: Group;
  engine: Engine;
  hops: number;
  repeat: number;
  /** ok; unsupported: the engine refused the case (EOPNOTSUPP); error: anything else. */
  status: 'ok' | 'unsupported' | 'error';
  note: string | null;
  ns_per_pkt: number | null;
  mpps: number | null;
  /** (ns - single-program baseline ns) / hops, same engine. */
  hop_ns: number | null;
  /** null: not measured; chain rows have no kernel twin (kernel_ns_per_pkt null, kernel_hop_ref "tail-const"). */
  kernel_ns_per_pkt: number | null;
  kernel_hop_ns: number | null;
  /** The case whose kernel hop the row's hop is compared with (itself, or tail-const for chain hops). */
  kernel_hop_ref: string | null;
  /** ns_per_pkt / kernel_ns_per_pkt */
  vs_kernel: number | null;
  /** hop_ns / kernel_hop_ns */
  hop_vs_kernel: number | null;
  /** Per-round samples, ns per packet, in round order. */
  samples: number[];
}

export interface BenchTarget {
  target: string;
  /** null: not measurable in this run (say why in detail). */
  met: boolean | null;
  detail: string;
}

export interface BenchReport {
  machine: { cpus: number; cpu_model: string; loadavg: number[]; node: string; kernel: string };
  options: { engines: Engine[]; kernel: boolean; repeat: number; rounds: number; cpu: number | null };
  kernel: { measured: boolean; note: string | null };
  rows: BenchRow[];
  targets: BenchTarget[];
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One measured thing: a case on an engine or on the kernel. */
interface Unit {
  c: CaseDef;
  on: Engine | 'kernel';
  repeat: number;
  sample: () => number;
  samples: number[];
  status: BenchRow['status'];
  note: string | null;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/** Pin this process's main thread to `cpu` (taskset -p); false when that is not possible. */
function pinSelf(cpu: number): boolean {
  const r = spawnSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

/** Least time each unit runs before its first sample. */
const WARMUP_MS = 100;
/** Shortest sample timed by CPU time (shorter ones are timed by wall time). */
const MIN_CPU_SAMPLE_NS = 5e6;

function tsbpfUnit(c: CaseDef, engine: Engine, repeat: number, frame: Uint8Array): Unit {
  const u: Unit = { c, on: engine, repeat, sample: () => NaN, samples: [], status: 'ok', note: null };
  try {
    const run = c.tsbpf(engine, frame);
    const first = run(1);
    if (first.retval !== c.expect) throw new BpfError('EINVAL', `${c.id} on ${engine}: returned ${first.retval}, expected ${c.expect}`);
    // Warm up for WARMUP_MS at least: V8 tiers the run loop, the helpers and the program up.
    const warm = Math.max(1, Math.min(repeat, 50_000)), until = performance.now() + WARMUP_MS;
    do run(warm); while (performance.now() < until);
    u.sample = () => {
      const c0 = process.cpuUsage(), w0 = process.hrtime.bigint();
      const r = run(repeat);
      const wall = Number(process.hrtime.bigint() - w0), d = process.cpuUsage(c0), cpu = (d.user + d.system) * 1e3;
      // CPU time is counted in microseconds: samples shorter than a few ms (tiny --repeat) use wall time
      const ns = (cpu >= MIN_CPU_SAMPLE_NS ? cpu : wall) / repeat;
      if (r.retval !== c.expect) throw new BpfError('EINVAL', `${c.id} on ${engine}: returned ${r.retval}, expected ${c.expect}`);
      return ns;
    };
  } catch (e) {
    if (e instanceof BpfError && e.code === 'EOPNOTSUPP') {
      u.status = 'unsupported';
      u.note = `not supported yet (${errText(e).replace(/^EOPNOTSUPP: /, '')})`;
    } else {
      u.status = 'error';
      u.note = errText(e);
    }
  }
  return u;
}

function kernelUnit(c: CaseDef, k: KernelSide, ko: KernelObject, repeat: number, frame: Uint8Array, cpu: number | null): Unit {
  const u: Unit = { c, on: 'kernel', repeat, sample: () => NaN, samples: [], status: 'ok', note: null };
  try {
    const pin = ko.prog(k.prog);
    const first = progRun(pin, { dataIn: frame, repeat: 1, cpu });
    if (first.retval !== c.expect) throw new BpfError('EINVAL', `${c.id} on the kernel: returned ${first.retval}, expected ${c.expect}`);
    u.sample = () => {
      const r = progRun(pin, { dataIn: frame, repeat, cpu });
      if (r.retval !== c.expect) throw new BpfError('EINVAL', `${c.id} on the kernel: returned ${r.retval}, expected ${c.expect}`);
      return r.durationNs;
    };
  } catch (e) {
    u.status = 'error';
    u.note = errText(e);
  }
  return u;
}

/** Run the benchmark: every unit, `rounds` interleaved rounds; medians, overheads, ratios and targets. */
export function runBench(opts: BenchOptions): BenchReport {
  const log = opts.log ?? (() => {});
  const cases = opts.cases === undefined ? [...CASES] : opts.cases.map((id) => {
    const c = CASES.find((x) => x.id === id);
    if (c === undefined) fail('EINVAL', `unknown bench case '${id}' (cases: ${CASES.map((x) => x.id).join(', ')})`);
    return c;
  });
  let pinned = false;
  if (opts.cpu !== null) pinned = pinSelf(opts.cpu);

  let kernelNote: string | null = null;
  let kernelOn = false;
  const kobjs = new Map<string, KernelObject>();
  if (opts.kernel) {
    const k = kernelAvailable();
    if (!k.ok) kernelNote = `kernel not reachable: ${k.why}`;
    else kernelOn = true;
  }

  const units: Unit[] = [];
  try {
    for (const c of cases) {
      const frame = c.frame();
      const repeat = Math.max(1, Math.ceil(opts.repeat / c.weight));
      for (const e of opts.engines) {
        log(`setting up ${c.id} on ${e}`);
        units.push(tsbpfUnit(c, e, repeat, frame));
      }
      if (kernelOn && c.kernel !== undefined) {
        log(`setting up ${c.id} on the kernel`);
        const k = c.kernel;
        let ko = kobjs.get(k.obj);
        try {
          if (ko === undefined) {
            ko = loadObject(k.obj);
            kobjs.set(k.obj, ko);
            for (const [m, i, p] of k.slots ?? []) progArraySet(ko.map(m), i, ko.prog(p));
          } else {
            for (const [m, i, p] of k.slots ?? []) progArraySet(ko.map(m), i, ko.prog(p));
          }
          units.push(kernelUnit(c, k, ko, repeat, frame, opts.cpu));
        } catch (e) {
          units.push({ c, on: 'kernel', repeat, sample: () => NaN, samples: [], status: 'error', note: errText(e) });
        }
      }
    }
    const live = units.filter((u) => u.status === 'ok');
    for (let round = 0; round < opts.rounds; round++) {
      log(`round ${round + 1}/${opts.rounds}`);
      for (let j = 0; j < live.length; j++) {
        const u = live[(j + round) % live.length]; // rotate: no unit always runs first after the same one
        if (u.status !== 'ok') continue;
        try {
          u.samples.push(u.sample());
        } catch (e) {
          u.status = 'error';
          u.note = errText(e);
        }
      }
    }
  } finally {
    if (kobjs.size > 0) cleanup();
  }
  if (!pinned && opts.cpu !== null) log(`note: could not pin to CPU ${opts.cpu} (taskset)`);
  const results: UnitResult[] = units.map((u) => ({ case: u.c.id, on: u.on, repeat: u.repeat, status: u.status, note: u.note, samples: u.samples }));
  return assembleReport(results, {
    engines: opts.engines, kernel: opts.kernel, repeat: opts.repeat, rounds: opts.rounds, cpu: pinned ? opts.cpu : null,
  }, kernelNote);
}

/** What was measured of one case on one engine or on the kernel. */
export interface UnitResult {
  case: string;
  on: Engine | 'kernel';
  repeat: number;
  status: BenchRow['status'];
  note: string | null;
  /** ns per packet, one per round */
  samples: number[];
}

/** Medians, hops, ratios, rows and targets from the measured units (cases in CASES order). */
export function assembleReport(results: UnitResult[], options: BenchReport['options'], kernelNote: string | null = null): BenchReport {
  const byKey = new Map(results.map((u) => [`${u.case}/${u.on}`, u]));
  const cases = CASES.filter((c) => results.some((u) => u.case === c.id));
  const get = (id: string, on: string): number | null => {
    const u = byKey.get(`${id}/${on}`);
    return u !== undefined && u.status === 'ok' && u.samples.length > 0 ? median(u.samples) : null;
  };
  const hopOf = (c: CaseDef, on: string): number | null => {
    if (c.hops === 0) return null;
    const ns = get(c.id, on), base = get('drop', on);
    return ns === null || base === null ? null : (ns - base) / c.hops;
  };
  const kernelMeasured = results.some((u) => u.on === 'kernel' && u.status === 'ok' && u.samples.length > 0);

  const rows: BenchRow[] = [];
  for (const c of cases) {
    for (const e of options.engines) {
      const u = byKey.get(`${c.id}/${e}`);
      if (u === undefined) continue;
      const ns = get(c.id, e);
      const kns = c.kernel !== undefined ? get(c.id, 'kernel') : null;
      const hopRef = c.group === 'chain' ? CHAIN_HOP_REF : c.hops > 0 ? c.id : null;
      const refCase = hopRef === null ? undefined : CASES.find((x) => x.id === hopRef);
      const hop = hopOf(c, e);
      const khop = refCase === undefined ? null : hopOf(refCase, 'kernel');
      rows.push({
        case: c.id, label: c.label, group: c.group, engine: e, hops: c.hops, repeat: u.repeat,
        status: u.status, note: u.note,
        ns_per_pkt: ns, mpps: ns === null || ns <= 0 ? null : 1e3 / ns, hop_ns: hop,
        kernel_ns_per_pkt: kns, kernel_hop_ns: khop, kernel_hop_ref: khop === null ? null : hopRef,
        vs_kernel: ns !== null && kns !== null && kns > 0 ? ns / kns : null,
        hop_vs_kernel: hop !== null && khop !== null && khop > 0 ? hop / khop : null,
        samples: u.samples,
      });
    }
  }
  // Kernel units that failed are reported as notes on the rows of their case.
  for (const u of results) {
    if (u.on !== 'kernel' || u.status === 'ok') continue;
    for (const r of rows) if (r.case === u.case && r.note === null) r.note = `kernel: ${u.note}`;
  }
  return {
    machine: {
      cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
      node: process.version, kernel: release(),
    },
    options,
    kernel: { measured: kernelMeasured, note: kernelNote },
    rows,
    targets: targets(rows, cases, options.engines, kernelMeasured, get, hopOf),
  };
}

/** The issue's performance targets, from the medians. */
function targets(
  rows: BenchRow[], cases: CaseDef[], engines: Engine[], kernelMeasured: boolean,
  get: (id: string, on: string) => number | null, hopOf: (c: CaseDef, on: string) => number | null,
): BenchTarget[] {
  const out: BenchTarget[] = [];
  const jit = engines.includes('jit');
  const f1 = (x: number): string => x.toFixed(1);
  const noKernel = 'not measured: run with --kernel where the kernel is reachable';
  const noJit = 'not measured: needs --engine jit or both';

  // 1. every single-program case on the JIT <= kernel ns
  {
    const target = 'every single-program case on the JIT takes at most the kernel\'s ns per packet';
    const singles = cases.filter((c) => c.single === true);
    if (!jit) out.push({ target, met: null, detail: noJit });
    else if (!kernelMeasured) out.push({ target, met: null, detail: noKernel });
    else {
      const parts: string[] = [];
      let met: boolean | null = singles.length > 0 ? true : null;
      for (const c of singles) {
        const j = get(c.id, 'jit'), k = get(c.id, 'kernel');
        if (j === null || k === null) { parts.push(`${c.id}: not measured`); met = null; continue; }
        parts.push(`${c.id} ${f1(j)} vs ${f1(k)} ns (${(j / k).toFixed(2)}x)`);
        if (j > k && met !== null) met = false;
      }
      out.push({ target, met, detail: parts.join('; ') || 'no single-program case selected' });
    }
  }
  // 2. a tail-call hop and a native chain hop on the JIT <= half the kernel's tail-call hop
  const hopTarget = (target: string, ids: string[], ref: (id: string) => string): void => {
    if (!jit) { out.push({ target, met: null, detail: noJit }); return; }
    if (!kernelMeasured) { out.push({ target, met: null, detail: noKernel }); return; }
    const parts: string[] = [];
    let met: boolean | null = true;
    let any = false;
    for (const id of ids) {
      const c = cases.find((x) => x.id === id);
      const rc = CASES.find((x) => x.id === ref(id))!;
      if (c === undefined) continue;
      any = true;
      const row = rows.find((r) => r.case === id && r.engine === 'jit');
      const h = hopOf(c, 'jit'), k = cases.includes(rc) ? hopOf(rc, 'kernel') : null;
      if (h === null || k === null) {
        parts.push(`${id}: ${row?.status === 'unsupported' ? 'not supported on the JIT yet' : 'not measured'}`);
        met = row?.status === 'unsupported' ? false : met === false ? false : null;
        continue;
      }
      const direct = id === 'tail-const' || id === 'tail-33' ? ', a direct jump in the kernel\'s JIT' : '';
      parts.push(`${id} ${f1(h)} ns vs ${f1(k / 2)} ns (half the kernel's ${f1(k)}${direct})`);
      if (h > k / 2) met = false;
    }
    if (!any) { out.push({ target, met: null, detail: 'no such case selected' }); return; }
    out.push({ target, met, detail: parts.join('; ') });
  };
  hopTarget('a tail-call hop on the JIT takes at most half the kernel\'s tail-call hop', ['tail-const', 'tail-var', 'tail-33'], (id) => id);
  hopTarget('a "native" chain hop on the JIT takes at most half the kernel\'s tail-call hop', ['chain-exact', 'chain-any'], () => CHAIN_HOP_REF);
  // 3. JIT >= 20x interpreter on the 1500-byte checksum
  {
    const target = 'the JIT is at least 20x faster than the interpreter on the 1500-byte checksum (checksum.asm)';
    const i = get('csum-asm', 'interp'), j = get('csum-asm', 'jit');
    if (!cases.some((c) => c.id === 'csum-asm') || !jit || !engines.includes('interp')) {
      out.push({ target, met: null, detail: 'not measured: needs case csum-asm on both engines' });
    } else if (i === null || j === null) {
      out.push({ target, met: null, detail: 'not measured: the case failed' });
    } else {
      out.push({ target, met: i / j >= 20, detail: `${(i / j).toFixed(1)}x (interp ${f1(i)} ns, jit ${f1(j)} ns)` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Output.

const num = (x: number | null, digits = 1): string => (x === null ? '-' : x.toFixed(digits));
const ratio = (x: number | null): string => (x === null ? '-' : `${x.toFixed(2)}x`);

/** The report as a Markdown table, notes and the targets checklist. */
export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`tsbpf bench: ${m.cpus} CPUs (${m.cpu_model}), load average ${m.loadavg.join(' ')}, node ${m.node}, Linux ${m.kernel}`);
  lines.push(`BPF_PROG_TEST_RUN with repeat ${r.options.repeat} (heavy cases fewer), CPU time, median of ${r.options.rounds} interleaved rounds` +
    `${r.options.cpu !== null ? `, pinned to CPU ${r.options.cpu}` : ''}` +
    `${r.kernel.measured ? '; kernel: bpftool prog run on the same CPU' : r.kernel.note ? `; ${r.kernel.note}` : ''}`);
  const head = ['Test case', 'Engine', 'ns/pkt', 'Mpps', 'ns/hop', 'Kernel ns/pkt', 'Kernel ns/hop', 'x kernel', 'hop x kernel'];
  const body: string[][] = r.rows.map((x) => {
    if (x.status !== 'ok') {
      return [x.label, x.engine, x.status === 'unsupported' ? 'not supported yet' : 'error', '-', '-',
        num(x.kernel_ns_per_pkt), x.kernel_hop_ns === null ? '-' : num(x.kernel_hop_ns), '-', '-'];
    }
    const khop = x.kernel_hop_ns === null ? '-' : x.kernel_hop_ref !== x.case ? `${num(x.kernel_hop_ns)} (tail)` : num(x.kernel_hop_ns);
    return [x.label, x.engine, num(x.ns_per_pkt), num(x.mpps, 2), num(x.hop_ns), num(x.kernel_ns_per_pkt), khop, ratio(x.vs_kernel), ratio(x.hop_vs_kernel)];
  });
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ')} |`;
  lines.push(fmt(head));
  lines.push(`|${width.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`);
  for (const b of body) lines.push(fmt(b));
  const notes = r.rows.filter((x) => x.note !== null).map((x) => `  ${x.case} (${x.engine}): ${x.note}`);
  if (notes.length > 0) lines.push('notes:', ...[...new Set(notes)]);
  lines.push('ns/hop: (case - XDP_DROP alone) / tail calls or chain hops on the same engine; chain hops have no kernel twin and are');
  lines.push(`compared with the kernel's variable-key tail-call hop, marked (tail). The kernel reports whole ns per run.`);
  lines.push('');
  lines.push('Performance targets (issue 6):');
  for (const t of r.targets) lines.push(`[${t.met === true ? 'x' : t.met === false ? ' ' : '?'}] ${t.target}: ${t.met === null ? '' : t.met ? 'met; ' : 'NOT met; '}${t.detail}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------
// CLI.

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      engine: { type: 'string', default: 'both' },
      kernel: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '200000' },
      rounds: { type: 'string', default: '9' },
      cases: { type: 'string' },
      cpu: { type: 'string', default: '0' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const usage = USAGE.replace('%CASES%', CASES.map((c) => c.id).join(', '));
  if (values.help) { process.stdout.write(usage); return 0; }
  if (positionals.length !== 0) { process.stderr.write(usage); return 2; }
  const engines: Engine[] = values.engine === 'both' ? ['interp', 'jit'] : values.engine === 'interp' || values.engine === 'jit' ? [values.engine] : [];
  if (engines.length === 0) fail('EINVAL', `--engine must be interp, jit or both, not '${values.engine}'`);
  const posInt = (name: string, v: string, max: number): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1 || n > max) fail('EINVAL', `--${name} must be an integer from 1 to ${max}, not '${v}'`);
    return n;
  };
  const repeat = posInt('repeat', values.repeat, 0xffffffff);
  const rounds = posInt('rounds', values.rounds, 1000);
  const cpu = values.cpu === 'none' ? null : posInt('cpu', String(Number(values.cpu) + 1), 4096) - 1;
  const cases = values.cases === undefined ? undefined : values.cases.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const needed = [TAIL, CHAIN, FLOW, SOCKEX3, CSUM, `${ROOT}/samples/checksum.asm`, `${ROOT}/samples/packet.bin`];
  for (const f of needed) if (!existsSync(f)) fail('ENOENT', `tsbpf bench needs ${f} (run it from a tsbpf source tree)`);
  const log = values.quiet || !process.stderr.isTTY ? undefined : (l: string): void => void process.stderr.write(`\r\x1b[K${l}`);
  const report = runBench({ engines, kernel: values.kernel, repeat, rounds, cases, cpu, log });
  if (log !== undefined) process.stderr.write('\r\x1b[K');
  process.stdout.write(values.json ? JSON.stringify(report) + '\n' : formatReport(report));
  return 0;
}

// Chain-call benchmark: the table of the 2019 letter (seed 000), in both execution models, interpreter engine.
// Cases: a single XDP_DROP program (the baseline); XDP_PASS chained to XDP_DROP by the wildcard slot and by
// the exact XDP_PASS slot; the same pair joined by a plain bpf_tail_call. Each case runs as
// BPF_PROG_TEST_RUN with `repeat` over a 64-byte packet (the per-packet path: run-record reset, run loop,
// programs); reports ns per packet, Mpps, and the overhead per hop against the baseline of the same model
// (the letter's "Overhead" column: 1/Mpps(case) - 1/Mpps(baseline)). Figures only: nothing is asserted.
// Usage: node dist/bench/chain.js [REPEAT]
// `tsbpf bench` (src/cli/bench.ts) is the full table: both engines, tail calls, parsers, the kernel.

import { fileURLToPath } from 'node:url';
import { BpfObject } from '../src/lib/index.js';
import { BpfRuntime } from '../src/syscall/index.js';
import type { ChainMode } from '../src/chain/core.js';
import { BPF_F_INJECT_CHAIN_CALLS, XDP_DROP, XDP_PASS } from '../src/uapi/bpf.js';
import { median } from '../src/cli/bench.js';

const OBJ = fileURLToPath(new URL('../../test/progs/xdp_chain.o', import.meta.url));
const REPEAT = Number(process.argv[2] ?? 2_000_000);
const BATCHES = 7;

type CaseName = 'drop' | 'wildcard' | 'exact' | 'tailcall';
const CASES: { name: CaseName; label: string; expect: number; hops: number }[] = [
  { name: 'drop', label: 'XDP_DROP program alone', expect: XDP_DROP, hops: 0 },
  { name: 'tailcall', label: 'XDP tail call (PASS -> DROP)', expect: XDP_DROP, hops: 1 },
  { name: 'wildcard', label: 'XDP chain call (wildcard)', expect: XDP_DROP, hops: 1 },
  { name: 'exact', label: 'XDP chain call (XDP_PASS)', expect: XDP_DROP, hops: 1 },
];

/** A fresh runtime with the object loaded and the case's programs joined; returns the fd to test-run. */
function setup(mode: ChainMode, c: CaseName): { rt: BpfRuntime; fd: number } {
  const rt = new BpfRuntime({ chainMode: mode, stats: false });
  const obj = BpfObject.open(OBJ);
  obj.program('xdp_pass').progFlags |= BPF_F_INJECT_CHAIN_CALLS; // only xdp_pass is ever a prev
  obj.load({ runtime: rt, programs: ['xdp_pass', 'xdp_drop', 'xdp_pass_tail'] });
  const pass = obj.program('xdp_pass'), drop = obj.program('xdp_drop');
  switch (c) {
    case 'drop': return { rt, fd: drop.fd };
    case 'wildcard': pass.chain.set('any', drop); return { rt, fd: pass.fd };
    case 'exact': pass.chain.set(XDP_PASS, drop); return { rt, fd: pass.fd };
    case 'tailcall': obj.map('jmp_table').set(0, drop); return { rt, fd: obj.program('xdp_pass_tail').fd };
  }
}

function measure(mode: ChainMode, c: (typeof CASES)[number]): number {
  const { rt, fd } = setup(mode, c.name);
  const dataIn = new Uint8Array(64);
  dataIn[12] = 0x08;
  const first = rt.progTestRun({ progFd: fd, dataIn, repeat: 1 });
  if (first.retval !== c.expect) throw new Error(`${mode}/${c.name}: verdict ${first.retval}, expected ${c.expect}`);
  rt.progTestRun({ progFd: fd, dataIn, repeat: Math.min(REPEAT, 200_000) }); // warm up
  const samples: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    // CPU time of this process, not wall time: the figures stay meaningful on a loaded machine.
    const t0 = process.cpuUsage();
    rt.progTestRun({ progFd: fd, dataIn, repeat: REPEAT });
    const d = process.cpuUsage(t0);
    samples.push(((d.user + d.system) * 1e3) / REPEAT);
  }
  return median(samples);
}

const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);

console.log(`engine: interpreter; BPF_PROG_TEST_RUN, 64-byte packet, repeat ${REPEAT}, median of ${BATCHES} batches of CPU time`);
console.log(`| ${pad('Model', 6)} | ${pad('Test case', 32)} | ${lpad('ns/pkt', 7)} | ${lpad('Mpps', 6)} | ${lpad('Overhead/hop', 12)} |`);
console.log(`|${'-'.repeat(8)}|${'-'.repeat(34)}|${'-'.repeat(9)}|${'-'.repeat(8)}|${'-'.repeat(14)}|`);
for (const mode of ['native', 'inject'] as ChainMode[]) {
  let base = 0;
  for (const c of CASES) {
    const ns = measure(mode, c);
    if (c.name === 'drop') base = ns;
    const over = c.hops === 0 ? '' : `${((ns - base) / c.hops).toFixed(1)} ns`;
    console.log(`| ${pad(mode, 6)} | ${pad(c.label, 32)} | ${lpad(ns.toFixed(1), 7)} | ${lpad((1e3 / ns).toFixed(2), 6)} | ${lpad(over, 12)} |`);
  }
}

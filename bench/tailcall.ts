// Tail-call benchmark (issue 4): the cost of one tail call - a two-program chain (tb_entry -> tb_drop) minus
// the single program (tb_drop) - and of a 33-deep chain (tb_self calling itself until the limit), in the
// interpreter, measured two ways: at the engine (the hooks' runProgram loop: reset the per-run records, run,
// as a hook does per packet) and through BPF_PROG_TEST_RUN with repeat (adds the XDP test run's per-packet
// work, the same for every case, so it cancels in the differences). Cases are interleaved round by round
// (the order rotates) and the median of the rounds is reported. When the kernel is reachable, the same
// object runs there too (bpftool prog run ... repeat N) for comparison. Figures only: nothing is asserted.
//
// Usage: node dist/bench/tailcall.js [--rounds N] [--runs N] [--no-kernel]
// `tsbpf bench` (src/cli/bench.ts) is the full table: both engines, chain hops, parsers, the kernel.

import { fileURLToPath } from 'node:url';
import { BpfObject } from '../src/lib/object.js';
import { runProgram } from '../src/hooks/types.js';
import { BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { kernelAvailable, loadObject, progArraySet, progRun, cleanup } from '../src/kernel/index.js';
import { median } from '../src/cli/bench.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const OBJ = `${root}/test/progs/tailcall_bench.o`;

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('--rounds', 31);
const RUNS = arg('--runs', 20000);
const FRAME = new Uint8Array(64);


const obj = BpfObject.open(OBJ).load();
obj.map('tb_jmp').set(0, obj.program('tb_drop'));
obj.map('tb_jmp').set(1, obj.program('tb_self'));
const rt = obj.runtime!;
const cases = ['tb_drop', 'tb_entry', 'tb_self'] as const;
const fds = cases.map((n) => obj.program(n).fd);

// Check what each case does before timing it.
const expect = [1, 1, 1]; // XDP_DROP from tb_drop, from tb_drop via tb_entry, from the 34th tb_self
cases.forEach((n, i) => {
  const r = rt.progTestRun({ progFd: fds[i], dataIn: FRAME });
  if (r.retval !== expect[i]) throw new Error(`${n} returned ${r.retval}, expected ${expect[i]}`);
});
const insns = cases.map((_, i) => {
  rt.progTestRun({ progFd: fds[i], dataIn: FRAME });
  return rt.vm.insnCount;
});
// The last run of tb_self made 33 tail calls.
rt.progTestRun({ progFd: fds[2], dataIn: FRAME });
const calls = rt.env.tailCallCount;

// Engine level: what a hook does per packet (programs here never read ctx; a mapped address stands in).
const vm = rt.vm, env = rt.env, XDP = BPF_PROG_TYPE.BPF_PROG_TYPE_XDP;
const programs = cases.map((n) => obj.program(n).prog.program);
const ctx = vm.stackTop() - 64;
const engineBatch = (i: number): void => {
  const p = programs[i];
  for (let k = 0; k < RUNS; k++) runProgram(vm, env, XDP, p, ctx);
};
const testRunBatch = (i: number): void => void rt.progTestRun({ progFd: fds[i], dataIn: FRAME, repeat: RUNS });

/** ns per run of each case: median over interleaved rounds of RUNS runs. */
function measure(batch: (i: number) => void): number[] {
  for (let i = 0; i < cases.length; i++) batch(i); // warm up
  const samples: number[][] = cases.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < cases.length; j++) {
      const i = (j + round) % cases.length; // rotate the order so no case always runs first
      const t0 = process.hrtime.bigint();
      batch(i);
      samples[i].push(Number(process.hrtime.bigint() - t0) / RUNS);
    }
  }
  return samples.map(median);
}

const label = ['single program (tb_drop)', 'two-program chain (tb_entry -> tb_drop)', `33-deep chain (tb_self x ${calls + 1})`];
function report(title: string, ns: number[]): void {
  console.log(title);
  console.log('  case                                     insns/run    ns/run');
  cases.forEach((_, i) => console.log(`  ${label[i].padEnd(40)} ${String(insns[i]).padStart(9)} ${ns[i].toFixed(1).padStart(9)}`));
  console.log(`  one tail call (chain - single):           ${(ns[1] - ns[0]).toFixed(1)} ns`);
  console.log(`  33-deep chain (deep - single):            ${(ns[2] - ns[0]).toFixed(1)} ns = ${((ns[2] - ns[0]) / calls).toFixed(1)} ns per tail call`);
}

const eng = measure(engineBatch);
const tr = measure(testRunBatch);
console.log(`interpreter, ${RUNS} runs per sample, median of ${ROUNDS} interleaved rounds`);
report('engine (hooks runProgram per packet):', eng);
report('BPF_PROG_TEST_RUN repeat (XDP test run):', tr);
const ns = tr;

if (!process.argv.includes('--no-kernel')) {
  const k = kernelAvailable();
  if (!k.ok) {
    console.log(`kernel: not reachable (${k.why})`);
  } else {
    try {
      const ko = loadObject(OBJ);
      progArraySet(ko.map('tb_jmp'), 0, ko.prog('tb_drop'));
      progArraySet(ko.map('tb_jmp'), 1, ko.prog('tb_self'));
      const repeat = 1_000_000;
      const kns: number[][] = cases.map(() => []);
      for (let round = 0; round < 5; round++) {
        cases.forEach((n, i) => kns[i].push(progRun(ko.prog(n), { dataIn: FRAME, repeat }).durationNs));
      }
      const km = kns.map(median);
      console.log(`kernel (JIT, bpftool prog run repeat ${repeat}, median of 5 rounds; duration is per run)`);
      cases.forEach((_, i) => console.log(`${label[i].padEnd(40)} ${km[i].toFixed(1).padStart(17)}   tsbpf/kernel ${(ns[i] / Math.max(km[i], 1)).toFixed(1)}x`));
      console.log(`kernel one tail call: ${(km[1] - km[0]).toFixed(1)} ns; 33-deep chain: ${(km[2] - km[0]).toFixed(1)} ns`);
    } finally {
      cleanup();
    }
  }
}

// `tsbpf bench`: the output format and the JSON shape, with tiny repeat counts (nothing here asserts on
// time), the derived columns (Mpps, ns/hop, ratios) computed from the medians, the targets checklist from
// synthetic measurements (assembleReport), argument errors, and - where the kernel is reachable - kernel
// cells in the same run ("-" for chain hops, compared with the kernel's tail-call hop). Also --engine on
// `tsbpf prog run` and `tsbpf xdp run` (the JIT gives the interpreter's results).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CASES, CHAIN_HOP_REF, assembleReport, formatReport, median, minFrame, tcp4Frame, udp6Frame, type BenchReport, type UnitResult,
} from '../src/cli/bench.js';
import { kernelAvailable } from '../src/kernel/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const tsbpf = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

const FAST = ['--repeat', '20', '--rounds', '3', '--cpu', 'none'];

test('tsbpf bench --json: one row per case and engine, medians of the round samples, derived columns', () => {
  const r = tsbpf(['bench', '--json', '--engine', 'interp', '--cases', 'drop,tail-const,chain-any,tail-33,csum-asm', ...FAST]);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as BenchReport;
  assert.deepEqual(Object.keys(rep).sort(), ['kernel', 'machine', 'options', 'rows', 'targets']);
  assert.deepEqual(rep.options, { engines: ['interp'], kernel: false, repeat: 20, rounds: 3, cpu: null });
  assert.deepEqual(rep.kernel, { measured: false, note: null });
  assert.deepEqual(rep.rows.map((x) => [x.case, x.engine, x.status]), [
    ['drop', 'interp', 'ok'], ['tail-const', 'interp', 'ok'], ['chain-any', 'interp', 'ok'], ['tail-33', 'interp', 'ok'], ['csum-asm', 'interp', 'ok'],
  ]);
  const row = (id: string) => rep.rows.find((x) => x.case === id)!;
  for (const x of rep.rows) {
    assert.equal(x.samples.length, 3, x.case);
    assert.ok(x.samples.every((s) => s > 0), x.case);
    assert.equal(x.ns_per_pkt, median(x.samples), x.case);
    assert.ok(Math.abs(x.mpps! - 1e3 / x.ns_per_pkt!) < 1e-9, x.case);
    assert.equal(x.kernel_ns_per_pkt, null);
    assert.equal(x.vs_kernel, null);
  }
  // hops and weights: heavy cases run fewer times per sample
  assert.deepEqual(rep.rows.map((x) => x.hops), [0, 1, 1, 33, 0]);
  assert.equal(row('drop').repeat, 20);
  assert.ok(row('csum-asm').repeat < 20);
  assert.equal(row('drop').hop_ns, null);
  assert.equal(row('csum-asm').hop_ns, null);
  const base = row('drop').ns_per_pkt!;
  assert.ok(Math.abs(row('tail-const').hop_ns! - (row('tail-const').ns_per_pkt! - base)) < 1e-9);
  assert.ok(Math.abs(row('tail-33').hop_ns! - (row('tail-33').ns_per_pkt! - base) / 33) < 1e-9);
  // no JIT and no kernel: every target is "not measured"
  assert.equal(rep.targets.length, 4);
  for (const t of rep.targets) assert.equal(t.met, null, t.target);
});

test('tsbpf bench: the table, notes and the targets checklist as text', () => {
  const r = tsbpf(['bench', '--engine', 'interp', '--cases', 'drop,chain-exact,inject-any', ...FAST]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^tsbpf bench: \d+ CPUs .*load average [\d.]+ [\d.]+ [\d.]+, node v\d+/);
  assert.match(lines[1], /repeat 20 .*median of 3 interleaved rounds/);
  const head = lines.findIndex((l) => l.startsWith('| Test case'));
  assert.ok(head > 0);
  assert.deepEqual(lines[head].split('|').slice(1, -1).map((c) => c.trim()),
    ['Test case', 'Engine', 'ns/pkt', 'Mpps', 'ns/hop', 'Kernel ns/pkt', 'Kernel ns/hop', 'x kernel', 'hop x kernel']);
  const rows = lines.slice(head + 2).filter((l) => l.startsWith('| ')).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  assert.deepEqual(rows.map((c) => [c[0], c[1]]), [
    ['XDP_DROP program alone', 'interp'], ['chain hop, exact (XDP_PASS), native', 'interp'], ['chain hop, wildcard, inject', 'interp'],
  ]);
  for (const c of rows) {
    assert.match(c[2], /^\d+\.\d$/);
    assert.match(c[3], /^\d+\.\d\d$/);
    assert.equal(c[5], '-'); // no --kernel
  }
  assert.equal(rows[0][4], '-');
  assert.match(rows[1][4], /^-?\d+\.\d$/);
  const t = lines.indexOf('Performance targets (issue 6):');
  assert.ok(t > head);
  assert.equal(lines.slice(t + 1).filter((l) => /^\[[x ?]\] /.test(l)).length, 4);
});

test('tsbpf bench --engine jit: the JIT rows carry engine jit; a case the JIT refuses says so instead of failing', () => {
  const r = tsbpf(['bench', '--json', '--engine', 'jit', '--cases', 'drop,tail-var,csum-asm', ...FAST]);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as BenchReport;
  assert.deepEqual(rep.rows.map((x) => x.engine), ['jit', 'jit', 'jit']);
  assert.equal(rep.rows[0].status, 'ok', rep.rows[0].note ?? '');
  assert.equal(rep.rows[2].status, 'ok', rep.rows[2].note ?? '');
  const tail = rep.rows[1];
  if (tail.status === 'ok') assert.ok(tail.ns_per_pkt! > 0);
  else {
    assert.equal(tail.status, 'unsupported', tail.note ?? '');
    assert.match(tail.note!, /^not supported yet/);
    assert.equal(tail.ns_per_pkt, null);
    assert.match(formatReport(rep), /\| tail call, variable key +\| jit +\| not supported yet \|/);
  }
});

test('tsbpf bench: bad arguments are EINVAL errors', () => {
  for (const [args, msg] of [
    [['--engine', 'fast'], /EINVAL: --engine must be interp, jit or both/],
    [['--repeat', '0'], /EINVAL: --repeat must be an integer from 1/],
    [['--rounds', 'x'], /EINVAL: --rounds must be an integer/],
    [['--cases', 'drop,nope'], /EINVAL: unknown bench case 'nope'/],
  ] as [string[], RegExp][]) {
    const r = tsbpf(['bench', ...args, '--cpu', 'none']);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, msg);
  }
  const h = tsbpf(['bench', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /cases: drop, tail-const, tail-var, /);
});

/** Synthetic measurements: every case on both engines and the kernel, with the given medians. */
function synthetic(ns: Record<string, [number | null, number | null, number | null]>): UnitResult[] {
  const out: UnitResult[] = [];
  for (const c of CASES) {
    const [i, j, k] = ns[c.id] ?? [1000, 100, 50];
    const unit = (on: UnitResult['on'], v: number | null): UnitResult => (v === null
      ? { case: c.id, on, repeat: 10, status: 'unsupported', note: 'not supported yet (test)', samples: [] }
      : { case: c.id, on, repeat: 10, status: 'ok', note: null, samples: [v - 1, v, v + 5] });
    out.push(unit('interp', i), unit('jit', j));
    if (c.kernel !== undefined) out.push(unit('kernel', k));
  }
  return out;
}

const OPTS = { engines: ['interp', 'jit'] as ('interp' | 'jit')[], kernel: true, repeat: 10, rounds: 3, cpu: 0 };

test('assembleReport: hops against the baseline, chain hops against the kernel\'s tail-call hop, targets met', () => {
  const rep = assembleReport(synthetic({
    'drop': [100, 10, 12],
    'tail-const': [150, 12, 20], // hops: jit 2, kernel 8
    'tail-var': [160, 13, 30], // jit 3, kernel 18
    'tail-33': [1000, 76, 45], // jit 2 per hop, kernel 1 per hop
    'chain-exact': [170, 14, null], 'chain-any': [170, 15, null],
    'parser-tcp4': [2000, 40, 50], 'parser-udp6': [2000, 40, 50], 'csum-xdp': [9000, 300, 600],
    'csum-asm': [4000, 100, null],
  }), OPTS);
  const row = (id: string, e: string) => rep.rows.find((x) => x.case === id && x.engine === e)!;
  assert.equal(rep.kernel.measured, true);
  assert.equal(row('tail-const', 'jit').hop_ns, 2);
  assert.equal(row('tail-const', 'jit').kernel_hop_ns, 8);
  assert.equal(row('tail-const', 'jit').hop_vs_kernel, 0.25);
  assert.equal(row('tail-33', 'jit').hop_ns, 2);
  assert.equal(row('tail-33', 'jit').kernel_hop_ns, 1);
  // chain hops: no kernel twin; compared with the kernel's tail-call hop
  const ch = row('chain-exact', 'jit');
  assert.equal(ch.kernel_ns_per_pkt, null);
  assert.equal(ch.vs_kernel, null);
  assert.equal(ch.kernel_hop_ref, CHAIN_HOP_REF);
  assert.equal(ch.kernel_hop_ns, 18);
  assert.equal(ch.hop_ns, 4);
  assert.equal(row('parser-tcp4', 'jit').vs_kernel, 0.8);
  const [single, tail, chain, csum] = rep.targets;
  assert.equal(single.met, true, single.detail);
  assert.equal(tail.met, false, tail.detail); // tail-33: 2 ns per hop > half of 1
  assert.match(tail.detail, /tail-33 2\.0 ns vs 0\.5 ns/);
  assert.equal(chain.met, true, chain.detail); // 4 and 5 <= 9
  assert.equal(csum.met, true, csum.detail); // 40x
  assert.match(csum.detail, /^40\.0x/);
  const text = formatReport(rep);
  assert.match(text, /\| chain hop, exact \(XDP_PASS\), native +\| jit +\| +14\.0 \| +71\.43 \| +4\.0 \| +- \| +18\.0 \(tail\) \| +- \| +0\.22x \|/);
  assert.match(text, /\[x\] every single-program case on the JIT/);
  assert.match(text, /\[ \] a tail-call hop on the JIT .*NOT met/);
});

test('assembleReport: a slower JIT, an unsupported case and a missing kernel leave targets unmet or unknown', () => {
  let rep = assembleReport(synthetic({ 'drop': [100, 10, 8], 'tail-const': [150, null, 20], 'csum-asm': [1000, 100, null] }), OPTS);
  const [single, tail, , csum] = rep.targets;
  assert.equal(single.met, false, single.detail); // drop 10 > 8
  assert.equal(tail.met, false);
  assert.match(tail.detail, /tail-const: not supported on the JIT yet/);
  assert.equal(csum.met, false); // 10x
  assert.match(formatReport(rep), /\| tail call, constant key +\| jit +\| not supported yet \|/);
  rep = assembleReport(synthetic({ 'csum-asm': [4000, 100, null] }).filter((u) => u.on !== 'kernel'), { ...OPTS, kernel: false });
  assert.equal(rep.kernel.measured, false);
  assert.deepEqual(rep.targets.map((t) => t.met), [null, null, null, true]);
});

test('bench frames: Ethernet + VLAN + IPv4 + TCP, Ethernet + IPv6 + UDP, and the 64-byte minimum', () => {
  const t = tcp4Frame();
  assert.equal(t.length, 122);
  assert.deepEqual([...t.subarray(12, 18)], [0x81, 0x00, 0x00, 100, 0x08, 0x00]);
  assert.equal(t[18] >> 4, 4);
  assert.equal(t[27], 6);
  // the IPv4 header checksum verifies
  let s = 0;
  for (let i = 18; i < 38; i += 2) s += (t[i] << 8) | t[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  assert.equal(s, 0xffff);
  const u = udp6Frame();
  assert.equal(u.length, 102);
  assert.deepEqual([...u.subarray(12, 14)], [0x86, 0xdd]);
  assert.equal(u[14 + 6], 17);
  assert.equal((u[18] << 8) | u[19], u.length - 54);
  assert.equal(minFrame().length, 64);
});

const kernel = kernelAvailable();
test('tsbpf bench --kernel: kernel cells in the same run, "-" for chain hops', { skip: kernel.ok ? false : `kernel not reachable: ${kernel.ok ? '' : kernel.why}` }, () => {
  const r = tsbpf(['bench', '--json', '--kernel', '--engine', 'interp', '--cases', 'drop,tail-var,chain-any,parser-tcp4', '--repeat', '100', '--rounds', '2', '--cpu', '0']);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as BenchReport;
  assert.equal(rep.kernel.measured, true);
  const row = (id: string) => rep.rows.find((x) => x.case === id)!;
  for (const id of ['drop', 'tail-var', 'parser-tcp4']) {
    assert.equal(typeof row(id).kernel_ns_per_pkt, 'number', id);
    assert.ok(row(id).vs_kernel! > 0, id);
  }
  assert.equal(row('chain-any').kernel_ns_per_pkt, null);
  assert.equal(row('chain-any').kernel_hop_ref, 'tail-var');
  assert.equal(row('chain-any').kernel_hop_ns, row('tail-var').kernel_hop_ns);
});

test('tsbpf prog run / xdp run --engine jit: the JIT runs them, with the interpreter\'s results', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-'));
  try {
    const frame = join(dir, 'tcp4.bin');
    writeFileSync(frame, tcp4Frame());
    const run = (engine: string) => tsbpf(['prog', 'run', 'test/progs/xdp_flow.o', '--prog', 'xdp_flow', '--data-in', frame, '--repeat', '50',
      '--map-dump', 'flows', '--map-dump', 'verdicts', '--json', '--engine', engine]);
    const [a, b] = [run('interp'), run('jit')];
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const [ja, jb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    assert.equal(ja.engine, 'interp');
    assert.equal(jb.engine, 'jit');
    assert.equal(jb.retval, 2);
    for (const k of ['retval', 'data_out', 'maps']) assert.deepEqual(jb[k], ja[k], k);
    // without --engine: the runtime's default (TSBPF_ENGINE)
    const d = spawnSync(process.execPath, [cli, 'prog', 'run', 'test/progs/xdp_flow.o', '--prog', 'xdp_flow', '--data-in', frame, '--json'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, TSBPF_ENGINE: 'interp' } });
    assert.equal(d.status, 0, d.stderr);
    assert.equal(JSON.parse(d.stdout).engine, 'interp');
    const xdp = (engine: string) => tsbpf(['xdp', 'run', '--obj', 'test/progs/xdp_flow.o', '--prog', 'xdp_flow', '--pcap', 'samples/sockex3/sample.pcap',
      '--json', '--engine', engine]);
    const [xa, xb] = [xdp('interp'), xdp('jit')];
    assert.equal(xa.status, 0, xa.stderr);
    assert.equal(xb.status, 0, xb.stderr);
    const [ya, yb] = [JSON.parse(xa.stdout), JSON.parse(xb.stdout)];
    assert.equal(yb.engine, 'jit');
    assert.equal(ya.engine, 'interp');
    for (const k of ['packets', 'out_packets', 'pass_packets', 'device']) assert.deepEqual(yb[k], ya[k], k);
    for (const args of [['prog', 'run', 'test/progs/xdp_flow.o', '--prog', 'xdp_flow', '--data-in', frame],
      ['xdp', 'run', '--obj', 'test/progs/xdp_flow.o', '--prog', 'xdp_flow', '--pcap', 'samples/sockex3/sample.pcap']]) {
      const bad = tsbpf([...args, '--engine', 'fast']);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /EINVAL: --engine must be interp or jit, not 'fast'/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

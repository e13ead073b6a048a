// `tsbpf xdp run` (src/cli/xdp.ts): a capture built here with the pcap writer goes through a virtual
// interface's program set; the verdict table, the JSON summary, and the --out / --pass-out captures are
// checked against what the programs (test/progs/xdp_net.c) do to each frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture, writePcap } from '../src/net/pcap.js';
import { PROGRESS_MIN, Progress } from '../src/cli/xdp.js';
import {
  ARPOP_REQUEST, ICMP_ECHO, IPPROTO_ICMP, buildArp, buildIcmpEcho, buildIpv4, parseMac, parseIpv4,
} from '../src/net/ether.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/src/cli/main.js');
const OBJ = join(ROOT, 'test/progs/xdp_net.o');

const macA = parseMac('02:00:00:00:00:0a'), macB = parseMac('02:00:00:00:00:0b');
const ipA = parseIpv4('10.1.0.1'), ipB = parseIpv4('10.1.0.2');

/** 3 ARP requests, 4 ICMP echo requests, 2 UDP datagrams (9 frames), timestamps 1 s apart. */
function capture(dir: string): string {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) frames.push(buildArp(ARPOP_REQUEST, macA, ipA, null, ipB + i));
  for (let i = 0; i < 4; i++) frames.push(buildIpv4(macA, macB, ipA, ipB, IPPROTO_ICMP, buildIcmpEcho(ICMP_ECHO, 1, i + 1, new Uint8Array(16))));
  for (let i = 0; i < 2; i++) frames.push(buildIpv4(macA, macB, ipA, ipB, 17, new Uint8Array(12).fill(i + 1)));
  const path = join(dir, 'in.pcap');
  writeFileSync(path, writePcap(frames.map((data, i) => ({ ts: BigInt(i + 1) * 1_000_000_000n, data }))));
  return path;
}

function tsbpf(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('xdp run: one program, verdict table, passed frames to --pass-out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-xdp-'));
  const pcap = capture(dir);
  const pass = join(dir, 'pass.pcap');
  const r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_drop_icmp', '--pcap', pcap, '--pass-out', pass]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /9 packets \(pcap\) through xdp0, policy single: xdp_drop_icmp/);
  assert.match(r.out, /program\s+id\s+runs\s+ABORTED\s+DROP\s+PASS\s+TX\s+REDIRECT\s+other/);
  assert.match(r.out, /xdp_drop_icmp\s+\d+\s+9\s+0\s+4\s+5\s+0\s+0\s+0/);
  assert.match(r.out, /to host 5 packets/);
  assert.equal(r.err, '', 'no progress bar when stderr is not a terminal');
  const got = readCapture(new Uint8Array(readFileSync(pass))).packets;
  assert.equal(got.length, 5);
  assert.deepEqual(got.map((p) => p.ts), [1n, 2n, 3n, 8n, 9n].map((s) => s * 1_000_000_000n), 'ARP and UDP passed, with their timestamps');
});

test('xdp run: XDP_TX frames leave through --out with the program\'s changes; --json summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-xdp-'));
  const pcap = capture(dir);
  const out = join(dir, 'out.pcap');
  const r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_reflect', '--pcap', pcap, '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.policy, 'single');
  assert.equal(j.packets, 9);
  assert.equal(j.out_packets, 9);
  assert.equal(j.verdicts.TX, 9);
  assert.equal(j.program_stats[0].name, 'xdp_reflect');
  assert.equal(j.device.tx_packets, 9);
  const inFrames = readCapture(new Uint8Array(readFileSync(pcap))).packets;
  const outFrames = readCapture(new Uint8Array(readFileSync(out))).packets;
  assert.equal(outFrames.length, 9);
  for (let i = 0; i < 9; i++) {
    const a = inFrames[i].data, b = outFrames[i].data;
    assert.deepEqual([...b.subarray(0, 6)], [...a.subarray(6, 12)], 'destination MAC = the old source');
    assert.deepEqual([...b.subarray(6, 12)], [...a.subarray(0, 6)]);
    assert.deepEqual([...b.subarray(12)], [...a.subarray(12)]);
  }
});

test('xdp run: several programs under the libxdp and mprog policies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-xdp-'));
  const pcap = capture(dir);
  // libxdp, equal priorities: name order (xdp_drop_icmp before xdp_reflect). ICMP stops at DROP; the rest
  // continues on PASS into xdp_reflect, which returns TX (not in its mask): TX.
  let r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_reflect', '--prog', 'xdp_drop_icmp', '--pcap', pcap, '--json']);
  assert.equal(r.code, 0, r.err);
  let j = JSON.parse(r.out);
  assert.equal(j.policy, 'libxdp');
  assert.deepEqual(j.programs, ['xdp_drop_icmp', 'xdp_reflect']);
  assert.deepEqual([j.verdicts.DROP, j.verdicts.TX], [4, 5]);
  // Priorities reorder; actions let xdp_reflect continue on TX: every frame ends as XDP_PASS except the
  // ICMP ones xdp_drop_icmp drops after it.
  r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_reflect', '--prog', 'xdp_drop_icmp', '--prio', 'xdp_reflect=1',
    '--actions', 'xdp_reflect=tx', '--pcap', pcap, '--json']);
  j = JSON.parse(r.out);
  assert.deepEqual(j.programs, ['xdp_reflect', 'xdp_drop_icmp']);
  assert.deepEqual([j.verdicts.DROP, j.verdicts.PASS, j.verdicts.TX], [4, 5, 0]);
  assert.equal(j.pass_packets, 5);
  // mprog: command-line order; xdp_pass returns 2, not "next": the second program never runs.
  r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_pass', '--prog', 'xdp_drop', '--policy', 'mprog', '--pcap', pcap]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /policy mprog: xdp_pass -> xdp_drop/);
  assert.match(r.out, /xdp_pass\s+\d+\s+9\s+0\s+0\s+9/);
  assert.doesNotMatch(r.out, /^xdp_drop\s/m);
});

test('xdp run: bad arguments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-xdp-'));
  const pcap = capture(dir);
  let r = tsbpf(['xdp', 'run', '--obj', OBJ, '--pcap', pcap]);
  assert.equal(r.code, 2);
  assert.match(r.err, /usage: tsbpf xdp run/);
  r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'nope', '--pcap', pcap]);
  assert.equal(r.code, 1);
  assert.match(r.err, /no program 'nope'/);
  r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_pass', '--prog', 'xdp_drop', '--policy', 'single', '--pcap', pcap]);
  assert.match(r.err, /EINVAL: policy single runs one program/);
  r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_pass', '--actions', 'xdp_pass=bogus', '--policy', 'libxdp', '--pcap', pcap]);
  assert.match(r.err, /'bogus' is not an XDP action/);
  r = tsbpf(['xdp', 'run', '--obj', OBJ, '--prog', 'xdp_pass', '--pcap', join(dir, 'missing.pcap')]);
  assert.equal(r.code, 1);
});

test('xdp run: the progress bar draws only on a terminal and only for large captures', () => {
  const lines: string[] = [];
  const tty = { isTTY: true, write: (s: string) => void lines.push(s) };
  const small = new Progress(PROGRESS_MIN - 1, tty);
  small.update(5);
  small.end();
  assert.equal(lines.length, 0);
  const pipe = new Progress(PROGRESS_MIN * 2, { isTTY: false, write: (s: string) => void lines.push(s) });
  pipe.update(PROGRESS_MIN);
  assert.equal(lines.length, 0);
  const big = new Progress(PROGRESS_MIN * 2, tty);
  big.update(0);
  big.update(1); // same percentage: not redrawn
  big.update(PROGRESS_MIN);
  big.update(PROGRESS_MIN * 2);
  big.end();
  assert.equal(lines.length, 4);
  assert.match(lines[1], /^\r\[#{20}\.{20}\]  50% 10000\/20000 packets$/);
  assert.match(lines[2], /100% 20000\/20000/);
  assert.equal(lines[3], '\n');
});

// The `tsbpf prog` and `tsbpf map` verbs, run as a user runs them: `node dist/src/cli/main.js ...` in a child
// process, checking stdout, stderr and the exit code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROGS_DIR } from './object_util.js';
import { tcp4 } from './lib_util.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const obj = (name: string): string => `${PROGS_DIR}${name}.o`;

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-cli-'));
const pktFile = join(dir, 'pkt.bin');
const PKT = tcp4(1234, 80, 10);
writeFileSync(pktFile, PKT);

test('prog show lists programs and maps with types, sizes and instruction counts', () => {
  const r = tsbpf('prog', 'show', obj('xdp_parser'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^0: xdp {2}name xdp_parser {2}section xdp {2}insns \d+$/m);
  assert.match(r.out, /^0: array {2}name proto_stats {2}key 4B {2}value 8B {2}max_entries 8/m);
  assert.match(r.out, /^1: hash {2}name flow_table {2}key 40B {2}value 16B {2}max_entries 4096/m);
  const j = JSON.parse(tsbpf('prog', 'show', obj('maps_legacy'), '--json').out);
  assert.equal(j.license, 'Dual BSD/GPL');
  assert.deepEqual(j.programs.map((p: { name: string; type: string }) => [p.name, p.type]), [['count_protocols', 'socket_filter'], ['trace_getpid', 'kprobe']]);
  assert.ok(j.maps.some((m: { name: string; type: string }) => m.name === 'prog_table' && m.type === 'prog_array'));
});

test('prog dump: object instructions with map names, --source lines, --xlated with map ids and helper names', () => {
  const plain = tsbpf('prog', 'dump', obj('xdp_parser'), '--prog', 'xdp_parser');
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /^xdp_parser:$/m);
  assert.match(plain.out, /^ {3}0: \(61\) r\d = \*\(u32 \*\)\(r1 \+ 0x[04]\)$/m);
  assert.match(plain.out, /= map\[proto_stats\]$/m);
  assert.match(plain.out, /call bpf_map_lookup_elem#1$/m);
  assert.doesNotMatch(plain.out, /^;/m);
  const src = tsbpf('prog', 'dump', obj('xdp_parser'), '--prog', 'xdp_parser', '--source');
  assert.match(src.out, /^; .*ctx->data.* \[.*xdp_parser\.c:\d+\]$/m);
  const x = tsbpf('prog', 'dump', obj('xdp_parser'), '--prog', 'xdp_parser', '--xlated');
  assert.equal(x.code, 0, x.err);
  assert.match(x.out, /= map\[id:\d+\]$/m);
  assert.doesNotMatch(x.out, /map\[proto_stats\]/);
  const g = tsbpf('prog', 'dump', obj('global_data'), '--prog', 'global_data_prog', '--xlated');
  assert.match(g.out, /= map\[id:\d+\]\[0\]\+\d+$/m, 'direct value references show map id and offset');
  const bad = tsbpf('prog', 'dump', obj('xdp_parser'), '--prog', 'nope');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /ENOENT: .*no program 'nope'.*xdp_parser/);
});

test('prog run: bpftool line, data-out file, repeat, map dumps', () => {
  const out = join(dir, 'out.bin');
  const r = tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--data-in', pktFile, '--data-out', out, '--repeat', '4', '--map-dump', 'proto_stats');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Return value: 2, duration \(average\): \d+ns$/m);
  assert.deepEqual([...readFileSync(out)], [...PKT]);
  assert.match(r.out, /^key: 01 00 00 00 {2}value: 04 00 00 00 00 00 00 00$/m); // 4 IPv4 packets
  assert.match(r.out, /^Found 8 elements$/m);
  const telnet = join(dir, 'telnet.bin');
  writeFileSync(telnet, tcp4(999, 23));
  assert.match(tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--data-in', telnet).out, /^Return value: 1,/m);
});

test('prog run --json: one object with retval, duration_ns, data_out and the dumped maps', () => {
  const r = tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--data-in', pktFile, '--json',
    '--map-dump', 'proto_stats', '--map-dump', 'flow_table', '--trace-pipe');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  assert.equal(j.retval, 2);
  assert.ok(Number.isInteger(j.duration_ns));
  assert.equal(j.data_out, Buffer.from(PKT).toString('hex'));
  assert.equal(j.maps.proto_stats.length, 8);
  assert.deepEqual(j.maps.proto_stats[1], { key: '01000000', value: '0100000000000000' });
  assert.equal(j.maps.flow_table.length, 1);
  assert.deepEqual(j.trace_pipe, []); // xdp_parser prints nothing
  assert.equal(j.maps.flow_table[0].key.slice(0, 4), '0406'); // IPv4, TCP
  assert.equal(j.maps.flow_table[0].value, '0100000000000000' + Buffer.from(new BigUint64Array([BigInt(PKT.length)]).buffer).toString('hex'));
});

test('prog run errors: unknown map to dump, missing input file, bad --repeat, usage', () => {
  const a = tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--data-in', pktFile, '--map-dump', 'nope');
  assert.equal(a.code, 1);
  assert.match(a.err, /no map 'nope'/);
  const b = tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--data-in', join(dir, 'missing.bin'));
  assert.equal(b.code, 1);
  assert.match(b.err, /missing\.bin/);
  const c = tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--repeat', 'x');
  assert.equal(c.code, 1);
  assert.match(c.err, /--repeat/);
  const d = tsbpf('prog', 'run', obj('xdp_parser'));
  assert.equal(d.code, 2);
  assert.match(d.err, /usage: tsbpf prog/);
  const e = tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--data-in', join(dir, 'short.bin'));
  assert.equal(e.code, 1);
  writeFileSync(join(dir, 'short.bin'), new Uint8Array(5));
  const f = tsbpf('prog', 'run', obj('xdp_parser'), '--prog', 'xdp_parser', '--data-in', join(dir, 'short.bin'));
  assert.equal(f.code, 1);
  assert.match(f.err, /EINVAL/);
});

test('prog run of a program the verifier rejects prints the verifier log and fails with its errno', () => {
  // xdp_parser.o with its first load reading from uninitialised r5 instead of the ctx in r1.
  const bytes = readFileSync(obj('xdp_parser'));
  const first = Buffer.from([0x61, 0x17, 0x04, 0, 0, 0, 0, 0]); // r7 = *(u32 *)(r1 + 4)
  const at = bytes.indexOf(first);
  assert.ok(at > 0);
  bytes[at + 1] = 0x57; // src r5
  const bad = join(dir, 'bad.o');
  writeFileSync(bad, bytes);
  const r = tsbpf('prog', 'run', bad, '--prog', 'xdp_parser', '--data-in', pktFile);
  assert.equal(r.code, 1);
  assert.match(r.err, /R5 !read_ok/);
  assert.match(r.err, /tsbpf: EACCES: program 'xdp_parser' \(section 'xdp'\): insn 0: R5 !read_ok/);
});

test('map dump: prog array shows program ids and names, per-CPU maps each CPU, global data its initial bytes', () => {
  const pa = tsbpf('map', 'dump', obj('maps_btf'), '--map', 'jump_table');
  assert.equal(pa.code, 0, pa.err);
  assert.match(pa.out, /^key: 01 00 00 00 {2}value: (\S\S ){3}\S\S {2}prog_id \d+ {2}name tail_one$/m);
  assert.match(pa.out, /^key: 03 00 00 00 .*name tail_two$/m);
  assert.match(pa.out, /^Found 2 elements$/m);
  const pc = tsbpf('map', 'dump', obj('maps_btf'), '--map', 'percpu_stats');
  assert.match(pc.out, /^value \(CPU 00\): (00 ){15}00$/m);
  const inner = JSON.parse(tsbpf('map', 'dump', obj('maps_btf'), '--map', 'outer_array', '--json').out);
  assert.deepEqual(inner.map((e: { key: string; name: string }) => [e.key, e.name]), [['00000000', 'inner_a'], ['02000000', 'inner_b']]);
  const ro = JSON.parse(tsbpf('map', 'dump', obj('global_data'), '--map', 'global_d.rodata', '--json').out);
  assert.equal(ro[0].value.slice(0, 8), '35000000'); // drop_port = 53
  const bad = tsbpf('map', 'dump', obj('maps_btf'), '--map', 'nope');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /no map 'nope'/);
});

// `tsbpf prog run --chain PREV:RETCODE=NEXT --chain-mode native|inject` and `prog dump --xlated
// --chain-mode inject`, run as a user runs them (a child process), in both models.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const OBJ = fileURLToPath(new URL('../../test/progs/xdp_chain.o', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsbpf-chain-'));
const pkt = join(dir, 'pkt.bin');
writeFileSync(pkt, new Uint8Array(64));

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const run = (...extra: string[]) => tsbpf('prog', 'run', OBJ, '--prog', 'xdp_pass', '--data-in', pkt, ...extra);

for (const mode of ['native', 'inject']) {
  test(`[${mode}] prog run --chain: verdicts and programs_run`, () => {
    const m = ['--chain-mode', mode];
    let r = run(...m, '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).programs_run, ['xdp_pass']);
    r = run(...m, '--json', '--chain', 'xdp_pass:any=xdp_drop');
    assert.equal(r.code, 0, r.err);
    let j = JSON.parse(r.out);
    assert.equal(j.retval, 1);
    assert.deepEqual(j.programs_run, ['xdp_pass', 'xdp_drop']);
    // exact code by name and by number; the exact slot wins; a chain on another code is not followed
    r = run(...m, '--json', '--chain', 'xdp_pass:pass=xdp_tx', '--chain', 'xdp_pass:any=xdp_drop', '--chain', 'xdp_tx:3=xdp_aborted');
    j = JSON.parse(r.out);
    assert.equal(j.retval, 0);
    assert.deepEqual(j.programs_run, ['xdp_pass', 'xdp_tx', 'xdp_aborted']);
    r = run(...m, '--json', '--chain', 'xdp_pass:XDP_DROP=xdp_tx');
    assert.deepEqual(JSON.parse(r.out).programs_run, ['xdp_pass']);
    // text output names the programs
    r = run(...m, '--chain', 'xdp_pass:2=xdp_drop');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Return value: 1, duration/m);
    assert.match(r.out, /^Programs run: xdp_pass -> xdp_drop$/m);
  });
}

test('prog run --chain errors: syntax, unknown program, slot, mode', () => {
  let r = run('--chain', 'xdp_pass=xdp_drop');
  assert.equal(r.code, 1);
  assert.match(r.err, /EINVAL: --chain 'xdp_pass=xdp_drop': expected PREV:RETCODE=NEXT/);
  r = run('--chain', 'xdp_pass:any=nope');
  assert.match(r.err, /ENOENT: .*no program 'nope'/);
  r = run('--chain', 'xdp_pass:7=xdp_drop');
  assert.match(r.err, /E2BIG: BPF_PROG_CHAIN_ADD: retcode 7/);
  r = run('--chain', 'xdp_pass:maybe=xdp_drop');
  assert.match(r.err, /EINVAL: retcode 'maybe'/);
  r = run('--chain-mode', 'direct');
  assert.match(r.err, /EINVAL: chain mode must be 'native' or 'inject'/);
});

test('prog dump --xlated --chain-mode inject shows the rewritten exit', () => {
  const r = tsbpf('prog', 'dump', OBJ, '--prog', 'xdp_pass', '--xlated', '--chain-mode', 'inject');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[1], /^ {3}0: \(7b\) \*\(u64 \*\)\(r10 - 0x8\) = r1$/);
  assert.equal(lines.filter((l) => l.includes('call bpf_tail_call#12')).length, 2);
  assert.equal(lines.filter((l) => l.endsWith('; chain slots')).length, 2);
  assert.match(r.out, /if r3 > 0x7 goto \+0x4/);
  const plain = tsbpf('prog', 'dump', OBJ, '--prog', 'xdp_pass', '--xlated');
  assert.doesNotMatch(plain.out, /bpf_tail_call/);
});

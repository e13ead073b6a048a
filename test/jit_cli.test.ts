// CLI engine choice: `tsbpf run --engine jit` gives the interpreter's r0, refuses --trace with EOPNOTSUPP;
// `tsbpf conformance-plugin --jit` runs programs on the JIT (same protocol as --interpret).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const tsbpf = (args: string[], input?: string) => spawnSync(process.execPath, [cli, ...args], { cwd: root, input, encoding: 'utf8' });

test('tsbpf run --engine jit|interp: same r0 on the checksum sample; --trace needs the interpreter', () => {
  const args = ['run', 'samples/checksum.asm', '--mem-file', 'samples/packet.bin'];
  const a = tsbpf([...args, '--engine', 'interp']), b = tsbpf([...args, '--engine', 'jit']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /^r0 = 0x[0-9a-f]+ \(\d+\)\n$/);
  assert.equal(b.stdout, a.stdout);
  const t = tsbpf([...args, '--engine', 'jit', '--trace']);
  assert.notEqual(t.status, 0);
  assert.match(t.stderr, /EOPNOTSUPP: --trace needs the interpreter engine/);
  const bad = tsbpf([...args, '--engine', 'fast']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /EINVAL: --engine must be interp or jit/);
});

test('tsbpf conformance-plugin --jit: r0 in hex, memory argument, unwind helper, errors on stderr', () => {
  // mov r0, 7; exit
  let r = tsbpf(['conformance-plugin', '--jit'], 'b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '7\n');
  // ldxb r0, [r1+1]; exit  with memory "aa bb"
  r = tsbpf(['conformance-plugin', 'aa bb', '--jit'], '71 10 01 00 00 00 00 00 95 00 00 00 00 00 00 00');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'bb\n');
  // mov r1, 0; call 5 (unwind: stops with r0 = 0); mov r0, 9; exit
  r = tsbpf(['conformance-plugin', '--interpret --jit'], 'b7 01 00 00 00 00 00 00 85 00 00 00 05 00 00 00 b7 00 00 00 09 00 00 00 95 00 00 00 00 00 00 00');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '0\n');
  // ldxdw r0, [r1+0] with no memory: EFAULT
  r = tsbpf(['conformance-plugin', '--jit'], '79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /EFAULT: insn 0: invalid memory access: read of 8 bytes at 0x0/);
});

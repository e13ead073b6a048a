// `tsbpf prog run --tail MAP:INDEX=PROG` and the prog-array view of `--map-dump`, run as a user runs them
// (node dist/src/cli/main.js in a child process): slots from the same object and from another object loaded
// into the same runtime, and the errors for a bad map, index, program type or spelling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROGS_DIR } from './object_util.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const RULES = `${PROGS_DIR}tailcall_rules.o`;
const dir = mkdtempSync(join(tmpdir(), 'tsbpf-tail-'));
const frame = join(dir, 'frame.bin');
writeFileSync(frame, new Uint8Array(64));

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const run = (...more: string[]) => tsbpf('prog', 'run', RULES, '--prog', 'tc_chain', '--data-in', frame, ...more);

test('--tail with a program of the same object: 33 tail calls, the slot shown with its id and name', () => {
  const r = run('--tail', 'jmp:0=tc_chain', '--map-dump', 'jmp', '--map-dump', 'counts');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Return value: 34, duration/m);
  assert.match(r.out, /^Tail calls: jmp\[0\] = tc_chain$/m);
  assert.match(r.out, /^map jmp:\nkey: 00 00 00 00 {2}value: 01 00 00 00 {2}prog_id 1 {2}name tc_chain\nFound 1 element$/m);
  assert.match(r.out, /^map counts:\nkey: 00 00 00 00 {2}value: 22 00 00 00 00 00 00 00$/m); // 34 executions
});

test('--tail repeated, and OTHER.o:NAME loads a program of another object into the same runtime', () => {
  const other = `${PROGS_DIR}tailcall_static.o`;
  const r = run('--tail', 'jmp:1=tc_leaf', '--tail', `jmp:0=${other}:st_third`, '--map-dump', 'jmp', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.retval, 3, "tc_chain tail-calls slot 0: st_third of the other object returns 3");
  const slots = j.maps.jmp.map((e: { key: string; name: string }) => [e.key, e.name]);
  assert.deepEqual(slots, [['00000000', 'st_third'], ['01000000', 'tc_leaf']]);
  assert.deepEqual(j.tail_calls, [
    { map: 'jmp', index: 1, prog: 'tc_leaf' },
    { map: 'jmp', index: 0, prog: 'st_third', object: other },
  ]);
});

test('--tail errors: index out of range, not a prog array, unknown program, other type, bad spelling', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--tail', 'jmp:4=tc_leaf'], /E2BIG: --tail: index 4 is out of range for 'jmp' \(max_entries 4\)/],
    [['--tail', 'counts:0=tc_leaf'], /EINVAL: --tail: map 'counts' \(array\) is not a prog_array/],
    [['--tail', 'jmp:0=nope'], /ENOENT: .*has no program 'nope'/],
    [['--tail', 'nomap:0=tc_leaf'], /ENOENT: .*has no map 'nomap'/],
    [['--tail', `jmp:0=${PROGS_DIR}tailcall_owner.o:sock_plain`], /EINVAL: .*does not match the owner type/],
    [['--tail', 'jmp=tc_leaf'], /EINVAL: --tail 'jmp=tc_leaf': expected MAP:INDEX=PROG/],
  ];
  for (const [args, why] of cases) {
    const r = run(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}`);
    assert.match(r.err, why);
  }
});

// The test objects are real programs: where the Linux kernel is reachable (root, bpffs, bpftool), the
// objects libbpf can open load through the kernel verifier, and libbpf sees the same programs and maps as
// parseObject. Later issues run these objects in the kernel and in tsbpf and compare; this keeps them
// loadable. Skips with a message when the kernel is not reachable.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseObject } from '../src/object/index.js';
import { mapTypeName, BPF_F_MMAPABLE } from '../src/uapi/bpf.js';
import { PROGS_DIR, findTool, readObject } from './object_util.js';

/** Objects libbpf 1.x accepts (maps_legacy: legacy `maps` are gone from libbpf 1.0; calls_cross_section:
 * libbpf refuses calls into program sections; sections: fentry/fexit need kernel BTF targets). */
const KERNEL_OBJECTS = ['xdp_parser', 'maps_btf', 'subprogs', 'global_data'];

function kernelReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/sys/fs/bpf')) return 'no bpffs at /sys/fs/bpf';
  if (!findTool('bpftool')) return 'bpftool not installed';
  return undefined;
}

for (const name of KERNEL_OBJECTS) {
  test(`kernel: ${name}.o passes the kernel verifier and libbpf agrees on its programs and maps`, (t) => {
    const why = kernelReason();
    if (why) return t.skip(`kernel not reachable (${why})`);
    const dir = `/sys/fs/bpf/tsbpf_object_test_${process.pid}_${name}`;
    // maps_btf pins `lru_cache` by name in the default pin root: remove it only if we created it.
    const pinned = '/sys/fs/bpf/lru_cache';
    const hadPin = existsSync(pinned);
    try {
      const r = spawnSync('bpftool', ['--json', 'prog', 'loadall', `${PROGS_DIR}${name}.o`, dir], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0 && /Operation not permitted|bpf\(\) syscall|Function not implemented/.test(r.stderr)) return t.skip(`bpf() refused: ${r.stderr.trim().split('\n').pop()}`);
      assert.equal(r.status, 0, `bpftool prog loadall ${name}.o failed:\n${r.stderr.slice(-4000)}`);
      const spec = parseObject(readObject(name), `${name}.o`);
      const pins = spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
      assert.deepEqual(pins, spec.programs.map((p) => p.name).sort(), 'libbpf loaded the same programs');
      // Every map a program uses, as the kernel holds it, matches our spec of the same name.
      const json = (args: string[]): any => JSON.parse(spawnSync('bpftool', ['--json', ...args], { encoding: 'utf8' }).stdout);
      const ids = new Set<number>();
      for (const pin of pins) for (const id of json(['prog', 'show', 'pinned', `${dir}/${pin}`]).map_ids ?? []) ids.add(id);
      const used = new Set(spec.programs.flatMap((p) => p.mapRefs.map((r) => spec.maps[r.map].name)));
      const seen = new Set<string>();
      for (const id of ids) {
        const k = json(['map', 'show', 'id', String(id)]);
        const m = spec.maps.find((x) => x.name.slice(0, 15) === k.name);
        assert.ok(m, `kernel map '${k.name}' is not in the spec`);
        seen.add(m.name);
        // libbpf adds BPF_F_MMAPABLE to global-data maps with global variables; the spec leaves that choice to the loader.
        assert.deepEqual([mapTypeName(m.type).replace('BPF_MAP_TYPE_', '').toLowerCase(), m.keySize, m.valueSize, m.maxEntries, m.flags],
          [k.type, k.bytes_key, k.bytes_value, k.max_entries, k.flags & ~BPF_F_MMAPABLE], `map ${m.name}`);
      }
      // libbpf also binds every .rodata* map to each program (BPF_PROG_BIND_MAP), used or not.
      for (const m of spec.maps) if (m.readonlyForProgs && m.initial) used.add(m.name);
      assert.deepEqual([...seen].sort(), [...used].sort(), 'the kernel programs use the maps the spec says');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (!hadPin) rmSync(pinned, { force: true });
    }
  });
}

// Tests of object/ on the committed clang-built objects in test/progs: the objects are fresh (rebuilt by
// build.sh when clang is present), programs and their linked instruction streams agree with llvm-objdump,
// maps carry every field of their C definitions, global data holds the initial values, slot initialisers
// and line info are right, and section names give libbpf's program types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseObject, objectName, type ObjectSpec, type ProgramSpec } from '../src/object/index.js';
import { internalMapName } from '../src/object/maps.js';
import { sectionType } from '../src/object/sections.js';
import { encode } from '../src/isa/insn.js';
import { BpfError } from '../src/errors.js';
import { validate, subprogEntries } from '../src/verifier/validate.js';
import { BPF_MAP_TYPE as M, BPF_PROG_TYPE as P, BPF_ATTACH_TYPE as A, BPF_F_RDONLY_PROG, BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_XDP_HAS_FRAGS } from '../src/uapi/bpf.js';
import { PROGS_DIR, findTool, objdump, objectNames, readObject, readSource, type Dump } from './object_util.js';

const load = (name: string): ObjectSpec => parseObject(readObject(name), `${PROGS_DIR}${name}.o`);
const prog = (o: ObjectSpec, name: string): ProgramSpec => {
  const p = o.programs.find((x) => x.name === name);
  assert.ok(p, `program ${name} missing from ${o.name}`);
  return p;
};
// Only clang-19 is known to reproduce the committed bytes; another clang version would differ legitimately.
const CLANG = findTool('clang-19');
const OBJDUMP = findTool('llvm-objdump-19', 'llvm-objdump');

test('every C program has its committed object, identical to what build.sh produces now', (t) => {
  const sources = readdirSync(PROGS_DIR).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).sort();
  assert.deepEqual(objectNames(), sources);
  assert.ok(sources.length >= 6);
  if (!CLANG) {
    t.skip('clang-19 not installed: cannot check that the committed objects are fresh');
    return;
  }
  const out = mkdtempSync(join(tmpdir(), 'tsbpf-progs-'));
  try {
    const r = spawnSync('sh', [join(PROGS_DIR, 'build.sh'), CLANG], { env: { ...process.env, OUT_DIR: out }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const name of sources) {
      const fresh = readFileSync(join(out, `${name}.o`));
      assert.ok(Buffer.from(readObject(name)).equals(fresh), `test/progs/${name}.o is stale: run test/progs/build.sh and commit the result`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

/** Slot count of each function, from the dump's labels. */
function funcSizes(d: Dump): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, f] of d.funcs) {
    const slots = [...d.slots.get(f.section)!.keys()];
    const next = [...d.funcs.values()].filter((g) => g.section === f.section && g.slot > f.slot).map((g) => g.slot);
    out.set(name, (next.length ? Math.min(...next) : Math.max(...slots) + 1) - f.slot);
  }
  return out;
}

/**
 * Walk a linked program against llvm-objdump: every slot that no relocation touched is byte-identical to
 * the object; calls and callback addresses point at the start of a placed function (returned as edges);
 * map references name the relocation's symbol. Returns the call edges 'caller->callee'.
 */
function checkAgainstObjdump(o: ObjectSpec, p: ProgramSpec, d: Dump, dataSym: (sym: string) => { section: string; offset: number }): string[] {
  const sizes = funcSizes(d);
  const edges: string[] = [];
  const byBase = new Map(p.functions.map((f) => [f.insn, f.name]));
  let total = 0;
  for (const f of p.functions) {
    const loc = d.funcs.get(f.name)!;
    const size = sizes.get(f.name)!;
    total += size;
    for (let j = 0; j < size; j++) {
      const at = f.insn + j;
      const ins = p.insns[at];
      const dump = d.slots.get(loc.section)!.get(loc.slot + j)!;
      const mine = [...encode([ins])];
      const where = `${p.name}: slot ${at} (${f.name}+${j})`;
      if (ins.code === 0x85 && ins.src === 1) {
        assert.deepEqual(mine.slice(0, 4), dump.bytes.slice(0, 4), where);
        const callee = byBase.get(at + ins.imm + 1);
        assert.ok(callee, `${where}: call lands on slot ${at + ins.imm + 1}, not a function start`);
        edges.push(`${f.name}->${callee}`);
      } else if (ins.code === 0x18 && ins.src === 4) {
        assert.equal(dump.bytes[1] >> 4, 0, `${where}: clang emits callback lddw with src 0`);
        assert.equal(dump.reloc?.type, 'R_BPF_64_64', where);
        const callee = byBase.get(at + ins.imm + 1);
        assert.ok(callee, `${where}: callback address is slot ${at + ins.imm + 1}, not a function start`);
        edges.push(`${f.name}=>${callee}`);
        j++;
      } else if (ins.code === 0x18 && (ins.src === 5 || ins.src === 6)) {
        assert.equal(dump.reloc?.type, 'R_BPF_64_64', `${where}: map reference without relocation`);
        const ref = p.mapRefs.find((r) => r.insn === at);
        assert.ok(ref, `${where}: not in mapRefs`);
        assert.equal(ref.map, ins.imm);
        const map = o.maps[ins.imm];
        if (ins.src === 5) {
          assert.equal(ref.kind, 'map');
          assert.equal(map.name, dump.reloc!.sym, where);
        } else {
          assert.equal(ref.kind, 'map_value');
          const want = dataSym(dump.reloc!.sym);
          const immInObject = new DataView(new Uint8Array(dump.bytes).buffer).getInt32(4, true);
          assert.equal(map.section, want.section, where);
          assert.equal(ref.offset, want.offset + immInObject, where);
          assert.equal(p.insns[at + 1].imm, ref.offset, where);
        }
        j++;
      } else {
        assert.deepEqual(mine, dump.bytes, where);
        assert.equal(dump.reloc, undefined, `${where}: relocation left unapplied`);
      }
    }
  }
  assert.equal(p.insns.length, total, `${p.name}: linked length is the sum of its functions`);
  return edges.sort();
}

const noData = (sym: string): never => assert.fail(`unexpected global-data relocation against ${sym}`);

test('subprograms: static/global, nested, shared and callback subprograms are appended once each and calls patched', (t) => {
  const o = load('subprogs');
  assert.deepEqual(o.programs.map((p) => [p.name, p.section, p.type]), [
    ['calls_nested', 'xdp', P.BPF_PROG_TYPE_XDP], ['calls_loop', 'xdp', P.BPF_PROG_TYPE_XDP], ['calls_shared', 'tc', P.BPF_PROG_TYPE_SCHED_CLS],
  ]);
  // Depth-first placement in call order, as libbpf lays programs out.
  assert.deepEqual(prog(o, 'calls_nested').functions.map((f) => f.name), ['calls_nested', 'sum_squares', 'square', 'store_result']);
  assert.deepEqual(prog(o, 'calls_loop').functions.map((f) => f.name), ['calls_loop', 'add_index', 'square', 'store_result']);
  assert.deepEqual(prog(o, 'calls_shared').functions.map((f) => f.name), ['calls_shared', 'square', 'store_result']);
  // funcInfo names the BTF FUNC of every placed function, in the same order.
  for (const p of o.programs) {
    assert.deepEqual(p.funcInfo.map((fi) => [fi.insn, o.btf!.type(fi.typeId).name]), p.functions.map((f) => [f.insn, f.name]));
  }
  if (!OBJDUMP) return t.skip('llvm-objdump not installed: instruction streams not compared');
  const d = objdump(OBJDUMP, `${PROGS_DIR}subprogs.o`);
  assert.deepEqual(checkAgainstObjdump(o, prog(o, 'calls_nested'), d, noData),
    ['calls_nested->store_result', 'calls_nested->sum_squares', 'sum_squares->square', 'sum_squares->square']);
  assert.deepEqual(checkAgainstObjdump(o, prog(o, 'calls_loop'), d, noData), ['add_index->square', 'calls_loop->store_result', 'calls_loop=>add_index']);
  assert.deepEqual(checkAgainstObjdump(o, prog(o, 'calls_shared'), d, noData), ['calls_shared->square', 'calls_shared->store_result', 'calls_shared->store_result']);
});

test('maps_btf: every BTF map type and field, inner-map templates and static slot initialisers', (t) => {
  const o = load('maps_btf');
  const row = (name: string, type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0, pinning = 0) =>
    ({ name, type, keySize, valueSize, maxEntries, flags, pinning, section: '.maps', readonlyForProgs: false, frozen: false });
  const pick = ({ name, type, keySize, valueSize, maxEntries, flags, pinning, section, readonlyForProgs, frozen }: ObjectSpec['maps'][number]) =>
    ({ name, type, keySize, valueSize, maxEntries, flags, pinning, section, readonlyForProgs, frozen });
  assert.deepEqual(o.maps.map(pick), [
    row('inner_a', M.BPF_MAP_TYPE_ARRAY, 4, 4, 2),
    row('inner_b', M.BPF_MAP_TYPE_ARRAY, 4, 4, 2),
    row('outer_array', M.BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4),
    row('jump_table', M.BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8),
    row('counters', M.BPF_MAP_TYPE_ARRAY, 4, 8, 256),
    row('flows', M.BPF_MAP_TYPE_HASH, 16, 16, 1024),
    row('percpu_stats', M.BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 4),
    row('percpu_flows', M.BPF_MAP_TYPE_PERCPU_HASH, 4, 16, 64),
    row('lru_cache', M.BPF_MAP_TYPE_LRU_HASH, 8, 4, 128, 0, 1),
    row('lru_percpu', M.BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 32, BPF_F_NO_COMMON_LRU),
    row('events', M.BPF_MAP_TYPE_RINGBUF, 0, 0, 4096),
    row('work_queue', M.BPF_MAP_TYPE_QUEUE, 0, 4, 16),
    row('undo_stack', M.BPF_MAP_TYPE_STACK, 0, 8, 8),
    row('routes', M.BPF_MAP_TYPE_LPM_TRIE, 8, 4, 100, BPF_F_NO_PREALLOC),
    row('outer_hash', M.BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 8),
    // The struct initialiser of `fk` that clang keeps as a 16-byte constant.
    { name: '.rodata.cst16', type: M.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, flags: BPF_F_RDONLY_PROG, pinning: 0, section: '.rodata.cst16', readonlyForProgs: true, frozen: true },
  ]);
  const byName = new Map(o.maps.map((m) => [m.name, m]));
  const btf = o.btf!;
  assert.equal(btf.describe(byName.get('flows')!.btfKeyType!), 'struct flow_key');
  assert.equal(btf.describe(byName.get('flows')!.btfValueType!), 'struct flow_stats');
  assert.equal(btf.describe(byName.get('routes')!.btfKeyType!), 'struct lpm_v4_key');
  assert.equal(byName.get('percpu_stats')!.btfKeyType, undefined, 'key_size form names no type');
  assert.deepEqual(pick(byName.get('outer_array')!.inner!), { ...row('outer_array.inner', M.BPF_MAP_TYPE_ARRAY, 4, 4, 2) });
  assert.deepEqual(pick(byName.get('outer_hash')!.inner!), { ...row('outer_hash.inner', M.BPF_MAP_TYPE_HASH, 4, 8, 16) });
  assert.deepEqual(byName.get('jump_table')!.slots, [{ index: 1, prog: 'tail_one' }, { index: 3, prog: 'tail_two' }]);
  assert.deepEqual(byName.get('outer_array')!.slots, [{ index: 0, map: 'inner_a' }, { index: 2, map: 'inner_b' }]);
  assert.equal(byName.get('outer_hash')!.slots, undefined);
  assert.deepEqual([...byName.get('.rodata.cst16')!.initial!], [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 4, 0, 6, 0, 0, 0]);

  assert.deepEqual(o.programs.map((p) => p.name), ['tail_one', 'tail_two', 'use_maps']);
  const use = prog(o, 'use_maps');
  // Every map the C code touches is referenced, each through a BPF_PSEUDO_MAP_IDX lddw.
  const touched = new Set(use.mapRefs.filter((r) => r.kind === 'map').map((r) => o.maps[r.map].name));
  for (const n of ['flows', 'counters', 'percpu_stats', 'percpu_flows', 'lru_cache', 'lru_percpu', 'events', 'work_queue', 'undo_stack', 'routes', 'outer_array', 'outer_hash', 'jump_table']) {
    assert.ok(touched.has(n), `use_maps does not reference ${n}`);
  }
  for (const r of use.mapRefs) assert.deepEqual([use.insns[r.insn].code, use.insns[r.insn].src], [0x18, r.kind === 'map' ? 5 : 6]);
  if (!OBJDUMP) return t.skip('llvm-objdump not installed');
  const d = objdump(OBJDUMP, `${PROGS_DIR}maps_btf.o`);
  for (const p of o.programs) {
    checkAgainstObjdump(o, p, d, (sym) => {
      assert.equal(sym, '.rodata.cst16');
      return { section: '.rodata.cst16', offset: 0 };
    });
  }
});

test('maps_legacy: struct bpf_map_def maps, license and version', (t) => {
  const o = load('maps_legacy');
  assert.equal(o.license, 'Dual BSD/GPL');
  assert.equal(o.version, 0x050a00);
  const legacy = (name: string, type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0) =>
    ({ name, type, keySize, valueSize, maxEntries, flags, pinning: 0, section: 'maps', readonlyForProgs: false, frozen: false });
  assert.deepEqual(o.maps, [
    legacy('proto_count', M.BPF_MAP_TYPE_ARRAY, 4, 8, 256),
    legacy('pid_seen', M.BPF_MAP_TYPE_HASH, 4, 8, 10240, BPF_F_NO_PREALLOC),
    legacy('prog_table', M.BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4),
  ]);
  assert.deepEqual(o.programs.map((p) => [p.name, p.section, p.type, p.expectedAttachType]), [
    ['count_protocols', 'socket', P.BPF_PROG_TYPE_SOCKET_FILTER, undefined],
    ['trace_getpid', 'kprobe/__x64_sys_getpid', P.BPF_PROG_TYPE_KPROBE, undefined],
  ]);
  // LD_ABS survives untouched: a legacy packet load of byte 23 (IP protocol).
  assert.ok(prog(o, 'count_protocols').insns.some((i) => i.code === 0x30 && i.imm === 23));
  if (!OBJDUMP) return t.skip('llvm-objdump not installed');
  const d = objdump(OBJDUMP, `${PROGS_DIR}maps_legacy.o`);
  for (const p of o.programs) assert.deepEqual(checkAgainstObjdump(o, p, d, noData), []);
});

test('global data: .data, .rodata, .bss and .data.custom maps with contents, names and relocated offsets', (t) => {
  const o = load('global_data');
  assert.equal(o.name, 'global_data');
  const pick = (m: ObjectSpec['maps'][number]) => ({ name: m.name, section: m.section, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, ro: m.readonlyForProgs, frozen: m.frozen, initial: Buffer.from(m.initial!).toString('hex') });
  const fmt = Buffer.from('mode one %d\0').toString('hex');
  assert.deepEqual(o.maps.map(pick), [
    // packet_count = 5 at 0, byte_count = 0x1122334455667788 at 8
    { name: 'global_d.data', section: '.data', type: M.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, flags: 0, ro: false, frozen: false, initial: '05000000000000008877665544332211' },
    // drop_port = 53, mode = 2, then bpf_printk's format string
    { name: 'global_d.rodata', section: '.rodata', type: M.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 17, maxEntries: 1, flags: BPF_F_RDONLY_PROG, ro: true, frozen: true, initial: '3500000002' + fmt },
    { name: '.data.custom', section: '.data.custom', type: M.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 6, maxEntries: 1, flags: 0, ro: false, frozen: false, initial: 'efbeadde4242' },
    // last_seen at 0, scratch[4] at 8, hits at 24
    { name: 'global_d.bss', section: '.bss', type: M.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 28, maxEntries: 1, flags: 0, ro: false, frozen: false, initial: '00'.repeat(28) },
  ]);
  const p = prog(o, 'global_data_prog');
  // Every variable the program uses is reached through a map-value reference at the variable's offset.
  const refs = new Set(p.mapRefs.map((r) => `${o.maps[r.map].section}+${r.offset}`));
  for (const want of ['.data+0', '.data+8', '.rodata+0', '.rodata+4', '.rodata+5', '.bss+0', '.bss+8', '.bss+24', '.data.custom+0', '.data.custom+4']) {
    assert.ok(refs.has(want), `no reference to ${want} (have ${[...refs].join(' ')})`);
  }
  if (!OBJDUMP) return t.skip('llvm-objdump not installed');
  const d = objdump(OBJDUMP, `${PROGS_DIR}global_data.o`);
  const vars: Record<string, { section: string; offset: number }> = {
    packet_count: { section: '.data', offset: 0 }, '.data': { section: '.data', offset: 0 },
    drop_port: { section: '.rodata', offset: 0 }, mode: { section: '.rodata', offset: 4 }, '.rodata': { section: '.rodata', offset: 0 },
    last_seen: { section: '.bss', offset: 0 }, scratch: { section: '.bss', offset: 8 }, '.bss': { section: '.bss', offset: 0 },
    custom_a: { section: '.data.custom', offset: 0 }, custom_b: { section: '.data.custom', offset: 4 },
  };
  checkAgainstObjdump(o, p, d, (sym) => vars[sym] ?? assert.fail(`unexpected symbol ${sym}`));
});

test('sections: several programs per section and libbpf program/attach types by section name', () => {
  const o = load('sections');
  const X = A.BPF_XDP;
  const want: [string, string, number, number | undefined][] = [
    ['xdp_first', 'xdp', P.BPF_PROG_TYPE_XDP, X], ['xdp_second', 'xdp', P.BPF_PROG_TYPE_XDP, X], ['xdp_third', 'xdp', P.BPF_PROG_TYPE_XDP, X],
    ['xdp_frags_prog', 'xdp.frags', P.BPF_PROG_TYPE_XDP, X],
    ['xdp_devmap_prog', 'xdp/devmap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_DEVMAP],
    ['xdp_cpumap_prog', 'xdp/cpumap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_CPUMAP],
    ['socket_prog', 'socket', P.BPF_PROG_TYPE_SOCKET_FILTER, undefined],
    ['sk_skb_prog', 'sk_skb', P.BPF_PROG_TYPE_SK_SKB, undefined],
    ['sk_skb_parser', 'sk_skb/stream_parser', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_STREAM_PARSER],
    ['sk_msg_prog', 'sk_msg', P.BPF_PROG_TYPE_SK_MSG, A.BPF_SK_MSG_VERDICT],
    ['kprobe_prog', 'kprobe/do_sys_open', P.BPF_PROG_TYPE_KPROBE, undefined],
    ['kretprobe_prog', 'kretprobe/do_sys_open', P.BPF_PROG_TYPE_KPROBE, undefined],
    ['uprobe_prog', 'uprobe', P.BPF_PROG_TYPE_KPROBE, undefined],
    ['tracepoint_prog', 'tracepoint/syscalls/sys_enter_write', P.BPF_PROG_TYPE_TRACEPOINT, undefined],
    ['tp_prog', 'tp/sched/sched_switch', P.BPF_PROG_TYPE_TRACEPOINT, undefined],
    ['raw_tracepoint_prog', 'raw_tracepoint/sys_enter', P.BPF_PROG_TYPE_RAW_TRACEPOINT, undefined],
    ['raw_tp_prog', 'raw_tp/sys_exit', P.BPF_PROG_TYPE_RAW_TRACEPOINT, undefined],
    ['tc_prog', 'tc', P.BPF_PROG_TYPE_SCHED_CLS, undefined], ['tc_prog2', 'tc', P.BPF_PROG_TYPE_SCHED_CLS, undefined],
    ['classifier_prog', 'classifier', P.BPF_PROG_TYPE_SCHED_CLS, undefined],
    ['action_prog', 'action', P.BPF_PROG_TYPE_SCHED_ACT, undefined],
    ['tc_ingress_prog', 'tc/ingress', P.BPF_PROG_TYPE_SCHED_CLS, 46],
    ['tcx_egress_prog', 'tcx/egress', P.BPF_PROG_TYPE_SCHED_CLS, 47],
    ['cgroup_ingress_prog', 'cgroup_skb/ingress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS],
    ['cgroup_egress_prog', 'cgroup_skb/egress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_EGRESS],
    ['cgroup_connect4_prog', 'cgroup/connect4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_CONNECT],
    ['perf_event_prog', 'perf_event', P.BPF_PROG_TYPE_PERF_EVENT, undefined],
    ['lwt_in_prog', 'lwt_in', P.BPF_PROG_TYPE_LWT_IN, undefined],
    ['lwt_xmit_prog', 'lwt_xmit', P.BPF_PROG_TYPE_LWT_XMIT, undefined],
    ['fentry_prog', 'fentry/do_unlinkat', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FENTRY],
    ['fexit_prog', 'fexit/do_unlinkat', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FEXIT],
    ['flow_dissector_prog', 'flow_dissector', P.BPF_PROG_TYPE_FLOW_DISSECTOR, A.BPF_FLOW_DISSECTOR],
    ['sockops_prog', 'sockops', P.BPF_PROG_TYPE_SOCK_OPS, A.BPF_CGROUP_SOCK_OPS],
    ['xdp_no_autoload', '?xdp', P.BPF_PROG_TYPE_XDP, X],
    ['unknown_prog', 'not_a_known_section', P.BPF_PROG_TYPE_UNSPEC, undefined],
  ];
  assert.deepEqual(o.programs.map((p) => [p.name, p.section, p.type, p.expectedAttachType]), want);
  const src = readSource('sections');
  for (const p of o.programs) {
    // Each body is `return __LINE__;`: r0 = the line of its PROG() in the source, then exit.
    const line = src.findIndex((l) => l.includes(` ${p.name})`)) + 1;
    assert.deepEqual(p.insns.map((i) => [i.code, i.imm]), [[0xb7, line], [0x95, 0]], p.name);
    assert.equal(p.autoload, p.name !== 'xdp_no_autoload');
    assert.equal(p.progFlags, p.name === 'xdp_frags_prog' ? BPF_F_XDP_HAS_FRAGS : 0);
  }
  assert.deepEqual(o.maps, []);
});

test('section name rules: + means exact or /suffix, first match wins, ? prefix, unknown is UNSPEC', () => {
  const t = (s: string) => [sectionType(s).progType, sectionType(s).expectedAttachType];
  assert.deepEqual(t('kprobe'), [P.BPF_PROG_TYPE_KPROBE, undefined]);
  assert.deepEqual(t('kprobex'), [P.BPF_PROG_TYPE_UNSPEC, undefined]);
  assert.deepEqual(t('xdp/foo'), [P.BPF_PROG_TYPE_UNSPEC, undefined]);
  assert.deepEqual(t('xdp.frags/devmap'), [P.BPF_PROG_TYPE_XDP, A.BPF_XDP_DEVMAP]);
  assert.deepEqual(t('cgroup/sock'), [P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE]);
  assert.deepEqual(t('lsm.s/file_open'), [P.BPF_PROG_TYPE_LSM, A.BPF_LSM_MAC]);
  assert.equal(sectionType('fentry.s/x').def?.sleepable, true);
  assert.deepEqual(t('?tc'), [P.BPF_PROG_TYPE_SCHED_CLS, undefined]);
  assert.equal(sectionType('?tc').autoload, false);
});

test('names: object name from a path, libbpf internal map names', () => {
  assert.equal(objectName('/a/b/my_object_name.bpf.o'), 'my_object_name');
  assert.equal(objectName(undefined), 'object');
  assert.equal(internalMapName('my_object_name', '.rodata'), 'my_objec.rodata');
  assert.equal(internalMapName('my_object_name', '.bss'), 'my_objec.bss');
  assert.equal(internalMapName('x', '.data'), 'x.data');
  assert.equal(internalMapName('obj', '.rodata.str1.1'), '.rodata.str1.1');
  assert.equal(internalMapName('obj', '.data.a_very_long_section_name'), '.data.a_very_lo');
  assert.equal(internalMapName('we-ird', '.bss'), 'we_ird.bss');
});

test('line info: each C line lands on its instructions, in programs and appended subprograms', () => {
  // The source line quoted by line info is the line at that number in the .c file, and the statement's
  // characteristic instruction lies between that entry and the next one.
  const check = (objName: string, progName: string, text: string, pred: (i: { code: number; imm: number; src: number }) => boolean) => {
    const o = load(objName);
    const p = prog(o, progName);
    const src = readSource(objName);
    for (const l of p.lineInfo) {
      assert.equal(l.file, `./${objName}.c`);
      assert.equal(l.source, src[l.line - 1], `${progName} insn ${l.insn}: line ${l.line}`);
    }
    // A line may have several entries (one per column); the statement's instruction is in one of them.
    const ranges = p.lineInfo.flatMap((l, k) => (l.source.includes(text) ? [[l.insn, k + 1 < p.lineInfo.length ? p.lineInfo[k + 1].insn : p.insns.length]] : []));
    assert.ok(ranges.length > 0, `no line info quoting '${text}'`);
    assert.ok(ranges.some(([from, to]) => p.insns.slice(from, to).some(pred)), `'${text}' at insns ${JSON.stringify(ranges)} lacks its instruction`);
    for (let i = 1; i < p.lineInfo.length; i++) assert.ok(p.lineInfo[i].insn >= p.lineInfo[i - 1].insn);
  };
  check('subprogs', 'calls_loop', 'bpf_loop(5, add_index', (i) => i.code === 0x85 && i.src === 0 && i.imm === 181);
  check('subprogs', 'calls_loop', 'return x * x;', (i) => i.code === 0x2f);
  check('subprogs', 'calls_shared', '*slot = value;', (i) => i.code === 0x7b);
  check('xdp_parser', 'xdp_parser', 'bpf_xdp_adjust_tail(ctx', (i) => i.code === 0x85 && i.imm === 65);
  check('xdp_parser', 'xdp_parser', 'bpf_xdp_adjust_head(ctx', (i) => i.code === 0x85 && i.imm === 44);
  check('maps_btf', 'use_maps', 'bpf_ringbuf_output(&events', (i) => i.code === 0x85 && i.imm === 130);
  // A subprogram's lines move with it: square's body sits where calls_loop placed square.
  const p = prog(load('subprogs'), 'calls_loop');
  const sq = p.functions.find((f) => f.name === 'square')!;
  assert.ok(p.lineInfo.some((l) => l.insn === sq.insn && l.source.includes('square(__u64 x)')));
  assert.ok(p.lineInfo.some((l) => l.insn > sq.insn && l.insn < sq.insn + 3 && l.source.includes('return x * x;')));
});

test('xdp_parser: realistic parser with hash and array maps, all relocations resolved', (t) => {
  const o = load('xdp_parser');
  assert.deepEqual(o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]), [
    ['proto_stats', M.BPF_MAP_TYPE_ARRAY, 4, 8, 8], ['flow_table', M.BPF_MAP_TYPE_HASH, 40, 16, 4096],
  ]);
  const p = prog(o, 'xdp_parser');
  assert.equal(p.type, P.BPF_PROG_TYPE_XDP);
  const helpers = new Set(p.insns.filter((i) => i.code === 0x85 && i.src === 0).map((i) => i.imm));
  for (const h of [1, 2, 44, 65]) assert.ok(helpers.has(h), `helper ${h} not called`);
  assert.ok(p.mapRefs.some((r) => o.maps[r.map].name === 'flow_table') && p.mapRefs.some((r) => o.maps[r.map].name === 'proto_stats'));
  if (!OBJDUMP) return t.skip('llvm-objdump not installed');
  checkAgainstObjdump(o, p, objdump(OBJDUMP, `${PROGS_DIR}xdp_parser.o`), noData);
});

test('not a BPF object: wrong magic, class, byte order or machine give ENOEXEC', () => {
  const base = readObject('sections');
  const mutate = (f: (b: Uint8Array) => void): Uint8Array => { const b = base.slice(); f(b); return b; };
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(0), /not an ELF file/],
    [mutate((b) => { b[0] = 0; }), /not an ELF file/],
    [mutate((b) => { b[4] = 1; }), /not a 64-bit ELF/],
    [mutate((b) => { b[5] = 2; }), /big-endian/],
    [mutate((b) => { b[18] = 62; }), /e_machine 62 at byte 18/],
    [mutate((b) => { b[16] = 2; }), /not a relocatable object/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => parseObject(bytes), (e: unknown) => e instanceof BpfError && e.code === 'ENOEXEC' && re.test(e.message));
  }
});

test('calls into program sections: the callee is linked after each caller, and stays a program itself', (t) => {
  const o = load('calls_cross_section');
  assert.deepEqual(o.programs.map((p) => [p.name, p.section, p.functions.map((f) => `${f.name}@${f.insn}`)]), [
    ['xdp_callee', 'xdp', ['xdp_callee@0']],
    ['xdp_same_section', 'xdp', ['xdp_same_section@0', 'xdp_callee@3']],
    ['tc_other_section', 'tc', ['tc_other_section@0', 'xdp_callee@3']],
  ]);
  if (!OBJDUMP) return t.skip('llvm-objdump not installed');
  const d = objdump(OBJDUMP, `${PROGS_DIR}calls_cross_section.o`);
  assert.deepEqual(checkAgainstObjdump(o, prog(o, 'xdp_same_section'), d, noData), ['xdp_same_section->xdp_callee']);
  assert.deepEqual(checkAgainstObjdump(o, prog(o, 'tc_other_section'), d, noData), ['tc_other_section->xdp_callee']);
});

test('every linked program passes load-time validation, whose subprogram entries are the placed functions', () => {
  for (const name of objectNames()) {
    for (const p of load(name).programs) {
      validate(p.insns);
      assert.deepEqual(subprogEntries(p.insns), p.functions.map((f) => f.insn), `${name}: ${p.name}`);
    }
  }
});

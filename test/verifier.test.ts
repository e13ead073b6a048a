// verify(): every clang-built test object passes; each kind of rejection gives the kernel's errno and log
// line at the right instruction; the xlated rewrites (ctx conversion, map addresses, jump fix-ups); logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseObject } from '../src/object/index.js';
import { assemble } from '../src/isa/asm.js';
import type { Insn } from '../src/isa/insn.js';
import { verify, VerifierError, type VerifierResult } from '../src/verifier/verifier.js';
import type { ProgTypeOps } from '../src/verifier/types.js';
import type { BpfMap } from '../src/maps/map.js';
import { createMap } from '../src/maps/create.js';
import { ArrayMap } from '../src/maps/array.js';
import { BPF_F_RDONLY_PROG, BPF_MAP_TYPE, BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { helperProto } from '../src/helpers/protos.js';
import type { HelperProto } from '../src/verifier/types.js';
import { createSpecMaps, newRegistry, opsFor, protoOf, skbDouble, toFdRefs, xdpDouble } from './verifier_doubles.js';

const progsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'progs');

function run(
  src: string | Insn[],
  opts: { maps?: BpfMap[]; ops?: ProgTypeOps; gpl?: boolean; logLevel?: number; protos?: (id: number) => HelperProto | undefined } = {},
): VerifierResult {
  return verify({
    insns: typeof src === 'string' ? assemble(src) : src,
    maps: opts.maps ?? [],
    progType: opts.ops ?? xdpDouble(),
    helperProto: opts.protos ?? protoOf,
    gpl: opts.gpl ?? true,
    logLevel: opts.logLevel ?? 1,
    progFlags: 0,
  });
}

/** Expect a rejection with `code`, a log containing `msg`, at instruction `insn` (when given). */
function rejects(src: string, code: string, msg: string | RegExp, insn?: number, opts: Parameters<typeof run>[1] = {}): VerifierError {
  try {
    run(src, opts);
  } catch (e) {
    assert.ok(e instanceof VerifierError, `not a VerifierError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    // the log holds the reason when logging is on; the message always holds its first line
    const where = (opts.logLevel ?? 1) > 0 ? e.log : e.message;
    if (typeof msg === 'string') assert.ok(where.includes(msg), `log lacks "${msg}":\n${where}`);
    else assert.match(where, msg);
    if (insn !== undefined) {
      assert.equal(e.insn, insn, e.message);
      assert.ok(e.message.startsWith(`${code}: insn ${insn}: `), e.message);
    }
    return e;
  }
  assert.fail('program was accepted');
}

function maps(): { array: BpfMap; rodata: ArrayMap; progArray: BpfMap; ringbuf: BpfMap; hash: BpfMap } {
  const { space, registry } = newRegistry();
  const T = BPF_MAP_TYPE;
  return {
    array: createMap(space, registry, { type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, name: 'arr' }),
    rodata: createMap(space, registry, { type: T.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, flags: BPF_F_RDONLY_PROG, name: '.rodata' }) as ArrayMap,
    progArray: createMap(space, registry, { type: T.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, name: 'jmp' }),
    ringbuf: createMap(space, registry, { type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, name: 'rb' }),
    hash: createMap(space, registry, { type: T.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 64, maxEntries: 16, name: 'h' }),
  };
}
const mapList = (m: ReturnType<typeof maps>): BpfMap[] => [m.array, m.rodata, m.progArray, m.ringbuf, m.hash];

// ---------------------------------------------------------------------------------------------------
// clang-built objects

for (const file of readdirSync(progsDir).filter((f) => f.endsWith('.o')).sort()) {
  test(`every program of test/progs/${file} verifies`, () => {
    const spec = parseObject(readFileSync(join(progsDir, file)), file);
    const objMaps = createSpecMaps(spec.maps);
    assert.ok(spec.programs.length > 0);
    for (const prog of spec.programs) {
      const insns = toFdRefs(prog.insns);
      let r: VerifierResult;
      try {
        // the runtime's real helper prototypes (these objects call whatever helpers tsbpf implements), and
        // the doubles' for what the verifier supports beyond them (bpf_loop callbacks in subprogs.o)
        r = run(insns, { maps: objMaps, ops: opsFor(prog.type), protos: (id) => helperProto(id) ?? protoOf(id) });
      } catch (e) {
        assert.fail(`${prog.name}: ${(e as Error).message}\n${(e as VerifierError).log ?? ''}`);
      }
      assert.match(r.log, /^processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read 0\n$/);
      assert.ok(r.insns.length >= insns.length, prog.name);
      // every map lddw now carries an address, src kept as 1/2
      for (let i = 0; i < r.insns.length; i++) {
        const ins = r.insns[i];
        if (ins.code === 0x18) {
          assert.ok(ins.src <= 4, `${prog.name} insn ${i}: src ${ins.src}`);
          if (ins.src === 1) assert.ok(objMaps.some((m) => m.handle === ins.imm), `${prog.name} insn ${i}`);
          i++;
        }
      }
    }
  });
}

test('xdp_parser: helpers and maps in use, packet ranges explored in bounded time', () => {
  const spec = parseObject(readFileSync(join(progsDir, 'xdp_parser.o')), 'xdp_parser.o');
  const objMaps = createSpecMaps(spec.maps);
  const prog = spec.programs.find((p) => p.name === 'xdp_parser')!;
  const r = run(toFdRefs(prog.insns), { maps: objMaps, ops: opsFor(prog.type) });
  assert.deepEqual(r.usedHelpers, [1, 2, 44, 65]);
  assert.deepEqual(r.usedMaps.map((m) => m.name).sort(), ['flow_table', 'proto_stats']);
  assert.equal(r.hasTailCall, false);
  assert.ok(r.stackDepth >= 0x48 && r.stackDepth <= 512, `stack depth ${r.stackDepth}`);
  const processed = Number(/processed (\d+)/.exec(r.log)![1]);
  assert.ok(processed < 100_000, `processed ${processed}`);
});

test('maps_btf: tail call recorded, map-in-map lookups become inner map pointers', () => {
  const spec = parseObject(readFileSync(join(progsDir, 'maps_btf.o')), 'maps_btf.o');
  const objMaps = createSpecMaps(spec.maps);
  const prog = spec.programs.find((p) => p.name === 'use_maps')!;
  const r = run(toFdRefs(prog.insns), { maps: objMaps, ops: opsFor(prog.type) });
  assert.equal(r.hasTailCall, true);
  assert.ok(r.usedHelpers.includes(12));
});

// ---------------------------------------------------------------------------------------------------
// accepted patterns

test('packet access after a data_end check; variable offsets bounded by masks', () => {
  const r = run(`
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = r2
    r4 += 14
    if r4 > r3 goto drop
    r0 = *(u8 *)(r2 + 13)
    r5 = *(u8 *)(r2 + 0)
    r5 &= 15
    r5 <<= 2
    r2 += r5
    r6 = r2
    r6 += 4
    if r6 > r3 goto drop
    r0 = *(u32 *)(r2 + 0)
  drop:
    r0 = 1
    exit`);
  assert.match(r.log, /^processed \d+ insns/);
});

test('map value lookup with a NULL check, bounded variable index into the value', () => {
  const m = maps();
  run(`
    r1 = 0
    *(u32 *)(r10 - 4) = r1
    r2 = r10
    r2 += -4
    r1 = map_fd(4) ll
    call 1
    if r0 == 0 goto out
    r1 = *(u64 *)(r0 + 8)
    if r1 > 7 goto out
    r1 <<= 3
    r0 += r1
    r0 = *(u64 *)(r0 + 0)
  out:
    r0 = 0
    exit`, { maps: mapList(m) });
});

test('bpf-to-bpf call with a pointer to the caller stack, and bpf_loop with a callback', () => {
  run(`
    r1 = 7
    *(u64 *)(r10 - 8) = r1
    r1 = r10
    r1 += -8
    call sub
    r1 = 4
    r2 = cb ll
    r3 = r10
    r3 += -8
    r4 = 0
    call 181
    r0 = *(u64 *)(r10 - 8)
    exit
  sub:
    r0 = *(u64 *)(r1 + 0)
    exit
  cb:
    r0 = *(u64 *)(r2 + 0)
    r0 += r1
    *(u64 *)(r2 + 0) = r0
    r0 = 0
    exit`.replace('call sub', 'call local sub').replace('r2 = cb ll', 'lddw r2, func(9)'));
});

test('a bounded loop is explored to its end; an endless one is refused', () => {
  const r = run(`
    r1 = 0
  l:
    r1 += 1
    if r1 < 1000 goto l
    r0 = 0
    exit`);
  assert.ok(Number(/processed (\d+)/.exec(r.log)![1]) > 2000);
  rejects(`
    r0 = 0
  l:
    if r0 == 1 goto out
    goto l
  out:
    exit`, 'EINVAL', 'infinite loop detected at insn 1');
});

test('more than 1M processed instructions: E2BIG "BPF program is too large"', () => {
  rejects(`
    r1 = 0
  l:
    r1 += 1
    if r1 < 2000000 goto l
    r0 = 0
    exit`, 'E2BIG', 'BPF program is too large. Processed 1000001 insn', undefined, { logLevel: 0 });
});

// ---------------------------------------------------------------------------------------------------
// rejections

test('uninitialised register read: R%d !read_ok', () => {
  rejects('r0 = r2\nexit', 'EACCES', 'R2 !read_ok', 0);
  rejects('r0 = 0\nr0 += r7\nexit', 'EACCES', 'R7 !read_ok', 1);
});

test('exit without a return value: R0 !read_ok', () => {
  const e = rejects('r1 = 0\nexit', 'EACCES', '1: (95) exit\nR0 !read_ok', 1);
  assert.match(e.log, /^0: \(b7\) r1 = 0x0\n1: \(95\) exit\nR0 !read_ok\nprocessed 2 insns/);
});

test('stack out of bounds, above and below the frame', () => {
  rejects('r1 = 1\n*(u64 *)(r10 - 520) = r1\nr0 = 0\nexit', 'EACCES', 'invalid write to stack R10 off=-520 size=8', 1);
  rejects('r0 = *(u64 *)(r10 + 0)\nexit', 'EACCES', 'invalid read from stack R10 off=0 size=8', 0);
  rejects('r2 = r10\nr2 += -4\nr0 = *(u64 *)(r2 + 0)\nexit', 'EACCES', 'invalid read from stack R2 off=-4 size=8', 2);
});

test('ctx field access the program type does not allow', () => {
  rejects('r0 = *(u32 *)(r1 + 20)\nexit', 'EACCES', 'invalid bpf_context access off=20 size=4', 0);
  rejects('r0 = *(u16 *)(r1 + 0)\nexit', 'EACCES', 'invalid bpf_context access off=0 size=2', 0);
  rejects('r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit', 'EACCES', 'invalid bpf_context access off=0 size=4', 1);
  rejects('r0 = *(u32 *)(r1 + 76)\nexit', 'EACCES', 'invalid bpf_context access off=76 size=4', 0,
    { ops: skbDouble(BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER) });
  rejects('r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit', 'EACCES', 'dereference of modified ctx ptr R1 off=4 disallowed', 1);
});

test('unknown helper and helper not allowed for the program type: EINVAL', () => {
  rejects('call 27\nr0 = 0\nexit', 'EINVAL', 'unknown func bpf_get_stackid#27', 0);
  rejects('r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 26\nr0 = 0\nexit', 'EINVAL',
    'program of this type cannot use helper bpf_skb_load_bytes#26', 4);
  rejects('r1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 0\nexit', 'EINVAL', 'cannot call GPL-restricted function from non-GPL compatible program', 3, { gpl: false });
});

test('wrong helper argument kinds', () => {
  const m = mapList(maps());
  rejects('r1 = 0\nr2 = r10\nr2 += -4\ncall 1\nr0 = 0\nexit', 'EACCES', 'R1 type=scalar expected=map_ptr', 3);
  rejects('r1 = map_fd(0) ll\nr2 = 0\ncall 1\nr0 = 0\nexit', 'EACCES', 'R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value', 3, { maps: m });
  rejects('r1 = map_fd(0) ll\ncall 1\nr0 = 0\nexit', 'EACCES', 'R2 !read_ok', 2, { maps: m });
  // a key that runs past the top of the stack
  rejects('r1 = map_fd(0) ll\nr2 = r10\nr2 += -2\ncall 1\nr0 = 0\nexit', 'EACCES', 'invalid indirect access to stack R2 off=-2 size=4', 4, { maps: m });
  // ringbuf_output size unbounded
  rejects(`r1 = map_fd(3) ll
    r2 = r10
    r2 += -8
    r3 = *(u32 *)(r1 + 0)
    r0 = 0
    exit`, 'EACCES', "R1 invalid mem access 'map_ptr'", 4, { maps: m });
});

test('map value out of bounds, fixed and variable offsets', () => {
  const m = mapList(maps());
  const pre = 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\ncall 1\nif r0 == 0 goto out\n';
  rejects(`${pre}r1 = *(u64 *)(r0 + 8)\nout:\nr0 = 0\nexit`, 'EACCES', 'invalid access to map value, value_size=8 off=8 size=8', 8, { maps: m });
  rejects(`${pre}r1 = *(u16 *)(r0 + 0)\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 0\nexit`, 'EACCES',
    'invalid access to map value, value_size=8 off=65535 size=1\nR0 max value is outside of the allowed memory range', 10, { maps: m });
  rejects(`${pre}r1 = *(u32 *)(r0 + 0)\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 0\nexit`, 'EACCES',
    'R0 unbounded memory access, make sure to bounds check any such access', 10, { maps: m });
});

test('NULL map value dereference without a check', () => {
  const m = mapList(maps());
  rejects('r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\ncall 1\nr0 = *(u64 *)(r0 + 0)\nexit',
    'EACCES', "R0 invalid mem access 'map_value_or_null'", 7, { maps: m });
  rejects('r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\ncall 1\nr0 += 8\nr0 = 0\nexit',
    'EACCES', 'R0 pointer arithmetic on map_value_or_null prohibited, null-check it first', 7, { maps: m });
});

test('write into a read-only map value (.rodata); reading it is fine', () => {
  const m = mapList(maps());
  run('r1 = map_value(1)+4 ll\nr0 = *(u32 *)(r1 + 0)\nexit', { maps: m });
  rejects('r1 = map_value(1)+4 ll\nr2 = 7\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit', 'EACCES',
    'write into map forbidden, value_size=16 off=4 size=4', 3, { maps: m });
  rejects('r1 = map_value(1)+16 ll\nr0 = 0\nexit', 'EINVAL', 'invalid access to map value pointer, value_size=16 off=16', 0, { maps: m });
});

test('packet access without a bounds check, and past the checked range', () => {
  rejects('r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nexit', 'EACCES', 'invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)', 1);
  rejects(`r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = r2
    r4 += 14
    if r4 > r3 goto out
    r0 = *(u32 *)(r2 + 12)
  out:
    r0 = 0
    exit`, 'EACCES', 'invalid access to packet, off=12 size=4, R2(id=0,off=0,r=14)', 5);
  // after bpf_xdp_adjust_head the old packet pointers are gone
  rejects(`r6 = r1
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = r2
    r4 += 14
    if r4 > r3 goto out
    r1 = r6
    r7 = r2
    r2 = 4
    call 44
    r0 = *(u8 *)(r7 + 0)
  out:
    r0 = 0
    exit`, 'EACCES', "R7 invalid mem access 'scalar'", 10);
});

test('tail call through a map that is not a prog array: EINVAL', () => {
  const m = mapList(maps());
  rejects('r2 = map_fd(0) ll\nr3 = 0\ncall 12\nr0 = 0\nexit', 'EINVAL', 'cannot pass map_type 2 into func bpf_tail_call#12', 3, { maps: m });
  rejects('r1 = map_fd(2) ll\nr2 = r10\nr2 += -4\ncall 1\nr0 = 0\nexit', 'EINVAL', 'cannot pass map_type 3 into func bpf_map_lookup_elem#1', 4, { maps: m });
  const r = run('r2 = map_fd(2) ll\nr3 = 0\ncall 12\nr0 = 0\nexit', { maps: m });
  assert.equal(r.hasTailCall, true);
});

test('pointer arithmetic the kernel forbids', () => {
  rejects('r1 *= 2\nr0 = 0\nexit', 'EACCES', 'R1 pointer arithmetic with *= operator prohibited', 0);
  rejects('r2 = r10\nr2 += r10\nr0 = 0\nexit', 'EACCES', 'R2 pointer += pointer prohibited', 1);
  rejects('r1 &= 7\nr0 = 0\nexit', 'EACCES', 'R1 bitwise operator &= on pointer prohibited', 0);
  rejects('w1 += 2\nr0 = 0\nexit', 'EACCES', 'R1 32-bit pointer arithmetic prohibited', 0);
  rejects('r2 = 5\nr2 -= r1\nr0 = 0\nexit', 'EACCES', 'R2 tried to subtract pointer from scalar', 1);
  rejects('r2 = *(u32 *)(r1 + 4)\nr2 += 1\nr0 = 0\nexit', 'EACCES', 'R2 pointer arithmetic on pkt_end prohibited', 1);
  // pointer - pointer is a number (privileged)
  run('r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr3 -= r2\nr0 = r3\nexit');
});

test('ringbuf record must be submitted or discarded', () => {
  const m = mapList(maps());
  rejects('r1 = map_fd(3) ll\nr2 = 8\nr3 = 0\ncall 131\nr0 = 0\nexit', 'EINVAL', 'Unreleased reference id=1 alloc_insn=4', 6, { maps: m });
  run(`r1 = map_fd(3) ll
    r2 = 8
    r3 = 0
    call 131
    if r0 == 0 goto out
    r1 = 5
    *(u64 *)(r0 + 0) = r1
    r1 = r0
    r2 = 0
    call 132
  out:
    r0 = 0
    exit`, { maps: m });
});

test('combined stack of a call chain over 512 bytes', () => {
  rejects(`r1 = 0
    *(u64 *)(r10 - 400) = r1
    call local sub
    exit
  sub:
    r1 = 0
    *(u64 *)(r10 - 200) = r1
    r0 = 0
    exit`, 'EACCES', 'combined stack size of 2 calls is 640. Too large');
});

test('frame pointer is read only (validate) and writing r10 in ALU ops', () => {
  rejects('r10 = 0\nr0 = 0\nexit', 'EINVAL', 'frame pointer r10 is read only', 0);
});

// ---------------------------------------------------------------------------------------------------
// rewrites

test('ctx accesses are converted; jumps and local calls across a longer replacement are re-aimed', () => {
  const r = run(`
    r6 = r1
    call local sub
    r2 = *(u32 *)(r6 + 12)
    if r2 == 0 goto zero
    r0 = *(u32 *)(r6 + 16)
    r0 = *(u32 *)(r6 + 4)
  zero:
    r0 = 0
    exit
  sub:
    r0 = *(u32 *)(r1 + 16)
    exit`);
  const x = r.insns;
  // 0 mov, 1 call, 2 ldxw (unchanged: no conversion for +12), 3 jeq, 4-5 converted rx_queue_index,
  // 6 converted data_end, 7 mov, 8 exit, 9-10 converted in sub, 11 exit
  assert.equal(x.length, 12);
  assert.deepEqual(x[1], { ...x[1], code: 0x85, src: 1, imm: 7 }); // target 8 -> 9: 9 - 2
  assert.deepEqual([x[3].code, x[3].off], [0x15, 3]); // target 6 -> 7: 7 - 4
  assert.deepEqual([x[4].code, x[4].off, x[5].code], [0x61, 32, 0x07]);
  assert.deepEqual([x[6].code, x[6].off], [0x79, 8]);
  assert.deepEqual([x[9].code, x[9].off, x[10].code, x[11].code], [0x61, 32, 0x07, 0x95]);
});

test('lddw map references become the map handle and the value address', () => {
  const m = maps();
  const r = run('r1 = map_fd(0) ll\nr2 = map_value(1)+8 ll\nr0 = *(u32 *)(r2 + 0)\nexit', { maps: mapList(m) });
  assert.deepEqual([r.insns[0].src, r.insns[0].imm, r.insns[1].imm], [1, m.array.handle, 0]);
  const addr = m.rodata.valueAddr(0) + 8;
  assert.deepEqual([r.insns[2].src, r.insns[2].imm >>> 0, r.insns[3].imm], [2, addr, 0]);
  assert.deepEqual(r.usedMaps, [m.array, m.rodata]);
});

// ---------------------------------------------------------------------------------------------------
// logs

test('log levels: 0 empty, 1 stats on success, 2 register states per instruction', () => {
  const src = 'r2 = *(u32 *)(r1 + 0)\nr0 = 0\nexit';
  assert.equal(run(src, { logLevel: 0 }).log, '');
  assert.match(run(src, { logLevel: 1 }).log, /^processed 3 insns \(limit 1000000\)/);
  const l2 = run(src, { logLevel: 2 }).log;
  assert.match(l2, /0: R1=ctx\(\) R10=fp0\n/);
  assert.match(l2, /0: \(61\) r2 = \*\(u32 \*\)\(r1 \+ 0x0\)\n0: R1=ctx\(\) R2=pkt\(r=0\) R10=fp0\n/);
  assert.match(l2, /processed 3 insns/);
});

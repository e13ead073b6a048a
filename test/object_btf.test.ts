// BTF and BTF.ext parser tests: a hand-built type section holding every kind (so kinds clang did not emit
// for our objects are covered too), the resolve helpers on it and on real clang output, loops and bad
// references, and random corruption of the real .BTF sections with every helper run on every type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBtf, type Btf } from '../src/object/btf.js';
import { parseBtfExt } from '../src/object/btf_ext.js';
import { parseElf } from '../src/object/elf.js';
import { BpfError } from '../src/errors.js';
import { objectNames, readObject } from './object_util.js';

/** Builds a little-endian .BTF section from raw u32 words per type. */
class BtfBuilder {
  private strs: number[] = [0];
  private words: number[] = [];
  str(s: string): number {
    const off = this.strs.length;
    for (const c of s) this.strs.push(c.charCodeAt(0));
    this.strs.push(0);
    return off;
  }
  type(name: string, kind: number, vlen: number, sizeOrType: number, extra: number[] = [], kflag = false): void {
    this.words.push(name ? this.str(name) : 0, ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...extra);
  }
  build(): Uint8Array {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + this.strs.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, true);
    out[2] = 1;
    dv.setUint32(4, 24, true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, typeLen, true);
    dv.setUint32(16, typeLen, true);
    dv.setUint32(20, this.strs.length, true);
    this.words.forEach((w, i) => dv.setUint32(24 + i * 4, w >>> 0, true));
    out.set(this.strs, 24 + typeLen);
    return out;
  }
}

function allKinds(): Uint8Array {
  const b = new BtfBuilder();
  b.type('int', 1, 0, 4, [(1 << 24) | 32]); // 1: signed int
  b.type('', 2, 0, 1); // 2: int *
  b.type('', 3, 0, 0, [1, 1, 10]); // 3: int[10]
  const a = b.str('a'), c = b.str('c'), bits = b.str('bits');
  b.type('pair', 4, 3, 16, [a, 1, 0, c, 3, 32, bits, 1, (3 << 24) | 96], true); // 4: struct pair {int a; int c[10]@32; int bits:3@96}
  b.type('u', 5, 2, 8, [a, 1, 0, c, 2, 0]); // 5: union u
  const x = b.str('X'), y = b.str('Y');
  b.type('e', 6, 2, 4, [x, -1 >>> 0, y, 7], true); // 6: signed enum e
  b.type('fwd_s', 7, 0, 0); // 7: fwd struct
  b.type('myint', 8, 0, 1); // 8: typedef int myint
  b.type('', 9, 0, 8); // 9: volatile myint
  b.type('', 10, 0, 9); // 10: const volatile myint
  b.type('', 11, 0, 2); // 11: restrict int *
  const p1 = b.str('p');
  b.type('', 13, 1, 1, [p1, 4]); // 12: int (struct pair p)
  b.type('fn', 12, 1, 12); // 13: global func fn
  b.type('v', 14, 0, 10, [1]); // 14: var v (global)
  b.type('.data', 15, 1, 4, [14, 0, 4]); // 15: datasec
  b.type('double', 16, 0, 8); // 16: float
  b.type('tag', 17, 0, 4, [1]); // 17: decl_tag on member 1 of pair
  b.type('user', 18, 0, 2); // 18: type_tag
  const big = b.str('BIG');
  b.type('e64', 19, 1, 8, [big, 0, 0x80000000], false); // 19: unsigned enum64 BIG = 1<<63
  b.type('', 3, 0, 0, [4, 1, 3]); // 20: struct pair[3]
  return b.build();
}

test('BTF: every kind parses with its fields', () => {
  const btf = parseBtf(allKinds());
  assert.deepEqual(btf.types.map((t) => t.kind), [
    'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const', 'restrict',
    'func_proto', 'func', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64', 'array',
  ]);
  const pair = btf.type(4);
  assert.ok(pair.kind === 'struct');
  assert.deepEqual(pair.members.map((m) => [m.name, m.type, m.bitOffset, m.bitfieldSize]), [['a', 1, 0, 0], ['c', 3, 32, 0], ['bits', 1, 96, 3]]);
  const e = btf.type(6);
  assert.ok(e.kind === 'enum' && e.signed);
  assert.deepEqual(e.values, [{ name: 'X', value: -1 }, { name: 'Y', value: 7 }]);
  const e64 = btf.type(19);
  assert.ok(e64.kind === 'enum64');
  assert.equal(e64.values[0].value, 1n << 63n);
  const i = btf.type(1);
  assert.ok(i.kind === 'int' && i.encoding === 1 && i.bits === 32);
  const ds = btf.datasec('.data');
  assert.deepEqual(ds?.vars, [{ type: 14, offset: 0, size: 4 }]);
  const fp = btf.type(12);
  assert.ok(fp.kind === 'func_proto' && fp.returnType === 1 && fp.params[0].name === 'p');
  const tag = btf.type(17);
  assert.ok(tag.kind === 'decl_tag' && tag.componentIdx === 1);
});

test('BTF helpers: resolve skips modifiers, sizeOf, members, describe, errors for sizeless types', () => {
  const btf = parseBtf(allKinds());
  assert.equal(btf.resolve(10).id, 1, 'const volatile typedef -> int');
  assert.equal(btf.resolve(18).kind, 'ptr');
  assert.equal(btf.sizeOf(10), 4);
  assert.equal(btf.sizeOf(3), 40);
  assert.equal(btf.sizeOf(20), 48);
  assert.equal(btf.sizeOf(14), 4, 'var: size of its type');
  assert.equal(btf.sizeOf(11), 8);
  assert.equal(btf.sizeOf(19), 8);
  assert.deepEqual(btf.members(4).map((m) => m.name), ['a', 'c', 'bits']);
  assert.equal(btf.describe(4), 'struct pair');
  assert.equal(btf.describe(7), 'struct fwd_s');
  for (const id of [0, 7, 12, 13]) assert.throws(() => btf.sizeOf(id), (err: unknown) => err instanceof BpfError && err.code === 'EINVAL' && /has no size/.test(err.message));
  assert.throws(() => btf.members(1), /not a struct or union/);
  assert.throws(() => btf.type(99), /type id 99 does not exist/);
});

test('BTF: modifier loops, dangling references and bad headers are EINVAL, big-endian ENOEXEC', () => {
  const b = new BtfBuilder();
  b.type('', 10, 0, 2); // 1: const -> 2
  b.type('', 9, 0, 1); // 2: volatile -> 1: a loop
  const loop = parseBtf(b.build());
  assert.throws(() => loop.resolve(1), /loop or chain/);
  assert.throws(() => loop.sizeOf(2), /more than 32 steps/);

  const d = new BtfBuilder();
  d.type('', 2, 0, 5); // pointer to type 5, which does not exist
  assert.throws(() => parseBtf(d.build()), /type 1 \(ptr\) refers to type 5, but there are 1 types/);

  const good = allKinds();
  const set = (f: (v: DataView, u: Uint8Array) => void): Uint8Array => { const u = good.slice(); f(new DataView(u.buffer), u); return u; };
  const bad: [Uint8Array, RegExp][] = [
    [good.slice(0, 10), /shorter than the 24-byte header/],
    [set((v) => v.setUint32(12, 1 << 20, true)), /type section .* runs past the end/],
    [set((v) => v.setUint32(8, 2, true)), /not 4-byte aligned/],
    [set((_v, u) => { u[2] = 2; }), /unsupported version 2/],
    [set((v) => v.setUint32(24, 0xffff, true)), /name offset 65535 outside/],
    [set((v) => v.setUint32(28, 25 << 24, true)), /type 1 has unknown kind 25/],
    [good.slice(0, good.length - 1), /string section .* runs past the end/],
  ];
  for (const [bytes, re] of bad) assert.throws(() => parseBtf(bytes), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && re.test(e.message), String(re));
  assert.throws(() => parseBtf(set((_v, u) => { u[0] = 0xeb; u[1] = 0x9f; })), (e: unknown) => e instanceof BpfError && e.code === 'ENOEXEC');
});

const sectionOf = (name: string, sec: string): Uint8Array => parseElf(readObject(name)).section(sec)!.data;

test('BTF of clang output: map definition structs, DATASECs, func and line info', () => {
  const btf = parseBtf(sectionOf('xdp_parser', '.BTF'));
  const key = btf.find('flow_key', 'struct')!;
  assert.equal(btf.sizeOf(key.id), 40);
  assert.deepEqual(btf.members(key.id).map((m) => [m.name, m.bitOffset / 8, btf.sizeOf(m.type)]), [
    ['family', 0, 1], ['proto', 1, 1], ['sport', 2, 2], ['dport', 4, 2], ['pad', 6, 2], ['src', 8, 16], ['dst', 24, 16],
  ]);
  assert.deepEqual(btf.datasec('.maps')!.vars.map((v) => btf.type(v.type).name), ['proto_stats', 'flow_table']);
  const ext = parseBtfExt(sectionOf('xdp_parser', '.BTF.ext'), btf);
  assert.deepEqual(ext.funcInfo.get('xdp'), [{ insn: 0, typeId: btf.find('xdp_parser', 'func')!.id }]);
  const lines = ext.lineInfo.get('xdp')!;
  assert.equal(lines[0].insn, 0);
  assert.match(lines[0].source, /ctx->data/);
  assert.ok(lines.every((l) => l.file === './xdp_parser.c' && l.line > 0));
});

function helpersOnAll(btf: Btf): void {
  for (const t of btf.types) {
    for (const f of [() => btf.resolve(t.id), () => btf.sizeOf(t.id), () => btf.describe(t.id), () => btf.members(t.id)]) {
      try { f(); } catch (e) { if (!(e instanceof BpfError)) throw e; }
    }
  }
}

test('random corruption of real .BTF and .BTF.ext sections: parse + every helper, or BpfError', () => {
  let seed = 0x1234567;
  const rand = (): number => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  let parsed = 0, failed = 0;
  for (const name of objectNames()) {
    const btfBytes = sectionOf(name, '.BTF');
    const extBytes = sectionOf(name, '.BTF.ext');
    for (let k = 0; k < 300; k++) {
      const b = btfBytes.slice();
      const e = extBytes.slice();
      const target = k % 2 === 0 ? b : e;
      for (let n = 1 + (rand() % 3); n > 0; n--) {
        const pos = rand() % (k % 4 < 2 ? Math.min(target.length, 256) : target.length);
        target[pos] = rand() % 2 ? target[pos] ^ (1 << (rand() % 8)) : rand() & 0xff;
      }
      try {
        const btf = parseBtf(b);
        helpersOnAll(btf);
        parseBtfExt(e, btf);
        parsed++;
      } catch (err) {
        if (!(err instanceof BpfError)) assert.fail(`${name} mutant ${k}: ${err instanceof Error ? err.stack : err}`);
        failed++;
      }
    }
  }
  assert.ok(parsed > 0 && failed > 0, `parsed ${parsed}, failed ${failed}`);
});

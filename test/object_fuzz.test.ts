// Corrupt input never crashes the object reader: for every committed test object, truncations at many
// lengths and thousands of seeded random bit flips / byte overwrites (aimed mostly at the bytes the reader
// interprets: headers, symbols, relocations, BTF, code) each either parse or throw a BpfError - never
// another exception type - and each finishes quickly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseObject } from '../src/object/index.js';
import { parseElf } from '../src/object/elf.js';
import { BpfError } from '../src/errors.js';
import { objectNames, readObject } from './object_util.js';

/** xorshift32: the same mutations on every run, so a failure reproduces from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

const MAX_MS_PER_PARSE = 500;

interface Outcome { parsed: number; errors: Map<string, number> }

function tryParse(bytes: Uint8Array, what: string, out: Outcome): void {
  const t0 = performance.now();
  try {
    parseObject(bytes, 'fuzz.o');
    out.parsed++;
  } catch (e) {
    if (!(e instanceof BpfError)) assert.fail(`${what}: ${e instanceof Error ? e.stack : String(e)}`);
    out.errors.set(e.code, (out.errors.get(e.code) ?? 0) + 1);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < MAX_MS_PER_PARSE, `${what}: took ${ms.toFixed(0)} ms`);
}

/** Byte ranges the reader interprets (everything but DWARF), to aim most mutations at. */
function interesting(bytes: Uint8Array): [number, number][] {
  const elf = parseElf(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  const ranges: [number, number][] = [[0, 64], [shoff, shoff + elf.sections.length * 64]];
  for (const s of elf.sections) {
    if (s.index === 0 || s.name.startsWith('.debug') || s.name.startsWith('.rel.debug') || s.type === 8 || s.size === 0) continue;
    ranges.push([s.offset, s.offset + s.size]);
  }
  return ranges;
}

for (const name of objectNames()) {
  test(`corrupt ${name}.o: truncations and random mutations give BpfError or a parse, quickly`, () => {
    const orig = readObject(name);
    const out: Outcome = { parsed: 0, errors: new Map() };
    // Truncations: every length in the first 512 bytes and around the section headers, then a stride.
    const lengths = new Set<number>();
    for (let n = 0; n < Math.min(orig.length, 512); n++) lengths.add(n);
    for (let n = 0; n < orig.length; n += Math.max(1, Math.floor(orig.length / 400))) lengths.add(n);
    for (let n = orig.length - 200; n < orig.length; n++) if (n >= 0) lengths.add(n);
    for (const n of lengths) tryParse(orig.slice(0, n), `${name}.o truncated to ${n}`, out);
    const truncErrors = [...out.errors.values()].reduce((a, b) => a + b, 0);
    assert.equal(truncErrors, lengths.size, 'a truncated object must never parse (the section headers are at the end)');

    const ranges = interesting(orig);
    const rand = rng(0x5eed ^ name.length * 7919 ^ orig.length);
    const MUTANTS = 700;
    for (let k = 0; k < MUTANTS; k++) {
      const b = orig.slice();
      const edits = 1 + (rand() % 4);
      const log: string[] = [];
      for (let e = 0; e < edits; e++) {
        // Nine in ten edits land in an interpreted range, the rest anywhere.
        let pos: number;
        if (rand() % 10 !== 0) {
          const [lo, hi] = ranges[rand() % ranges.length];
          pos = lo + (rand() % Math.max(1, hi - lo));
        } else pos = rand() % b.length;
        if (pos >= b.length) continue;
        const kind = rand() % 3;
        if (kind === 0) b[pos] ^= 1 << (rand() % 8);
        else if (kind === 1) b[pos] = rand() & 0xff;
        else b[pos] = [0, 0xff, 0x7f, 0x80][rand() % 4];
        log.push(`${pos}`);
      }
      tryParse(b, `${name}.o mutant ${k} (bytes ${log.join(',')})`, out);
    }
    // The mutations reach deep enough to make the reader both succeed and fail in several ways.
    assert.ok(out.parsed > 0, 'no mutant parsed');
    assert.ok(out.errors.size >= 1 && (out.errors.get('EINVAL') ?? 0) > 0, `errors seen: ${JSON.stringify([...out.errors])}`);
  });
}

test('corrupt structures give EINVAL naming the section and offset', () => {
  const orig = readObject('subprogs');
  const elf = parseElf(orig);
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const expectErr = (b: Uint8Array, code: string, re: RegExp): void => {
    assert.throws(() => parseObject(b), (e: unknown) => {
      assert.ok(e instanceof BpfError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, re);
      return true;
    });
  };
  // A section that runs past the end of the file.
  const shoff = Number(dv(orig).getBigUint64(40, true));
  const text = elf.section('.text')!;
  let b = orig.slice();
  dv(b).setUint32(shoff + text.index * 64 + 32, 0x7fffff, true);
  expectErr(b, 'EINVAL', new RegExp(`section ${text.index} \\(header at byte ${shoff + text.index * 64}\\)`));
  // BTF with a bad magic.
  const btf = elf.section('.BTF')!;
  b = orig.slice();
  b[btf.offset] = 0;
  expectErr(b, 'EINVAL', /corrupt BTF in \.BTF at byte 0: bad magic/);
  // A BTF type referring to a type that does not exist.
  b = orig.slice();
  const typeStart = btf.offset + dv(b).getUint32(btf.offset + 4, true) + dv(b).getUint32(btf.offset + 8, true);
  dv(b).setUint32(typeStart + 8, 0xffffff, true); // first type's size/type field
  assert.throws(() => parseObject(b), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  // A call relocation on an instruction that is not a call: the bpf_loop callback's lddw (third relocation).
  const rel = elf.section('.relxdp')!;
  b = orig.slice();
  dv(b).setUint32(rel.offset + 2 * 16 + 8, 10, true);
  expectErr(b, 'EINVAL', /'calls_loop' insn 5 \(section 'xdp' slot 14\), relocation 2 of '\.relxdp' against '\.text': R_BPF_64_32 on an instruction that is not a bpf-to-bpf call \(opcode 0x18\)/);
  // A call into the middle of a function.
  b = orig.slice();
  const xdp = elf.section('xdp')!;
  dv(b).setInt32(xdp.offset + 4, 0x0e, true); // call .text slot 15, inside sum_squares
  expectErr(b, 'EINVAL', /not the start of a function/);
  // Relocations of store_result's map lddw (.rel.text, slot 4): moved onto its second slot, against the
  // null (undefined) symbol, and with a type code does not use.
  const relText = elf.section('.rel.text')!;
  b = orig.slice();
  dv(b).setBigUint64(relText.offset, 0x28n, true);
  expectErr(b, 'EINVAL', /'store_result' insn 4 .*relocation on the second slot of an lddw/);
  b = orig.slice();
  dv(b).setUint32(relText.offset + 12, 0, true);
  expectErr(b, 'EOPNOTSUPP', /'store_result' insn 4 .*extern symbols .* are not supported/);
  b = orig.slice();
  dv(b).setUint32(relText.offset + 8, 3, true);
  expectErr(b, 'EINVAL', /against 'results': unsupported relocation type 3 in code/);
  // A code section whose size is not a whole number of instructions.
  b = orig.slice();
  dv(b).setUint32(shoff + xdp.index * 64 + 32, xdp.size - 3, true);
  expectErr(b, 'EINVAL', /section 'xdp' is \d+ bytes, not a multiple of 8/);
});

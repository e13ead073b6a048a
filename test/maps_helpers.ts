// Shared helpers for the map tests: a fresh runtime address space + registry, byte builders, errno asserts.
import assert from 'node:assert/strict';
import { AddressSpace } from '../src/vm/memory.js';
import { BpfError } from '../src/errors.js';
import { MapRegistry, createMap, type MapAttr, type BpfMap } from '../src/maps/index.js';

export function runtime(nCpus = 1): { space: AddressSpace; reg: MapRegistry; mk: (a: MapAttr) => BpfMap; scratch: number } {
  const space = new AddressSpace();
  const reg = new MapRegistry(space, { nCpus });
  // A block standing in for a program's stack, where keys and values are staged for program-side calls.
  const scratch = space.alloc(4096);
  return { space, reg, mk: (a) => createMap(space, reg, a), scratch };
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

export function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

export function readU32(b: Uint8Array, off = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

export function readU64(b: Uint8Array, off = 0): number {
  return Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true));
}

export function bytes(...xs: number[]): Uint8Array {
  return Uint8Array.from(xs);
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Assert `fn` throws a BpfError with errno `code` (and optionally a message fragment). */
export function throwsErrno(fn: () => unknown, code: string, fragment?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BpfError, `expected BpfError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (fragment !== undefined) assert.ok(e.message.includes(fragment), `message '${e.message}' lacks '${fragment}'`);
    return true;
  });
}

// The whole instruction-level case corpus (test/cases/**, format in test/case_format.ts) on the JIT engine:
// every case must give the same r0 as the file says, or the same error (message and errno), exactly as on the
// interpreter (test/cases.test.ts gives each case the same environment; it is repeated here so that this file
// does not re-register that file's tests).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BpfError } from '../src/errors.js';
import { assemble } from '../src/isa/asm.js';
import { decode, type Insn } from '../src/isa/insn.js';
import { Vm, type Engine } from '../src/engine/vm.js';
import { PERM_RW } from '../src/vm/memory.js';
import { type TestCase, readCase } from './case_format.js';
import { casesDir } from './cases/gen.js';
import { unwindHelper } from './gen/env.js';

const ROOT = casesDir();

function listCases(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listCases(p));
    else if (name.endsWith('.data')) out.push(p);
  }
  return out;
}

/** Run a case on one engine in the case environment; returns r0 or throws what the runtime threw. */
export function runCaseOn(engine: Engine, tc: TestCase, insns: Insn[]): bigint {
  const vm = new Vm({ budget: tc.options.budget, engine });
  vm.helpers[5] = unwindHelper;
  let r1 = 0n, r2 = 0n;
  if (tc.mem !== undefined && tc.mem.length > 0) {
    vm.space.alloc(64);
    const addr = vm.space.alloc(tc.mem.length);
    vm.space.write(addr, tc.mem);
    vm.space.mapRegion(addr, tc.mem.length, PERM_RW);
    vm.setPacket(addr, tc.mem.length);
    r1 = BigInt(addr);
    r2 = BigInt(tc.mem.length);
  }
  return vm.run(vm.load(insns), r1, r2);
}

const hex = (v: bigint): string => '0x' + v.toString(16);

const files = listCases(ROOT);
test('the corpus is there', () => assert.ok(files.length >= 260, `only ${files.length} cases`));

for (const file of files) {
  const name = relative(ROOT, file);
  test(`jit case ${name}`, () => {
    const tc = readCase(file);
    const insns = tc.asm !== undefined ? assemble(tc.asm) : decode(tc.raw!);
    if (tc.result !== undefined) {
      assert.equal(hex(runCaseOn('jit', tc, insns)), hex(tc.result), `${name}: r0`);
    } else {
      assert.throws(() => runCaseOn('jit', tc, insns), (e: unknown) => {
        assert.ok(e instanceof BpfError, `${name}: expected a BpfError, got ${String(e)}`);
        assert.match(e.message, tc.error!, `${name}: error message`);
        if (tc.errno !== undefined) assert.equal(e.code, tc.errno, `${name}: errno of "${e.message}"`);
        // and the very same error as the interpreter's
        try { runCaseOn('interp', tc, insns); } catch (ie) {
          assert.equal(e.message, (ie as Error).message, `${name}: message differs from the interpreter's`);
          assert.equal(e.insn, (ie as BpfError).insn, `${name}: insn differs from the interpreter's`);
        }
        return true;
      }, `${name}: expected an error matching ${tc.error}`);
    }
  });
}

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
import { type TestCase, listCases, readCase } from './case_format.js';
import { casesDir } from './cases/gen.js';
import { runCaseOn } from './gen/env.js';

const ROOT = casesDir();



const hex = (v: bigint): string => '0x' + v.toString(16);

const files = listCases(ROOT);
test('the corpus is there', () => assert.ok(files.length >= 260, `only ${files.length} cases`));

for (const file of files) {
  const name = relative(ROOT, file);
  test(`jit case ${name}`, () => {
    const tc = readCase(file);
    const insns = tc.asm !== undefined ? assemble(tc.asm) : decode(tc.raw!);
    if (tc.result !== undefined) {
      assert.equal(hex(runCaseOn('jit', insns, tc.mem, tc.options.budget)), hex(tc.result), `${name}: r0`);
    } else {
      assert.throws(() => runCaseOn('jit', insns, tc.mem, tc.options.budget), (e: unknown) => {
        assert.ok(e instanceof BpfError, `${name}: expected a BpfError, got ${String(e)}`);
        assert.match(e.message, tc.error!, `${name}: error message`);
        if (tc.errno !== undefined) assert.equal(e.code, tc.errno, `${name}: errno of "${e.message}"`);
        // and the very same error as the interpreter's
        try { runCaseOn('interp', insns, tc.mem, tc.options.budget); } catch (ie) {
          assert.equal(e.message, (ie as Error).message, `${name}: message differs from the interpreter's`);
          assert.equal(e.insn, (ie as BpfError).insn, `${name}: insn differs from the interpreter's`);
        }
        return true;
      }, `${name}: expected an error matching ${tc.error}`);
    }
  });
}

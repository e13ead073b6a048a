// verify() with the real program types (src/hooks) and helper prototypes (src/helpers/protos.ts) on the
// clang-built test objects: every program of a type tsbpf runs verifies when tsbpf has all its helpers,
// and is refused naming the missing helper otherwise; XDP ctx loads come out converted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseObject } from '../src/object/index.js';
import { verify, VerifierError } from '../src/verifier/verifier.js';
import { progTypeOps } from '../src/hooks/index.js';
import { helperProto } from '../src/helpers/protos.js';
import { helperName, BPF_PROG_TYPE } from '../src/uapi/bpf.js';
import { OP_CALL, OP_LDDW } from '../src/isa/opcodes.js';
import { createSpecMaps, toFdRefs } from './verifier_doubles.js';

const progsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'progs');

for (const file of readdirSync(progsDir).filter((f) => f.endsWith('.o')).sort()) {
  test(`test/progs/${file} with the runtime's program types and helpers`, () => {
    const spec = parseObject(readFileSync(join(progsDir, file)), file);
    const maps = createSpecMaps(spec.maps);
    let checked = 0;
    for (const prog of spec.programs) {
      const ops = progTypeOps(prog.type, prog.expectedAttachType ?? 0);
      if (!ops) continue;
      checked++;
      const missing = new Set<number>();
      for (let i = 0; i < prog.insns.length; i++) {
        const ins = prog.insns[i];
        if (ins.code === OP_CALL && ins.src === 0 && helperProto(ins.imm) === undefined) missing.add(ins.imm);
        if (ins.code === OP_LDDW) i++;
      }
      const input = { insns: toFdRefs(prog.insns), maps, progType: ops, helperProto, gpl: true, logLevel: 1, progFlags: prog.progFlags };
      if (missing.size === 0) {
        try {
          verify(input);
        } catch (e) {
          assert.fail(`${prog.name}: ${(e as Error).message}\n${(e as VerifierError).log ?? ''}`);
        }
      } else {
        assert.throws(() => verify(input), (e: unknown) => e instanceof VerifierError && e.code === 'EINVAL' &&
          [...missing].some((id) => e.message.includes(`unknown func ${helperName(id)}`)));
      }
    }
    if (file !== 'sections.o') assert.ok(checked > 0, 'no program of a supported type');
  });
}

test('xdp_parser: xdp_md->data / data_end loads are converted to loads from the runtime xdp_buff', () => {
  const spec = parseObject(readFileSync(join(progsDir, 'xdp_parser.o')), 'xdp_parser.o');
  const prog = spec.programs.find((p) => p.name === 'xdp_parser')!;
  assert.equal(prog.type, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP);
  const ops = progTypeOps(prog.type)!;
  const r = verify({ insns: toFdRefs(prog.insns), maps: createSpecMaps(spec.maps), progType: ops, helperProto, gpl: true, logLevel: 0, progFlags: 0 });
  // clang: r7 = *(u32 *)(r1 + 4) (data_end); r6 = *(u32 *)(r1 + 0) (data)
  assert.deepEqual([prog.insns[0].code, prog.insns[1].code], [0x61, 0x61]);
  const expected0 = ops.convertCtxAccess(prog.insns[0]) ?? [prog.insns[0]];
  assert.deepEqual(r.insns.slice(0, expected0.length), expected0);
  assert.notDeepEqual(r.insns[0], prog.insns[0]);
});

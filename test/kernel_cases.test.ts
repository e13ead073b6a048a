// The instruction-level case corpus (test/cases/**/*.data) run in the real Linux kernel, as the oracle for
// tsbpf's expected values. Every case that expects a result and needs nothing the kernel cannot give an XDP
// program (no `-- mem`, no helper call, no `-- options` budget) is written into an ELF object by
// src/kernel/elf_writer.ts - twice: the kernel's XDP retval is 32 bits, so variant `l` returns r0 as it is (low
// half) and variant `h` turns every exit of the main function into a jump to an `r0 >>= 32; exit` tail (high
// half). Both start by setting up the case environment (the kernel would give r1 = ctx): without memory
// r1 = r2 = 0; a case's `-- mem` bytes are stored on the main function's stack, below the deepest slot the
// program itself addresses through r10, and r1 = their address, r2 = their length (the kernel checks every
// access against that stack; cases using LD_ABS/LD_IND, which XDP programs cannot, are left out).
// Objects hold many programs and load with one `bpftool prog loadall`; the runs go through one `bpftool batch`.
//
// The kernel's verifier refuses some cases (constant division by zero, unreachable code, uninitialised
// registers, ...). Those are listed in KERNEL_REFUSED below with the verifier's reason: tools/feature-matrix.ts
// counts every selected case not in that list as run in the kernel, so a refusal that is not listed fails here.
// A kernel value that differs from a case's expected value fails, naming both.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { assemble } from '../src/isa/asm.js';
import { decode, encode, insn, type Insn } from '../src/isa/insn.js';
import {
  BPF_ABS, BPF_ADD, BPF_ALU64, BPF_B, BPF_IND, BPF_K, BPF_LD, BPF_LDX, BPF_MEM, BPF_MOV, BPF_PSEUDO_CALL, BPF_RSH, BPF_ST, BPF_STX,
  BPF_W, BPF_X, OP_CALL, OP_CALLX, OP_EXIT, OP_JA, OP_LDDW, classOf, modeOf,
} from '../src/isa/opcodes.js';
import { BpfError } from '../src/errors.js';
import { bpftool, cleanup, kernelAvailable, loadObject, unloadObject, type KernelObject } from '../src/kernel/index.js';
import { functionStarts, writeBpfObject } from '../src/kernel/elf_writer.js';
import { parseObject } from '../src/object/index.js';
import { readCase, type TestCase } from './case_format.js';
import { casesDir } from './cases/gen.js';

after(() => cleanup());

/**
 * Cases the kernel's verifier refuses, with the reason it gives (digits in the reason stand for any number), and
 * cases whose memory finds no room on the stack (memBase's reason).
 * tools/feature-matrix.ts reads this list: keep one case per line, as `'family/name.data': 'reason',`.
 */
// BEGIN KERNEL_REFUSED
export const KERNEL_REFUSED: Record<string, string> = {
  'alu-edge/mod64-by-zero-imm.data': 'div by zero',
  'alu-edge/smod32-by-zero-imm-clears-upper.data': 'div by zero',
  'call/callee-r10-differs.data': 'cannot return stack pointer to the caller',
  'call/deep-frames-stack-use.data': 'combined stack size of 2 calls is 1024. Too large',
  'call/recursion-8-frames.data': 'the call stack of 8 frames is too deep !',
  'call/whole-frame-isolated.data': 'R1 subtraction from stack pointer prohibited',
  'gen-alu/arsh-imm-2.data': 'invalid shift 32',
  'gen-alu/arsh-imm-3.data': 'invalid shift 63',
  'gen-alu/arsh-imm-4.data': 'invalid shift 64',
  'gen-alu/arsh-imm-6.data': 'invalid shift 65',
  'gen-alu/arsh-imm-7.data': 'invalid shift -1',
  'gen-alu/div-imm-0.data': 'div by zero',
  'gen-alu/lsh-imm-2.data': 'invalid shift 32',
  'gen-alu/lsh-imm-3.data': 'invalid shift 63',
  'gen-alu/lsh-imm-4.data': 'invalid shift 64',
  'gen-alu/lsh-imm-5.data': 'invalid shift 33',
  'gen-alu/lsh-imm-6.data': 'invalid shift 2147483647',
  'gen-alu/lsh-imm-7.data': 'invalid shift -1',
  'gen-alu/mod-imm-0.data': 'div by zero',
  'gen-alu/rsh-imm-2.data': 'invalid shift 32',
  'gen-alu/rsh-imm-3.data': 'invalid shift 63',
  'gen-alu/rsh-imm-4.data': 'invalid shift 64',
  'gen-alu/rsh-imm-5.data': 'invalid shift 33',
  'gen-alu/rsh-imm-6.data': 'invalid shift 2147483647',
  'gen-alu/rsh-imm-7.data': 'invalid shift -1',
  'gen-alu/sdiv-imm-4.data': 'div by zero',
  'gen-alu/smod-imm-4.data': 'div by zero',
  'gen-alu64/arsh-imm-4.data': 'invalid shift 64',
  'gen-alu64/arsh-imm-6.data': 'invalid shift 65',
  'gen-alu64/arsh-imm-7.data': 'invalid shift -1',
  'gen-alu64/div-imm-0.data': 'div by zero',
  'gen-alu64/lsh-imm-4.data': 'invalid shift 64',
  'gen-alu64/lsh-imm-6.data': 'invalid shift 2147483647',
  'gen-alu64/lsh-imm-7.data': 'invalid shift -1',
  'gen-alu64/mod-imm-0.data': 'div by zero',
  'gen-alu64/rsh-imm-4.data': 'invalid shift 64',
  'gen-alu64/rsh-imm-6.data': 'invalid shift 2147483647',
  'gen-alu64/rsh-imm-7.data': 'invalid shift -1',
  'gen-alu64/sdiv-imm-4.data': 'div by zero',
  'gen-alu64/smod-imm-4.data': 'div by zero',
  'jump/goto-llvm.data': 'unreachable insn 4',
  'jump/gotol-forward.data': 'unreachable insn 4',
  'jump/ja-forward.data': 'unreachable insn 4',
  'jump/ja32-forward-mnemonic.data': 'unreachable insn 4',
  'jump/jump-to-final-exit.data': 'unreachable insn 4',
  'lddw/jump-over.data': 'unreachable insn 4',
  'mem/checksum-loop.data': 'invalid read from stack R1 off=0 size=1',
  'mem/ldxh-unaligned.data': 'misaligned stack access off 0+-16+1 size 2',
  'stack/every-size.data': 'misaligned stack access off 0+0+-7 size 2',
  'stack/whole-frame.data': 'R1 subtraction from stack pointer prohibited',
};
// END KERNEL_REFUSED

/** Fewer kernel-run cases than this means the method broke, not the corpus. */
const MIN_RUN = 300;

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

/**
 * Whether a case can run as an XDP program: it expects a result, has no instruction budget, calls no helper
 * (bpf-to-bpf calls are fine) and uses no LD_ABS/LD_IND. tools/feature-matrix.ts applies the same rule
 * (kernelCaseSelected).
 */
export function kernelCaseSelected(tc: TestCase, insns: readonly Insn[]): boolean {
  if (tc.result === undefined || tc.options.budget !== undefined) return false;
  for (let i = 0; i < insns.length; i++) {
    if (insns[i].code === OP_CALLX || (insns[i].code === OP_CALL && insns[i].src !== BPF_PSEUDO_CALL)) return false;
    if (classOf(insns[i].code) === BPF_LD && (modeOf(insns[i].code) === BPF_ABS || modeOf(insns[i].code) === BPF_IND)) return false;
    if (insns[i].code === OP_LDDW) i++;
  }
  return true;
}

const movImm = (dst: number, imm: number): Insn => insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
const STACK = 512;

/** Deepest byte below r10 that the main function addresses directly (`r10 + off` loads, stores, atomics). */
function mainStackDepth(insns: readonly Insn[], mainEnd: number): number {
  let depth = 0;
  for (let i = 0; i < mainEnd; i++) {
    const ins = insns[i];
    const cls = classOf(ins.code);
    const base = cls === BPF_LDX ? ins.src : cls === BPF_ST || cls === BPF_STX ? ins.dst : -1;
    if (base === 10 && ins.off < 0) depth = Math.max(depth, -ins.off);
    if (ins.code === OP_LDDW) i++;
  }
  return depth;
}

/** Where a case's memory goes below r10, or a BpfError when the main frame has no room for it. */
export function memBase(insns: readonly Insn[], mem: Uint8Array): number {
  const starts = functionStarts(insns);
  const depth = mainStackDepth(insns, starts.length > 1 ? starts[1] : insns.length);
  const base = ((depth + 7) & ~7) + ((mem.length + 7) & ~7);
  if (base > STACK) throw new BpfError('E2BIG', `no room on the stack for ${mem.length} bytes of memory below the program's own ${depth}`);
  return base;
}

/** Set r1/r2 as the case environment does: memory stored at r10 - base, or r1 = r2 = 0 without memory. */
function environment(insns: readonly Insn[], mem: Uint8Array | undefined): Insn[] {
  if (mem === undefined || mem.length === 0) return [movImm(1, 0), movImm(2, 0)];
  const base = memBase(insns, mem);
  const out: Insn[] = [];
  let k = 0;
  for (; k + 4 <= mem.length; k += 4) {
    const w = mem[k] | (mem[k + 1] << 8) | (mem[k + 2] << 16) | (mem[k + 3] << 24);
    out.push(insn(BPF_ST | BPF_MEM | BPF_W, 10, 0, k - base, w));
  }
  for (; k < mem.length; k++) out.push(insn(BPF_ST | BPF_MEM | BPF_B, 10, 0, k - base, mem[k]));
  out.push(insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10), insn(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -base), movImm(2, mem.length));
  return out;
}

/**
 * The kernel variant of a case program: the case environment first (see environment()); for the high half,
 * every exit of the main function jumps to a tail `r0 >>= 32; exit` placed right after the main function
 * (subprogram exits stay).
 */
export function kernelVariant(insns: readonly Insn[], half: 'lo' | 'hi', mem?: Uint8Array): Insn[] {
  const prologue = environment(insns, mem);
  if (half === 'lo') return [...prologue, ...insns];
  const starts = functionStarts(insns);
  const mainEnd = starts.length > 1 ? starts[1] : insns.length;
  const main: Insn[] = [];
  for (let i = 0; i < mainEnd; i++) {
    const ins = insns[i];
    if (ins.code === OP_EXIT) main.push(insn(OP_JA, 0, 0, mainEnd - i - 1, 0));
    else if (ins.code === OP_CALL && ins.src === BPF_PSEUDO_CALL) main.push({ ...ins, imm: ins.imm + 2 }); // over the tail
    else main.push(ins);
    if (ins.code === OP_LDDW && i + 1 < mainEnd) main.push(insns[++i]);
  }
  const tail = [insn(BPF_ALU64 | BPF_RSH | BPF_K, 0, 0, 0, 32), insn(OP_EXIT)];
  return [...prologue, ...main, ...tail, ...insns.slice(mainEnd)];
}

interface Selected { rel: string; tc: TestCase; lo: Insn[]; hi: Insn[] }

/** The verifier's reason in a failed load's output: the last line of its log before "processed ...". */
function refusalReason(stderr: string): string {
  const log = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(stderr);
  if (log !== null) {
    const lines = log[1].split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^processed \d+ insns/.test(l) && !/^verification time/.test(l) && !/^stack depth/.test(l));
    if (lines.length > 0) return lines[lines.length - 1];
  }
  const err = stderr.split('\n').filter((l) => /libbpf: |Error: /.test(l));
  return err.length > 0 ? err[0].replace(/^libbpf: /, '') : 'load failed';
}

/** Digits stand for any number when reasons are grouped and checked against KERNEL_REFUSED. */
const shape = (reason: string): string => reason.replace(/\d+/g, 'N');

let scratch: string | undefined;
function objectFile(cases: Selected[], ids: Map<Selected, number>): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'tsbpf-kcases-'));
  const programs = cases.flatMap((s) => [
    { name: `c${ids.get(s)}l`, section: 'xdp', insns: s.lo },
    { name: `c${ids.get(s)}h`, section: 'xdp', insns: s.hi },
  ]);
  const path = join(scratch, `cases-${ids.get(cases[0])}-${cases.length}.o`);
  writeFileSync(path, writeBpfObject({ programs }));
  return path;
}

/**
 * Load `cases` (both variants each) in as few objects as possible. libbpf stops at the first program the
 * kernel refuses and names it: that case is set aside with its reason and the rest is loaded again.
 */
function loadAll(cases: Selected[], ids: Map<Selected, number>, byId: Map<number, Selected>, refused: Map<Selected, string>, loaded: KernelObject[]): void {
  let rest = cases;
  while (rest.length > 0) {
    const path = objectFile(rest, ids);
    try {
      loaded.push(loadObject(path));
      return;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      const stderr = (e as BpfError & { stderr?: string }).stderr ?? e.message;
      const m = /prog 'c(\d+)[lh]': (?:BPF program load failed|failed to load)/.exec(stderr);
      const bad = m !== null ? byId.get(Number(m[1])) : undefined;
      if (bad !== undefined && rest.includes(bad)) {
        refused.set(bad, refusalReason(stderr));
        rest = rest.filter((s) => s !== bad);
      } else if (rest.length === 1) {
        refused.set(rest[0], refusalReason(stderr));
        return;
      } else {
        // libbpf failed before naming a program: halve until the culprit stands alone.
        const half = rest.length >> 1;
        loadAll(rest.slice(0, half), ids, byId, refused, loaded);
        loadAll(rest.slice(half), ids, byId, refused, loaded);
        return;
      }
    } finally {
      rmSync(path, { force: true });
    }
  }
}

test('elf_writer: programs with bpf-to-bpf calls round-trip through parseObject and keep their instructions', () => {
  const plain = assemble('r0 = 7\nexit');
  const withCalls = assemble('r1 = 5\ncall local +2\nr0 += 1\nexit\nr0 = r1\ncall local +1\nexit\nr0 = r1\nr0 *= 3\nexit');
  const wide = assemble('r0 = 0x1122334455667788 ll\nexit');
  const bytes = writeBpfObject({ programs: [{ name: 'p_plain', section: 'xdp', insns: plain }, { name: 'p_calls', section: 'xdp', insns: withCalls }, { name: 'p_wide', section: 'tc', insns: wide }] });
  const spec = parseObject(bytes, 'written.o');
  assert.equal(spec.license, 'GPL');
  assert.deepEqual(spec.programs.map((p) => [p.name, p.section]), [['p_plain', 'xdp'], ['p_calls', 'xdp'], ['p_wide', 'tc']]);
  assert.deepEqual(encode(spec.programs[0].insns), encode(plain));
  assert.deepEqual(encode(spec.programs[1].insns), encode(withCalls));
  assert.deepEqual(spec.programs[1].functions.map((f) => f.insn), [0, 4, 7]);
  assert.deepEqual(encode(spec.programs[2].insns), encode(wide));
  assert.throws(() => writeBpfObject({ programs: [{ name: 'x', section: 'xdp', insns: assemble('call local -1\nexit') }] }), /call to the main function/);
  assert.throws(() => writeBpfObject({ programs: [{ name: 'a', section: 'xdp', insns: plain }, { name: 'a', section: 'xdp', insns: plain }] }), /two programs are named 'a'/);
});

test('kernelVariant: the high-half variant routes main exits through r0 >>= 32 and keeps calls on target', () => {
  const prog = assemble('r0 = 1\nif r0 == 1 goto +1\nexit\ncall local +1\nexit\nr0 = 9\nexit');
  const hi = kernelVariant(prog, 'hi');
  // prologue (2) + main (5) + tail (2) + subprogram (2)
  assert.equal(hi.length, 11);
  assert.deepEqual([hi[4].code, hi[4].off], [OP_JA, 2]); // exit at main slot 2 jumps to the tail at main slot 5
  assert.deepEqual([hi[6].code, hi[6].off], [OP_JA, 0]);
  assert.equal(hi[5].imm, 3); // call now skips the tail: lands on the subprogram at slot 9
  assert.deepEqual([hi[7].code, hi[7].imm, hi[8].code], [BPF_ALU64 | BPF_RSH | BPF_K, 32, OP_EXIT]);
  assert.deepEqual(encode(kernelVariant(prog, 'lo').slice(2)), encode(prog));
});

test('the case corpus in the Linux kernel: every case it runs returns the expected r0', (t) => {
  const k = kernelAvailable();
  if (!k.ok) {
    t.skip(`kernel not reachable: ${k.why}`);
    return;
  }
  const t0 = Date.now();
  const selected: Selected[] = [];
  const notExpressible: string[] = [];
  const tooBig = new Map<Selected, string>();
  for (const file of listCases(ROOT)) {
    const rel = relative(ROOT, file);
    const tc = readCase(file);
    const insns = tc.asm !== undefined ? assemble(tc.asm) : decode(tc.raw!);
    if (!kernelCaseSelected(tc, insns)) continue;
    try {
      functionStarts(insns);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      notExpressible.push(`${rel}: ${e.message}`);
      continue;
    }
    const s: Selected = { rel, tc, lo: [], hi: [] };
    try {
      s.lo = kernelVariant(insns, 'lo', tc.mem);
      s.hi = kernelVariant(insns, 'hi', tc.mem);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      tooBig.set(s, e.message);
      continue;
    }
    selected.push(s);
  }
  const ids = new Map(selected.map((s, i) => [s, i]));
  const byId = new Map(selected.map((s, i) => [i, s]));

  const refused = new Map<Selected, string>(tooBig);
  const loaded: KernelObject[] = [];
  const BATCH = 100;
  for (let i = 0; i < selected.length; i += BATCH) loadAll(selected.slice(i, i + BATCH), ids, byId, refused, loaded);

  // One bpftool process runs every loaded program on the same 64-byte frame.
  const frame = join(scratch!, 'frame');
  writeFileSync(frame, new Uint8Array(64));
  const runs: Array<{ s: Selected; lo: string; hi: string }> = [];
  for (const o of loaded) {
    for (const name of o.progs.keys()) {
      if (!name.endsWith('l')) continue;
      const s = byId.get(Number(name.slice(1, -1)))!;
      runs.push({ s, lo: o.prog(name), hi: o.prog(name.replace(/l$/, 'h')) });
    }
  }
  const lines = runs.flatMap((r) => [r.lo, r.hi].map((p) => `prog run pinned ${p} data_in ${frame} repeat 1`));
  const batchFile = join(scratch!, 'runs');
  writeFileSync(batchFile, lines.join('\n') + '\n');
  const out = bpftool(['batch', 'file', batchFile], { json: true }) as Array<{ output: { retval?: number; error?: string } }>;
  assert.equal(out.length, lines.length, 'bpftool batch ran every program');
  for (const o of loaded) unloadObject(o);

  const disagree: string[] = [];
  runs.forEach((r, k) => {
    const [lo, hi] = [out[2 * k].output, out[2 * k + 1].output];
    if (typeof lo.retval !== 'number' || typeof hi.retval !== 'number') {
      disagree.push(`${r.s.rel}: the kernel did not run it: ${lo.error ?? hi.error}`);
      return;
    }
    const got = (BigInt(hi.retval >>> 0) << 32n) | BigInt(lo.retval >>> 0);
    if (got !== r.s.tc.result) disagree.push(`${r.s.rel}: kernel r0 = 0x${got.toString(16)}, case expects 0x${r.s.tc.result!.toString(16)}`);
  });

  // Summary: refusals grouped by the verifier's reason.
  const groups = new Map<string, string[]>();
  for (const [s, why] of refused) groups.set(shape(why), [...(groups.get(shape(why)) ?? []), s.rel]);
  const summary = [
    `${selected.length + tooBig.size + notExpressible.length} cases selected, ${runs.length} ran in the kernel, ${refused.size} refused, ${notExpressible.length} not expressible as an object, ${disagree.length} disagree (${Date.now() - t0} ms)`,
    ...[...groups].sort((a, b) => b[1].length - a[1].length).map(([why, l]) => `  kernel refuses (${l.length}): ${why}: ${l.join(', ')}`),
    ...notExpressible.map((n) => `  not expressible: ${n}`),
  ];
  for (const l of summary) t.diagnostic(l);

  assert.deepEqual(disagree, [], 'kernel and case disagree');
  const unlisted = [...refused].filter(([s, why]) => KERNEL_REFUSED[s.rel] === undefined || shape(KERNEL_REFUSED[s.rel]) !== shape(why))
    .map(([s, why]) => `'${s.rel}': '${why.replace(/'/g, "\\'")}',`);
  assert.deepEqual(unlisted, [], 'the kernel refuses cases KERNEL_REFUSED does not list (with that reason): add them');
  assert.deepEqual(notExpressible, [], 'selected cases that cannot be written as an object');
  const stale = Object.keys(KERNEL_REFUSED).filter((rel) => ![...refused.keys()].some((s) => s.rel === rel));
  assert.deepEqual(stale, [], 'KERNEL_REFUSED lists cases the kernel now runs (or that are no longer selected): remove them');
  // The high-half variant matters: many cases that ran expect bits above 32.
  const wide = runs.filter((r) => r.s.tc.result! >> 32n !== 0n).length;
  assert.ok(wide >= 50, `only ${wide} kernel-run cases have a non-zero high half`);
  assert.ok(runs.length >= MIN_RUN, `only ${runs.length} cases ran in the kernel (want >= ${MIN_RUN})`);
});

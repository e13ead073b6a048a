// Generator of docs/features.md: the feature matrix (rows = features, columns = Interpreter | JIT | Kernel),
// every ✓ naming the test that proves it. Two kinds of rows:
//  - computed: every RFC 9669 instruction variant. The generator assembles every case file under test/cases
//    and records which cases use each variant (Interpreter: test/cases.test.ts runs them all; JIT:
//    test/jit_cases.test.ts runs them on the JIT, minus any case it skips). The Kernel column disassembles the
//    clang objects that kernel-facing tests run in Linux (KERNEL_RUNS below) and cites those tests. Helpers,
//    map types and program types used by those objects get their Kernel cell the same way.
//  - curated: the rest is data in this file (feature, and per column a test file and a title substring).
//    Every citation is verified - the file exists and contains the title text - so the doc cannot cite a test
//    that does not exist; a failed check makes the generator (and test/docs.test.ts) fail, naming it.
// Implementation facts that the code can tell (which map types createMap refuses, which program types have
// hooks, which helpers the table holds) are read from the code, and curated rows that contradict them fail.
//
// Usage (after `npx tsc -p .`): node dist/tools/feature-matrix.js [--write | --check]
//   (no flag: print the document; --write: write docs/features.md; --check: exit 1 when it is stale)

import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../src/isa/asm.js';
import { decode, insnError, type Insn } from '../src/isa/insn.js';
import {
  BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_CMPXCHG, BPF_DIV, BPF_END, BPF_FETCH, BPF_IND, BPF_JMP, BPF_JMP32, BPF_LD, BPF_MOD, BPF_MOV,
  BPF_NEG, BPF_PSEUDO_CALL, BPF_X, BPF_XCHG, OP_CALL, OP_CALLX, OP_LDDW, classOf, modeOf, opOf, srcBitOf,
} from '../src/isa/opcodes.js';
import { parseObject, type ObjectSpec } from '../src/object/index.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, HELPER_NAMES, mapTypeName, progTypeName } from '../src/uapi/bpf.js';
import { implementedHelperIds } from '../src/helpers/table.js';
import { progTypeOps } from '../src/hooks/index.js';
import { createMap, MapRegistry } from '../src/maps/index.js';
import { AddressSpace } from '../src/vm/memory.js';
import { BpfError } from '../src/errors.js';
import { readCase } from '../test/case_format.js';

/** Repository root, from dist/tools/ (compiled) or tools/ (source). */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));
export const DOC_PATH = 'docs/features.md';
export const REGEN = 'npx tsc -p . && node dist/tools/feature-matrix.js --write';

// ------------------------------------------------------------------------------------------------ citations

/** A test that proves a cell: a test file and a substring of the test's title (checked against the file). */
export interface Cite { file: string; title: string }
/** A cell: ✓ with its proof, or an honest word on why there is none. */
type Cell = Cite | { no: 'not yet' | 'not applicable'; why: string; cite?: Cite };

const c = (file: string, title: string): Cite => ({ file: `test/${file}`, title });
const notYet = (why: string, cite?: Cite): Cell => ({ no: 'not yet', why, cite });
const na = (why: string, cite?: Cite): Cell => ({ no: 'not applicable', why, cite });
const isCite = (x: Cell): x is Cite => 'file' in x;

const fileCache = new Map<string, string | null>();
function fileText(rel: string): string | null {
  if (!fileCache.has(rel)) {
    const p = join(ROOT, rel);
    // Titles are compared with the source text, where a quote in a title may be written \'.
    fileCache.set(rel, existsSync(p) ? readFileSync(p, 'utf8').replace(/\\'/g, "'") : null);
  }
  return fileCache.get(rel)!;
}

/** What is wrong with a citation, or null. `column` adds the column's own condition on the file. */
export function citeProblem(cite: Cite, column?: 'jit' | 'kernel'): string | null {
  const text = fileText(cite.file);
  if (text === null) return `${cite.file} does not exist`;
  if (!text.includes(cite.title)) return `${cite.file} has no test titled "...${cite.title}..."`;
  if (column === 'jit' && !/'jit'|engine: *'jit'|\bJit\b/.test(text)) return `${cite.file} is cited for the JIT but never selects the JIT`;
  if (column === 'kernel' && !text.includes('/src/kernel/') && !text.includes("'bpftool'")) return `${cite.file} is cited for the kernel but reaches it neither through src/kernel nor bpftool`;
  return null;
}

// ------------------------------------------------------------------------------------------------ instructions

/** One instruction variant: a row of the instruction table. */
interface Variant { key: string; name: string; encoding: string }

const hex2 = (n: number): string => '0x' + (n & 0xff).toString(16).padStart(2, '0');

/** The key of a valid instruction slot: opcode byte plus the field that selects a variant, if any. */
export function variantKey(ins: Insn): string {
  const code = ins.code;
  const cls = classOf(code);
  const op = opOf(code);
  if (cls === BPF_ALU || cls === BPF_ALU64) {
    if ((op === BPF_DIV || op === BPF_MOD) && ins.off === 1) return `${hex2(code)}/s`;
    if (op === BPF_MOV && srcBitOf(code) === BPF_X && ins.off !== 0) return `${hex2(code)}/sx${ins.off}`;
    if (op === BPF_END) return `${hex2(code)}/${ins.imm}`;
    return hex2(code);
  }
  if (code === OP_CALL || code === OP_LDDW) return `${hex2(code)}/src${ins.src}`;
  if (cls === 0x03 && modeOf(code) === BPF_ATOMIC) return `${hex2(code)}/${hex2(ins.imm)}`;
  return hex2(code);
}

const ALU_OPS: Array<[number, string, string]> = [
  [0x00, 'add', '+='], [0x10, 'sub', '-='], [0x20, 'mul', '*='], [0x30, 'div', '/='], [0x40, 'or', '|='],
  [0x50, 'and', '&='], [0x60, 'lsh', '<<='], [0x70, 'rsh', '>>='], [0x90, 'mod', '%='], [0xa0, 'xor', '^='],
  [0xb0, 'mov', '='], [0xc0, 'arsh', 's>>='],
];
const JMP_CONDS: Array<[number, string]> = [
  [0x10, 'jeq'], [0x20, 'jgt'], [0x30, 'jge'], [0x40, 'jset'], [0x50, 'jne'], [0x60, 'jsgt'], [0x70, 'jsge'],
  [0xa0, 'jlt'], [0xb0, 'jle'], [0xc0, 'jslt'], [0xd0, 'jsle'],
];
const SIZES: Array<[number, string]> = [[0x00, 'w'], [0x08, 'h'], [0x10, 'b'], [0x18, 'dw']];
const ATOMICS: Array<[number, string]> = [
  [0x00, 'add'], [0x40, 'or'], [0x50, 'and'], [0xa0, 'xor'], [0x01, 'fetch add'], [0x41, 'fetch or'],
  [0x51, 'fetch and'], [0xa1, 'fetch xor'], [BPF_XCHG, 'xchg'], [BPF_CMPXCHG, 'cmpxchg'],
];
const LDDW_KINDS = ['imm64', 'map_fd', 'map_value', 'btf_id', 'func', 'map_idx', 'map_idx_value'];

/** Every valid variant of RFC 9669 (cpu v1-v4, atomics, legacy packet loads), in table order. */
export function allVariants(): Array<Variant & { group: string }> {
  const out: Array<Variant & { group: string }> = [];
  const add = (group: string, key: string, name: string, encoding: string) => out.push({ group, key, name, encoding });
  for (const [cls, cn, w] of [[BPF_ALU64, 'alu64', ''], [BPF_ALU, 'alu', '32']] as const) {
    const group = cls === BPF_ALU64 ? 'ALU64' : 'ALU (32-bit)';
    for (const [op, name] of ALU_OPS) {
      for (const x of [0, BPF_X]) {
        const code = cls | op | x;
        add(group, hex2(code), `${name}${w} ${x ? 'reg' : 'imm'}`, `${hex2(code)}`);
        if (op === BPF_DIV || op === BPF_MOD) add(group, `${hex2(code)}/s`, `s${name}${w} ${x ? 'reg' : 'imm'}`, `${hex2(code)} off=1`);
        if (op === BPF_MOV && x) {
          for (const bits of cls === BPF_ALU64 ? [8, 16, 32] : [8, 16]) add(group, `${hex2(code)}/sx${bits}`, `movsx${w} reg (from s${bits})`, `${hex2(code)} off=${bits}`);
        }
      }
    }
    add(group, hex2(cls | BPF_NEG), `neg${w}`, hex2(cls | BPF_NEG));
    void cn;
  }
  for (const [code, name] of [[0xd4, 'le'], [0xdc, 'be'], [0xd7, 'bswap']] as const) {
    for (const width of [16, 32, 64]) add('Byte swaps', `${hex2(code)}/${width}`, `${name}${width}`, `${hex2(code)} imm=${width}`);
  }
  for (const [cls, w] of [[BPF_JMP, ''], [BPF_JMP32, '32']] as const) {
    const group = cls === BPF_JMP ? 'JMP' : 'JMP32';
    if (cls === BPF_JMP) add(group, '0x05', 'ja (off)', '0x05');
    else add(group, '0x06', 'gotol / ja32 (imm)', '0x06');
    for (const [op, name] of JMP_CONDS) {
      for (const x of [0, BPF_X]) add(group, hex2(cls | op | x), `${name}${w} ${x ? 'reg' : 'imm'}`, hex2(cls | op | x));
    }
    if (cls === BPF_JMP) {
      add(group, '0x85/src0', 'call helper', '0x85 src=0');
      add(group, '0x85/src1', 'call local (bpf-to-bpf)', '0x85 src=1');
      add(group, '0x85/src2', 'call kfunc', '0x85 src=2');
      add(group, '0x8d', 'callx (register)', '0x8d');
      add(group, '0x95', 'exit', '0x95');
    }
  }
  LDDW_KINDS.forEach((k, src) => add('Loads and stores', `0x18/src${src}`, `lddw ${k}`, `0x18 src=${src}`));
  for (const [mode, mname] of [[0x20, 'ldabs'], [0x40, 'ldind']] as const) {
    for (const [sz, s] of SIZES.slice(0, 3)) add('Loads and stores', hex2(mode | sz), `${mname}${s} (legacy packet load)`, hex2(mode | sz));
  }
  for (const [sz, s] of SIZES) add('Loads and stores', hex2(0x61 | sz), `ldx${s}`, hex2(0x61 | sz));
  for (const [sz, s] of SIZES.slice(0, 3)) add('Loads and stores', hex2(0x81 | sz), `ldx${s}sx (sign-extending)`, hex2(0x81 | sz));
  for (const [sz, s] of SIZES) add('Loads and stores', hex2(0x62 | sz), `st${s} (imm)`, hex2(0x62 | sz));
  for (const [sz, s] of SIZES) add('Loads and stores', hex2(0x63 | sz), `stx${s} (reg)`, hex2(0x63 | sz));
  for (const [code, w] of [[0xdb, '64'], [0xc3, '32']] as const) {
    for (const [imm, name] of ATOMICS) add('Atomics', `${hex2(code)}/${hex2(imm)}`, `lock ${name}${w === '32' ? '32' : ''}`, `${hex2(code)} imm=${hex2(imm)}`);
  }
  return out;
}

/** Slots of a program that are valid instructions (an lddw's second slot skipped). */
function* validSlots(insns: readonly Insn[]): Generator<Insn> {
  for (let i = 0; i < insns.length; i++) {
    if (insnError(insns[i]) === null) yield insns[i];
    if (insns[i].code === OP_LDDW) i++;
  }
}

function listFiles(dir: string, ext: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, ext));
    else if (name.endsWith(ext)) out.push(p);
  }
  return out;
}

/**
 * How test/jit_cases.test.ts picks cases. Today it runs every case file; if it learns to skip cases, the rule
 * must be taught here (a case with a `-- no jit` section is the one rule known), else the generator fails.
 */
function jitSkips(caseText: string): boolean {
  const runner = fileText('test/jit_cases.test.ts');
  if (runner === null) return true;
  const honoursNoJit = /no jit/i.test(runner);
  const code = runner.replace(/\/\/.*$/gm, '');
  if (!honoursNoJit && /\.skip\(|\{ *skip *:|\btodo\b/.test(code)) {
    throw new Error('test/jit_cases.test.ts skips cases by a rule tools/feature-matrix.ts does not know: teach jitSkips() that rule');
  }
  return honoursNoJit && /^--\s+no jit\s*$/im.test(caseText);
}

/**
 * How test/kernel_cases.test.ts picks the cases it runs in the kernel: its kernelCaseSelected() (a result, no
 * budget, no helper call or callx, no LD_ABS/LD_IND; memory goes on the stack), minus the cases its KERNEL_REFUSED list says the verifier
 * refuses. The test fails when the kernel refuses a case that list does not name, so every other selected case
 * did run there with the expected r0. If the test's rule changes, the generator fails until this mirror learns it.
 */
export const KERNEL_CASES_TEST = 'test/kernel_cases.test.ts';
export const KERNEL_CASES_TITLE = 'the case corpus in the Linux kernel: every case it runs returns the expected r0';
const KERNEL_CASE_RULE = [
  'if (tc.result === undefined || tc.options.budget !== undefined) return false;',
  'if (insns[i].code === OP_CALLX || (insns[i].code === OP_CALL && insns[i].src !== BPF_PSEUDO_CALL)) return false;',
  'if (classOf(insns[i].code) === BPF_LD && (modeOf(insns[i].code) === BPF_ABS || modeOf(insns[i].code) === BPF_IND)) return false;',
];

/** The kernel_cases test's selection rule and refusal list, or null (with a problem) when they cannot be read. */
function kernelCaseRule(problems: string[]): { refused: Set<string> } | null {
  const text = fileText(KERNEL_CASES_TEST);
  if (text === null) return null;
  const why = citeProblem({ file: KERNEL_CASES_TEST, title: KERNEL_CASES_TITLE }, 'kernel');
  if (why !== null) { problems.push(`kernel case runs: ${why}`); return null; }
  const unknown = KERNEL_CASE_RULE.filter((l) => !text.includes(l));
  if (unknown.length > 0) {
    problems.push(`${KERNEL_CASES_TEST} selects cases by a rule tools/feature-matrix.ts does not know (missing: ${unknown.join(' ')}): teach kernelCaseSelected() that rule`);
    return null;
  }
  const block = /\/\/ BEGIN KERNEL_REFUSED\n([\s\S]*?)\/\/ END KERNEL_REFUSED/.exec(text);
  if (block === null) { problems.push(`${KERNEL_CASES_TEST} has no // BEGIN KERNEL_REFUSED ... // END KERNEL_REFUSED list`); return null; }
  return { refused: new Set([...block[1].matchAll(/^\s*'([^']+\.data)':/gm)].map((m) => m[1])) };
}

/** Mirror of kernelCaseSelected() in test/kernel_cases.test.ts. */
function kernelCaseSelected(tc: ReturnType<typeof readCase>, insns: readonly Insn[]): boolean {
  if (tc.result === undefined || tc.options.budget !== undefined) return false;
  for (let i = 0; i < insns.length; i++) {
    if (insns[i].code === OP_CALLX || (insns[i].code === OP_CALL && insns[i].src !== BPF_PSEUDO_CALL)) return false;
    if (classOf(insns[i].code) === BPF_LD && (modeOf(insns[i].code) === BPF_ABS || modeOf(insns[i].code) === BPF_IND)) return false;
    if (insns[i].code === OP_LDDW) i++;
  }
  return true;
}

interface CaseUse { interp: string[]; jit: string[]; kernel: string[] }

/** Variant key -> case files (relative to test/cases) using it, for each engine. */
function caseUsage(problems: string[]): Map<string, CaseUse> {
  const dir = join(ROOT, 'test/cases');
  const use = new Map<string, CaseUse>();
  const kernelRule = kernelCaseRule(problems);
  for (const file of listFiles(dir, '.data')) {
    const rel = relative(dir, file);
    let insns: Insn[];
    let inKernel = false;
    try {
      const tc = readCase(file);
      insns = tc.asm !== undefined ? assemble(tc.asm) : decode(tc.raw!);
      inKernel = kernelRule !== null && kernelCaseSelected(tc, insns) && !kernelRule.refused.has(rel);
    } catch (e) {
      problems.push(`test/cases/${rel}: does not parse or assemble: ${(e as Error).message}`);
      continue;
    }
    const skipJit = jitSkips(readFileSync(file, 'utf8'));
    const keys = new Set<string>();
    for (const ins of validSlots(insns)) keys.add(variantKey(ins));
    for (const k of keys) {
      let u = use.get(k);
      if (u === undefined) use.set(k, (u = { interp: [], jit: [], kernel: [] }));
      u.interp.push(rel);
      if (!skipJit) u.jit.push(rel);
      if (inKernel) u.kernel.push(rel);
    }
  }
  return use;
}

// ------------------------------------------------------------------------------------------------ kernel runs

/**
 * Tests that run clang objects somewhere other than tsbpf's default engine: in the Linux kernel (KERNEL_RUNS)
 * or on the JIT (JIT_RUNS). `compared`: the object runs there and must give the same results as tsbpf's
 * interpreter; `loaded`: it is only loaded (verified) there. `programs`: which programs of the object the
 * test runs ('named': those whose name appears in the test file; 'all': every program, e.g. reached through a
 * statically filled prog array).
 */
interface ObjectRun {
  object: string; cite: Cite; mode: 'compared' | 'loaded'; programs: 'named' | 'all' | string[];
  /** A source file the test takes the object's name from, when the test does not spell it. */
  via?: string;
}

const KD = (title: string, object: string, programs: string[]): ObjectRun =>
  ({ object: `test/progs/${object}.o`, cite: c('kernel_diff.test.ts', title), mode: 'compared', programs });

export const KERNEL_RUNS: ObjectRun[] = [
  KD('xdp_parser (Ethernet/VLAN/IPv4/IPv6/TCP/UDP, VLAN pop, tail trim)', 'xdp_parser', ['xdp_parser']),
  KD('xdp_flow (flow hash, verdict array, per-CPU protocol counters, ICMP echo reply, TTL)', 'xdp_flow', ['xdp_flow']),
  KD('xdp_vlan (adjust_head: push and pop 802.1Q tags)', 'xdp_vlan', ['xdp_vlan']),
  KD('xdp_head_limits (adjust_head edges)', 'xdp_vlan', ['xdp_head_limits']),
  KD('xdp_tail (adjust_tail: trim UDP, append a TCP trailer)', 'xdp_tail', ['xdp_tail']),
  KD('xdp_tail_limits (adjust_tail edges)', 'xdp_tail', ['xdp_tail_limits']),
  KD('xdp_meta (adjust_meta, metadata in data_out, adjust_head moving metadata)', 'xdp_meta', ['xdp_meta']),
  KD('sock_filter (LD_ABS/LD_IND, skb_load_bytes, __sk_buff fields)', 'sock_filter', ['sock_filter']),
  KD('xdp_tailcall (prog-array dispatch)', 'xdp_tailcall', ['xdp_dispatch', 'xdp_tcp_target', 'xdp_udp_target']),
  { object: 'test/progs/tailcall_rules.o', cite: c('tailcall.test.ts', 'a program tail-calling itself: exactly 33 tail calls'), mode: 'compared', programs: 'named' },
  { object: 'test/progs/reject/tailcall_badmap.o', cite: c('tailcall.test.ts', 'a tail call through a map that is not a prog array is refused at load'), mode: 'loaded', programs: 'all' },
  { object: 'test/progs/tailcall_static.o', cite: c('tailcall.test.ts', 'static prog-array initialisation from the object'), mode: 'compared', programs: 'all' },
  { object: 'test/progs/tailcall_owner.o', cite: c('tailcall.test.ts', 'owner-type mismatch: EINVAL when storing or loading'), mode: 'loaded', programs: 'all' },
  { object: 'samples/sockex3/sockex3_kern.o', cite: c('samples_sockex3.test.ts', 'in the kernel: same flow map as tsbpf'), mode: 'compared', programs: 'all', via: 'src/cli/flows.ts' },
  { object: 'samples/sockex3/sockex3_xdp.o', cite: c('samples_sockex3.test.ts', 'in the kernel: same flow map as tsbpf'), mode: 'compared', programs: 'all', via: 'src/cli/flows.ts' },
  { object: 'samples/tracex5/tracex5_kern.o', cite: c('samples_tracex5.test.ts', 'tracex5 in the kernel: the same programs load and verify'), mode: 'loaded', programs: 'all' },
  ...['xdp_parser', 'maps_btf', 'subprogs', 'global_data'].map((o): ObjectRun => (
    { object: `test/progs/${o}.o`, cite: c('object_kernel.test.ts', 'passes the kernel verifier and libbpf agrees on its programs and maps'), mode: 'loaded', programs: 'all' })),
];

/** Objects the JIT runs with the interpreter's results required (engine chosen explicitly by the test). */
export const JIT_RUNS: ObjectRun[] = [
  { object: 'test/progs/xdp_flow.o', cite: c('bench_cli.test.ts', 'tsbpf prog run / xdp run --engine jit: the JIT runs them, with the interpreter'), mode: 'compared', programs: ['xdp_flow'] },
];

/** What a set of object runs uses: variant/helper/map-type/prog-type key -> the runs that use it. */
interface KernelUse { variants: Map<string, ObjectRun[]>; helpers: Map<number, ObjectRun[]>; mapTypes: Map<number, ObjectRun[]>; progTypes: Map<number, ObjectRun[]> }

function objectUsage(runs: ObjectRun[], column: 'kernel' | 'jit', problems: string[]): KernelUse {
  const ku: KernelUse = { variants: new Map(), helpers: new Map(), mapTypes: new Map(), progTypes: new Map() };
  const push = <K>(m: Map<K, ObjectRun[]>, k: K, r: ObjectRun) => {
    const l = m.get(k) ?? [];
    if (!l.includes(r)) l.push(r);
    m.set(k, l);
  };
  const specs = new Map<string, ObjectSpec>();
  for (const run of runs) {
    const why = citeProblem(run.cite, column);
    if (why !== null) { problems.push(`${column} run of ${run.object}: ${why}`); continue; }
    const testText = fileText(run.cite.file)!;
    const base = run.object.split('/').pop()!.replace(/\.o$/, '');
    if (!testText.includes(base) && !(run.via !== undefined && testText.includes(run.via.replace(/^src\//, '').replace(/\.ts$/, '')) && (fileText(run.via) ?? '').includes(base))) { problems.push(`${run.cite.file} does not mention ${base}: the ${column} run of ${run.object} is not there`); continue; }
    let spec = specs.get(run.object);
    if (spec === undefined) {
      const p = join(ROOT, run.object);
      if (!existsSync(p)) { problems.push(`${run.object} does not exist`); continue; }
      spec = parseObject(new Uint8Array(readFileSync(p)), base + '.o');
      specs.set(run.object, spec);
    }
    let progs = spec.programs;
    if (Array.isArray(run.programs)) {
      const names = run.programs;
      for (const n of names) if (!progs.some((p) => p.name === n)) problems.push(`${run.object} has no program ${n}`);
      progs = progs.filter((p) => names.includes(p.name));
    } else if (run.programs === 'named') {
      progs = progs.filter((p) => new RegExp(`\\b${p.name}\\b`).test(testText));
    }
    for (const p of progs) {
      push(ku.progTypes, p.type, run);
      const refs = new Map(p.mapRefs.map((r) => [r.insn, r]));
      for (let i = 0; i < p.insns.length; i++) {
        const ins = p.insns[i];
        if (ins.code === OP_LDDW) {
          // libbpf turns a relocated lddw into BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE before the kernel sees it.
          const r = refs.get(i);
          push(ku.variants, r === undefined ? variantKey(ins) : `0x18/src${r.kind === 'map' ? 1 : 2}`, run);
          if (r !== undefined) push(ku.mapTypes, spec.maps[r.map].type, run);
          i++;
          continue;
        }
        if (insnError(ins) !== null) continue;
        push(ku.variants, variantKey(ins), run);
        if (ins.code === OP_CALL && ins.src === 0) push(ku.helpers, ins.imm, run);
      }
    }
    // Maps reached only through a map-in-map or a prog array slot are still created in the kernel.
    for (const m of spec.maps) if (progs.length > 0) push(ku.mapTypes, m.type, run);
  }
  return ku;
}

const short = (f: string): string => f.replace(/^test\//, '');

function renderCite(x: Cite): string {
  return `✓ \`${short(x.file)}\` › ${x.title}`;
}

function renderCell(x: Cell): string {
  if (isCite(x)) return renderCite(x);
  return `${x.no}: ${x.why}${x.cite ? ` (\`${short(x.cite.file)}\` › ${x.cite.title})` : ''}`;
}

function runsCell(runs: ObjectRun[] | undefined, fallback: string): string {
  if (runs === undefined || runs.length === 0) return fallback;
  const compared = runs.filter((r) => r.mode === 'compared');
  const pick = compared.length > 0 ? compared : runs;
  const first = pick[0];
  const base = first.object.split('/').pop();
  const more = new Set(pick.map((r) => `${r.cite.file}|${r.cite.title}`)).size - 1;
  const head = compared.length > 0 ? '✓ same results' : '✓ load only';
  return `${head}: \`${short(first.cite.file)}\` › ${first.cite.title} (${base})${more > 0 ? ` +${more} more` : ''}`;
}

// ------------------------------------------------------------------------------------------------ curated rows

interface Row { feature: string; interp: Cell; jit: Cell; kernel: Cell }

/** Why the JIT column is empty for everything that runs through the runtime (maps, helpers, hooks ...). */
const JIT_RUNTIME = notYet('no test runs this on the JIT');
const NOT_IN_LINUX = na('chain calls never landed in Linux');

/** Map types: test per implemented type (tsbpf); the Kernel column is computed. */
const MAP_TESTS: Record<string, Cite> = {
  HASH: c('maps.test.ts', 'hash: NOEXIST/EXIST, full map E2BIG'),
  ARRAY: c('maps.test.ts', 'array: flags, bounds, delete, index-order iteration'),
  PROG_ARRAY: c('maps_special.test.ts', 'prog_array: slots hold programs, owner type'),
  PERF_EVENT_ARRAY: c('maps_special.test.ts', 'perf_event_array: per-CPU buffers'),
  PERCPU_HASH: c('maps.test.ts', 'percpu_hash: a new element from a program'),
  PERCPU_ARRAY: c('maps.test.ts', 'percpu_array: one value per CPU'),
  LRU_HASH: c('maps.test.ts', 'lru_hash: evicts the least recently used'),
  LRU_PERCPU_HASH: c('maps.test.ts', 'lru_percpu_hash with BPF_F_NO_COMMON_LRU'),
  LPM_TRIE: c('maps_special.test.ts', 'lpm_trie: IPv4 longest-prefix match'),
  ARRAY_OF_MAPS: c('maps_special.test.ts', 'array_of_maps / hash_of_maps: template checks'),
  HASH_OF_MAPS: c('maps_special.test.ts', 'array_of_maps / hash_of_maps: template checks'),
  DEVMAP: c('maps_special.test.ts', 'devmap: redirect targets, read-only values'),
  CPUMAP: c('maps_special.test.ts', 'cpumap: qsize limits, CPU existence'),
  QUEUE: c('maps_special.test.ts', 'queue: FIFO, full E2BIG'),
  STACK: c('maps_special.test.ts', 'stack: LIFO, BPF_EXIST overwrites'),
  DEVMAP_HASH: c('maps_special.test.ts', 'devmap_hash: any u32 key'),
  RINGBUF: c('maps_special.test.ts', 'ringbuf: reserve/submit/discard, header layout'),
};

const JT = (title: string): Cite => c('jit_tailcall.test.ts', title);
const JIT_INLINE_LOOKUP = JT('inline array and per-CPU array lookups return the helper');
const JIT_SELF_TAIL = JT('a self tail call runs 1 + 33 times on both engines');

/** Map types on the JIT, beyond what the JIT-run objects create. */
const MAP_JIT: Record<string, Cite> = { ARRAY: JIT_INLINE_LOOKUP, PERCPU_ARRAY: JIT_INLINE_LOOKUP, PROG_ARRAY: JIT_SELF_TAIL };
/** Helpers on the JIT, beyond what the JIT-run objects call. */
const HELPER_JIT: Record<number, Cite> = { 12: JIT_SELF_TAIL };

/** Helpers: test per implemented helper id. */
const HELPER_TESTS: Record<number, Cite> = {
  1: c('helpers.test.ts', 'map_update/lookup/delete through a program'),
  2: c('helpers.test.ts', 'map_update/lookup/delete through a program'),
  3: c('helpers.test.ts', 'map_update/lookup/delete through a program'),
  4: c('helpers.test.ts', 'probe_read_kernel/user copy from mapped memory'),
  5: c('helpers.test.ts', 'ktime_get_ns / boot_ns / coarse_ns'),
  6: c('helpers.test.ts', 'trace_printk formats like bpf_trace_printk'),
  7: c('helpers.test.ts', 'get_prandom_u32 is the kernel LFSR113'),
  8: c('helpers.test.ts', 'get_smp_processor_id follows the registry CPU'),
  12: c('helpers.test.ts', 'tail_call: jumps with the same ctx, at most 33 times'),
  14: c('helpers.test.ts', 'get_current_pid_tgid packs tgid << 32 | pid'),
  16: c('helpers.test.ts', 'get_current_comm pads and truncates'),
  23: c('helpers.test.ts', 'redirect records the ifindex'),
  25: c('helpers.test.ts', 'perf_event_output writes a sample to the current CPU buffer'),
  26: c('hooks.test.ts', 'skb_load_bytes copies from the network header'),
  28: c('helpers.test.ts', 'csum_diff: one\'s-complement sum'),
  44: c('hooks.test.ts', 'adjust_head: -216 ok, -217 fails'),
  45: c('helpers.test.ts', 'probe_read_kernel/user copy from mapped memory'),
  51: c('helpers.test.ts', 'redirect_map uses devmap slots'),
  54: c('hooks.test.ts', 'adjust_meta: multiples of 4 into the usable headroom'),
  65: c('hooks.test.ts', 'adjust_tail: grow into the tailroom'),
  87: c('helpers.test.ts', 'queue push/pop/peek and lookup_percpu_elem'),
  88: c('helpers.test.ts', 'queue push/pop/peek and lookup_percpu_elem'),
  89: c('helpers.test.ts', 'queue push/pop/peek and lookup_percpu_elem'),
  112: c('helpers.test.ts', 'probe_read_kernel/user copy from mapped memory'),
  113: c('helpers.test.ts', 'probe_read_kernel/user copy from mapped memory'),
  114: c('helpers.test.ts', 'probe_read_kernel/user copy from mapped memory'),
  115: c('helpers.test.ts', 'probe_read_kernel/user copy from mapped memory'),
  125: c('helpers.test.ts', 'ktime_get_ns / boot_ns / coarse_ns'),
  130: c('helpers.test.ts', 'ringbuf output/reserve/submit/discard/query'),
  131: c('helpers.test.ts', 'ringbuf output/reserve/submit/discard/query'),
  132: c('helpers.test.ts', 'ringbuf output/reserve/submit/discard/query'),
  133: c('helpers.test.ts', 'ringbuf output/reserve/submit/discard/query'),
  134: c('helpers.test.ts', 'ringbuf output/reserve/submit/discard/query'),
  160: c('helpers.test.ts', 'ktime_get_ns / boot_ns / coarse_ns'),
  165: c('helpers.test.ts', 'snprintf writes at most str_size - 1 characters'),
  188: c('hooks_frags.test.ts', 'adjust_tail grows the last frag within its page'),
  189: c('hooks_frags.test.ts', 'xdp_load_bytes/xdp_store_bytes cross from the linear part'),
  190: c('hooks_frags.test.ts', 'xdp_load_bytes/xdp_store_bytes cross from the linear part'),
  195: c('helpers.test.ts', 'queue push/pop/peek and lookup_percpu_elem'),
};

/** Program types with a hook: test per type. */
const PROG_TYPE_TESTS: Record<string, Cite> = {
  SOCKET_FILTER: c('hooks.test.ts', 'socket filter test run: skb fields after eth_type_trans'),
  KPROBE: c('hooks.test.ts', 'kprobe: pt_regs access rules, no test run'),
  TRACEPOINT: c('hooks.test.ts', 'tracepoint: common fields unreadable'),
  XDP: c('hooks.test.ts', 'XDP test run: data_out is the packet, retval the verdict'),
};

/** Instruction variants no case file uses: other evidence, or why there is none. */
const VARIANT_EXTRA: Record<string, { interp: Cell; jit: Cell }> = {
  '0x18/src1': { interp: c('syscall.test.ts', 'PROG_LOAD map references: fd, value, fd_array index'), jit: JIT_RUNTIME },
  '0x18/src2': { interp: c('syscall.test.ts', 'PROG_LOAD map references: fd, value, fd_array index'), jit: JIT_RUNTIME },
  '0x18/src5': { interp: c('syscall.test.ts', 'PROG_LOAD map references: fd, value, fd_array index'), jit: JIT_RUNTIME },
  '0x18/src6': { interp: notYet('loaded by src/syscall/fixup.ts; no test uses it'), jit: JIT_RUNTIME },
  '0x18/src3': { interp: na('refused at load (EINVAL): tsbpf has no kernel BTF; no test yet'), jit: na('refused at load') },
  '0x18/src4': { interp: c('verifier.test.ts', 'bpf_loop with a callback'), jit: notYet('no test loads a callback reference on the JIT') },
  '0x85/src2': { interp: na('refused at load, EINVAL: tsbpf has no kernel functions', c('validate.test.ts', "'kfunc call'")), jit: na('refused at load, as on the interpreter') },
};

const TAIL_CALL_RULES: Row[] = [
  { feature: 'prog array: update stores a program fd, lookup gives the program id, delete empties the slot',
    interp: c('tailcall.test.ts', 'prog array from user space: update takes a program fd, lookup gives its id'), jit: na('map semantics, engine-independent'),
    kernel: c('tailcall.test.ts', 'prog array from user space: update takes a program fd, lookup gives its id') },
  { feature: 'index >= max_entries falls through without using the budget',
    interp: c('tailcall.test.ts', 'index out of range and empty slot: 40 failed calls'), jit: JT('out-of-range index and empty slot fall through without using the budget'),
    kernel: c('tailcall.test.ts', 'index out of range and empty slot: 40 failed calls') },
  { feature: 'empty slot falls through; the counter is not bumped',
    interp: c('tailcall.test.ts', 'index out of range and empty slot: 40 failed calls'), jit: JT('out-of-range index and empty slot fall through without using the budget'),
    kernel: c('tailcall.test.ts', 'index out of range and empty slot: 40 failed calls') },
  { feature: 'at most 33 tail calls per run, then fall-through (self-call)',
    interp: c('tailcall.test.ts', 'a program tail-calling itself: exactly 33 tail calls'), jit: JIT_SELF_TAIL,
    kernel: c('tailcall.test.ts', 'a program tail-calling itself: exactly 33 tail calls') },
  { feature: 'the limit holds across programs (ping-pong)',
    interp: c('tailcall.test.ts', 'two programs calling each other: 33 tail calls in all'), jit: JIT_RUNTIME,
    kernel: c('tailcall.test.ts', 'two programs calling each other: 33 tail calls in all') },
  { feature: 'the caller\'s frame is reused (the target reads the caller\'s stack)',
    interp: c('tailcall.test.ts', 'the frame is reused: the target reads the stack bytes its caller wrote'), jit: JIT_RUNTIME,
    kernel: c('tailcall.test.ts', 'the frame is reused: the target reads the stack bytes its caller wrote') },
  { feature: '33 tail calls use one frame (no stack growth)',
    interp: c('tailcall.test.ts', 'a run through 33 tail calls uses one frame'), jit: JT('33 tail calls replace the wasm frame (return_call_indirect)'),
    kernel: na('frames are not observable from user space') },
  { feature: 'the jump keeps ctx (r1) and every register, never returns',
    interp: c('tailcall.test.ts', 'the jump keeps every register (r1 = ctx)'), jit: JT('unverified programs see every register across a tail call'),
    kernel: na('the kernel verifies the target alone, so only r1 (ctx) is readable there') },
  { feature: 'the counter is shared across bpf-to-bpf calls',
    interp: c('tailcall.test.ts', 'the counter is shared across bpf-to-bpf calls'), jit: JT('the counter is shared'),
    kernel: c('tailcall.test.ts', 'the counter is shared across bpf-to-bpf calls') },
  { feature: 'a tail call from a subprogram replaces that subprogram only',
    interp: c('tailcall.test.ts', 'a tail call from a subprogram replaces that subprogram only'), jit: JT('a tail call from a subprogram returns the target\'s r0 to the subprogram\'s caller'),
    kernel: c('tailcall.test.ts', 'a tail call from a subprogram replaces that subprogram only') },
  { feature: 'tail calls from subprograms nest (33 levels)',
    interp: c('tailcall.test.ts', 'tail calls from subprograms nest: 33 levels'), jit: JIT_RUNTIME,
    kernel: c('tailcall.test.ts', 'tail calls from subprograms nest: 33 levels') },
  { feature: 'a slot replaced between runs: the next run follows the new program',
    interp: c('tailcall.test.ts', 'a slot replaced between runs'), jit: JT('a slot updated between packets takes effect at the next packet'),
    kernel: c('tailcall.test.ts', 'a slot replaced between runs') },
  { feature: 'a slot updated during a run takes effect at the next tail call',
    interp: c('tailcall.test.ts', 'a slot updated while a run is under way'), jit: JIT_RUNTIME,
    kernel: na('a kernel run cannot be paused between two tail calls from user space') },
  { feature: 'r0 is not readable after bpf_tail_call (RET_VOID): EACCES at load',
    interp: c('tailcall.test.ts', 'r0 cannot be read after bpf_tail_call (RET_VOID)'), jit: na('load-time check, engine-independent'),
    kernel: notYet('no kernel-side test') },
  { feature: 'map argument not a prog array: EINVAL at load',
    interp: c('tailcall.test.ts', 'a tail call through a map that is not a prog array is refused at load'), jit: na('load-time check, engine-independent'),
    kernel: c('tailcall.test.ts', 'a tail call through a map that is not a prog array is refused at load') },
  { feature: 'owner program type fixed by first use; a mismatch is EINVAL',
    interp: c('tailcall.test.ts', 'owner-type mismatch: EINVAL when storing or loading'), jit: na('load-time check, engine-independent'),
    kernel: c('tailcall.test.ts', 'owner-type mismatch: EINVAL when storing or loading') },
  { feature: 'slots emptied when the last user-space reference (fd or pin) goes away',
    interp: c('tailcall.test.ts', 'slots are emptied when the last user-space reference'), jit: na('map semantics, engine-independent'),
    kernel: c('tailcall.test.ts', 'slots are emptied when the last user-space reference') },
  { feature: 'static prog-array initialisation from an object (`__array(values, ...)`)',
    interp: c('tailcall.test.ts', 'static prog-array initialisation from the object'), jit: na('loader semantics, engine-independent'),
    kernel: c('tailcall.test.ts', 'static prog-array initialisation from the object') },
  { feature: '`tsbpf prog run --tail MAP:INDEX=PROG` (same object and OTHER.o:NAME)',
    interp: c('tailcall_cli.test.ts', 'OTHER.o:NAME loads a program of another object'), jit: JIT_RUNTIME, kernel: na('a tsbpf CLI feature') },
  { feature: 'sample tracex5: syscall dispatch by tail calls over a strace log',
    interp: c('samples_tracex5.test.ts', 'tracex5 on ls.strace: every call dispatched'), jit: JIT_RUNTIME,
    kernel: c('samples_tracex5.test.ts', 'tracex5 in the kernel: the same programs load and verify') },
  { feature: 'sample sockex3: flow dissector of tail-called parsers over a capture',
    interp: c('samples_sockex3.test.ts', 'the generator\'s flow table'), jit: JIT_RUNTIME,
    kernel: c('samples_sockex3.test.ts', 'in the kernel: same flow map as tsbpf') },
];

const CHAIN_RULES: Row[] = [
  { feature: 'BPF_PROG_CHAIN_ADD/DEL/GET by number and by name (both models)',
    interp: c('chain_api.test.ts', 'bpf() dispatches the chain commands by number and by name'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'ADD/GET: wildcard (~0) and exact slots; GET returns the next program\'s id',
    interp: c('chain_api.test.ts', 'ADD/GET: wildcard and exact slots, GET returns the next program\'s id'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: '8 slots: retcode 0..6 and ~0 valid, 7 and up E2BIG',
    interp: c('chain_api.test.ts', 'slots: retcode 0..6 and ~0 are valid, 7 and up E2BIG'), jit: na('API check, engine-independent'), kernel: NOT_IN_LINUX },
  { feature: 'EBADF for bad fds; EINVAL for a map fd or a program of another type',
    interp: c('chain_api.test.ts', 'EBADF for bad fds, EINVAL for a map fd'), jit: na('API check, engine-independent'), kernel: NOT_IN_LINUX },
  { feature: 'DEL and GET of an empty slot: ENOENT',
    interp: c('chain_api.test.ts', 'DEL and GET of an empty slot are ENOENT'), jit: na('API check, engine-independent'), kernel: NOT_IN_LINUX },
  { feature: 'ADD replaces silently and drops the old program\'s reference',
    interp: c('chain_api.test.ts', 'ADD replaces silently and drops the old program\'s reference'), jit: na('API check, engine-independent'), kernel: NOT_IN_LINUX },
  { feature: 'inject model: only a program loaded with BPF_F_INJECT_CHAIN_CALLS can be a prev (EOPNOTSUPP)',
    interp: c('chain_api.test.ts', 'EOPNOTSUPP: only a program loaded with BPF_F_INJECT_CHAIN_CALLS can be a prev'), jit: na('API check, engine-independent'), kernel: NOT_IN_LINUX },
  { feature: 'inject model: exits rewritten at load, visible in the xlated dump',
    interp: c('chain_api.test.ts', 'load flag: rewrites exits in the inject model only (xlated)'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'native model: any program can be a prev, without the flag',
    interp: c('chain_api.test.ts', 'any program can be a prev, without the flag'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'return codes >= 7 (and ~0) go to the wildcard only',
    interp: c('chain_api.test.ts', 'return codes >= 7 (and ~0) go to the wildcard only'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'ctx reaches the next program even when the program overwrote r1',
    interp: c('chain_api.test.ts', 'ctx reaches the next program even when the program overwrote r1'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'only the main program\'s exits chain, not a subprogram\'s',
    interp: c('chain_api.test.ts', 'only the main program\'s exits chain, not a subprogram\'s'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'chain hops share the 33 budget (a self-chain runs 1 + 33 programs)',
    interp: c('chain_api.test.ts', 'the 33-hop budget: a self-chain runs 1 + 33 programs'), jit: JT('native chain hops in compiled code follow ADD/DEL between packets, sharing the 33 budget'), kernel: NOT_IN_LINUX },
  { feature: 'tail calls and chain hops share one budget; the tail-call target\'s chain applies',
    interp: c('chain_api.test.ts', 'tail calls and chain hops share one budget'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'a chain changed during a run takes effect at the next hop',
    interp: c('chain_api.test.ts', 'a chain changed during a run takes effect at the next hop'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'native and inject give the same verdicts (300 random chains)',
    interp: c('chain_diff.test.ts', 'native and inject give the same verdicts'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'the series\' selftest on a veth pair with ping (both models)',
    interp: c('chain_selftest.test.ts', 'selftest: ping with a pass program'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: '`tsbpf prog run --chain PREV:RETCODE=NEXT --chain-mode`, programs_run in --json',
    interp: c('chain_cli.test.ts', 'prog run --chain: verdicts and programs_run'), jit: JIT_RUNTIME, kernel: NOT_IN_LINUX },
  { feature: 'JIT: a program with a chain hops to its successors directly at its exit, recompiled between packets when the chain changes',
    interp: na('a JIT feature'), jit: JT('native chain hops in compiled code follow ADD/DEL between packets'), kernel: NOT_IN_LINUX },
  { feature: 'libxdp policy: priority order with its tie-breaks',
    interp: c('multiprog.test.ts', 'libxdp: programs run in priority order, ties by name'), jit: JIT_RUNTIME,
    kernel: notYet('no kernel comparison (libxdp is user space over freplace)') },
  { feature: 'libxdp policy: chain_call_actions mask; XDP_PASS when every program continues',
    interp: c('multiprog.test.ts', 'libxdp: continue only when bit ret of the chain_call_actions mask is set'), jit: JIT_RUNTIME,
    kernel: notYet('no kernel comparison') },
  { feature: 'libxdp policy: atomic replacement of the whole set',
    interp: c('multiprog.test.ts', 'libxdp: a change swaps the whole dispatcher atomically'), jit: JIT_RUNTIME, kernel: notYet('no kernel comparison') },
  { feature: 'bpf_mprog policy: before/after/replace by fd or id, revisions (ESTALE)',
    interp: c('multiprog.test.ts', 'bpf_mprog: front/back and relative positions by fd and by id'), jit: JIT_RUNTIME,
    kernel: notYet('no kernel comparison (tcx is not XDP)') },
  { feature: 'bpf_mprog policy: errnos in the kernel\'s order (EEXIST, ENOENT, ERANGE)',
    interp: c('multiprog.test.ts', 'bpf_mprog: attach errnos in the kernel\'s order'), jit: na('API check, engine-independent'), kernel: notYet('no kernel comparison') },
  { feature: 'bpf_mprog policy: 63 programs at most',
    interp: c('multiprog.test.ts', 'bpf_mprog: 63 programs at most (ERANGE)'), jit: na('API check, engine-independent'), kernel: notYet('no kernel comparison') },
];

// ------------------------------------------------------------------------------------------------ document

const mapShort = (t: number): string => mapTypeName(t).replace('BPF_MAP_TYPE_', '');
const progShort = (t: number): string => progTypeName(t).replace('BPF_PROG_TYPE_', '');

/** Whether createMap knows the type (anything but "not implemented by tsbpf"). */
function mapImplemented(type: number): boolean {
  const space = new AddressSpace();
  const reg = new MapRegistry(space, { nCpus: 1 });
  try {
    createMap(space, reg, { type, keySize: 4, valueSize: 4, maxEntries: 1 });
    return true;
  } catch (e) {
    if (e instanceof BpfError && e.code === 'EOPNOTSUPP' && /not implemented/.test(e.message)) return false;
    return true;
  }
}

interface Tally { rows: number; interp: number; jit: number; kernel: number }

export interface Matrix { markdown: string; problems: string[]; missing: string[] }

/** Build the document; `problems` lists every citation that does not hold (the doc must not be written then). */
export function generate(): Matrix {
  const problems: string[] = [];
  const missing: string[] = [];
  const use = caseUsage(problems);
  const ku = objectUsage(KERNEL_RUNS, 'kernel', problems);
  const ju = objectUsage(JIT_RUNS, 'jit', problems);
  /** A JIT cell: a curated citation, else an object the JIT runs, else "not yet". */
  const jitCell = (curated: Cite | undefined, runs: ObjectRun[] | undefined, where: string): string =>
    curated !== undefined ? renderCell(check(curated, where, 'jit')) : runsCell(runs, renderCell(JIT_RUNTIME));
  const check = (cell: Cell, where: string, column?: 'jit' | 'kernel'): Cell => {
    const cite = isCite(cell) ? cell : cell.cite;
    if (cite !== undefined) {
      const why = citeProblem(cite, isCite(cell) ? column : undefined);
      if (why !== null) problems.push(`${where}: ${why}`);
    }
    return cell;
  };
  const out: string[] = [];
  const tallies: Array<[string, Tally]> = [];
  const table = (title: string, head: string[], rows: string[][], tally: Tally): void => {
    tallies.push([title, tally]);
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of rows) out.push(`| ${r.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`);
    out.push('');
  };
  const ok = (s: string): boolean => s.startsWith('✓');
  // section -> column -> reason -> features
  const gaps = new Map<string, Map<string, Map<string, string[]>>>();
  const note = (section: string, feature: string, cells: Record<string, string>): void => {
    for (const [col, s] of Object.entries(cells)) {
      if (ok(s) || s.startsWith('not applicable')) continue;
      missing.push(`${section}: ${feature} — ${col}: ${s}`);
      const bySec = gaps.get(section) ?? new Map<string, Map<string, string[]>>();
      gaps.set(section, bySec);
      const byCol = bySec.get(col) ?? new Map<string, string[]>();
      bySec.set(col, byCol);
      const reason = s.replace(/^not yet: /, '');
      byCol.set(reason, [...(byCol.get(reason) ?? []), feature]);
    }
  };

  out.push(
    '# Feature matrix',
    '',
    `<!-- GENERATED by tools/feature-matrix.ts: do not edit. Regenerate: ${REGEN} -->`,
    '',
    'One row per feature; columns: **Interpreter** and **JIT** (tsbpf\'s two engines) and **Kernel** (the real Linux',
    'kernel as the oracle: the same clang-built object run there by a test, with the same results required). A ✓',
    'names the test that proves the cell (file under `test/` › words of its title). "not yet" says what is missing,',
    '"not applicable" why the cell cannot exist, "—" that tsbpf does not implement the feature. Every citation is',
    'checked by the generator (the file exists and holds that title), and `test/docs.test.ts` fails when this page',
    'is stale. Kernel tests skip, saying why, on machines without root, bpffs and bpftool.',
    '',
  );
  const summaryAt = out.length;

  // ---- instructions
  const variants = allVariants();
  out.push('## Instructions (RFC 9669, cpu v1-v4)', '',
    'Computed: every case file under `test/cases/` is assembled and each valid instruction variant it contains is',
    'recorded. Interpreter: `cases.test.ts` runs every case; JIT: `jit_cases.test.ts` runs every case on the JIT',
    '(cases it skips are not counted). Kernel: `kernel_cases.test.ts` runs the cases that need no helper, budget or',
    'LD_ABS/LD_IND in Linux as XDP programs (memory on the stack) and requires the case\'s r0 (cases the verifier',
    'refuses are not counted); else',
    'the clang objects that kernel tests run in Linux are disassembled: "same results" means the kernel runs the',
    'object and tsbpf must agree (return value, packet, maps), "load only" that the kernel verifies it. A case',
    '"uses" a variant when the instruction is in its program.', '');
  let group = '';
  let vt: Tally = { rows: 0, interp: 0, jit: 0, kernel: 0 };
  let rows: string[][] = [];
  const flush = (): void => {
    if (rows.length > 0) table(`Instructions: ${group}`, ['Instruction', 'Encoding', 'Interpreter', 'JIT', 'Kernel'], rows, vt);
    rows = [];
    vt = { rows: 0, interp: 0, jit: 0, kernel: 0 };
  };
  for (const v of variants) {
    if (v.group !== group) {
      flush();
      group = v.group;
      out.push(`### ${group}`, '');
    }
    const u = use.get(v.key);
    const extra = VARIANT_EXTRA[v.key];
    const casesCell = (files: string[] | undefined, fallback: Cell | undefined, where: string, column?: 'jit'): string => {
      if (files !== undefined && files.length > 0) {
        return `✓ ${files.length} case${files.length > 1 ? 's' : ''}, e.g. \`cases/${files[0]}\``;
      }
      if (fallback !== undefined) return renderCell(check(fallback, where, column));
      return 'not yet: no case uses it';
    };
    const interp = casesCell(u?.interp, extra?.interp, `instruction ${v.name}`);
    const jitRuns = ju.variants.get(v.key);
    const jit = (u?.jit.length ?? 0) === 0 && jitRuns !== undefined ? runsCell(jitRuns, '') : casesCell(u?.jit, extra?.jit, `instruction ${v.name} (JIT)`, 'jit');
    const kernelCases = u?.kernel ?? [];
    const kernel = kernelCases.length > 0
      ? `✓ same results: \`${short(KERNEL_CASES_TEST)}\` › ${KERNEL_CASES_TITLE} (${kernelCases.length} case${kernelCases.length > 1 ? 's' : ''}, e.g. \`cases/${kernelCases[0]}\`)`
      : runsCell(ku.variants.get(v.key), 'not yet: no kernel-run object or case uses it');
    rows.push([v.name, `\`${v.encoding}\``, interp, jit, kernel]);
    vt.rows++;
    if (ok(interp)) vt.interp++;
    if (ok(jit)) vt.jit++;
    if (ok(kernel)) vt.kernel++;
    note('Instructions', v.name, { Interpreter: interp, JIT: jit, Kernel: kernel });
  }
  flush();
  const unknownKeys = [...use.keys()].filter((k) => !variants.some((v) => v.key === k));
  if (unknownKeys.length > 0) problems.push(`case files use variants the table lacks: ${unknownKeys.join(', ')}`);

  // ---- map types
  out.push('## Map types', '',
    'Every `BPF_MAP_TYPE_*` of `src/uapi/bpf.ts`. Implemented = `createMap` builds it (the others are refused',
    'with EOPNOTSUPP). Kernel: kernel-run objects that create a map of the type.', '');
  {
    const t: Tally = { rows: 0, interp: 0, jit: 0, kernel: 0 };
    const r: string[][] = [];
    for (const [full, type] of Object.entries(BPF_MAP_TYPE)) {
      if (type === 0) continue;
      const name = full.replace('BPF_MAP_TYPE_', '');
      const impl = mapImplemented(type);
      const cite = MAP_TESTS[name];
      if (impl && cite === undefined) problems.push(`map type ${name} is implemented but MAP_TESTS cites no test for it`);
      if (!impl && cite !== undefined) problems.push(`map type ${name} is cited in MAP_TESTS but createMap refuses it`);
      const interp = impl ? (cite ? renderCell(check(cite, `map ${name}`)) : 'not yet: no test') : '— not implemented (MAP_CREATE: EOPNOTSUPP)';
      const jit = impl ? jitCell(MAP_JIT[name], ju.mapTypes.get(type), `map ${name} (JIT)`) : '—';
      const kernel = runsCell(ku.mapTypes.get(type), impl ? 'not yet: no kernel-run object uses it' : '—');
      r.push([`\`${name}\``, interp, jit, kernel]);
      t.rows++;
      if (ok(interp)) t.interp++;
      if (ok(jit)) t.jit++;
      if (ok(kernel)) t.kernel++;
      if (impl) note('Map types', name, { Interpreter: interp, JIT: jit, Kernel: kernel });
      else note('Map types', name, { tsbpf: 'not implemented' });
    }
    table('Map types', ['Map type', 'Interpreter', 'JIT', 'Kernel'], r, t);
  }

  // ---- helpers
  out.push('## Helpers', '',
    'Every helper tsbpf implements (`src/helpers/table.ts`, prototypes in `src/helpers/protos.ts`), by Linux id.',
    'Any other helper id is refused when the program is loaded, with EINVAL and the helper\'s name',
    '(`unknown helper and helper not allowed for the program type` in `verifier.test.ts`).',
    'Kernel: kernel-run objects that call the helper.', '');
  check(c('verifier.test.ts', 'unknown helper and helper not allowed for the program type: EINVAL'), 'helpers refused');
  {
    const t: Tally = { rows: 0, interp: 0, jit: 0, kernel: 0 };
    const r: string[][] = [];
    const ids = implementedHelperIds();
    for (const id of Object.keys(HELPER_TESTS).map(Number)) if (!ids.includes(id)) problems.push(`HELPER_TESTS cites helper ${id}, which the table does not implement`);
    for (const id of ids) {
      const name = `bpf_${HELPER_NAMES[id] ?? '?'}`;
      const cite = HELPER_TESTS[id];
      const interp = cite ? renderCell(check(cite, `helper ${id}`)) : 'not yet: implemented, no test';
      const jit = jitCell(HELPER_JIT[id], ju.helpers.get(id), `helper ${id} (JIT)`);
      const kernel = runsCell(ku.helpers.get(id), 'not yet: no kernel-run object calls it');
      r.push([`${id}`, `\`${name}\``, interp, jit, kernel]);
      t.rows++;
      if (ok(interp)) t.interp++;
      if (ok(jit)) t.jit++;
      if (ok(kernel)) t.kernel++;
      note('Helpers', name, { Interpreter: interp, JIT: jit, Kernel: kernel });
    }
    table('Helpers', ['Id', 'Helper', 'Interpreter', 'JIT', 'Kernel'], r, t);
  }

  // ---- program types
  out.push('## Program types', '',
    'Program types with a hook in `src/hooks` (context layout, ctx rewrites, allowed helpers, test run). Every',
    'other type is refused at load with EINVAL (`progTypeOps covers the four supported types and nothing else` in',
    '`hooks.test.ts`). Kernel: kernel-run objects of the type.', '');
  check(c('hooks.test.ts', 'progTypeOps covers the four supported types and nothing else'), 'program types refused');
  {
    const t: Tally = { rows: 0, interp: 0, jit: 0, kernel: 0 };
    const r: string[][] = [];
    for (const [full, type] of Object.entries(BPF_PROG_TYPE)) {
      if (progTypeOps(type) === undefined) continue;
      const name = full.replace('BPF_PROG_TYPE_', '');
      const cite = PROG_TYPE_TESTS[name];
      if (cite === undefined) problems.push(`program type ${name} has a hook but PROG_TYPE_TESTS cites no test`);
      const interp = cite ? renderCell(check(cite, `program type ${name}`)) : 'not yet: no test';
      const jit = jitCell(undefined, ju.progTypes.get(type), `program type ${name} (JIT)`);
      const kernel = runsCell(ku.progTypes.get(type), 'not yet: no kernel-run object of this type');
      r.push([`\`${name}\``, interp, jit, kernel]);
      t.rows++;
      if (ok(interp)) t.interp++;
      if (ok(jit)) t.jit++;
      if (ok(kernel)) t.kernel++;
      note('Program types', name, { Interpreter: interp, JIT: jit, Kernel: kernel });
    }
    for (const name of Object.keys(PROG_TYPE_TESTS)) {
      const type = (BPF_PROG_TYPE as Record<string, number>)[`BPF_PROG_TYPE_${name}`];
      if (type === undefined || progTypeOps(type) === undefined) problems.push(`PROG_TYPE_TESTS cites ${name}, which has no hook`);
    }
    table('Program types', ['Program type', 'Interpreter', 'JIT', 'Kernel'], r, t);
    const others = Object.entries(BPF_PROG_TYPE).filter(([, v]) => v !== 0 && progTypeOps(v) === undefined).map(([, v]) => progShort(v));
    out.push(`Not implemented (refused at load with EINVAL): ${others.map((o) => `\`${o}\``).join(', ')}.`, '');
  }

  // ---- curated rule tables
  const rules = (title: string, intro: string[], list: Row[]): void => {
    out.push(`## ${title}`, '', ...intro, '');
    const t: Tally = { rows: 0, interp: 0, jit: 0, kernel: 0 };
    const r: string[][] = [];
    for (const row of list) {
      const interp = renderCell(check(row.interp, `${title}: ${row.feature}`));
      const jit = renderCell(check(row.jit, `${title}: ${row.feature} (JIT)`, 'jit'));
      const kernel = renderCell(check(row.kernel, `${title}: ${row.feature} (kernel)`, 'kernel'));
      r.push([row.feature, interp, jit, kernel]);
      t.rows++;
      if (ok(interp)) t.interp++;
      if (ok(jit)) t.jit++;
      if (ok(kernel)) t.kernel++;
      note(title, row.feature, { Interpreter: interp, JIT: jit, Kernel: kernel });
    }
    table(title, ['Rule', 'Interpreter', 'JIT', 'Kernel'], r, t);
  };
  rules('Tail calls', [
    'The rules of `/work/shared/SEMANTICS.md` ("Tail calls") and issue 4. Kernel cells cite tests whose kernel half runs',
    'the same objects with the same steps in Linux.',
  ], TAIL_CALL_RULES);
  rules('Chain calls and multi-program hooks', [
    'The 2019 series\' user API and both execution models ("inject", "native"), then the libxdp and bpf_mprog policies.',
    'Tests marked "both models" run once per model.',
  ], CHAIN_RULES);

  // ---- summary
  const summary: string[] = ['## Summary', '', '| Section | Rows | Interpreter ✓ | JIT ✓ | Kernel ✓ |', '|---|---|---|---|---|'];
  const merged = new Map<string, Tally>();
  for (const [title, t] of tallies) {
    const k = title.startsWith('Instructions') ? 'Instructions' : title;
    const m = merged.get(k) ?? { rows: 0, interp: 0, jit: 0, kernel: 0 };
    m.rows += t.rows; m.interp += t.interp; m.jit += t.jit; m.kernel += t.kernel;
    merged.set(k, m);
  }
  for (const [k, t] of merged) summary.push(`| ${k} | ${t.rows} | ${t.interp} | ${t.jit} | ${t.kernel} |`);
  summary.push('', 'Missing cells are listed at the end of the page.', '');
  out.splice(summaryAt, 0, ...summary);

  out.push('## Missing', '', 'Every cell above that is neither ✓ nor "not applicable", by section, column and reason:', '');
  for (const [section, bySec] of gaps) {
    out.push(`### ${section}`, '');
    for (const [col, byCol] of bySec) {
      for (const [reason, features] of byCol) out.push(`- **${col}** (${reason}, ${features.length}): ${features.join('; ')}`);
    }
    out.push('');
  }
  return { markdown: out.join('\n'), problems, missing };
}

function main(argv: string[]): number {
  const t0 = Date.now();
  const m = generate();
  if (m.problems.length > 0) {
    process.stderr.write(`feature-matrix: ${m.problems.length} problem(s); ${DOC_PATH} not written:\n${m.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 1;
  }
  const path = join(ROOT, DOC_PATH);
  if (argv.includes('--write')) {
    writeFileSync(path, m.markdown);
    process.stderr.write(`wrote ${DOC_PATH} (${m.missing.length} missing cells) in ${Date.now() - t0} ms\n`);
  } else if (argv.includes('--check')) {
    const have = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (have !== m.markdown) {
      process.stderr.write(`${DOC_PATH} is stale: run ${REGEN}\n`);
      return 1;
    }
  } else {
    process.stdout.write(m.markdown);
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));

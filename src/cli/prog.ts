// `tsbpf prog show|dump|run OBJ ...`: bpftool's prog verbs over a clang-built object.
// - show: programs (name, section, type, instruction count) and maps (name, type, key/value size, entries);
// - dump: the program's instructions as in the object, or `--xlated` after the load-time rewrites (map
//   references shown as map[id:N], helper calls by name), with `--source` C lines from the object's line info;
// - run: BPF_PROG_TEST_RUN, printing `Return value: R, duration (average): Nns`, or one JSON object with
//   --json; --map-dump NAME adds a map's contents after the run, --trace-pipe what trace_printk wrote;
//   --chain PREV:RETCODE=NEXT (repeatable) chains programs of the object by return code before the run
//   (BPF_PROG_CHAIN_ADD; RETCODE a number, an XDP verdict name or `any`), --chain-mode picks the execution
//   model (native by default; inject loads every PREV with BPF_F_INJECT_CHAIN_CALLS), and the output names
//   the programs that ran, in order ("programs_run" in --json; a "Programs run:" line with --chain);
//   --tail MAP:INDEX=PROG (repeatable) fills slot INDEX of the object's prog array MAP before the run, PROG
//   being a program of the same object or OTHER.o:NAME, loaded from another object into the same runtime
//   (that object's maps are its own); a `Tail calls:` line (and "tail_calls" in --json) names the slots set;
//   --engine interp|jit picks the engine that runs the programs (default: TSBPF_ENGINE, else the JIT).

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BpfError, fail } from '../errors.js';
import { BpfObject, type BpfProgram } from '../lib/index.js';
import { BpfRuntime } from '../syscall/runtime.js';
import type { BpfProg } from '../syscall/prog.js';
import { checkChainMode } from '../chain/core.js';
import { parseRetcode } from '../chain/api.js';
import { formatInsn, insnSlots } from '../isa/disasm.js';
import type { Insn } from '../isa/insn.js';
import {
  BPF_CALL_HELPER, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, OP_CALL, OP_LDDW,
} from '../isa/opcodes.js';
import { BPF_F_INJECT_CHAIN_CALLS, BPF_MAP_TYPE, helperName, mapTypeName, progTypeName } from '../uapi/bpf.js';
import type { LineInfo } from '../object/loader.js';
import { toHex } from './input.js';
import { dumpEntries, dumpText, shortMapType, shortProgType } from './map.js';

const USAGE = `usage: tsbpf prog show OBJ [--json]
       tsbpf prog dump OBJ --prog NAME [--xlated [--chain-mode inject]] [--source]
       tsbpf prog run OBJ --prog NAME [--data-in F] [--data-out F] [--ctx-in F] [--ctx-out F] [--repeat N]
                      [--map-dump NAME]... [--json] [--trace-pipe]
                      [--chain PREV:RETCODE=NEXT]... [--chain-mode native|inject]
                      [--tail MAP:INDEX=PROG|OTHER.o:PROG]... [--engine interp|jit]
`;

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'show': case 'list': return show(rest);
    case 'dump': return dump(rest);
    case 'run': return run(rest);
    default:
      process.stderr.write(verb === undefined ? USAGE : `tsbpf prog: unknown verb '${verb}'\n${USAGE}`);
      return 2;
  }
}

function usage(): number {
  process.stderr.write(USAGE);
  return 2;
}

// -----------------------------------------------------------------------------------------------------------

function show(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) return usage();
  const obj = BpfObject.open(positionals[0]);
  const progs = obj.programs().map((p) => ({
    name: p.name, section: p.section, type: shortProgType(progTypeName(p.type)), insns: p.spec.insns.length, autoload: p.autoload,
  }));
  const maps = obj.maps().map((m) => ({
    name: m.name, type: shortMapType(mapTypeName(m.type)), key_size: m.keySize, value_size: m.valueSize,
    max_entries: m.maxEntries, flags: m.spec.flags, section: m.spec.section,
  }));
  if (values.json) {
    process.stdout.write(JSON.stringify({ name: obj.name, license: obj.license, programs: progs, maps }) + '\n');
    return 0;
  }
  const out: string[] = [`${obj.name}: license "${obj.license}"`, `programs: ${progs.length}`];
  progs.forEach((p, i) => out.push(`${i}: ${p.type}  name ${p.name}  section ${p.section}  insns ${p.insns}${p.autoload ? '' : '  autoload false'}`));
  out.push(`maps: ${maps.length}`);
  maps.forEach((m, i) => out.push(`${i}: ${m.type}  name ${m.name}  key ${m.key_size}B  value ${m.value_size}B  max_entries ${m.max_entries}  flags 0x${m.flags.toString(16)}`));
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

// -----------------------------------------------------------------------------------------------------------

/** Text of one instruction with map references and helper calls spelled out. */
function insnText(insns: readonly Insn[], pc: number, mapName: (ins: Insn) => string | undefined): string {
  const ins = insns[pc];
  if (ins.code === OP_LDDW && pc + 1 < insns.length) {
    const s = ins.src;
    if (s === BPF_PSEUDO_MAP_FD || s === BPF_PSEUDO_MAP_VALUE) {
      // bpf_insn_prepare_dump put the map id in imm and the value offset in the second imm.
      const off = insns[pc + 1].imm;
      return `r${ins.dst} = map[id:${ins.imm}]${s === BPF_PSEUDO_MAP_VALUE ? `[0]+${off}` : ''}`;
    }
    if (s === BPF_PSEUDO_MAP_IDX || s === BPF_PSEUDO_MAP_IDX_VALUE) {
      const off = insns[pc + 1].imm;
      const n = mapName(ins) ?? `#${ins.imm}`;
      return `r${ins.dst} = map[${n}]${s === BPF_PSEUDO_MAP_IDX_VALUE ? `[0]+${off}` : ''}`;
    }
  }
  if (ins.code === OP_CALL && ins.src === BPF_CALL_HELPER) return `call ${helperName(ins.imm)}`;
  return formatInsn(insns, pc, 'llvm');
}

function listing(insns: readonly Insn[], opts: {
  source: boolean; lines: LineInfo[]; functions: { name: string; insn: number }[]; mapName: (ins: Insn) => string | undefined;
}): string {
  const fn = new Map(opts.functions.map((f) => [f.insn, f.name]));
  const src = new Map<number, LineInfo>();
  for (const l of opts.lines) src.set(l.insn, l);
  const out: string[] = [];
  let prevLine = '';
  for (let pc = 0; pc < insns.length;) {
    const name = fn.get(pc);
    if (name !== undefined) out.push(`${name}:`);
    const l = src.get(pc);
    if (opts.source && l !== undefined) {
      const text = `; ${l.source.trim()} [${l.file}:${l.line}]`;
      // Several line records may point at one source line in a row; print it once.
      if (text !== prevLine || name !== undefined) out.push(text);
      prevLine = text;
    }
    const code = insns[pc].code.toString(16).padStart(2, '0');
    out.push(`${String(pc).padStart(4)}: (${code}) ${insnText(insns, pc, opts.mapName)}`);
    pc += insnSlots(insns, pc);
  }
  return out.join('\n') + '\n';
}

function dump(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      prog: { type: 'string' }, xlated: { type: 'boolean', default: false }, source: { type: 'boolean', default: false },
      'chain-mode': { type: 'string' },
    },
  });
  if (positionals.length !== 1 || values.prog === undefined) return usage();
  const chainMode = checkChainMode(values['chain-mode'] ?? 'native');
  const obj = BpfObject.open(positionals[0]);
  const p = obj.program(values.prog);
  const mapName = (ins: Insn): string | undefined => obj.maps()[ins.imm]?.name;
  if (!values.xlated) {
    process.stdout.write(listing(p.spec.insns, { source: values.source, lines: p.spec.lineInfo, functions: p.spec.functions, mapName }));
    return 0;
  }
  // --chain-mode inject: load with BPF_F_INJECT_CHAIN_CALLS to show the rewritten exits.
  if (chainMode === 'inject') p.progFlags |= BPF_F_INJECT_CHAIN_CALLS;
  loadFor(obj, p.name, new BpfRuntime({ chainMode }));
  const info = p.info();
  const table = p.prog.chain?.handle;
  // The rewrites keep instruction indexes only where they change nothing; show source lines only when the
  // translated program is as long as the original (no ctx expansion moved them).
  const sameShape = info.xlatedProgInsns.length === p.spec.insns.length;
  let text = listing(info.xlatedProgInsns, {
    source: values.source && sameShape, lines: p.spec.lineInfo, functions: p.spec.functions, mapName,
  });
  // The injected chain-call sequences load the program's hidden slot table as a plain address: name it.
  if (table !== undefined) text = text.replaceAll(` = 0x${table.toString(16)} ll`, ` = 0x${table.toString(16)} ll  ; chain slots`);
  process.stdout.write(text);
  if (values.source && !sameShape) process.stderr.write('tsbpf: note: load-time rewrites moved instructions; source lines omitted\n');
  return 0;
}

/** Load the object with `prog` (and what prog arrays name); print the verifier log when the load fails. */
function loadFor(obj: BpfObject, prog: string | string[], runtime?: BpfRuntime): void {
  try {
    obj.load({ programs: Array.isArray(prog) ? prog : [prog], logLevel: 1, runtime });
  } catch (e) {
    const log = (e as { log?: string }).log;
    if (e instanceof BpfError && log) process.stderr.write(log.endsWith('\n') ? log : log + '\n');
    throw e;
  }
}

// -----------------------------------------------------------------------------------------------------------

function readInput(path: string): Uint8Array {
  return new Uint8Array(path === '-' ? readFileSync(0) : readFileSync(path));
}

function writeOutput(path: string, bytes: Uint8Array): void {
  if (path === '-') process.stdout.write(bytes);
  else writeFileSync(path, bytes);
}

function run(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      prog: { type: 'string' },
      'data-in': { type: 'string' }, 'data-out': { type: 'string' },
      'ctx-in': { type: 'string' }, 'ctx-out': { type: 'string' },
      repeat: { type: 'string' },
      'map-dump': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      'trace-pipe': { type: 'boolean', default: false },
      chain: { type: 'string', multiple: true },
      'chain-mode': { type: 'string' },
      tail: { type: 'string', multiple: true },
      engine: { type: 'string' },
    },
  });
  if (positionals.length !== 1 || values.prog === undefined) return usage();
  const engine = values.engine;
  if (engine !== undefined && engine !== 'interp' && engine !== 'jit') fail('EINVAL', `--engine must be interp or jit, not '${engine}'`);
  const chainMode = checkChainMode(values['chain-mode'] ?? 'native');
  const chains = (values.chain ?? []).map(parseChainArg);
  const tails = (values.tail ?? []).map(parseTailArg);
  let repeat = 1;
  if (values.repeat !== undefined) {
    repeat = Number(values.repeat);
    if (!Number.isSafeInteger(repeat) || repeat < 0 || repeat > 0xffffffff) fail('EINVAL', `--repeat must be a u32, not '${values.repeat}'`);
  }
  const obj = BpfObject.open(positionals[0]);
  const p: BpfProgram = obj.program(values.prog);
  const dumps = values['map-dump'] ?? [];
  for (const n of dumps) obj.map(n); // name errors before running
  const names = new Set([p.name]);
  for (const c of chains) {
    const prev = obj.program(c.prev);
    obj.program(c.next);
    names.add(c.prev).add(c.next);
    if (chainMode === 'inject') prev.progFlags |= BPF_F_INJECT_CHAIN_CALLS;
  }
  // --tail: name errors (map, program, object) before anything is loaded.
  const others = new Map<string, { obj: BpfObject; progs: Set<string> }>();
  for (const t of tails) {
    const m = obj.map(t.map);
    if (m.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY) fail('EINVAL', `--tail: map '${t.map}' (${shortMapType(mapTypeName(m.type))}) is not a prog_array`);
    if (t.index >= m.maxEntries) fail('E2BIG', `--tail: index ${t.index} is out of range for '${t.map}' (max_entries ${m.maxEntries})`);
    if (t.object === undefined) {
      obj.program(t.prog);
      names.add(t.prog);
      continue;
    }
    let o = others.get(t.object);
    if (o === undefined) others.set(t.object, (o = { obj: BpfObject.open(t.object), progs: new Set() }));
    o.obj.program(t.prog);
    o.progs.add(t.prog);
  }
  const rt = new BpfRuntime({ chainMode, engine });
  loadFor(obj, [...names], rt);
  for (const o of others.values()) loadFor(o.obj, [...o.progs], rt);
  for (const t of tails) {
    const target = t.object === undefined ? obj.program(t.prog) : others.get(t.object)!.obj.program(t.prog);
    obj.map(t.map).set(t.index, target);
  }
  for (const c of chains) obj.program(c.prev).chain.set(c.retcode, obj.program(c.next));
  // Record the programs that ran only when the output shows them (--json, --chain): recording makes the JIT
  // leave tail calls and chain hops to the run loop, so a plain `--repeat N` times the compiled fast path.
  const ran: BpfProg[] = [];
  if (values.json || chains.length > 0) rt.chains.record = ran;
  const dataIn = values['data-in'] !== undefined ? readInput(values['data-in']) : undefined;
  const ctxIn = values['ctx-in'] !== undefined ? readInput(values['ctx-in']) : undefined;
  const r = p.testRun({ dataIn, ctxIn, repeat });
  rt.chains.record = null;
  const programsRun = ran.map((x) => x.name);
  const trace = values['trace-pipe'] ? obj.runtime!.tracePipe.splice(0) : [];
  if (values['data-out'] !== undefined) writeOutput(values['data-out'], r.dataOut);
  if (values['ctx-out'] !== undefined && r.ctxOut !== null) writeOutput(values['ctx-out'], r.ctxOut);
  const toStdout = values['data-out'] === '-' || values['ctx-out'] === '-';

  if (values.json) {
    const o: Record<string, unknown> = { retval: r.retval, duration_ns: r.durationNs, data_out: toHex(r.dataOut) };
    if (r.ctxOut !== null) o.ctx_out = toHex(r.ctxOut);
    if (dumps.length > 0) {
      const maps: Record<string, unknown> = {};
      for (const n of dumps) maps[n] = dumpEntries(obj, obj.map(n));
      o.maps = maps;
    }
    if (values['trace-pipe']) o.trace_pipe = trace;
    o.programs_run = programsRun;
    o.engine = rt.vm.engine;
    if (tails.length > 0) o.tail_calls = tails.map((t) => ({ map: t.map, index: t.index, prog: t.prog, ...(t.object ? { object: t.object } : {}) }));
    (toStdout ? process.stderr : process.stdout).write(JSON.stringify(o) + '\n');
    return 0;
  }
  const out = toStdout ? process.stderr : process.stdout;
  for (const line of trace) out.write(line + '\n');
  out.write(`Return value: ${r.retval}, duration (average): ${r.durationNs}ns\n`);
  if (chains.length > 0) out.write(`Programs run: ${programsRun.join(' -> ')}\n`);
  if (tails.length > 0) out.write(`Tail calls: ${tails.map((t) => `${t.map}[${t.index}] = ${t.object ? `${t.object}:` : ''}${t.prog}`).join(', ')}\n`);
  for (const n of dumps) out.write(`map ${n}:\n${dumpText(obj, obj.map(n))}`);
  return 0;
}

/** `PREV:RETCODE=NEXT` of --chain (EINVAL for anything else). */
function parseChainArg(arg: string): { prev: string; retcode: number; next: string } {
  const m = /^([^:=]+):([^:=]+)=([^:=]+)$/.exec(arg);
  if (m === null) fail('EINVAL', `--chain '${arg}': expected PREV:RETCODE=NEXT (e.g. xdp_pass:any=xdp_drop)`);
  return { prev: m[1], retcode: parseRetcode(m[2]), next: m[3] };
}

/** `MAP:INDEX=PROG` or `MAP:INDEX=OTHER.o:PROG` of --tail (EINVAL for anything else). */
function parseTailArg(arg: string): { map: string; index: number; prog: string; object?: string } {
  const m = /^([^:=]+):(\d+|0x[0-9a-fA-F]+)=(.+)$/.exec(arg);
  if (m === null) fail('EINVAL', `--tail '${arg}': expected MAP:INDEX=PROG or MAP:INDEX=OTHER.o:PROG (e.g. jmp_table:1=parse_ip)`);
  const index = Number(m[2]);
  if (!Number.isSafeInteger(index) || index > 0xffffffff) fail('EINVAL', `--tail '${arg}': index ${m[2]} is not a u32`);
  const colon = m[3].lastIndexOf(':');
  if (colon < 0) return { map: m[1], index, prog: m[3] };
  const object = m[3].slice(0, colon), prog = m[3].slice(colon + 1);
  if (object === '' || prog === '') fail('EINVAL', `--tail '${arg}': expected OTHER.o:PROG after '='`);
  return { map: m[1], index, prog, object };
}

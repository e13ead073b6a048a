// `tsbpf trace --log FILE`: the tracex5 sample's user side. Replays a syscall log recorded by strace
// (`strace -f -X raw -e raw=all -o LOG CMD`, format in src/trace/strace.ts) as syscall-entry events: each
// call becomes a pt_regs frame (orig_ax = number, di/si/dx/r10/r8/r9 = arguments) on which the sample's
// kprobe entry program runs (samples/tracex5: it tail-calls a handler per syscall number through a prog
// array). Prints the trace pipe, one line per bpf_trace_printk prefixed with the pid of the call, then the
// per-syscall call counts the entry program kept in its `calls` map, with the handler of each number.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fail } from '../errors.js';
import { runKprobe } from '../hooks/index.js';
import { BpfObject } from '../lib/index.js';
import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import { parseStrace, syscallEntryRegs, type SyscallEvent } from '../trace/strace.js';
import { syscallName } from '../trace/syscalls_x86_64.js';

/** samples/tracex5 of this package (dist/src/cli -> repository root). */
export const TRACEX5_DIR = fileURLToPath(new URL('../../../samples/tracex5/', import.meta.url));
export const TRACEX5 = { object: 'tracex5_kern.o', entry: 'syscall_entry', progs: 'progs', calls: 'calls' } as const;

export interface TraceLine {
  /** pid of the call that printed it */
  pid: number;
  /** line of the strace log the call came from */
  logLine: number;
  text: string;
}

export interface CallCount {
  nr: number;
  name: string;
  count: number;
  /** the program in the number's prog-array slot, or null (the entry program's generic handler) */
  handler: string | null;
}

export interface ReplayResult {
  events: SyscallEvent[];
  trace: TraceLine[];
  /** syscalls with at least one call, most called first (ties by number) */
  calls: CallCount[];
}

export interface ReplayOptions {
  /** Another object with the same shape (entry program, `progs` prog array, `calls` array). */
  object?: string;
  entry?: string;
  /** Called after the object is loaded, before the replay (e.g. to change prog-array slots). */
  prepare?: (obj: BpfObject) => void;
}

/** Replay a strace log through the tracex5 sample in tsbpf. */
export function replayStrace(log: string, opts: ReplayOptions = {}): ReplayResult {
  const events = parseStrace(log);
  const obj = BpfObject.open(opts.object ?? TRACEX5_DIR + TRACEX5.object).load();
  try {
    opts.prepare?.(obj);
    const entry = obj.program(opts.entry ?? TRACEX5.entry);
    if (entry.type !== BPF_PROG_TYPE.BPF_PROG_TYPE_KPROBE) fail('EINVAL', `program '${entry.name}' is ${entry.typeName}, not a kprobe program`);
    const rt = obj.runtime!;
    const program = entry.prog.program;
    const trace: TraceLine[] = [];
    for (const ev of events) {
      // The task that made the call is `current` for the program (bpf_get_current_pid_tgid).
      rt.env.pid = ev.pid;
      rt.env.tgid = ev.pid;
      runKprobe(rt.vm, program, syscallEntryRegs(ev));
      for (const text of rt.tracePipe.splice(0)) trace.push({ pid: ev.pid, logLine: ev.line, text });
    }
    const handlers = new Map<number, string>();
    const byId = new Map(obj.programs().filter((p) => p.loaded).map((p) => [p.id, p.name]));
    for (const [k, v] of obj.map(TRACEX5.progs).entries()) {
      const id = new DataView(v.buffer, v.byteOffset).getUint32(0, true);
      handlers.set(new DataView(k.buffer, k.byteOffset).getUint32(0, true), byId.get(id) ?? `id ${id}`);
    }
    const calls: CallCount[] = [];
    for (const [k, v] of obj.map(TRACEX5.calls).entries()) {
      const count = Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true));
      if (count === 0) continue;
      const nr = new DataView(k.buffer, k.byteOffset).getUint32(0, true);
      calls.push({ nr, name: syscallName(nr), count, handler: handlers.get(nr) ?? null });
    }
    calls.sort((a, b) => b.count - a.count || a.nr - b.nr);
    return { events, trace, calls };
  } finally {
    obj.close();
  }
}

const USAGE = `usage: tsbpf trace --log FILE [--json] [--no-summary] [--obj OBJ --entry PROG]
  replays a syscall log recorded with \`strace -f -X raw -e raw=all -o FILE CMD\` through the tracex5
  syscall-dispatch sample and prints its trace pipe and per-syscall call counts
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      log: { type: 'string' }, json: { type: 'boolean', default: false }, 'no-summary': { type: 'boolean', default: false },
      obj: { type: 'string' }, entry: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return 0; }
  const file = values.log ?? positionals[0];
  if (file === undefined || positionals.length > (values.log === undefined ? 1 : 0)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const r = replayStrace(readFileSync(file, 'utf8'), { object: values.obj, entry: values.entry });
  if (values.json) {
    process.stdout.write(JSON.stringify({ events: r.events.length, trace: r.trace, calls: r.calls }) + '\n');
    return 0;
  }
  const pidWidth = Math.max(3, ...r.trace.map((t) => String(t.pid).length));
  let out = r.trace.map((t) => `${String(t.pid).padStart(pidWidth)}  ${t.text}`).join('\n') + (r.trace.length > 0 ? '\n' : '');
  if (!values['no-summary']) {
    const nameW = Math.max(7, ...r.calls.map((c) => c.name.length));
    out += `\n${r.events.length} syscalls replayed\n${'calls'.padStart(6)}  ${'syscall'.padEnd(nameW)}  ${'nr'.padStart(3)}  handler\n`;
    for (const c of r.calls) {
      out += `${String(c.count).padStart(6)}  ${c.name.padEnd(nameW)}  ${String(c.nr).padStart(3)}  ${c.handler ?? '- (generic)'}\n`;
    }
  }
  process.stdout.write(out);
  return 0;
}

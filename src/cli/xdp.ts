// `tsbpf xdp run`: one virtual interface with a program set from an object, fed with a capture file.
// Every frame of the capture arrives on the interface (xdp0) and runs through its XDP hook:
// - one --prog: the program alone (policy "single");
// - several: libxdp's dispatcher (default; --prio NAME=N and --actions NAME=pass,tx set a program's run
//   priority and chain_call_actions) or bpf_mprog (--policy mprog; programs run in command-line order and
//   a program returning -1 hands the frame to the next one).
// What leaves the interface (XDP_TX, and redirects to the interface itself) goes to --out as a pcap file
// with the input frame's timestamp; what the program passes to the host side (XDP_PASS, cpumap) goes to
// --pass-out. Dropped, aborted and failed redirects are only counted. At the end: the per-program,
// per-verdict table (or one JSON object with --json). A progress bar is drawn on stderr for captures of
// PROGRESS_MIN packets or more, only when stderr is a terminal.

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fail } from '../errors.js';
import { BpfObject, type BpfProgram } from '../lib/index.js';
import { Net, type NetDevice } from '../net/netdev.js';
import { LINKTYPE_ETHERNET, readCapture, writePcap } from '../net/pcap.js';
import {
  BPF_F_AFTER, XdpProgram, mprogAttach, xdpAttachMulti,
} from '../net/multiprog.js';
import { VERDICT_NAMES } from '../net/stats.js';
import { BpfRuntime } from '../syscall/runtime.js';

const USAGE = `usage: tsbpf xdp run --obj OBJ --prog NAME [--prog NAME]... --pcap IN [--out OUT] [--pass-out FILE]
                    [--policy single|libxdp|mprog] [--prio NAME=N]... [--actions NAME=ACT[,ACT]...]...
                    [--mtu N] [--engine interp|jit] [--json]
  --engine    engine that runs the programs (default: TSBPF_ENGINE, else the JIT)
  --out       frames that leave the interface (XDP_TX, redirects to it), as pcap
  --pass-out  frames handed to the host side (XDP_PASS), as pcap
  ACT         aborted, drop, pass, tx, redirect or a number (libxdp chain_call_actions)
`;

/** Captures with at least this many packets get a progress bar (on a terminal). */
export const PROGRESS_MIN = 10_000;

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'run') return run(rest);
  process.stderr.write(verb === undefined ? USAGE : `tsbpf xdp: unknown verb '${verb}'\n${USAGE}`);
  return 2;
}

const ACTIONS: Record<string, number> = { aborted: 0, drop: 1, pass: 2, tx: 3, redirect: 4 };

function actionOf(text: string): number {
  const t = text.trim().toLowerCase().replace(/^xdp_/, '');
  if (t in ACTIONS) return ACTIONS[t];
  if (/^\d+$/.test(t) && Number(t) < 31) return Number(t);
  fail('EINVAL', `'${text}' is not an XDP action (aborted, drop, pass, tx, redirect or 0..30)`);
}

/** NAME=VALUE options into a map (EINVAL for a malformed one or a name not among the programs). */
function perProg(opt: string, list: string[] | undefined, progs: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) fail('EINVAL', `--${opt} ${item}: expected NAME=VALUE`);
    const name = item.slice(0, eq);
    if (!progs.includes(name)) fail('EINVAL', `--${opt} ${item}: '${name}' is not one of the --prog programs`);
    m.set(name, item.slice(eq + 1));
  }
  return m;
}

/** A one-line progress bar, redrawn when the percentage changes; drawn only on a terminal, for big inputs. */
export class Progress {
  private last = -1;
  readonly on: boolean;
  constructor(private readonly total: number, private readonly stream: { write(s: string): unknown; isTTY?: boolean }, min = PROGRESS_MIN) {
    this.on = stream.isTTY === true && total >= min;
  }
  update(done: number): void {
    if (!this.on) return;
    const pct = Math.floor((done * 100) / this.total);
    if (pct === this.last) return;
    this.last = pct;
    const width = 40;
    const fill = Math.round((pct * width) / 100);
    this.stream.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${done}/${this.total} packets`);
  }
  end(): void {
    if (this.on) this.stream.write('\n');
  }
}

function attach(dev: NetDevice, progs: BpfProgram[], policy: string, prio: Map<string, string>, actions: Map<string, string>): void {
  if (policy === 'single') {
    if (progs.length !== 1) fail('EINVAL', `policy single runs one program, ${progs.length} were given`);
    dev.attachXdp(progs[0]);
    return;
  }
  if (policy === 'libxdp') {
    const xps = progs.map((p) => {
      const x = new XdpProgram(p);
      const pr = prio.get(p.name);
      if (pr !== undefined) {
        if (!/^\d+$/.test(pr)) fail('EINVAL', `--prio ${p.name}=${pr}: not an unsigned integer`);
        x.setRunPrio(Number(pr));
      }
      const acts = actions.get(p.name);
      if (acts !== undefined) {
        x.setChainCallEnabled(2, false);
        for (const a of acts.split(',').filter((s) => s !== '')) x.setChainCallEnabled(actionOf(a), true);
      }
      return x;
    });
    xdpAttachMulti(dev, xps);
    return;
  }
  if (policy === 'mprog') {
    for (const p of progs) mprogAttach(dev, { attachBpfFd: p.fd, attachFlags: BPF_F_AFTER });
    return;
  }
  fail('EINVAL', `unknown policy '${policy}' (single, libxdp or mprog)`);
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      obj: { type: 'string' },
      prog: { type: 'string', multiple: true },
      pcap: { type: 'string' },
      out: { type: 'string' },
      'pass-out': { type: 'string' },
      policy: { type: 'string' },
      prio: { type: 'string', multiple: true },
      actions: { type: 'string', multiple: true },
      mtu: { type: 'string' },
      json: { type: 'boolean', default: false },
      engine: { type: 'string' },
    },
  });
  const names = values.prog ?? [];
  if (positionals.length !== 0 || values.obj === undefined || values.pcap === undefined || names.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (new Set(names).size !== names.length) fail('EINVAL', `a program is named twice in --prog`);
  const policy = values.policy ?? (names.length === 1 ? 'single' : 'libxdp');
  if (policy !== 'libxdp' && (values.prio !== undefined || values.actions !== undefined)) {
    fail('EINVAL', '--prio and --actions apply to the libxdp policy');
  }
  const engine = values.engine;
  if (engine !== undefined && engine !== 'interp' && engine !== 'jit') fail('EINVAL', `--engine must be interp or jit, not '${engine}'`);
  const prio = perProg('prio', values.prio, names);
  const actions = perProg('actions', values.actions, names);

  const capture = readCapture(new Uint8Array(readFileSync(values.pcap)));
  if (capture.linktype !== LINKTYPE_ETHERNET) fail('EINVAL', `${values.pcap}: link type ${capture.linktype} is not Ethernet (1)`);

  const net = new Net({ runtime: new BpfRuntime({ engine }) });
  const obj = BpfObject.open(values.obj).load({ runtime: net.rt, programs: names });
  const progs = names.map((n) => obj.program(n));
  const mtu = values.mtu === undefined ? undefined : Number(values.mtu);
  if (mtu !== undefined && !Number.isInteger(mtu)) fail('EINVAL', `--mtu ${values.mtu}: not an integer`);
  const dev = net.createDevice('xdp0', { mtu });
  attach(dev, progs, policy, prio, actions);

  let ts = 0n;
  const out: Array<{ ts: bigint; data: Uint8Array }> = [];
  const passed: Array<{ ts: bigint; data: Uint8Array }> = [];
  const keepOut = values.out !== undefined, keepPass = values['pass-out'] !== undefined;
  let outCount = 0, passCount = 0;
  dev.txHandler = (f) => {
    outCount++;
    if (keepOut) out.push({ ts, data: f.slice() });
  };
  dev.rxHandler = (f) => {
    passCount++;
    if (keepPass) passed.push({ ts, data: f.slice() });
  };

  const packets = capture.packets;
  const progress = new Progress(packets.length, process.stderr);
  const t0 = performance.now();
  for (let i = 0; i < packets.length; i++) {
    ts = packets[i].ts;
    dev.receive(packets[i].data);
    if ((i & 1023) === 0) progress.update(i);
  }
  progress.update(packets.length);
  progress.end();
  const elapsedMs = performance.now() - t0;

  if (keepOut) writeFileSync(values.out!, writePcap(out));
  if (keepPass) writeFileSync(values['pass-out']!, writePcap(passed));

  const order = dev.programs().map((p) => p.name);
  if (values.json) {
    const verdicts: Record<string, number> = {};
    VERDICT_NAMES.forEach((n, i) => { verdicts[n] = dev.stats.verdicts[i]; });
    process.stdout.write(JSON.stringify({
      policy, engine: net.rt.vm.engine, programs: order, packets: packets.length, out_packets: outCount, pass_packets: passCount,
      device: dev.stats.toJSON(), program_stats: dev.progStats().map((s) => s.toJSON()), verdicts,
      elapsed_ms: Math.round(elapsedMs),
    }) + '\n');
    return 0;
  }
  const lines = [
    `${values.pcap}: ${packets.length} packets (${capture.format}) through ${dev.name}, policy ${policy}: ${order.join(' -> ')}`,
    dev.formatStats(),
    `out ${outCount} packets${keepOut ? ` -> ${values.out}` : ''}, to host ${passCount} packets${keepPass ? ` -> ${values['pass-out']}` : ''}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

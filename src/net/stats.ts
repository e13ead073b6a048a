// Counters of a virtual interface: the netdev counters (`ip -s link`), the XDP verdicts the hook returned,
// the XDP exceptions (what the kernel reports through the xdp:xdp_exception tracepoint: ABORTED, unknown
// actions, failed redirects), and one row per program with the values it returned. Plus their text table.

import type { BpfProg } from '../syscall/prog.js';

/** Verdict columns: XDP_ABORTED..XDP_REDIRECT, then every other return value. */
export const VERDICT_NAMES = ['ABORTED', 'DROP', 'PASS', 'TX', 'REDIRECT', 'other'] as const;
export const VERDICT_OTHER = 5;

/** Column of a return value (0..4 the XDP actions, 5 anything else). */
export const verdictColumn = (ret: number): number => (ret >>> 0 <= 4 ? ret >>> 0 : VERDICT_OTHER);

export class DevStats {
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  /** Frames dropped before XDP ran: runts, frames over the MTU, a full receive queue. */
  rxDropped = 0;
  /** Frames a transmission could not send (device down, full queue of the peer). */
  txDropped = 0;
  /** Frames dropped because they had crossed too many hops (a TX/redirect loop). */
  loopDropped = 0;
  /** Verdicts of the hook, by VERDICT_NAMES column. */
  readonly verdicts = new Float64Array(VERDICT_NAMES.length);
  /** XDP exceptions: ABORTED, unknown actions, failed redirects, programs that faulted. */
  exceptions = 0;
  /** Failed redirects (also counted in exceptions). */
  redirectErrors = 0;
  /** Programs that stopped with a runtime error (counted as ABORTED). */
  progErrors = 0;
  /** Frames handed to the host side (PASS and cpumap redirects). */
  hostDelivered = 0;

  reset(): void {
    this.rxPackets = this.rxBytes = this.txPackets = this.txBytes = 0;
    this.rxDropped = this.txDropped = this.loopDropped = 0;
    this.verdicts.fill(0);
    this.exceptions = this.redirectErrors = this.progErrors = this.hostDelivered = 0;
  }

  toJSON(): Record<string, unknown> {
    const v: Record<string, number> = {};
    VERDICT_NAMES.forEach((n, i) => { v[n] = this.verdicts[i]; });
    return {
      rx_packets: this.rxPackets, rx_bytes: this.rxBytes, tx_packets: this.txPackets, tx_bytes: this.txBytes,
      rx_dropped: this.rxDropped, tx_dropped: this.txDropped, loop_dropped: this.loopDropped, verdicts: v,
      exceptions: this.exceptions, redirect_errors: this.redirectErrors, prog_errors: this.progErrors,
      host_delivered: this.hostDelivered,
    };
  }
}

/** What one program returned on one device. */
export class ProgStats {
  readonly prog: BpfProg;
  /** Runs by return value column. */
  readonly verdicts = new Float64Array(VERDICT_NAMES.length);
  runs = 0;
  constructor(prog: BpfProg) {
    this.prog = prog;
  }
  toJSON(): Record<string, unknown> {
    const v: Record<string, number> = {};
    VERDICT_NAMES.forEach((n, i) => { v[n] = this.verdicts[i]; });
    return { id: this.prog.id, name: this.prog.name, runs: this.runs, verdicts: v };
  }
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());
}

/** The per-program, per-verdict table of a device, then its totals and exceptions. */
export function formatStats(name: string, ifindex: number, dev: DevStats, progs: readonly ProgStats[]): string {
  const head = ['program', 'id', 'runs', ...VERDICT_NAMES];
  const rows: string[][] = [head];
  for (const p of progs) rows.push([p.prog.name || '(unnamed)', String(p.prog.id), String(p.runs), ...[...p.verdicts].map(String)]);
  const sum = dev.verdicts.reduce((a, b) => a + b, 0);
  rows.push(['= verdict', '', String(sum), ...[...dev.verdicts].map(String)]);
  const lines = [`${name} (ifindex ${ifindex}): rx ${dev.rxPackets} packets ${dev.rxBytes} bytes, tx ${dev.txPackets} packets ${dev.txBytes} bytes`];
  lines.push(...table(rows));
  lines.push(
    `exceptions ${dev.exceptions} (redirect errors ${dev.redirectErrors}, program errors ${dev.progErrors}), ` +
    `to host ${dev.hostDelivered}, rx dropped ${dev.rxDropped}, tx dropped ${dev.txDropped}, loop dropped ${dev.loopDropped}`,
  );
  return lines.join('\n');
}

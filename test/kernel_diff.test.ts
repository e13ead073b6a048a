// The kernel as the oracle: every program of the realistic test objects runs, packet by packet, in the Linux
// kernel (src/kernel, through bpftool, pinned to CPU 0) and in tsbpf (src/lib, on simulated CPU 0 of as many
// CPUs as the kernel has possible), on the same fixed packet sequence (test/packets). After each packet the
// return value (or the errno of a refused run), data_out, ctx_out and every map of the object must be the
// same. Maps persist across packets in both; after a reported map difference tsbpf's maps are set to the
// kernel's, so each packet is judged from the same state. Skips with the reason when the kernel is not reachable.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  kernelAvailable, loadObject, progRun, mapDump, progArraySet, possibleCpus, cleanup, pinnedDirs, libbpfPinName,
  type KernelObject,
} from '../src/kernel/index.js';
import { BpfObject } from '../src/lib/index.js';
import { BpfError } from '../src/errors.js';
import { BPF_MAP_TYPE } from '../src/uapi/bpf.js';
import { PROGS_DIR } from './object_util.js';
import { PACKETS, type Packet } from './packets/fixtures.js';

after(() => cleanup());

interface DiffCase {
  /** test title */
  title: string;
  object: string;
  prog: string;
  repeat?: number;
  /** ctx_in for a packet (XDP: struct xdp_md; socket filter: struct __sk_buff) */
  ctxIn?: (p: Packet) => Uint8Array;
  /** ctx_in is one the kernel refuses, whatever the packet */
  badCtx?: boolean;
  /** only these packets (all by default) */
  packets?: string[];
  /** prog-array slots to fill before the first packet: [map, index, program] */
  slots?: Array<[string, number, string]>;
}

/** struct xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex } */
const xdpMd = (data: number, dataEnd: number): Uint8Array => {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(0, data, true);
  v.setUint32(4, dataEnd, true);
  return b;
};

/** struct __sk_buff prefix (the fields ctx_in may set): mark @8, priority @32, cb[0..4] @48 */
const skBuff = (): Uint8Array => {
  const b = new Uint8Array(192);
  const v = new DataView(b.buffer);
  v.setUint32(8, 0x1234, true);
  v.setUint32(32, 6, true);
  v.setUint32(52, 99, true); // cb[1]
  v.setUint32(64, 0xabcd, true); // cb[4]
  return b;
};

/** A few packets of each kind, for the cases that vary run options rather than packets. */
const SHORT_LIST = ['ipv4_tcp_syn', 'ipv4_udp_discard_big', 'ipv6_udp', 'vlan100_ipv4_udp', 'qinq_ipv4_tcp', 'arp_request',
  'eth_header_only', 'tiny_frame_10'];

const CASES: DiffCase[] = [
  { title: 'xdp_parser (Ethernet/VLAN/IPv4/IPv6/TCP/UDP, VLAN pop, tail trim)', object: 'xdp_parser', prog: 'xdp_parser' },
  { title: 'xdp_flow (flow hash, verdict array, per-CPU protocol counters, ICMP echo reply, TTL)', object: 'xdp_flow', prog: 'xdp_flow' },
  { title: 'xdp_flow with repeat 4', object: 'xdp_flow', prog: 'xdp_flow', repeat: 4 },
  { title: 'xdp_flow with ctx_in (xdp_md data 0, data_end = len)', object: 'xdp_flow', prog: 'xdp_flow', ctxIn: (p) => xdpMd(0, p.bytes.length) },
  { title: 'xdp_vlan (adjust_head: push and pop 802.1Q tags)', object: 'xdp_vlan', prog: 'xdp_vlan' },
  { title: 'xdp_head_limits (adjust_head edges)', object: 'xdp_vlan', prog: 'xdp_head_limits' },
  { title: 'xdp_tail (adjust_tail: trim UDP, append a TCP trailer)', object: 'xdp_tail', prog: 'xdp_tail' },
  { title: 'xdp_tail_limits (adjust_tail edges)', object: 'xdp_tail', prog: 'xdp_tail_limits' },
  { title: 'xdp_meta (adjust_meta, metadata in data_out, adjust_head moving metadata)', object: 'xdp_meta', prog: 'xdp_meta' },
  { title: 'xdp_meta with 4 bytes of metadata from ctx_in', object: 'xdp_meta', prog: 'xdp_meta', ctxIn: (p) => xdpMd(4, p.bytes.length) },
  { title: 'sock_filter (LD_ABS/LD_IND, skb_load_bytes, __sk_buff fields)', object: 'sock_filter', prog: 'sock_filter' },
  { title: 'sock_filter with a __sk_buff ctx_in (mark, priority, cb)', object: 'sock_filter', prog: 'sock_filter', ctxIn: () => skBuff() },
  // repeat runs the program again on the buffer the previous run left: head/tail moves accumulate or not as
  // the kernel does it
  { title: 'xdp_vlan with repeat 3', object: 'xdp_vlan', prog: 'xdp_vlan', repeat: 3, packets: SHORT_LIST },
  { title: 'xdp_tail with repeat 3', object: 'xdp_tail', prog: 'xdp_tail', repeat: 3, packets: SHORT_LIST },
  { title: 'xdp_meta with repeat 2', object: 'xdp_meta', prog: 'xdp_meta', repeat: 2, packets: SHORT_LIST },
  { title: 'sock_filter with repeat 2', object: 'sock_filter', prog: 'sock_filter', repeat: 2, packets: SHORT_LIST },
  // ctx_in the kernel refuses
  {
    title: 'xdp_flow with a bad xdp_md (data_end != data_in size)', object: 'xdp_flow', prog: 'xdp_flow',
    ctxIn: (p) => xdpMd(0, p.bytes.length + 1), badCtx: true, packets: SHORT_LIST,
  },
  {
    title: 'xdp_flow with a bad xdp_md (metadata length not a multiple of 4)', object: 'xdp_flow', prog: 'xdp_flow',
    ctxIn: (p) => xdpMd(3, p.bytes.length), badCtx: true, packets: SHORT_LIST,
  },
  {
    title: 'sock_filter with a __sk_buff setting a field ctx_in may not set (len)', object: 'sock_filter', prog: 'sock_filter',
    ctxIn: () => { const b = skBuff(); b[0] = 1; return b; }, badCtx: true, packets: SHORT_LIST,
  },
  {
    title: 'sock_filter with a __sk_buff naming a device that does not exist', object: 'sock_filter', prog: 'sock_filter',
    ctxIn: () => { const b = skBuff(); new DataView(b.buffer).setUint32(40, 0x7fff0000, true); return b; }, badCtx: true,
    packets: SHORT_LIST,
  },
  {
    title: 'xdp_tailcall (prog-array dispatch)', object: 'xdp_tailcall', prog: 'xdp_dispatch',
    slots: [['jump_table', 0, 'xdp_tcp_target'], ['jump_table', 1, 'xdp_udp_target']],
  },
];

const hex = (b: Uint8Array | null | undefined): string => (b == null ? 'null' : Buffer.from(b).toString('hex'));

/** What one run gave: the result, or the errno of a refused run. */
interface Outcome {
  error?: string;
  retval?: number;
  dataOut?: string;
  ctxOut?: string;
}

/** map name -> key hex -> value hex (per-CPU: values joined with '|'; prog arrays: 'prog'). */
type State = Map<string, Map<string, string>>;

function kernelState(k: KernelObject, t: BpfObject): State {
  const s: State = new Map();
  for (const h of t.maps()) {
    const isProgArray = h.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY;
    const m = new Map<string, string>();
    for (const e of mapDump(k.map(libbpfPinName(h.name, k.path)))) {
      m.set(hex(e.key), isProgArray ? 'prog' : e.values !== undefined ? e.values.map(hex).join('|') : hex(e.value));
    }
    s.set(h.name, m);
  }
  return s;
}

function tsbpfState(t: BpfObject): State {
  const s: State = new Map();
  for (const h of t.maps()) {
    const isProgArray = h.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY;
    const m = new Map<string, string>();
    for (const key of h.keys()) {
      if (isProgArray) {
        if (h.get(key) !== undefined) m.set(hex(key), 'prog');
        continue;
      }
      const vs = h.percpu ? h.getPerCpu(key) : undefined;
      const v = vs === undefined ? h.get(key) : undefined;
      if (vs !== undefined) m.set(hex(key), vs.map(hex).join('|'));
      else if (v !== undefined) m.set(hex(key), hex(v));
    }
    s.set(h.name, m);
  }
  return s;
}

/** Entries that differ between two states of the same maps: "map[key]: a != b". */
function stateDiff(a: State, b: State, an: string, bn: string): string[] {
  const out: string[] = [];
  for (const [name, am] of a) {
    const bm = b.get(name) ?? new Map<string, string>();
    const keys = new Set([...am.keys(), ...bm.keys()]);
    for (const k of [...keys].sort()) {
      const av = am.get(k);
      const bv = bm.get(k);
      if (av !== bv) out.push(`${name}[${k}]: ${an} ${av ?? '(none)'} != ${bn} ${bv ?? '(none)'}`);
    }
  }
  return out;
}

/**
 * Make tsbpf's maps hold what the kernel's hold (after a difference has been reported), so the next packet
 * starts from the same state and is judged on its own. Prog arrays and frozen maps are left alone.
 */
function resync(t: BpfObject, k: State): void {
  for (const h of t.maps()) {
    if (h.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY || h.spec.frozen) continue;
    const want = k.get(h.name) ?? new Map<string, string>();
    const isArray = h.type === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY || h.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY;
    if (!isArray) for (const key of h.keys()) if (!want.has(hex(key))) h.delete(key);
    for (const [key, value] of want) {
      const parts = value.split('|').map((v) => Buffer.from(v, 'hex'));
      let bytes: Uint8Array = parts[0];
      if (h.percpu) {
        const stride = (h.valueSize + 7) & ~7;
        bytes = new Uint8Array(stride * parts.length);
        parts.forEach((v, i) => bytes.set(v, i * stride));
      }
      h.set(new Uint8Array(Buffer.from(key, 'hex')), new Uint8Array(bytes));
    }
  }
}

function runKernel(k: KernelObject, c: DiffCase, p: Packet): Outcome {
  try {
    const r = progRun(k.prog(c.prog), { dataIn: p.bytes, ctxIn: c.ctxIn?.(p), repeat: c.repeat ?? 1, cpu: 0 });
    return { retval: r.retval, dataOut: hex(r.dataOut), ctxOut: c.ctxIn ? hex(r.ctxOut) : undefined };
  } catch (e) {
    if (e instanceof BpfError) return { error: e.code };
    throw e;
  }
}

function runTsbpf(t: BpfObject, c: DiffCase, p: Packet): Outcome {
  try {
    const r = t.program(c.prog).testRun({ dataIn: p.bytes, ctxIn: c.ctxIn?.(p), repeat: c.repeat ?? 1 });
    return { retval: r.retval >>> 0, dataOut: hex(r.dataOut), ctxOut: c.ctxIn ? hex(r.ctxOut) : undefined };
  } catch (e) {
    if (e instanceof BpfError) return { error: `${e.code}` };
    throw e;
  }
}

/** Two byte strings (hex) that differ, for a message: lengths, first differing byte, and 48 bytes from a
 * little before it. */
function bytesDiff(what: string, a: string | undefined, b: string | undefined): string {
  const short = (x: string | undefined): string => (x === undefined ? 'none' : `${x.length / 2} bytes ${x.slice(0, 96)}${x.length > 96 ? '...' : ''}`);
  if (a === undefined || b === undefined) return `${what}: kernel ${short(a)} != tsbpf ${short(b)}`;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const at = Math.floor(i / 2);
  const from = Math.max(0, at - 8);
  const win = (x: string): string => `${from > 0 ? '...' : ''}${x.slice(from * 2, (from + 48) * 2)}${x.length > (from + 48) * 2 ? '...' : ''}`;
  return `${what} (kernel ${a.length / 2} bytes, tsbpf ${b.length / 2} bytes, first difference at byte ${at}):\n` +
    `  kernel ${win(a)}\n  tsbpf  ${win(b)}`;
}

for (const c of CASES) {
  const packets = c.packets === undefined ? PACKETS : PACKETS.filter((p) => c.packets!.includes(p.name));
  test(`kernel diff: ${c.title}: ${packets.length} packets`, async (t) => {
    const k = kernelAvailable();
    if (!k.ok) {
      t.skip(`kernel not reachable: ${k.why}`);
      return;
    }
    const path = `${PROGS_DIR}${c.object}.o`;
    try {
      const kobj = loadObject(path);
      const tobj = BpfObject.open(path).load({ nCpus: possibleCpus() });
      for (const [map, index, prog] of c.slots ?? []) {
        progArraySet(kobj.map(map), index, kobj.prog(prog));
        tobj.map(map).set(index, tobj.program(prog));
      }
      const initial = stateDiff(kernelState(kobj, tobj), tsbpfState(tobj), 'kernel', 'tsbpf');
      assert.deepEqual(initial, [], `${c.object}: maps differ after load, before any packet`);
      for (const p of packets) {
        await t.test(p.name, () => {
          const ko = runKernel(kobj, c, p);
          const to = runTsbpf(tobj, c, p);
          const kNow = kernelState(kobj, tobj);
          const tNow = tsbpfState(tobj);
          const problems: string[] = [];
          if (ko.error !== to.error) problems.push(`run: kernel ${ko.error ?? 'ran'} != tsbpf ${to.error ?? 'ran'}`);
          if (ko.retval !== to.retval) problems.push(`retval: kernel ${ko.retval} != tsbpf ${to.retval}`);
          if (ko.dataOut !== to.dataOut) problems.push(bytesDiff('data_out', ko.dataOut, to.dataOut));
          if (ko.ctxOut !== to.ctxOut) problems.push(bytesDiff('ctx_out', ko.ctxOut, to.ctxOut));
          const d = stateDiff(kNow, tNow, 'kernel', 'tsbpf');
          if (d.length > 0) {
            problems.push(`maps (tsbpf's are set to the kernel's before the next packet):\n  ${d.join('\n  ')}`);
            resync(tobj, kNow);
          }
          if (problems.length > 0) assert.fail(`${c.object}/${c.prog} on ${p.name} (${p.why}):\n${problems.join('\n')}`);
        });
      }
    } finally {
      cleanup();
    }
    assert.deepEqual(pinnedDirs(), [], 'nothing stays pinned');
  });
}

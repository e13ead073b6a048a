// Differential test of the two chain-call execution models: many random configurations (random XDP programs
// returning various codes - constants, codes >= 7, ~0, codes computed from the packet - some with several
// exits, a subprogram whose return must not chain, an overwritten r1, a tail call through a shared prog
// array; random chain slot tables including self-loops and cycles; random prog-array slots) are loaded
// into a "native" and an "inject" runtime, run over several packets, and must give the same verdict and
// the same sequence of programs run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../src/isa/asm.js';
import { lddw, type Insn } from '../src/isa/insn.js';
import { BPF_PSEUDO_MAP_FD } from '../src/isa/opcodes.js';
import { BPF_MAP_TYPE as MT } from '../src/uapi/bpf.js';
import { ChainLab, MODES, packet } from './chain_util.js';

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ProgGen {
  tailIndex: number | null;
  useSub: boolean;
  fromPacket: boolean;
  code: number;
  twoExits: boolean;
  clobberR1: boolean;
}

const CODES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 100, -1, 0x7fffffff];

function genProg(rnd: () => number): ProgGen {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  return {
    tailIndex: rnd() < 0.3 ? Math.floor(rnd() * 5) : null, // index 4 is out of range: falls through
    useSub: rnd() < 0.3,
    fromPacket: rnd() < 0.4,
    code: pick(CODES),
    twoExits: rnd() < 0.4,
    clobberR1: rnd() < 0.4,
  };
}

function progInsns(g: ProgGen, paFd: number): Insn[] {
  const head: Insn[] = [];
  if (g.tailIndex !== null) {
    const [a, b] = lddw(2, BigInt(paFd), BPF_PSEUDO_MAP_FD);
    head.push(...assemble('r6 = r1'), a, b, ...assemble(`r3 = ${g.tailIndex}\ncall 12\nr1 = r6`));
  }
  let body = '';
  if (g.useSub) body += 'r7 = r1\ncall sub\nr1 = r7\n';
  body += `r0 = ${g.code}\n`;
  if (g.fromPacket) {
    body += `r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r4 = r2
      r4 += 1
      if r4 > r3 goto nopkt
      r0 = *(u8 *)(r2 + 0)
      r0 += ${g.code & 0xff}
      r0 &= 7
      nopkt:
    `;
  }
  if (g.clobberR1) body += 'r1 = 0\n';
  if (g.twoExits) body += 'if r0 > 3 goto second\nexit\nsecond:\nr0 += 0\n';
  body += 'exit\n';
  if (g.useSub) body += 'sub:\nr0 = 2\nexit\n'; // would chain on XDP_PASS if subprogram exits were patched
  return [...head, ...assemble(body)];
}

interface Config {
  progs: ProgGen[];
  /** slots[i][s]: program index chained from program i at slot s, or -1. */
  slots: number[][];
  /** prog array slots (4 entries) */
  pa: number[];
}

function genConfig(rnd: () => number): Config {
  const n = 2 + Math.floor(rnd() * 5);
  const progs = Array.from({ length: n }, () => genProg(rnd));
  const density = rnd();
  const slots = progs.map(() => Array.from({ length: 8 }, () => (rnd() < density * 0.5 ? Math.floor(rnd() * n) : -1)));
  const pa = Array.from({ length: 4 }, () => (rnd() < 0.6 ? Math.floor(rnd() * n) : -1));
  return { progs, slots, pa };
}

function build(mode: 'native' | 'inject', cfg: Config): ChainLab {
  const L = new ChainLab(mode);
  const pa = L.rt.mapCreate({ mapType: MT.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
  cfg.progs.forEach((g, i) => L.load(`p${i}`, progInsns(g, pa)));
  cfg.pa.forEach((t, k) => {
    if (t < 0) return;
    L.rt.mapUpdateElem({ mapFd: pa, key: new Uint8Array(new Uint32Array([k]).buffer), value: new Uint8Array(new Uint32Array([L.fd(`p${t}`)]).buffer) });
  });
  cfg.slots.forEach((row, i) => row.forEach((t, s) => {
    if (t >= 0) L.add(`p${i}`, s === 0 ? 0xffffffff : s - 1, `p${t}`);
  }));
  return L;
}

test('native and inject give the same verdicts and programs-run sequences on 300 random chain configurations', () => {
  const SEEDS = 300;
  const packets = [packet(0), packet(1), packet(2), packet(5), packet(0xfe)];
  let hops = 0, maxLen = 0, tailCalls = 0, loops = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const cfg = genConfig(prng(seed));
    const [nat, inj] = MODES.map((m) => build(m, cfg));
    for (let entry = 0; entry < cfg.progs.length; entry++) {
      for (const pkt of packets) {
        const a = nat.run(`p${entry}`, pkt);
        const b = inj.run(`p${entry}`, pkt);
        assert.deepEqual(b, a, `seed ${seed}, entry p${entry}, packet byte ${pkt[0]}: inject ${JSON.stringify(b)} vs native ${JSON.stringify(a)}`);
        hops += a.ran.length - 1;
        maxLen = Math.max(maxLen, a.ran.length);
        if (a.ran.length === 34) loops++;
        if (cfg.progs.some((g) => g.tailIndex !== null)) tailCalls++;
      }
    }
  }
  // the generator covered what it is meant to cover
  assert.ok(hops > 1000, `only ${hops} hops`);
  assert.equal(maxLen, 34, 'some run hit the 33-hop budget');
  assert.ok(loops > 10 && tailCalls > 100, `loops ${loops}, runs with tail calls ${tailCalls}`);
});

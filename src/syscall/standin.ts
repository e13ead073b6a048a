// Stand-ins for the parts other modules will provide, so the bpf() layer works before they land:
// - verifyStandIn: the structural checks of verifier/validate.ts plus the map-address rewrite, in the shape
//   of the verifier's verify() (no register tracking, no ctx rewrites: the test-run ctx below therefore
//   holds 32-bit addresses that programs can use as they are);
// - standInHelpers: map lookup/update/delete and a few simple helpers by Linux id (other known helper ids
//   load, and stop the run with EINVAL if called);
// - standInTestRun: BPF_PROG_TEST_RUN for XDP (xdp_md with the packet in a buffer with 256 bytes of
//   headroom) and, for other types, ctx_in as raw bytes with data_in as the LD_ABS packet.
// Each is replaced by the real module (src/verifier, src/helpers, src/hooks) as soon as that exists.

import { BpfError } from '../errors.js';
import type { Insn } from '../isa/insn.js';
import { validate } from '../verifier/validate.js';
import { OP_CALL, BPF_CALL_HELPER, OP_LDDW } from '../isa/opcodes.js';
import type { BpfMap } from '../maps/map.js';
import type { HelperFn, Vm } from '../engine/vm.js';
import type { MapRegistry } from '../maps/map.js';
import { BPF_FUNC, BPF_PROG_TYPE, HELPER_NAMES, XDP_PACKET_HEADROOM, helperName } from '../uapi/bpf.js';
import { PERM_READ, PERM_RW } from '../vm/memory.js';
import { applyMapAddresses } from './fixup.js';
import type { BpfProg } from './prog.js';

export interface StandInVerifierInput {
  insns: Insn[];
  maps: BpfMap[];
  gpl: boolean;
  logLevel: number;
  progFlags: number;
  progType: number;
}

export interface StandInVerifierResult {
  insns: Insn[];
  log: string;
  stackDepth: number;
  usedMaps: BpfMap[];
  usedHelpers: number[];
  hasTailCall: boolean;
}

export function verifyStandIn(input: StandInVerifierInput): StandInVerifierResult {
  let log = '';
  try {
    validate(input.insns);
  } catch (e) {
    if (e instanceof BpfError) (e as BpfError & { log?: string }).log = e.message + '\n';
    throw e;
  }
  const used = new Set<number>();
  for (let i = 0; i < input.insns.length; i++) {
    const ins = input.insns[i];
    if (ins.code === OP_LDDW) { i++; continue; }
    if (ins.code === OP_CALL && ins.src === BPF_CALL_HELPER) {
      if (HELPER_NAMES[ins.imm] === undefined || ins.imm === 0) {
        const err = new BpfError('EINVAL', `insn ${i}: invalid func ${helperName(ins.imm)}`, i);
        (err as BpfError & { log?: string }).log = `${i}: invalid func ${helperName(ins.imm)}\n`;
        throw err;
      }
      used.add(ins.imm);
    }
  }
  if (input.logLevel > 0) log += `processed ${input.insns.length} insns (limit 1000000)\n`;
  return {
    insns: applyMapAddresses(input.insns, input.maps), log, stackDepth: 512, usedMaps: input.maps,
    usedHelpers: [...used].sort((a, b) => a - b), hasTailCall: false,
  };
}

const u64 = (vm: Vm, r: number): number => (vm.lo[r] >>> 0) + (vm.hi[r] >>> 0) * 2 ** 32;
const setR0 = (vm: Vm, v: number): void => {
  vm.lo[0] = v | 0;
  vm.hi[0] = v < 0 ? -1 : Math.floor(v / 2 ** 32) | 0;
};

export function standInHelpers(registry: MapRegistry): HelperFn[] {
  const t: HelperFn[] = [];
  const start = performance.now();
  let seed = 0x12345678;
  t[BPF_FUNC.map_lookup_elem] = (vm) => {
    const m = registry.byHandle(u64(vm, 1));
    setR0(vm, m === undefined ? 0 : m.lookup(u64(vm, 2)));
  };
  t[BPF_FUNC.map_update_elem] = (vm) => {
    const m = registry.byHandle(u64(vm, 1));
    setR0(vm, m === undefined ? -22 : m.update(u64(vm, 2), u64(vm, 3), vm.lo[4] >>> 0));
  };
  t[BPF_FUNC.map_delete_elem] = (vm) => {
    const m = registry.byHandle(u64(vm, 1));
    setR0(vm, m === undefined ? -22 : m.delete(u64(vm, 2)));
  };
  const ktime: HelperFn = (vm) => setR0(vm, Math.round((performance.now() - start) * 1e6));
  t[BPF_FUNC.ktime_get_ns] = ktime;
  t[BPF_FUNC.ktime_get_boot_ns] = ktime;
  t[BPF_FUNC.get_prandom_u32] = (vm) => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    vm.lo[0] = seed; vm.hi[0] = 0;
  };
  t[BPF_FUNC.get_smp_processor_id] = (vm) => { vm.lo[0] = registry.cpu; vm.hi[0] = 0; };
  return t;
}

export interface TestRunInput {
  dataIn?: Uint8Array;
  ctxIn?: Uint8Array;
  repeat: number;
}

export interface TestRunOutput {
  retval: number;
  durationNs: number;
  dataOut: Uint8Array;
  ctxOut: Uint8Array | null;
}

/** Bytes after the packet that adjust_tail may grow into (a page minus headroom and skb_shared_info). */
const XDP_TAILROOM = 4096 - XDP_PACKET_HEADROOM - 320;
const XDP_MD_SIZE = 24;

export function standInTestRun(vm: Vm, prog: BpfProg, input: TestRunInput): TestRunOutput {
  const space = vm.space;
  const data = input.dataIn ?? new Uint8Array(0);
  const regions: number[] = [];
  const blocks: Array<[number, number]> = [];
  const alloc = (n: number): number => {
    const a = space.alloc(n, 8);
    blocks.push([a, n]);
    return a;
  };
  try {
    if (prog.type === BPF_PROG_TYPE.BPF_PROG_TYPE_XDP) {
      if (data.length < 14) throw new BpfError('EINVAL', `BPF_PROG_TEST_RUN: XDP data_in is ${data.length} bytes, less than an Ethernet header (14)`);
      if (data.length > XDP_TAILROOM) throw new BpfError('EINVAL', `BPF_PROG_TEST_RUN: XDP data_in of ${data.length} bytes does not fit one page`);
      const buf = alloc(XDP_PACKET_HEADROOM + XDP_TAILROOM);
      const ctx = alloc(XDP_MD_SIZE);
      regions.push(space.mapRegion(buf + XDP_PACKET_HEADROOM, data.length, PERM_RW));
      regions.push(space.mapRegion(ctx, XDP_MD_SIZE, PERM_READ));
      const t0 = performance.now();
      let r0 = 0;
      for (let i = 0; i < input.repeat; i++) {
        space.u8.set(data, buf + XDP_PACKET_HEADROOM);
        const dv = space.dv;
        dv.setUint32(ctx, buf + XDP_PACKET_HEADROOM, true);
        dv.setUint32(ctx + 4, buf + XDP_PACKET_HEADROOM + data.length, true);
        dv.setUint32(ctx + 8, buf + XDP_PACKET_HEADROOM, true);
        r0 = vm.runRaw(prog.program, ctx, 0, 0, 0);
      }
      const total = (performance.now() - t0) * 1e6;
      const dv = space.dv;
      const meta = dv.getUint32(ctx + 8, true), end = dv.getUint32(ctx + 4, true);
      return { retval: r0 >>> 0, durationNs: Math.round(total / input.repeat), dataOut: space.read(meta, end - meta), ctxOut: null };
    }
    const ctxBytes = input.ctxIn ?? new Uint8Array(0);
    const ctx = alloc(Math.max(8, ctxBytes.length));
    const pkt = alloc(Math.max(8, data.length));
    if (ctxBytes.length > 0) regions.push(space.mapRegion(ctx, ctxBytes.length, PERM_RW));
    if (data.length > 0) regions.push(space.mapRegion(pkt, data.length, PERM_RW));
    vm.setPacket(pkt, data.length);
    const t0 = performance.now();
    let r0 = 0;
    for (let i = 0; i < input.repeat; i++) {
      space.u8.set(ctxBytes, ctx);
      space.u8.set(data, pkt);
      r0 = vm.runRaw(prog.program, ctxBytes.length > 0 ? ctx : 0, 0, 0, 0);
    }
    const total = (performance.now() - t0) * 1e6;
    return {
      retval: r0 >>> 0, durationNs: Math.round(total / input.repeat), dataOut: space.read(pkt, data.length),
      ctxOut: ctxBytes.length > 0 ? space.read(ctx, ctxBytes.length) : null,
    };
  } finally {
    for (const r of regions) space.unmapRegion(r);
    for (const [a, n] of blocks) space.free(a, n);
  }
}

// Map helpers (kernel/bpf/helpers.c, ringbuf.c) and bpf_tail_call: thin adapters from registers to the
// program-side map API of src/maps (addresses in, address / 0 / -errno out). Hot paths: no allocation.
//
// u64 flags arguments: the maps take a number; a flags value with upper bits set is passed as an invalid
// flag (FLAGS_BAD) so the map rejects it with EINVAL, as the kernel's `flags > BPF_EXIST` checks do.

import type { Vm } from '../engine/vm.js';
import { ProgArrayMap } from '../maps/fd_array.js';
import { E_INVAL, type BpfMap } from '../maps/map.js';
import { RingBufMap, ringbufFromSample } from '../maps/ringbuf.js';
import { BPF_FUNC, MAX_TAIL_CALL_CNT } from '../uapi/bpf.js';
import { envOf } from './env.js';
import { addrArg, badArg, retInt, retU32, retU53 } from './regs.js';

const F = BPF_FUNC;
/** A flags value that no map accepts (the u64 had upper bits set). */
const FLAGS_BAD = 0x40000000;

function flagsArg(vm: Vm, i: number): number {
  return vm.hi[i] === 0 && vm.lo[i] >= 0 ? vm.lo[i] : FLAGS_BAD;
}

function mapArg(vm: Vm, i: number, id: number): BpfMap {
  const m = envOf(vm).registry.byHandle(addrArg(vm, i));
  if (m === undefined) badArg(vm, id, `r${i} does not hold a map`);
  return m;
}

/** 1: void *bpf_map_lookup_elem(map, key) */
export function mapLookupElem(vm: Vm): void {
  retU32(vm, mapArg(vm, 1, F.map_lookup_elem).lookup(vm.lo[2] >>> 0));
}

/** 2: long bpf_map_update_elem(map, key, value, u64 flags) */
export function mapUpdateElem(vm: Vm): void {
  retInt(vm, mapArg(vm, 1, F.map_update_elem).update(vm.lo[2] >>> 0, vm.lo[3] >>> 0, flagsArg(vm, 4)));
}

/** 3: long bpf_map_delete_elem(map, key) */
export function mapDeleteElem(vm: Vm): void {
  retInt(vm, mapArg(vm, 1, F.map_delete_elem).delete(vm.lo[2] >>> 0));
}

/** 87: long bpf_map_push_elem(map, value, u64 flags) */
export function mapPushElem(vm: Vm): void {
  retInt(vm, mapArg(vm, 1, F.map_push_elem).push(vm.lo[2] >>> 0, flagsArg(vm, 3)));
}

/** 88: long bpf_map_pop_elem(map, value) */
export function mapPopElem(vm: Vm): void {
  retInt(vm, mapArg(vm, 1, F.map_pop_elem).pop(vm.lo[2] >>> 0));
}

/** 89: long bpf_map_peek_elem(map, value) */
export function mapPeekElem(vm: Vm): void {
  retInt(vm, mapArg(vm, 1, F.map_peek_elem).peek(vm.lo[2] >>> 0));
}

/** 195: void *bpf_map_lookup_percpu_elem(map, key, u32 cpu) */
export function mapLookupPercpuElem(vm: Vm): void {
  retU32(vm, mapArg(vm, 1, F.map_lookup_percpu_elem).lookupPercpu(vm.lo[2] >>> 0, vm.lo[3] >>> 0));
}

function ringArg(vm: Vm, id: number): RingBufMap {
  const m = mapArg(vm, 1, id);
  if (!(m instanceof RingBufMap)) badArg(vm, id, 'r1 is not a ring buffer');
  return m;
}

/** 130: long bpf_ringbuf_output(ringbuf, data, u64 size, u64 flags) */
export function ringbufOutput(vm: Vm): void {
  const rb = ringArg(vm, F.ringbuf_output);
  if (vm.hi[4] !== 0) return retInt(vm, E_INVAL);
  if (vm.hi[3] !== 0) return retInt(vm, -11); // size beyond any record: -EAGAIN from the failed reserve
  retInt(vm, rb.output(vm.lo[2] >>> 0, vm.lo[3] >>> 0, vm.lo[4] >>> 0));
}

/** 131: void *bpf_ringbuf_reserve(ringbuf, u64 size, u64 flags): NULL for any flags */
export function ringbufReserve(vm: Vm): void {
  const rb = ringArg(vm, F.ringbuf_reserve);
  if (vm.hi[3] !== 0 || vm.lo[3] !== 0 || vm.hi[4] !== 0) return retU32(vm, 0);
  retU32(vm, rb.reserve(vm.lo[2] >>> 0, 0));
}

function commit(vm: Vm, id: number, discard: boolean): void {
  const sample = addrArg(vm, 1);
  const rb = ringbufFromSample(envOf(vm).registry, sample);
  if (rb === null) badArg(vm, id, 'r1 is not a ring buffer record');
  rb.commit(sample, vm.lo[2] >>> 0, discard);
  retInt(vm, 0);
}

/** 132: void bpf_ringbuf_submit(data, u64 flags) */
export function ringbufSubmit(vm: Vm): void {
  commit(vm, F.ringbuf_submit, false);
}

/** 133: void bpf_ringbuf_discard(data, u64 flags) */
export function ringbufDiscard(vm: Vm): void {
  commit(vm, F.ringbuf_discard, true);
}

/** 134: u64 bpf_ringbuf_query(ringbuf, u64 flags) */
export function ringbufQuery(vm: Vm): void {
  const rb = ringArg(vm, F.ringbuf_query);
  retU53(vm, vm.hi[2] !== 0 ? 0 : rb.query(vm.lo[2] >>> 0));
}

/**
 * Resolvers (RunEnv.resolveProg) that turn a slot's ProgRef into `ref.program` and do nothing else a run
 * depends on (the chain core's resolver only keeps records the JIT can reproduce). With one of these
 * installed, the JIT performs tail calls inline from its per-prog-array number tables (engine/jit/).
 */
export const directResolvers = new WeakSet<object>();

/**
 * 12: long bpf_tail_call(ctx, prog_array, u32 index), with the kernel's order of checks:
 * 1. index >= max_entries: fall through;
 * 2. the run already made MAX_TAIL_CALL_CNT (33) tail calls: fall through;
 * 3. the slot is empty: fall through, without using up the budget (the slot is read now, so an update made
 *    between calls takes effect at the next one);
 * 4. counter += 1; 5. jump: the target goes to env.pendingTailCall and vm.halted stops the caller. The
 *    interpreter continues in the target at once, in the same frame with the same registers (r1 = ctx);
 *    other engines may return and let the hook's run loop (hooks/types.ts runProgram) start the target.
 * Falling through leaves every register as it was, like the kernel's interpreter (`goto out; CONT`); the
 * verifier marks r0 unreadable after the call (RET_VOID), so no program can tell.
 */
export function tailCall(vm: Vm): void {
  const env = envOf(vm);
  const m = mapArg(vm, 2, F.tail_call);
  if (!(m instanceof ProgArrayMap)) return; // the verifier refuses this at load (EINVAL)
  const index = vm.lo[3] >>> 0;
  if (index >= m.maxEntries) return;
  if (env.tailCallCount >= MAX_TAIL_CALL_CNT) return;
  const ref = m.progAt(index);
  if (ref === null) return;
  const prog = env.resolveProg === null ? null : env.resolveProg(ref);
  if (prog === null) return; // a slot object this runtime cannot run (no resolver installed)
  env.tailCallCount++;
  env.pendingTailCall = prog;
  vm.halted = true;
}

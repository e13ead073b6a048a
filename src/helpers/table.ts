// The helper table a Vm calls through (indexed by helper id) and attachEnv(), which gives a Vm its RunEnv
// and that table. Every id here has a prototype in protos.ts, and every proto an implementation (tested).

import type { HelperFn, Vm } from '../engine/vm.js';
import type { MapRegistry } from '../maps/map.js';
import { BpfError } from '../errors.js';
import { RunEnv, type RunEnvOptions } from './env.js';
import * as maps from './maps.js';
import * as misc from './misc.js';
import * as net from './net.js';
import * as printk from './printk.js';
import * as probe from './probe.js';

const IMPLS: Array<[number, HelperFn]> = [
  [1, maps.mapLookupElem],
  [2, maps.mapUpdateElem],
  [3, maps.mapDeleteElem],
  [4, probe.probeReadCompat],
  [5, misc.ktimeGetNs],
  [6, printk.tracePrintk],
  [7, misc.getPrandomU32],
  [8, misc.getSmpProcessorId],
  [12, maps.tailCall],
  [14, misc.getCurrentPidTgid],
  [16, misc.getCurrentComm],
  [23, net.redirect],
  [25, net.perfEventOutput],
  [26, net.skbLoadBytes],
  [28, net.csumDiff],
  [42, misc.getNumaNodeId],
  [44, net.xdpAdjustHead],
  [45, probe.probeReadCompatStr],
  [51, net.redirectMap],
  [54, net.xdpAdjustMeta],
  [65, net.xdpAdjustTail],
  [87, maps.mapPushElem],
  [88, maps.mapPopElem],
  [89, maps.mapPeekElem],
  [112, probe.probeReadUser],
  [113, probe.probeReadKernel],
  [114, probe.probeReadUserStr],
  [115, probe.probeReadKernelStr],
  [125, misc.ktimeGetBootNs],
  [130, maps.ringbufOutput],
  [131, maps.ringbufReserve],
  [132, maps.ringbufSubmit],
  [133, maps.ringbufDiscard],
  [134, maps.ringbufQuery],
  [160, misc.ktimeGetCoarseNs],
  [165, printk.snprintf],
  [188, net.xdpGetBuffLen],
  [189, net.xdpLoadBytes],
  [190, net.xdpStoreBytes],
  [195, maps.mapLookupPercpuElem],
];

/** A fresh helper table (index = helper id; holes for helpers tsbpf lacks). */
export function createHelperTable(): (HelperFn | undefined)[] {
  const t: (HelperFn | undefined)[] = [];
  for (const [id, fn] of IMPLS) t[id] = fn;
  return t;
}

/** Ids with an implementation. */
export function implementedHelperIds(): number[] {
  return IMPLS.map(([id]) => id);
}

/**
 * Give `vm` a RunEnv over `registry` and the helper table. The registry must live in the Vm's address
 * space (maps hand out addresses the program dereferences).
 */
export function attachEnv(vm: Vm, registry: MapRegistry, opts: RunEnvOptions = {}): RunEnv {
  if (registry.space !== vm.space) throw new BpfError('EINVAL', 'the map registry and the Vm use different address spaces');
  const env = new RunEnv(registry, opts);
  vm.env = env;
  vm.helpers = createHelperTable();
  return env;
}

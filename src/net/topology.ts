// Ready-made topologies for tests and samples: the selftest shape of the chain-call series
// (test_xdp_chain.sh: two hosts, one veth pair, XDP on one side, ping across), in one call.

import type { BpfRuntime } from '../syscall/runtime.js';
import { HostStack } from './host.js';
import { Net, type NetDevice } from './netdev.js';

export interface VethHostsOptions {
  /** Load objects into this runtime first, or pass it here (a new one by default). */
  runtime?: BpfRuntime;
  /** Device names (default veth0, veth1). */
  names?: [string, string];
  /** Host addresses (default 10.1.1.1 and 10.1.1.2, /24). */
  ips?: [string, string];
  prefixLen?: number;
  /** Hop limit of the network (see NetOptions.maxHops). */
  maxHops?: number;
}

export interface VethHosts {
  net: Net;
  /** The two ends of the veth pair. */
  a: NetDevice;
  b: NetDevice;
  /** The host on each end. */
  hostA: HostStack;
  hostB: HostStack;
  ipA: string;
  ipB: string;
  /** hostA pings hostB `count` times; the number of replies. */
  pingAB(count?: number): number;
  /** hostB pings hostA `count` times; the number of replies. */
  pingBA(count?: number): number;
}

/** Two hosts on a veth pair; attach XDP to `a` or `b` and ping across. */
export function createVethHosts(opts: VethHostsOptions = {}): VethHosts {
  const net = new Net({ runtime: opts.runtime, maxHops: opts.maxHops });
  const [nameA, nameB] = opts.names ?? ['veth0', 'veth1'];
  const [ipA, ipB] = opts.ips ?? ['10.1.1.1', '10.1.1.2'];
  const [a, b] = net.createVethPair(nameA, nameB);
  const prefix = opts.prefixLen ?? 24;
  const hostA = HostStack.on(a, ipA, prefix);
  const hostB = HostStack.on(b, ipB, prefix);
  return {
    net, a, b, hostA, hostB, ipA, ipB,
    pingAB: (count = 1) => hostA.ping(ipB, count),
    pingBA: (count = 1) => hostB.ping(ipA, count),
  };
}

// The virtual network: devices and veth pairs with XDP hooks, the host stack, multi-program policies, and
// the pluggable runner the chain-call core hooks into.
export { Net, NetDevice, SingleProgHook, DEFAULT_MTU, IFNAMSIZ, MAX_FRAME } from './netdev.js';
export type { XdpHook, ProgLike, DeviceOptions, FrameHandler, NetOptions } from './netdev.js';
export { HostStack, HostStats } from './host.js';
export { createVethHosts } from './topology.js';
export type { VethHosts, VethHostsOptions } from './topology.js';
export type { HostIface, PingOptions } from './host.js';
export { DevStats, ProgStats, VERDICT_NAMES, formatStats, verdictColumn } from './stats.js';
export {
  defaultXdpProgramRunner, getXdpProgramRunner, runXdpProgram, setXdpProgramRunner,
} from './runner.js';
export type { ProgRunObserver, XdpProgramRunner } from './runner.js';
export * from './ether.js';
export {
  BPF_F_AFTER, BPF_F_ATTACH_MASK_MPROG, BPF_F_BEFORE, BPF_F_ID, BPF_F_LINK, BPF_F_REPLACE, BPF_MPROG_MAX, MAX_DISPATCHER_ACTIONS,
  MprogHook, XDP_DEFAULT_CHAIN_CALL_ACTIONS, XDP_DEFAULT_RUN_PRIO, XDP_DISPATCHER_RETVAL, XDP_MPROG_NEXT, XdpDispatcher, XdpProgram,
  cmpXdpPrograms, mprogAttach, mprogDetach, mprogQuery, progFdOf, xdpAttach, xdpAttachMulti, xdpDetach, xdpDetachMulti, xdpMultiprog,
} from './multiprog.js';
export type {
  DispatcherEntry, MprogAttachAttr, MprogDetachAttr, MprogQueryAttr, MprogQueryResult, XdpProgramOrderKey,
} from './multiprog.js';

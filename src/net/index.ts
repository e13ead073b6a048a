// The virtual network: devices and veth pairs with XDP hooks, the host stack, multi-program policies, and
// the pluggable runner the chain-call core hooks into.
export { Net, NetDevice, SingleProgHook, DEFAULT_MTU, IFNAMSIZ, MAX_FRAME } from './netdev.js';
export type { XdpHook, ProgLike, DeviceOptions, FrameHandler, NetOptions } from './netdev.js';
export { HostStack, HostStats } from './host.js';
export type { HostIface, PingOptions } from './host.js';
export { DevStats, ProgStats, VERDICT_NAMES, formatStats, verdictColumn } from './stats.js';
export {
  defaultXdpProgramRunner, getXdpProgramRunner, runXdpProgram, setXdpProgramRunner,
} from './runner.js';
export type { ProgRunObserver, XdpProgramRunner } from './runner.js';
export * from './ether.js';

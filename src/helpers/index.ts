// Public surface of helpers/: the RunEnv, the helper table, prototypes and the ctx block layouts.
export * from './env.js';
export { attachEnv, createHelperTable, implementedHelperIds } from './table.js';
export { helperProto, allHelperProtos } from './protos.js';
export { bprintf, MAX_BPRINTF_BUF, MAX_BPRINTF_VARARGS, MAX_TRACE_PRINTK_VARARGS } from './printk.js';
export { BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS, setXdpBounds } from './net.js';
export * as layout from './layout.js';

// Helpers that read runtime state: clocks (bpf_ktime_get_*), the PRNG, the CPU number, and the current
// task (bpf_get_current_pid_tgid / _comm). None allocates.

import type { Vm } from '../engine/vm.js';
import { PERM_WRITE } from '../vm/memory.js';
import { BPF_FUNC } from '../uapi/bpf.js';
import { envOf, prandomNext } from './env.js';
import { addrArg, needMem, retInt, retU32, retU53 } from './regs.js';

/** 5: u64 bpf_ktime_get_ns(void), CLOCK_MONOTONIC */
export function ktimeGetNs(vm: Vm): void {
  retU53(vm, envOf(vm).clock.monotonicNs());
}

/** 125: u64 bpf_ktime_get_boot_ns(void), CLOCK_BOOTTIME */
export function ktimeGetBootNs(vm: Vm): void {
  retU53(vm, envOf(vm).clock.bootNs());
}

/** 160: u64 bpf_ktime_get_coarse_ns(void): the monotonic clock at tick granularity (4 ms, HZ=250). */
export function ktimeGetCoarseNs(vm: Vm): void {
  const ns = envOf(vm).clock.monotonicNs();
  retU53(vm, ns - (ns % 4_000_000));
}

/** 7: u32 bpf_get_prandom_u32(void): prandom_u32_state() on the runtime's state. */
export function getPrandomU32(vm: Vm): void {
  retU32(vm, prandomNext(envOf(vm).prandom));
}

/** 8: u32 bpf_get_smp_processor_id(void) */
export function getSmpProcessorId(vm: Vm): void {
  retU32(vm, envOf(vm).registry.cpu);
}

/** 42: long bpf_get_numa_node_id(void): one NUMA node. */
export function getNumaNodeId(vm: Vm): void {
  retInt(vm, 0);
}

/** 14: u64 bpf_get_current_pid_tgid(void) = tgid << 32 | pid */
export function getCurrentPidTgid(vm: Vm): void {
  const env = envOf(vm);
  vm.lo[0] = env.pid | 0;
  vm.hi[0] = env.tgid | 0;
}

/** 16: long bpf_get_current_comm(char *buf, u32 size): strscpy_pad(buf, current->comm, size), 0. */
export function getCurrentComm(vm: Vm): void {
  const env = envOf(vm);
  const buf = addrArg(vm, 1);
  const size = vm.lo[2] >>> 0;
  needMem(vm, BPF_FUNC.get_current_comm, 'buf', buf, size, PERM_WRITE);
  if (size > 0) {
    const u8 = vm.space.u8;
    const comm = env.comm;
    let i = 0;
    for (; i < size - 1 && comm[i] !== 0; i++) u8[buf + i] = comm[i];
    u8.fill(0, buf + i, buf + size);
  }
  retInt(vm, 0);
}

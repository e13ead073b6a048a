// bpf_probe_read_{kernel,user}(_str) and the legacy bpf_probe_read(_str) (kernel/trace/bpf_trace.c,
// mm/maccess.c). "Kernel" and "user" memory are both the runtime's address space: whatever lies inside a
// readable region (the caller maps a blob, e.g. a fake task_struct, with AddressSpace.mapRegion) can be
// probed; anything else faults. On a fault the destination is zeroed and -EFAULT returned, as the kernel
// does. (On x86 the kernel answers -ERANGE for a *kernel* probe of a user-half address; that split does not
// exist in one flat address space, so every unmapped address is -EFAULT here.)
//
// String variants follow the two kernel primitives exactly, including their difference on an empty
// string: strncpy_from_kernel_nofault returns 1 (the NUL), strncpy_from_user_nofault returns 0.

import type { Vm } from '../engine/vm.js';
import { E_FAULT_NEG, readableEnd } from './mem.js';
import { PERM_WRITE } from '../vm/memory.js';
import { addrArg, needMem, retInt } from './regs.js';

/** Copy `size` bytes from `src`; 0, or -EFAULT with dst zeroed. */
function probeRead(vm: Vm, id: number): void {
  const dst = addrArg(vm, 1);
  const size = vm.lo[2] >>> 0;
  const src = addrArg(vm, 3);
  needMem(vm, id, 'dst', dst, size, PERM_WRITE);
  const u8 = vm.space.u8;
  if (size === 0) return retInt(vm, 0);
  if (src < 0 || readableEnd(vm.space, src) < src + size) {
    u8.fill(0, dst, dst + size);
    return retInt(vm, E_FAULT_NEG);
  }
  u8.copyWithin(dst, src, src + size);
  retInt(vm, 0);
}

/**
 * Copy a NUL-terminated string of at most `size` bytes (including the NUL). Returns the kernel's result:
 * bytes copied including the NUL; `size` when truncated (last byte forced to NUL); -EFAULT with dst zeroed.
 */
function probeReadStr(vm: Vm, id: number, user: boolean): void {
  const dst = addrArg(vm, 1);
  const size = vm.lo[2] >>> 0;
  const src = addrArg(vm, 3);
  needMem(vm, id, 'dst', dst, size, PERM_WRITE);
  if (size === 0) return retInt(vm, 0);
  const u8 = vm.space.u8;
  const end = src < 0 ? src : readableEnd(vm.space, src);
  let n = 0;
  for (;;) {
    if (src + n >= end) {
      u8.fill(0, dst, dst + size);
      return retInt(vm, E_FAULT_NEG);
    }
    const c = u8[src + n];
    u8[dst + n] = c;
    n++;
    if (c === 0) {
      // strncpy_from_user() returns the string length; the _nofault wrapper adds one unless it is 0.
      return retInt(vm, user && n === 1 ? 0 : n);
    }
    if (n === size) {
      u8[dst + size - 1] = 0;
      return retInt(vm, size);
    }
  }
}

/** 113: long bpf_probe_read_kernel(void *dst, u32 size, const void *unsafe_ptr) */
export const probeReadKernel = (vm: Vm): void => probeRead(vm, 113);
/** 112: long bpf_probe_read_user(void *dst, u32 size, const void *unsafe_ptr) */
export const probeReadUser = (vm: Vm): void => probeRead(vm, 112);
/** 4: long bpf_probe_read(void *dst, u32 size, const void *unsafe_ptr) (x86: the kernel variant) */
export const probeReadCompat = (vm: Vm): void => probeRead(vm, 4);
/** 115: long bpf_probe_read_kernel_str(void *dst, u32 size, const void *unsafe_ptr) */
export const probeReadKernelStr = (vm: Vm): void => probeReadStr(vm, 115, false);
/** 114: long bpf_probe_read_user_str(void *dst, u32 size, const void *unsafe_ptr) */
export const probeReadUserStr = (vm: Vm): void => probeReadStr(vm, 114, true);
/** 45: long bpf_probe_read_str(...) (x86: the kernel variant) */
export const probeReadCompatStr = (vm: Vm): void => probeReadStr(vm, 45, false);

// Register and memory plumbing shared by the helper implementations: writing r0 without BigInt, reading
// pointer arguments, and checking that memory a helper writes or reads lies inside one region of the
// address space (the verifier guarantees this for verified programs; the check keeps unverified programs
// from reaching memory they were never given).

import { BpfError } from '../errors.js';
import type { Vm } from '../engine/vm.js';
import { helperName } from '../uapi/bpf.js';

/** r0 = v, a signed integer that fits in 32 bits (0, -errno, small counts), sign-extended to 64 bits. */
export function retInt(vm: Vm, v: number): void {
  vm.lo[0] = v | 0;
  vm.hi[0] = v < 0 ? -1 : 0;
}

/** r0 = v, an unsigned 32-bit value (addresses, u32 results), zero-extended. */
export function retU32(vm: Vm, v: number): void {
  vm.lo[0] = v | 0;
  vm.hi[0] = 0;
}

/** r0 = v, a non-negative integer below 2^53 (nanosecond clocks, ring positions). */
export function retU53(vm: Vm, v: number): void {
  const hi = Math.floor(v / 4294967296);
  vm.lo[0] = (v - hi * 4294967296) | 0;
  vm.hi[0] = hi | 0;
}

/** Argument i as an address: its value when the upper half is zero, else -1 (never a valid address). */
export function addrArg(vm: Vm, i: number): number {
  return vm.hi[i] === 0 ? vm.lo[i] >>> 0 : -1;
}

/** Is [addr, addr+len) inside one region granting `perm`? (len 0 counts as readable anywhere.) */
export function memOk(vm: Vm, addr: number, len: number, perm: number): boolean {
  if (len === 0) return true;
  return addr >= 0 && vm.space.findRegion(addr, len, perm) >= 0;
}

/** Throw EFAULT naming the helper and the instruction, for memory an unverified program passed wrongly. */
export function badMem(vm: Vm, id: number, what: string, addr: number, len: number): never {
  throw new BpfError('EFAULT', `insn ${vm.pc}: ${helperName(id)}: ${what} [0x${addr.toString(16)}, +${len}) is not accessible`, vm.pc);
}

/** Throw EINVAL for an argument a verified program could not have passed (e.g. r1 not a map). */
export function badArg(vm: Vm, id: number, what: string): never {
  throw new BpfError('EINVAL', `insn ${vm.pc}: ${helperName(id)}: ${what}`, vm.pc);
}

/** Check memory a helper is about to access; throws EFAULT when it is not accessible. */
export function needMem(vm: Vm, id: number, what: string, addr: number, len: number, perm: number): void {
  if (!memOk(vm, addr, len, perm)) badMem(vm, id, what, addr, len);
}

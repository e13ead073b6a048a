// bpf_trace_printk (6) and bpf_snprintf (165): the kernel's bpf_bprintf_prepare() format rules
// (kernel/bpf/helpers.c) and bstr_printf()-style output.
//
// Accepted: plain printable ASCII and whitespace; `%%`; conversions `%[flags][width]{d,i,u,x,X}` with
// `l`/`ll`, `%c`, `%s`, `%p` (followed by end, space, punctuation, or K/x/s/S), `%pks` `%pus`, `%pB`,
// `%pi4` `%pI4` `%pi6` `%pI6`; flags from "0+- ", a width, no precision. More conversions than arguments,
// any other conversion, a non-printable byte or a format without a NUL inside the given size: -EINVAL.
// `%s` must be followed by end, space or punctuation. A string that faults prints as empty.
// Pointers are printed without the kernel's hashing: `%p`, `%px`, `%pK` as 16 hex digits, `%ps`/`%pS`/`%pB`
// as `0x` + hex (what the kernel prints for an address with no symbol); a faulting `%pI4`/`%pI6` prints
// zeros, as the kernel does.
//
// Output: bpf_trace_printk formats into a 1 KiB buffer (MAX_BPRINTF_BUF, so at most 1023 characters) and
// returns the untruncated length; the text goes to RunEnv.emitTrace() without one trailing newline (one
// call = one trace line). bpf_snprintf writes at most str_size - 1 characters plus a NUL and returns the
// untruncated length + 1.

import type { Vm } from '../engine/vm.js';
import type { AddressSpace } from '../vm/memory.js';
import { PERM_READ, PERM_WRITE } from '../vm/memory.js';
import { E_INVAL } from '../maps/map.js';
import { envOf } from './env.js';
import { readBytes, readCString } from './mem.js';
import { addrArg, memOk, needMem, retInt } from './regs.js';

/** MAX_TRACE_PRINTK_VARARGS */
export const MAX_TRACE_PRINTK_VARARGS = 3;
/** MAX_BPRINTF_VARARGS */
export const MAX_BPRINTF_VARARGS = 12;
/** MAX_BPRINTF_BUF */
export const MAX_BPRINTF_BUF = 1024;
/** Room for %s strings (MAX_BPRINTF_BIN_ARGS). */
const MAX_BPRINTF_BIN_ARGS = 512;

const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isPunct = (c: number): boolean => isPrint(c) && c !== 0x20 && !isAlnum(c);

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
};

/** Pad `body` (with its sign/prefix already split off) to `width` as vsnprintf does. */
function pad(sign: string, digits: string, width: number, left: boolean, zero: boolean): string {
  const len = sign.length + digits.length;
  if (len >= width) return sign + digits;
  if (left) return sign + digits + ' '.repeat(width - len);
  if (zero) return sign + '0'.repeat(width - len) + digits;
  return ' '.repeat(width - len) + sign + digits;
}

const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');

/**
 * Validate `fmt` (bytes before the NUL) against `args` (u64 values) and format it. Returns the text, or a
 * negative errno. `space` resolves %s / %pI4 style pointer arguments.
 */
export function bprintf(fmt: Uint8Array, args: readonly bigint[], space: AddressSpace): string | number {
  let out = '';
  let numSpec = 0;
  let strRoom = MAX_BPRINTF_BIN_ARGS;
  const at = (i: number): number => (i < fmt.length ? fmt[i] : 0);
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if ((!isPrint(c) && !isSpace(c)) || c > 0x7f) return E_INVAL;
    if (c !== 0x25 /* % */) {
      out += String.fromCharCode(c);
      continue;
    }
    if (at(i + 1) === 0x25) {
      out += '%';
      i++;
      continue;
    }
    if (numSpec >= args.length) return E_INVAL;
    const arg = args[numSpec];
    i++;
    let left = false, zero = false, plus = false, space_ = false;
    for (;;) {
      const f = at(i);
      if (f === 0x30) zero = true;
      else if (f === 0x2b) plus = true;
      else if (f === 0x2d) left = true;
      else if (f === 0x20) space_ = true;
      else break;
      i++;
    }
    let width = 0;
    if (at(i) >= 0x31 && at(i) <= 0x39) {
      while (isDigit(at(i))) width = Math.min(width * 10 + (at(i++) - 0x30), 4096);
    }
    const conv = at(i);
    if (conv === 0x70 /* p */) {
      const m = at(i + 1);
      if ((m === 0x6b || m === 0x75) && at(i + 2) === 0x73) {
        // %pks / %pus: a string from kernel / user memory
        i += 2;
        if (at(i + 1) !== 0 && !isSpace(at(i + 1)) && !isPunct(at(i + 1))) return E_INVAL;
        const str = stringArg(space, arg, strRoom);
        strRoom -= Math.min(strRoom, str.length + 1);
        out += pad('', str, width, left, false);
        numSpec++;
        continue;
      }
      if (m === 0 || isSpace(m) || isPunct(m) || m === 0x4b || m === 0x78 || m === 0x73 || m === 0x53) {
        const v = BigInt.asUintN(64, arg);
        const sym = m === 0x73 || m === 0x53;
        if (m === 0x4b || m === 0x78 || sym) i++; // the modifier letter belongs to the conversion
        out += pad('', sym ? `0x${v.toString(16)}` : hex16(v), width, left, zero && !sym);
        numSpec++;
        continue;
      }
      if (m === 0x42 /* B */) {
        i++;
        out += pad('', `0x${BigInt.asUintN(64, arg).toString(16)}`, width, left, false);
        numSpec++;
        continue;
      }
      const kind = at(i + 2);
      if ((m !== 0x69 && m !== 0x49) || (kind !== 0x34 && kind !== 0x36)) return E_INVAL;
      i += 2;
      out += pad('', ipArg(space, arg, m === 0x49, kind === 0x34), width, left, false);
      numSpec++;
      continue;
    }
    if (conv === 0x73 /* s */) {
      if (at(i + 1) !== 0 && !isSpace(at(i + 1)) && !isPunct(at(i + 1))) return E_INVAL;
      const s = stringArg(space, arg, strRoom);
      strRoom -= Math.min(strRoom, s.length + 1);
      out += pad('', s, width, left, false);
      numSpec++;
      continue;
    }
    if (conv === 0x63 /* c */) {
      out += pad('', String.fromCharCode(Number(BigInt.asUintN(8, arg))), width, left, false);
      numSpec++;
      continue;
    }
    let bits = 32;
    if (at(i) === 0x6c) { bits = 64; i++; }
    if (at(i) === 0x6c) { bits = 64; i++; }
    const k = at(i);
    if (k !== 0x69 && k !== 0x64 && k !== 0x75 && k !== 0x78 && k !== 0x58) return E_INVAL;
    out += formatInt(arg, bits, k, left, zero, plus, space_, width);
    numSpec++;
  }
  return out;
}

function formatInt(arg: bigint, bits: number, k: number, left: boolean, zero: boolean, plus: boolean, sp: boolean, width: number): string {
  const signed = k === 0x64 || k === 0x69;
  let v = signed ? BigInt.asIntN(bits, arg) : BigInt.asUintN(bits, arg);
  let sign = '';
  if (signed) {
    if (v < 0n) { sign = '-'; v = -v; }
    else if (plus) sign = '+';
    else if (sp) sign = ' ';
  }
  let digits = k === 0x78 ? v.toString(16) : k === 0x58 ? v.toString(16).toUpperCase() : v.toString(10);
  if (digits === '') digits = '0';
  return pad(sign, digits, width, left, zero && !left);
}

/** A %s argument: the string at the pointer (at most room - 1 bytes), or '' when it faults. */
function stringArg(space: AddressSpace, arg: bigint, room: number): string {
  if (room <= 0) return '';
  const a = BigInt.asUintN(64, arg);
  if (a >= 0x100000000n) return '';
  const s = readCString(space, Number(a), room - 1);
  return s === null ? '' : latin1(s);
}

function ipArg(space: AddressSpace, arg: bigint, upper: boolean, v4: boolean): string {
  const a = BigInt.asUintN(64, arg);
  const len = v4 ? 4 : 16;
  const b = a < 0x100000000n ? readBytes(space, Number(a), len) ?? new Uint8Array(len) : new Uint8Array(len);
  if (v4) {
    const parts = Array.from(b, (x) => (upper ? String(x) : String(x).padStart(3, '0')));
    return parts.join('.');
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16).padStart(4, '0'));
  return upper ? groups.join(':') : groups.join('');
}

const u64Reg = (vm: Vm, r: number): bigint => (BigInt(vm.hi[r] >>> 0) << 32n) | BigInt(vm.lo[r] >>> 0);

/** 6: long bpf_trace_printk(const char *fmt, u32 fmt_size, ...) with up to 3 arguments in r3..r5. */
export function tracePrintk(vm: Vm): void {
  const env = envOf(vm);
  const fmtAddr = addrArg(vm, 1);
  const fmtSize = vm.lo[2] >>> 0;
  needMem(vm, 6, 'fmt', fmtAddr, fmtSize, PERM_READ);
  const raw = vm.space.u8.subarray(fmtAddr, fmtAddr + fmtSize);
  const nul = raw.indexOf(0);
  if (nul < 0) return retInt(vm, E_INVAL);
  const text = bprintf(raw.subarray(0, nul), [u64Reg(vm, 3), u64Reg(vm, 4), u64Reg(vm, 5)], vm.space);
  if (typeof text === 'number') return retInt(vm, text);
  let line = text.length >= MAX_BPRINTF_BUF ? text.slice(0, MAX_BPRINTF_BUF - 1) : text;
  const cut = line.indexOf('\0');
  if (cut >= 0) line = line.slice(0, cut);
  env.emitTrace(line.endsWith('\n') ? line.slice(0, -1) : line);
  retInt(vm, text.length);
}

/** 165: long bpf_snprintf(char *str, u32 str_size, const char *fmt, u64 *data, u32 data_len) */
export function snprintf(vm: Vm): void {
  const str = addrArg(vm, 1);
  const strSize = vm.lo[2] >>> 0;
  const fmtAddr = addrArg(vm, 3);
  const data = addrArg(vm, 4);
  const dataLen = vm.lo[5] >>> 0;
  if (dataLen % 8 !== 0 || dataLen > MAX_BPRINTF_VARARGS * 8 || (dataLen !== 0 && (vm.lo[4] | vm.hi[4]) === 0)) {
    return retInt(vm, E_INVAL);
  }
  if (str !== 0 || vm.hi[1] !== 0) needMem(vm, 165, 'str', str, strSize, PERM_WRITE);
  needMem(vm, 165, 'data', data, dataLen, PERM_READ);
  const fmt = readCString(vm.space, fmtAddr, 1 << 16);
  if (fmt === null || !memOk(vm, fmtAddr, 1, PERM_READ)) return retInt(vm, E_INVAL);
  const args: bigint[] = [];
  const dv = vm.space.dv;
  for (let o = 0; o < dataLen; o += 8) {
    args.push((BigInt(dv.getUint32(data + o + 4, true)) << 32n) | BigInt(dv.getUint32(data + o, true)));
  }
  const text = bprintf(fmt, args, vm.space);
  if (typeof text === 'number') return retInt(vm, text);
  if (strSize > 0) {
    const n = Math.min(text.length, strSize - 1);
    const u8 = vm.space.u8;
    for (let i = 0; i < n; i++) u8[str + i] = text.charCodeAt(i);
    u8[str + n] = 0;
  }
  retInt(vm, text.length + 1);
}

// The assembler: text to instruction slots. Reads both syntaxes that disasm.ts prints, line by line (each line
// may use either): the llvm-objdump pseudo-C form and the bpf_conformance mnemonic form.
//
// Accepted on every line: labels (`name:` alone or before an instruction), comments (`#`, `//`, `;` to end of
// line), blank lines, decimal and hex numbers, optional `NNN:` addresses and raw hex bytes as llvm-objdump -d
// prints them (a `<unknown>` line is rebuilt from its bytes), objdump's trailing `<sym+off>` annotations
// (ignored), objdump's section/symbol header lines (`0000000000000000 <prog>:` becomes label `prog`), and the
// raw escape `.insn CODE, DST, SRC, OFF, IMM`. Jump targets are `+N`/`-N` or labels; `exit` as a jump target
// names the first `exit` instruction when no label `exit` exists (as bpf_conformance's assembler does).
//
// Mnemonic syntax (bpf_conformance spellings; `%r1` and `r1` both name a register, `32` selects 32-bit):
//   add sub mul div sdiv or and lsh rsh mod smod xor mov arsh [32]  dst, src|imm      neg[32] dst
//   movsx832 movsx864 movsx1632 movsx1664 movsx3264 dst, src   (movsx<from bits><to bits>)
//   le16/32/64 dst, be16/32/64 dst, swap16/32/64 dst (ALU64 byte swap; `bswap16` etc. accepted)
//   ldxb/h/w/dw dst, [src+off]   ldxbsx/ldxhsx/ldxwsx dst, [src+off] (`ldxsb` etc. accepted)
//   stb/h/w/dw [dst+off], imm    stxb/h/w/dw [dst+off], src       ([reg] means offset 0)
//   lddw dst, imm64   lddw dst, map_fd(3)   lddw dst, map_value(3)+8   (also btf_id, func, map_idx, map_idx_value;
//   `lddw dst, map_fd 3` accepted; the `+N` is the second slot's imm)
//   ldabsb/h/w imm   ldindb/h/w src, imm
//   ja +N   ja32 +N (`gotol` accepted)   jeq jgt jge jset jne jsgt jsge jlt jle jslt jsle [32] dst, src|imm, +N
//   call N (helper; a negative N is a local call)  call helper N  call local +N|label  call runtime N (kfunc,
//   `call kfunc N` accepted)  callx reg (`call reg` and `call helper reg` accepted)  exit
//   lock [fetch] add|or|and|xor[32] [dst+off], src   lock xchg[32] [dst+off], src   lock cmpxchg[32] [dst+off], src
//
// llvm syntax: everything llvm-objdump-19 -d prints, plus the extensions listed at the top of disasm.ts; 32-bit
// registers (`w1 = *(u32 *)(r2 + 0)`, `*(u32 *)(r1 + 0) = w2`) are accepted where the v3 objdump prints them.
//
// Numbers must fit their field: imm32 fields take -2^31 .. 2^32-1 (a value above 2^31-1 is its 32-bit
// pattern), offsets -2^15 .. 2^15-1, lddw -2^63 .. 2^64-1. Errors are BpfError EINVAL naming the 1-based line.

import { BpfError } from '../errors.js';
import {
  BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_B, BPF_CMPXCHG, BPF_DW, BPF_END, BPF_FETCH, BPF_H,
  BPF_IND, BPF_JMP, BPF_JMP32, BPF_K, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MOV, BPF_NEG, BPF_ST,
  BPF_STX, BPF_TO_BE, BPF_TO_LE, BPF_W, BPF_X, BPF_XCHG, OP_CALL, OP_CALLX, OP_EXIT, OP_JA, OP_JA32, OP_LDDW,
} from './opcodes.js';
import { type Insn, decode, insn } from './insn.js';
import {
  ATOMIC_ALU_OPS, LDDW_KIND_NAMES, LLVM_ALU_OPS, LLVM_JMP_OPS, LLVM_SIGNED_ALU_OPS, MNEMONIC_ALU_OPS, MNEMONIC_JMP_OPS,
} from './disasm.js';

/** An error in one line; assemble() adds the line number and text. */
class LineError extends Error {}
const bad = (msg: string): never => { throw new LineError(msg); };

// ---- Tokens ----

interface Tok { kind: 'word' | 'num' | 'op' | 'reg'; text: string; value?: bigint; reg?: number; wide?: boolean }

const OPS = ['s>>=', '<<=', '>>=', 's>=', 's<=', 's/=', 's%=', '+=', '-=', '*=', '/=', '%=', '|=', '&=', '^=', '==', '!=',
  '>=', '<=', 's>', 's<', '>', '<', '=', '&', '*', '(', ')', '[', ']', '+', '-', ','];

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') { i++; continue; }
    if (c === '%' && /[A-Za-z]/.test(s[i + 1] ?? '')) { i++; continue; } // `%r1`: register prefix
    if (c === 's' && '<>/%'.includes(s[i + 1] ?? '')) {
      const op = OPS.find((o) => o[0] === 's' && s.startsWith(o, i));
      if (op !== undefined) { out.push({ kind: 'op', text: op }); i += op.length; continue; }
    }
    if (/[A-Za-z_.$]/.test(c)) {
      const m = /^[A-Za-z_.$][\w.$]*/.exec(s.slice(i))![0];
      const r = /^([rw])(\d+)$/.exec(m);
      if (r !== null) {
        const n = Number(r[2]);
        if (n > 10) bad(`bad register ${m}`);
        out.push({ kind: 'reg', text: m, reg: n, wide: r[1] === 'r' });
      } else out.push({ kind: 'word', text: m });
      i += m.length;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9][\w]*/.exec(s.slice(i))![0];
      if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(m)) bad(`bad number '${m}'`);
      out.push({ kind: 'num', text: m, value: BigInt(m) });
      i += m.length;
      continue;
    }
    const op = OPS.find((o) => o[0] !== 's' && s.startsWith(o, i));
    if (op === undefined) bad(`unexpected character '${c}'`);
    out.push({ kind: 'op', text: op! });
    i += op!.length;
  }
  return out;
}

// ---- Pattern matching over tokens ----
// A pattern is space-separated items: `$r` 64-bit register, `$w` 32-bit register, `$x` either, `$n` number with
// optional sign, `$o` number with a required sign, `$t` jump target (`$o`, plain number or label), `$k` any
// word, anything else a literal token. Captures come back in order.

interface Reg { reg: number; wide: boolean }
type Target = { label: string } | { value: bigint };
type Cap = Reg | bigint | string | Target;

function signed(toks: readonly Tok[], i: number, needSign: boolean): [bigint, number] | null {
  const t = toks[i];
  if (t === undefined) return null;
  if (t.kind === 'num') return needSign ? null : [t.value!, i + 1];
  if (t.kind === 'op' && (t.text === '+' || t.text === '-') && toks[i + 1]?.kind === 'num') {
    const v = toks[i + 1].value!;
    return [t.text === '-' ? -v : v, i + 2];
  }
  return null;
}

function match(toks: readonly Tok[], pattern: string): Cap[] | null {
  const caps: Cap[] = [];
  let i = 0;
  for (const item of pattern.split(' ')) {
    const t = toks[i];
    switch (item) {
      case '$r': case '$w': case '$x':
        if (t?.kind !== 'reg' || (item === '$r' && !t.wide) || (item === '$w' && t.wide)) return null;
        caps.push({ reg: t.reg!, wide: t.wide! }); i++; break;
      case '$n': case '$o': {
        const r = signed(toks, i, item === '$o');
        if (r === null) return null;
        caps.push(r[0]); i = r[1]; break;
      }
      case '$t': {
        if (t?.kind === 'word') { caps.push({ label: t.text }); i++; break; }
        const r = signed(toks, i, false);
        if (r === null) return null;
        caps.push({ value: r[0] }); i = r[1]; break;
      }
      case '$k':
        if (t?.kind !== 'word') return null;
        caps.push(t.text); i++; break;
      default:
        if (t === undefined || t.text !== item || t.kind === 'num') return null;
        i++;
    }
  }
  return i === toks.length ? caps : null;
}

// ---- Field range checks ----

function imm32(v: bigint, what = 'immediate'): number {
  if (v < -(1n << 31n) || v > 0xffffffffn) bad(`${what} ${v} does not fit in 32 bits`);
  return Number(BigInt.asIntN(32, v));
}
function simm32(v: bigint, what: string): number {
  if (v < -(1n << 31n) || v >= 1n << 31n) bad(`${what} ${v} does not fit in a signed 32-bit field`);
  return Number(v);
}
function off16(v: bigint, what = 'offset'): number {
  if (v < -32768n || v > 32767n) bad(`${what} ${v} does not fit in a signed 16-bit field`);
  return Number(v);
}

// ---- One parsed line ----

interface Fixup { slot: number; label: string; field: 'off' | 'imm'; line: number; text: string }
interface Parsed { slots: Insn[]; target?: { label: string; field: 'off' | 'imm' } }

const one = (ins: Insn): Parsed => ({ slots: [ins] });

/** A jump or call whose offset is a number (`field` set now) or a label (fixed up later). */
function branch(code: number, dst: number, src: number, off: number, imm: number, t: Target, field: 'off' | 'imm'): Parsed {
  if ('label' in t) return { slots: [insn(code, dst, src, off, imm)], target: { label: t.label, field } };
  if (field === 'off') return one(insn(code, dst, src, off16(t.value, 'jump offset'), imm));
  return one(insn(code, dst, src, off, simm32(t.value, 'jump offset')));
}

function lddwSlots(dst: number, value: bigint, kind: number): Parsed {
  if (value < -(1n << 63n) || value > (1n << 64n) - 1n) bad(`lddw value ${value} does not fit in 64 bits`);
  const v = BigInt.asUintN(64, value);
  return { slots: [insn(OP_LDDW, dst, kind, 0, Number(BigInt.asIntN(32, v))), insn(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n)))] };
}

function lddwPseudo(dst: number, kindName: string, lo: bigint, hi: bigint): Parsed {
  const kind = LDDW_KIND_NAMES.indexOf(kindName);
  if (kind <= 0) bad(`unknown lddw source kind '${kindName}'`);
  return { slots: [insn(OP_LDDW, dst, kind, 0, imm32(lo)), insn(0, 0, 0, 0, imm32(hi))] };
}

const SIZE_BY_BITS: Record<string, number> = { 8: BPF_B, 16: BPF_H, 32: BPF_W, 64: BPF_DW };
const SIZE_BY_SUFFIX: Record<string, number> = { b: BPF_B, h: BPF_H, w: BPF_W, dw: BPF_DW };

/** `u32` / `s16` of llvm's `*(u32 *)` casts. */
function castSize(k: string): { size: number; sx: boolean } {
  const m = /^([us])(8|16|32|64)$/.exec(k);
  if (m === null || (m[1] === 's' && m[2] === '64')) bad(`bad access size '${k}'`);
  return { size: SIZE_BY_BITS[m![2]], sx: m![1] === 's' };
}

function reverse(table: Record<number, string>): Map<string, number> {
  return new Map(Object.entries(table).map(([k, v]) => [v, Number(k)]));
}
const LLVM_ALU = reverse(LLVM_ALU_OPS);
const LLVM_SALU = reverse(LLVM_SIGNED_ALU_OPS);
const LLVM_JMP = reverse(LLVM_JMP_OPS);
const MNEM_ALU = reverse(MNEMONIC_ALU_OPS);
const MNEM_JMP = reverse(MNEMONIC_JMP_OPS);
const ATOMIC_BY_LLVM = new Map(Object.entries(ATOMIC_ALU_OPS).map(([k, v]) => [v.llvm, Number(k)]));
const ATOMIC_BY_NAME = new Map(Object.entries(ATOMIC_ALU_OPS).map(([k, v]) => [v.name, Number(k)]));

const sameWidth = (a: Reg, b: Reg): void => { if (a.wide !== b.wide) bad('registers of different widths (r and w) mixed'); };
const aluClass = (r: Reg): number => (r.wide ? BPF_ALU64 : BPF_ALU);

/** Calls shared by both syntaxes. */
function parseCall(toks: readonly Tok[]): Parsed | null {
  let c: Cap[] | null;
  if ((c = match(toks, 'callx $r')) || (c = match(toks, 'call $r')) || (c = match(toks, 'call helper $r'))) {
    return one(insn(OP_CALLX, (c[0] as Reg).reg));
  }
  if ((c = match(toks, 'call $n'))) {
    const v = c[0] as bigint;
    return one(insn(OP_CALL, 0, v < 0n ? 1 : 0, 0, imm32(v, 'call target')));
  }
  if ((c = match(toks, 'call helper $n'))) return one(insn(OP_CALL, 0, 0, 0, imm32(c[0] as bigint, 'helper id')));
  if ((c = match(toks, 'call kfunc $n')) || (c = match(toks, 'call runtime $n'))) {
    return one(insn(OP_CALL, 0, 2, 0, imm32(c[0] as bigint, 'kfunc id')));
  }
  if ((c = match(toks, 'call local $t'))) return branch(OP_CALL, 0, 1, 0, 0, c[0] as Target, 'imm');
  if ((c = match(toks, 'call $k'))) return branch(OP_CALL, 0, 1, 0, 0, { label: c[0] as string }, 'imm');
  return null;
}

function parseRawInsn(toks: readonly Tok[]): Parsed | null {
  const c = match(toks, '.insn $n , $n , $n , $n , $n');
  if (c === null) return null;
  const [code, dst, src, off, imm] = c as bigint[];
  if (code < 0n || code > 255n) bad(`opcode ${code} does not fit in 8 bits`);
  if (dst < 0n || dst > 15n || src < 0n || src > 15n) bad('register field does not fit in 4 bits');
  if (off < -32768n || off > 65535n) bad(`offset ${off} does not fit in 16 bits`);
  return one(insn(Number(code), Number(dst), Number(src), Number(off), imm32(imm)));
}

// ---- llvm syntax ----

function parseLlvm(toks: readonly Tok[]): Parsed | null {
  let c: Cap[] | null;
  const R = (i: number): Reg => c![i] as Reg;
  const N = (i: number): bigint => c![i] as bigint;
  const K = (i: number): string => c![i] as string;

  if ((c = match(toks, 'exit'))) return one(insn(OP_EXIT));
  if (toks[0]?.text === 'call' || toks[0]?.text === 'callx') return parseCall(toks);
  if ((c = match(toks, 'goto $t'))) return branch(OP_JA, 0, 0, 0, 0, c[0] as Target, 'off');
  if ((c = match(toks, 'gotol $t'))) return branch(OP_JA32, 0, 0, 0, 0, c[0] as Target, 'imm');

  // conditional jumps: if dst OP src|imm goto target
  if (toks[0]?.text === 'if') {
    const cmp = toks[2]?.text ?? '';
    const op = LLVM_JMP.get(cmp);
    if (op === undefined) bad(`unknown comparison '${cmp}'`);
    const shape = [toks[0], toks[1], { kind: 'word', text: 'CMP' } as Tok, ...toks.slice(3)];
    if ((c = match(shape, 'if $x CMP $x goto $t'))) {
      sameWidth(R(0), R(1));
      return branch((R(0).wide ? BPF_JMP : BPF_JMP32) | op! | BPF_X, R(0).reg, R(1).reg, 0, 0, c[2] as Target, 'off');
    }
    if ((c = match(shape, 'if $x CMP $n goto $t'))) {
      return branch((R(0).wide ? BPF_JMP : BPF_JMP32) | op! | BPF_K, R(0).reg, 0, 0, imm32(N(1)), c[2] as Target, 'off');
    }
    return null;
  }

  // stores: *(uN *)(dst +- off) = src|imm
  if ((c = match(toks, '* ( $k * ) ( $r $o ) = $x'))) {
    const { size, sx } = castSize(K(0));
    if (sx) bad('stores have no signed size');
    if (!R(3).wide && size === BPF_DW) bad('a 64-bit store needs a 64-bit register');
    return one(insn(BPF_STX | BPF_MEM | size, R(1).reg, R(3).reg, off16(N(2))));
  }
  if ((c = match(toks, '* ( $k * ) ( $r $o ) = $n'))) {
    const { size, sx } = castSize(K(0));
    if (sx) bad('stores have no signed size');
    return one(insn(BPF_ST | BPF_MEM | size, R(1).reg, 0, off16(N(2)), imm32(N(3))));
  }
  // atomics without fetch: lock *(uN *)(dst +- off) op= src
  if ((c = matchOpAt(toks, 'lock * ( $k * ) ( $r $o ) OP $x', 11))) return atomicNoFetch(c, toks[11].text);

  // dst = ...
  if (toks[0]?.kind === 'reg' && toks[1]?.text === '=') {
    if ((c = match(toks, '$x = $x'))) {
      sameWidth(R(0), R(1));
      return one(insn(aluClass(R(0)) | BPF_MOV | BPF_X, R(0).reg, R(1).reg));
    }
    if ((c = match(toks, '$x = $n'))) return one(insn(aluClass(R(0)) | BPF_MOV | BPF_K, R(0).reg, 0, 0, imm32(N(1))));
    if ((c = match(toks, '$r = $n ll'))) return lddwSlots(R(0).reg, N(1), 0);
    if ((c = match(toks, '$r = $k ( $n ) ll'))) return lddwPseudo(R(0).reg, K(1), N(2), 0n);
    if ((c = match(toks, '$r = $k ( $n ) $o ll'))) return lddwPseudo(R(0).reg, K(1), N(2), N(3));
    if ((c = match(toks, '$x = - $x'))) {
      sameWidth(R(0), R(1));
      if (R(0).reg !== R(1).reg) bad('neg needs the same source and destination register');
      return one(insn(aluClass(R(0)) | BPF_NEG, R(0).reg));
    }
    if ((c = match(toks, '$x = ( $k ) $x'))) {
      sameWidth(R(0), R(2));
      const m = /^s(8|16|32)$/.exec(K(1));
      if (m === null || (m[1] === '32' && !R(0).wide)) bad(`bad sign-extension cast '(${K(1)})'`);
      return one(insn(aluClass(R(0)) | BPF_MOV | BPF_X, R(0).reg, R(2).reg, Number(m![1])));
    }
    if ((c = match(toks, '$r = $k $r'))) {
      const m = /^(be|le|bswap)(16|32|64)$/.exec(K(1));
      if (m === null) bad(`unknown operation '${K(1)}'`);
      if (R(0).reg !== R(2).reg) bad('byte swap needs the same source and destination register');
      const code = m![1] === 'bswap' ? BPF_ALU64 | BPF_END | BPF_TO_LE : BPF_ALU | BPF_END | (m![1] === 'be' ? BPF_TO_BE : BPF_TO_LE);
      return one(insn(code, R(0).reg, 0, 0, Number(m![2])));
    }
    if ((c = match(toks, '$x = * ( $k * ) ( $r $o )'))) {
      const { size, sx } = castSize(K(1));
      if (!R(0).wide && (sx || size === BPF_DW)) bad(`a ${K(1)} load needs a 64-bit destination register`);
      return one(insn(BPF_LDX | (sx ? BPF_MEMSX : BPF_MEM) | size, R(0).reg, R(2).reg, off16(N(3))));
    }
    if ((c = match(toks, '$r = * ( $k * ) skb [ $n ]'))) return ldPacket(R(0), K(1), BPF_ABS, 0, N(2));
    if ((c = match(toks, '$r = * ( $k * ) skb [ $r ]'))) return ldPacket(R(0), K(1), BPF_IND, R(2).reg, 0n);
    if ((c = match(toks, '$r = * ( $k * ) skb [ $r $o ]'))) return ldPacket(R(0), K(1), BPF_IND, R(2).reg, N(3));
    if ((c = match(toks, '$x = $k ( ( $k * ) ( $r $o ) , $x )'))) {
      const m = /^atomic_fetch_(add|or|and|xor)$/.exec(K(1));
      if (m === null) bad(`unknown operation '${K(1)}'`);
      const { size, sx } = castSize(K(2));
      if (sx || (size !== BPF_W && size !== BPF_DW)) bad(`atomic operations take u32 or u64, not ${K(2)}`);
      sameWidth(R(0), R(5));
      if (R(0).reg !== R(5).reg) bad('atomic fetch needs the same source and destination register');
      if (size === BPF_DW && !R(0).wide) bad('a 64-bit atomic needs 64-bit registers');
      return one(insn(BPF_STX | BPF_ATOMIC | size, R(3).reg, R(5).reg, off16(N(4)), ATOMIC_BY_NAME.get(m![1])! | BPF_FETCH));
    }
    if ((c = match(toks, '$x = $k ( $r $o , $x )'))) {
      const size = atomicFnSize(K(1), 'xchg', R(0));
      sameWidth(R(0), R(4));
      if (R(0).reg !== R(4).reg) bad('xchg needs the same source and destination register');
      return one(insn(BPF_STX | BPF_ATOMIC | size, R(2).reg, R(4).reg, off16(N(3)), BPF_XCHG));
    }
    if ((c = match(toks, '$x = $k ( $r $o , $x , $x )'))) {
      const size = atomicFnSize(K(1), 'cmpxchg', R(0));
      sameWidth(R(0), R(4)); sameWidth(R(0), R(5));
      if (R(0).reg !== 0 || R(4).reg !== 0) bad('cmpxchg compares and returns in r0');
      return one(insn(BPF_STX | BPF_ATOMIC | size, R(2).reg, R(5).reg, off16(N(3)), BPF_CMPXCHG));
    }
    return null;
  }

  // dst op= src|imm
  if (toks[0]?.kind === 'reg' && toks[1]?.kind === 'op') {
    const sym = toks[1].text;
    const op = LLVM_ALU.get(sym) ?? LLVM_SALU.get(sym);
    if (op === undefined) bad(`unknown operator '${sym}'`);
    const off = LLVM_SALU.has(sym) ? 1 : 0;
    const shape = [toks[0], { kind: 'word', text: 'OP' } as Tok, ...toks.slice(2)];
    if ((c = match(shape, '$x OP $x'))) {
      sameWidth(R(0), R(1));
      return one(insn(aluClass(R(0)) | op! | BPF_X, R(0).reg, R(1).reg, off));
    }
    if ((c = match(shape, '$x OP $n'))) return one(insn(aluClass(R(0)) | op! | BPF_K, R(0).reg, 0, off, imm32(N(1))));
    return null;
  }
  if ((c = match(toks, 'ld_pseudo $r , $n , $n'))) {
    const kind = Number(N(1));
    if (kind < 1 || kind >= LDDW_KIND_NAMES.length) bad(`unknown lddw source kind ${N(1)}`);
    return lddwPseudo(R(0).reg, LDDW_KIND_NAMES[kind], N(2), 0n);
  }
  return null;
}

/** Like match(), with the operator token at index `at` replaced by the word OP (operators are not words). */
function matchOpAt(toks: readonly Tok[], pattern: string, at: number): Cap[] | null {
  if (toks[at]?.kind !== 'op') return null;
  const shape = [...toks.slice(0, at), { kind: 'word', text: 'OP' } as Tok, ...toks.slice(at + 1)];
  return match(shape, pattern);
}

function atomicNoFetch(c: Cap[], sym: string): Parsed {
  const { size, sx } = castSize(c[0] as string);
  if (sx || (size !== BPF_W && size !== BPF_DW)) bad(`atomic operations take u32 or u64, not ${c[0] as string}`);
  const op = ATOMIC_BY_LLVM.get(sym);
  if (op === undefined) bad(`unknown atomic operator '${sym}'`);
  const src = c[c.length - 1] as Reg;
  if (size === BPF_DW && !src.wide) bad('a 64-bit atomic needs a 64-bit register');
  return one(insn(BPF_STX | BPF_ATOMIC | size, (c[1] as Reg).reg, src.reg, off16(c[2] as bigint), op!));
}

/** Size of `xchg_64` / `xchg32_32` / `cmpxchg_64` / `cmpxchg32_32`, checked against the destination width. */
function atomicFnSize(name: string, base: string, dst: Reg): number {
  if (name === `${base}_64`) {
    if (!dst.wide) bad(`${name} needs 64-bit registers`);
    return BPF_DW;
  }
  if (name === `${base}32_32`) return BPF_W;
  return bad(`unknown operation '${name}'`);
}

function ldPacket(dst: Reg, k: string, mode: number, src: number, imm: bigint): Parsed {
  const { size, sx } = castSize(k);
  if (sx || size === BPF_DW) bad(`packet loads take u8, u16 or u32, not ${k}`);
  if (dst.reg !== 0) bad('packet loads (LD_ABS/LD_IND) always load into r0');
  return one(insn(BPF_LD | mode | size, 0, src, 0, imm32(imm)));
}

// ---- mnemonic syntax ----

/** `[reg+off]` / `[reg]` memory operands: patterns with MEM expanded both ways. */
function matchMem(toks: readonly Tok[], pattern: string): { caps: Cap[]; reg: number; off: number } | null {
  for (const [mem, hasOff] of [['[ $r $o ]', true], ['[ $r ]', false]] as const) {
    const c = match(toks, pattern.replace('MEM', mem));
    if (c === null) continue;
    // the memory operand's captures sit where MEM was; find them by position among captures
    const before = pattern.slice(0, pattern.indexOf('MEM')).split(' ').filter((p) => p.startsWith('$')).length;
    const reg = (c[before] as Reg).reg;
    const off = hasOff ? off16(c[before + 1] as bigint) : 0;
    const rest = [...c.slice(0, before), ...c.slice(before + (hasOff ? 2 : 1))];
    return { caps: rest, reg, off };
  }
  return null;
}

const MNEMONIC_WORD = /^(?:(?:add|sub|mul|div|sdiv|or|and|lsh|rsh|mod|smod|xor|mov|arsh|neg)(?:32|64)?|movsx\d+|(?:le|be|swap|bswap)\d+|ldx\w+|stx?(?:b|h|w|dw)|lddw|ldabs\w|ldind\w|ja|ja32|j\w+|lock)$/;

function parseMnemonic(toks: readonly Tok[]): Parsed | null {
  const name = toks[0].text;
  const ops = toks.slice(1);
  const rest = [{ kind: 'word', text: 'M' } as Tok, ...ops];
  let c: Cap[] | null;
  let m: RegExpExecArray | null;
  const R = (i: number): Reg => c![i] as Reg;

  if ((m = /^(add|sub|mul|div|sdiv|or|and|lsh|rsh|mod|smod|xor|mov|arsh)(32|64)?$/.exec(name))) {
    const signedOp = m[1] === 'sdiv' || m[1] === 'smod';
    const op = MNEM_ALU.get(signedOp ? m[1].slice(1) : m[1])!;
    const cls = m[2] === '32' ? BPF_ALU : BPF_ALU64;
    const off = signedOp ? 1 : 0;
    if ((c = match(rest, 'M $r , $r'))) return one(insn(cls | op | BPF_X, R(0).reg, R(1).reg, off));
    if ((c = match(rest, 'M $r , $n'))) return one(insn(cls | op | BPF_K, R(0).reg, 0, off, imm32(c[1] as bigint)));
    return bad(`${name} takes a register and a register or immediate`);
  }
  if ((m = /^neg(32|64)?$/.exec(name))) {
    if (!(c = match(rest, 'M $r'))) bad(`${name} takes one register`);
    return one(insn((m[1] === '32' ? BPF_ALU : BPF_ALU64) | BPF_NEG, R(0).reg));
  }
  if ((m = /^movsx(8|16|32)(32|64)$/.exec(name))) {
    if (m[1] === '32' && m[2] === '32') bad('movsx3232 does not exist');
    if (!(c = match(rest, 'M $r , $r'))) bad(`${name} takes two registers`);
    return one(insn((m[2] === '32' ? BPF_ALU : BPF_ALU64) | BPF_MOV | BPF_X, R(0).reg, R(1).reg, Number(m[1])));
  }
  if ((m = /^(le|be|swap|bswap)(16|32|64)$/.exec(name))) {
    if (!(c = match(rest, 'M $r'))) bad(`${name} takes one register`);
    const code = m[1] === 'le' ? BPF_ALU | BPF_END | BPF_TO_LE : m[1] === 'be' ? BPF_ALU | BPF_END | BPF_TO_BE : BPF_ALU64 | BPF_END | BPF_TO_LE;
    return one(insn(code, R(0).reg, 0, 0, Number(m[2])));
  }
  if ((m = /^ldx(?:(b|h|w|dw)(sx)?|s(b|h|w))$/.exec(name))) {
    const sx = m[2] !== undefined || m[3] !== undefined;
    const size = SIZE_BY_SUFFIX[m[1] ?? m[3]];
    if (sx && size === BPF_DW) bad('there is no sign-extending 64-bit load');
    const r = matchMem(rest, 'M $r , MEM');
    if (r === null) return bad(`${name} takes a register and [reg+off]`);
    return one(insn(BPF_LDX | (sx ? BPF_MEMSX : BPF_MEM) | size, (r.caps[0] as Reg).reg, r.reg, r.off));
  }
  if ((m = /^st(x?)(b|h|w|dw)$/.exec(name))) {
    const size = SIZE_BY_SUFFIX[m[2]];
    if (m[1] === 'x') {
      const r = matchMem(rest, 'M MEM , $r');
      if (r === null) return bad(`${name} takes [reg+off] and a register`);
      return one(insn(BPF_STX | BPF_MEM | size, r.reg, (r.caps[0] as Reg).reg, r.off));
    }
    const r = matchMem(rest, 'M MEM , $n');
    if (r === null) return bad(`${name} takes [reg+off] and an immediate`);
    return one(insn(BPF_ST | BPF_MEM | size, r.reg, 0, r.off, imm32(r.caps[0] as bigint)));
  }
  if (name === 'lddw') {
    if ((c = match(rest, 'M $r , $n'))) return lddwSlots(R(0).reg, c[1] as bigint, 0);
    if ((c = match(rest, 'M $r , $k ( $n )'))) return lddwPseudo(R(0).reg, c[1] as string, c[2] as bigint, 0n);
    if ((c = match(rest, 'M $r , $k ( $n ) $o'))) return lddwPseudo(R(0).reg, c[1] as string, c[2] as bigint, c[3] as bigint);
    if ((c = match(rest, 'M $r , $k $n'))) return lddwPseudo(R(0).reg, c[1] as string, c[2] as bigint, 0n);
    return bad('lddw takes a register and a 64-bit immediate or kind(imm)');
  }
  if ((m = /^ld(abs|ind)(b|h|w)$/.exec(name))) {
    const size = SIZE_BY_SUFFIX[m[2]];
    if (m[1] === 'abs') {
      if (!(c = match(rest, 'M $n'))) bad(`${name} takes an immediate`);
      return one(insn(BPF_LD | BPF_ABS | size, 0, 0, 0, imm32(c![0] as bigint)));
    }
    if (!(c = match(rest, 'M $r , $n'))) bad(`${name} takes a register and an immediate`);
    return one(insn(BPF_LD | BPF_IND | size, 0, R(0).reg, 0, imm32(c![1] as bigint)));
  }
  if (name === 'ja' || name === 'ja32' || name === 'gotol') {
    if (!(c = match(rest, 'M $t'))) bad(`${name} takes a jump target`);
    return name === 'ja' ? branch(OP_JA, 0, 0, 0, 0, c![0] as Target, 'off') : branch(OP_JA32, 0, 0, 0, 0, c![0] as Target, 'imm');
  }
  if ((m = /^(j[a-z]+?)(32)?$/.exec(name)) && MNEM_JMP.has(m[1])) {
    const code = (m[2] === '32' ? BPF_JMP32 : BPF_JMP) | MNEM_JMP.get(m[1])!;
    if ((c = match(rest, 'M $r , $r , $t'))) return branch(code | BPF_X, R(0).reg, R(1).reg, 0, 0, c[2] as Target, 'off');
    if ((c = match(rest, 'M $r , $n , $t'))) return branch(code | BPF_K, R(0).reg, 0, 0, imm32(c[1] as bigint), c[2] as Target, 'off');
    return bad(`${name} takes a register, a register or immediate, and a jump target`);
  }
  if (name === 'lock') {
    let i = 1;
    const fetch = toks[i]?.text === 'fetch';
    if (fetch) i++;
    const opName = toks[i]?.text ?? '';
    const om = /^(add|or|and|xor|xchg|cmpxchg)(32)?$/.exec(opName);
    if (om === null) return bad(`unknown atomic operation '${opName}'`);
    const r = matchMem([{ kind: 'word', text: 'M' } as Tok, ...toks.slice(i + 1)], 'M MEM , $r');
    if (r === null) return bad(`lock ${opName} takes [reg+off] and a register`);
    const size = om[2] === '32' ? BPF_W : BPF_DW;
    let imm: number;
    if (om[1] === 'xchg') imm = BPF_XCHG;
    else if (om[1] === 'cmpxchg') imm = BPF_CMPXCHG;
    else imm = ATOMIC_BY_NAME.get(om[1])! | (fetch ? BPF_FETCH : 0);
    return one(insn(BPF_STX | BPF_ATOMIC | size, r.reg, (r.caps[0] as Reg).reg, r.off, imm));
  }
  return null;
}

// ---- Lines ----

function stripComment(line: string): string {
  let cut = line.length;
  for (const mark of ['#', '//', ';']) {
    const at = line.indexOf(mark);
    if (at >= 0 && at < cut) cut = at;
  }
  return line.slice(0, cut);
}

const BYTES_RE = /^((?:[0-9a-fA-F]{2}(?:[ \t]+|$)){8}(?:(?:[0-9a-fA-F]{2}(?:[ \t]+|$)){8})?)/;

function parseInstruction(text: string): Parsed {
  const toks = tokenize(text);
  if (toks.length === 0) bad('empty instruction');
  const first = toks[0].text;
  const raw = parseRawInsn(toks);
  if (raw !== null) return raw;
  let r: Parsed | null;
  if (toks[0].kind === 'word' && first !== 'call' && first !== 'callx' && first !== 'exit' && MNEMONIC_WORD.test(first) &&
      !(first === 'lock' && toks[1]?.text === '*')) {
    r = parseMnemonic(toks);
    if (r === null) bad(`unknown mnemonic '${first}'`);
    return r!;
  }
  r = parseLlvm(toks);
  if (r !== null) return r;
  if (toks[0].kind === 'word' && !['if', 'goto', 'gotol', 'call', 'callx', 'lock', 'exit'].includes(first)) {
    bad(`unknown mnemonic '${first}'`);
  }
  return bad('cannot parse instruction');
}

/** Assemble text in llvm-objdump or mnemonic syntax (any mix, line by line) into instruction slots. */
export function assemble(text: string): Insn[] {
  const out: Insn[] = [];
  const labels = new Map<string, number>();
  const fixups: Fixup[] = [];
  let firstExit = -1;
  const lines = text.split(/\r?\n/);
  for (let li = 0; li < lines.length; li++) {
    const original = lines[li];
    const fail = (msg: string): never => {
      throw new BpfError('EINVAL', `line ${li + 1}: ${msg}: ${original.trim()}`);
    };
    try {
      let s = original.trim();
      if (/^\S+:\s+file format /.test(s) || /^Disassembly of section /.test(s) || /^[0-9a-fA-F]+:\s+R_BPF_/.test(s)) continue;
      const sym = /^[0-9a-fA-F]+ <([^<>\s]+)>:$/.exec(s);
      if (sym !== null) s = `${sym[1]}:`;
      s = stripComment(s).trim();
      // labels (possibly several), then objdump's address and bytes columns
      for (let m; (m = /^([A-Za-z_.$][\w.$]*)\s*:/.exec(s)) !== null;) {
        if (labels.has(m[1])) fail(`duplicate label '${m[1]}'`);
        labels.set(m[1], out.length);
        s = s.slice(m[0].length).trim();
      }
      s = s.replace(/^\d+:\s*/, '');
      const bytes = BYTES_RE.exec(s);
      let rawBytes: Uint8Array | null = null;
      if (bytes !== null) {
        rawBytes = Uint8Array.from(bytes[1].trim().split(/\s+/), (h) => parseInt(h, 16));
        s = s.slice(bytes[1].length).trim();
      }
      if (s === '' || s === '<unknown>') {
        if (rawBytes !== null) out.push(...decode(rawBytes));
        else if (s !== '') fail('<unknown> without the instruction bytes');
        continue;
      }
      s = s.replace(/\s+<[^<>\s]*>$/, ''); // objdump's `<sym+off>` after a jump
      const p = parseInstruction(s);
      if (p.target !== undefined) fixups.push({ slot: out.length, ...p.target, line: li + 1, text: original.trim() });
      if (firstExit < 0 && p.slots[0].code === OP_EXIT && p.slots.length === 1) firstExit = out.length;
      out.push(...p.slots);
    } catch (e) {
      if (e instanceof LineError) fail(e.message);
      throw e;
    }
  }
  for (const f of fixups) {
    const target = labels.get(f.label) ?? (f.label === 'exit' && firstExit >= 0 ? firstExit : undefined);
    if (target === undefined) throw new BpfError('EINVAL', `line ${f.line}: unknown label '${f.label}': ${f.text}`);
    const delta = target - f.slot - 1;
    const ins = out[f.slot];
    if (f.field === 'off') {
      if (delta < -32768 || delta > 32767) throw new BpfError('EINVAL', `line ${f.line}: jump to '${f.label}' is out of 16-bit range: ${f.text}`);
      out[f.slot] = { ...ins, off: delta };
    } else out[f.slot] = { ...ins, imm: delta };
  }
  return out;
}

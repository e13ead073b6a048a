// Generator of the test/cases/gen-* case families: every ALU/ALU64 operation with K and X sources, byte swaps,
// movsx, neg, and every JMP/JMP32 conditional taken and not taken, on edge operands. Expected values come from
// the BigInt reference model (test/reference.ts), never from an engine. Half mnemonic, a third llvm syntax.
//
//   node dist/test/cases/gen.js --write     rewrite test/cases/gen-*/ from scratch
//
// Without --write it does nothing (the test runner may load it); test/cases.test.ts checks the committed
// files are what generate() produces.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALU_OPS, JMP_OPS, aluRef, jmpRef } from '../reference.js';

const hex = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16);
const s32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const fitsImm = (v: bigint): boolean => v >= -(1n << 31n) && v < (1n << 31n);
const U = (v: bigint): bigint => BigInt.asUintN(64, v);

/** How a K immediate is written: decimal when small or negative, hex otherwise. */
const immText = (v: number, llvm: boolean): string => (llvm || v < 0 || v < 256 ? String(v) : '0x' + v.toString(16));

type Syntax = 'mnemonic' | 'llvm';

/** Load a 64-bit constant into a register in the chosen syntax. */
const load64 = (reg: number, v: bigint, syn: Syntax): string =>
  syn === 'llvm' ? `r${reg} = ${hex(v)} ll` : `lddw r${reg}, ${hex(v)}`;

const LLVM_ALU: Record<string, string> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', sdiv: 's/=', or: '|=', and: '&=', lsh: '<<=', rsh: '>>=',
  mod: '%=', smod: 's%=', xor: '^=', mov: '=', arsh: 's>>=',
};
const LLVM_JMP: Record<string, string> = {
  jeq: '==', jgt: '>', jge: '>=', jset: '&', jne: '!=', jsgt: 's>', jsge: 's>=', jlt: '<', jle: '<=',
  jslt: 's<', jsle: 's<=',
};

const N1 = U(-1n);
const MIN64 = 1n << 63n;
const MAX64 = MIN64 - 1n;

/** Operand pairs per ALU operation, most interesting first: [dst, src]. For K, src must fit in imm32. */
const ALU_PAIRS: Record<string, Array<[bigint, bigint]>> = {
  add: [[N1, 1n], [0x12345678ffffffffn, 1n], [0x7fffffffn, 1n], [0x123456789abcdef0n, U(-0x10n)], [MAX64, 0x7fffffffn]],
  sub: [[0n, 1n], [0x100000000n, 1n], [0x80000000n, U(-1n)], [0x123456789abcdef0n, 0x0fedcba9n], [MIN64, 1n]],
  mul: [[0x100000001n, 0x7fffffffn], [N1, U(-1n)], [0x12345678n, 0x10000n], [0xdeadbeefcafef00dn, 0x3n], [0x80000000n, 2n]],
  div: [[0x123456789abcdef0n, 0n], [N1, U(-1n)], [0xfedcba9876543210n, 7n], [0x80000000n, U(-1n)], [0x1000000000000001n, 0x10n], [0xffffffff00000010n, 3n]],
  sdiv: [[U(-7n), 2n], [MIN64, U(-1n)], [0xffffffff80000000n, U(-1n)], [7n, U(-2n)], [0x123456789abcdef0n, 0n], [U(-0x123456789n), 0x10n]],
  mod: [[0x123456789abcdef0n, 0n], [0xfedcba9876543210n, 7n], [N1, U(-1n)], [0x80000005n, 0x10n], [0x1000000000000001n, 0x7fffffffn]],
  smod: [[U(-7n), 2n], [7n, U(-2n)], [MIN64, U(-1n)], [0xffffffff80000000n, U(-1n)], [0x123456789abcdef0n, 0n], [U(-13n), 3n]],
  or: [[0xf0f0f0f00f0f0f0fn, 0x0ff00ff0n], [0x1234n, U(-0x10000n)], [0n, 0x80000000n], [0xffffffff00000000n, 0n]],
  and: [[0xf0f0f0f00f0f0f0fn, 0x0ff00ff0n], [N1, U(-0x10000n)], [N1, 0x80000000n], [0x123456789abcdef0n, 0xffn]],
  xor: [[0xf0f0f0f00f0f0f0fn, U(-1n)], [0x123456789abcdef0n, 0x12345678n], [N1, 0x80000000n], [0xaaaaaaaa55555555n, U(-0x55555556n)]],
  lsh: [[0x123456789abcdef1n, 0n], [1n, 31n], [1n, 32n], [0x8000000000000001n, 63n], [0x123456789abcdef1n, 64n], [0x80000001n, 33n], [3n, 0x7fffffffn], [1n, U(-1n)]],
  rsh: [[0x8000000000000001n, 0n], [0x8000000000000000n, 31n], [N1, 32n], [N1, 63n], [0x123456789abcdef0n, 64n], [0xffffffff80000000n, 33n], [0x8000000000000000n, 0x7fffffffn], [N1, U(-1n)]],
  arsh: [[U(-16n), 0n], [0xffffffff80000000n, 31n], [MIN64, 32n], [MIN64, 63n], [U(-0x100n), 64n], [0x80000000n, 4n], [0x7fffffff00000000n, 65n], [MIN64, U(-1n)]],
  mov: [[0x123456789abcdef0n, U(-1n)], [0x123456789abcdef0n, 0x80000000n], [N1, 0n], [0n, 0x7fffffffn], [0n, 0xfedcba9876543210n]],
};

/** Registers used by the i-th case: vary them so an engine that mixes up register fields fails. */
function regsFor(i: number): [number, number] {
  const d = [0, 3, 6, 9, 2, 5][i % 6];
  const s = [1, 4, 7, 8, 0, 6][i % 6];
  return [d, s === d ? (d + 1) % 10 : s];
}

export interface GenFile { path: string; text: string }

function aluCase(name: string, op: number, off: number, wide: boolean, x: boolean, dst: bigint, src: bigint, i: number): GenFile | null {
  const syn: Syntax = i % 3 === 2 ? 'llvm' : 'mnemonic';
  const cls = wide ? 0x07 : 0x04;
  const code = cls | op | (x ? 0x08 : 0);
  if (!x && !fitsImm(BigInt.asIntN(64, src))) return null;
  const imm = x ? 0 : s32(src);
  const expect = aluRef({ code, off, imm }, dst, src);
  const [rd, rs] = regsFor(i);
  const lines: string[] = [];
  lines.push(load64(rd, dst, syn));
  if (x) lines.push(load64(rs, src, syn));
  const mn = name + (wide ? '' : '32');
  if (syn === 'mnemonic') {
    lines.push(`${mn} r${rd}, ${x ? `r${rs}` : immText(imm, false)}`);
  } else {
    const p = wide ? 'r' : 'w';
    lines.push(`${p}${rd} ${LLVM_ALU[name]} ${x ? `${p}${rs}` : immText(imm, true)}`);
  }
  if (rd !== 0) lines.push(syn === 'llvm' ? `r0 = r${rd}` : `mov r0, r${rd}`);
  lines.push('exit');
  const what = `${mn} ${x ? 'reg' : 'imm'}: dst ${hex(dst)} ${x ? `src ${hex(src)}` : `imm ${imm}`}`;
  return {
    path: `gen-${wide ? 'alu64' : 'alu'}/${name}-${x ? 'reg' : 'imm'}-${i}.data`,
    text: `# generated by test/cases/gen.ts (${syn} syntax): ${what}\n-- asm\n${lines.join('\n')}\n-- result\n${hex(expect)}\n`,
  };
}

function genAlu(out: GenFile[]): void {
  for (const { name, op, off } of ALU_OPS) {
    for (const wide of [false, true]) {
      for (const x of [false, true]) {
        let i = 0;
        for (const [dst, src] of ALU_PAIRS[name]) {
          const f = aluCase(name, op, off, wide, x, dst, src, i);
          if (f !== null) { out.push(f); i++; }
        }
      }
    }
  }
}

/** neg, movsx and the byte swaps: one-operand operations. */
function genUnary(out: GenFile[]): void {
  const negVals = [0n, 1n, MIN64, 0xffffffff80000000n, 0x123456789abcdef0n];
  negVals.forEach((v, i) => {
    for (const wide of [false, true]) {
      const syn: Syntax = i % 3 === 2 ? 'llvm' : 'mnemonic';
      const code = (wide ? 0x07 : 0x04) | 0x80;
      const expect = aluRef({ code, off: 0, imm: 0 }, v, 0n);
      const p = wide ? 'r' : 'w';
      const op = syn === 'llvm' ? `${p}0 = -${p}0` : `neg${wide ? '' : '32'} r0`;
      out.push({
        path: `gen-unary/neg${wide ? '64' : '32'}-${i}.data`,
        text: `# generated by test/cases/gen.ts (${syn} syntax): neg${wide ? '' : '32'} of ${hex(v)}\n-- asm\n${load64(0, v, syn)}\n${op}\nexit\n-- result\n${hex(expect)}\n`,
      });
    }
  });

  // movsx: ALU64 off 8/16/32, ALU off 8/16 (X form only).
  const sxVals = [0x7fn, 0x80n, 0xffffffffffff8000n, 0x123456787fffffffn, 0xfedcba9880000000n, 0x1234567800007f80n];
  for (const [bits, wide] of [[8, false], [16, false], [8, true], [16, true], [32, true]] as Array<[number, boolean]>) {
    sxVals.forEach((v, i) => {
      const syn: Syntax = i % 2 === 1 ? 'llvm' : 'mnemonic';
      const code = (wide ? 0x07 : 0x04) | 0xb0 | 0x08;
      const expect = aluRef({ code, off: bits, imm: 0 }, 0n, v);
      const p = wide ? 'r' : 'w';
      const op = syn === 'llvm' ? `${p}0 = (s${bits})${p}2` : `movsx${bits}${wide ? '64' : '32'} r0, r2`;
      out.push({
        path: `gen-unary/movsx${bits}-${wide ? '64' : '32'}-${i}.data`,
        text: `# generated by test/cases/gen.ts (${syn} syntax): sign-extend the low ${bits} bits of ${hex(v)} into a ${wide ? 64 : 32}-bit register\n` +
          `-- asm\n${load64(0, N1, syn)}\n${load64(2, v, syn)}\n${op}\nexit\n-- result\n${hex(expect)}\n`,
      });
    });
  }

  // Byte swaps: le/be (ALU class) and bswap (ALU64 class) at 16/32/64 bits.
  const swapVals = [0x0123456789abcdefn, 0xfedcba9876543210n];
  for (const kind of ['le', 'be', 'bswap'] as const) {
    for (const bits of [16, 32, 64]) {
      swapVals.forEach((v, i) => {
        const syn: Syntax = kind === 'bswap' || i === 1 ? 'llvm' : 'mnemonic';
        const code = kind === 'bswap' ? 0xd7 : kind === 'le' ? 0xd4 : 0xdc;
        const expect = aluRef({ code, off: 0, imm: bits }, v, 0n);
        const op = syn === 'llvm' ? `r5 = ${kind}${bits} r5` : `${kind}${bits} r5`;
        out.push({
          path: `gen-unary/${kind}${bits}-${i}.data`,
          text: `# generated by test/cases/gen.ts (${syn} syntax): ${kind}${bits} of ${hex(v)}\n` +
            `-- asm\n${load64(5, v, syn)}\n${op}\n${syn === 'llvm' ? 'r0 = r5' : 'mov r0, r5'}\nexit\n-- result\n${hex(expect)}\n`,
        });
      });
    }
  }
}

/** Operand pairs for the conditionals, chosen to sit on both sides of the signed/unsigned and 32/64 boundaries. */
const JMP_PAIRS: Array<[bigint, bigint]> = [
  [5n, 5n], [0n, 1n], [1n, 0n], [N1, 0n], [0n, N1], [MAX64, MIN64], [MIN64, MAX64],
  [0x7fffffffn, 0x80000000n], [0x80000000n, 0x7fffffffn], [0xffffffffn, 0n], [0x100000000n, 0n],
  [0x100000005n, 5n], [0xffffffff00000001n, 1n], [U(-5n), 5n], [5n, U(-5n)], [0x100n, 0xffn], [0xf0n, 0x0fn],
  [0x80000000n, U(-0x80000000n)], [0xffffffffn, N1], [0x17n, 0x10n],
];

function genJmp(out: GenFile[]): void {
  let n = 0;
  for (const { name, op } of JMP_OPS) {
    for (const wide of [true, false]) {
      for (const x of [false, true]) {
        const cls = wide ? 0x05 : 0x06;
        const code = cls | op | (x ? 0x08 : 0);
        // Sibling operations: the same comparison with the other signedness and the other width.
        const sib = [(code & 0xf8) | (wide ? 0x06 : 0x05)];
        const signed: Record<number, number> = { 0x20: 0x60, 0x30: 0x70, 0xa0: 0xc0, 0xb0: 0xd0, 0x60: 0x20, 0x70: 0x30, 0xc0: 0xa0, 0xd0: 0xb0 };
        if (signed[op] !== undefined) sib.push((code & 0x0f) | signed[op]);
        const usable = JMP_PAIRS.filter(([, s]) => x || fitsImm(BigInt.asIntN(64, s)) || (!wide && fitsImm(BigInt.asIntN(32, s))));
        const taken = (d: bigint, s: bigint, c: number): boolean => {
          const imm = x ? 0 : s32(s);
          return jmpRef({ code: c, off: 0, imm }, d, s);
        };
        // For K, the operand actually compared is the sign-extended imm; recompute from it.
        const norm = ([d, s]: [bigint, bigint]): [bigint, bigint] => (x ? [d, s] : [d, U(BigInt(s32(s)))]);
        const picks: Array<[bigint, bigint]> = [];
        const t = usable.map(norm).find(([d, s]) => taken(d, s, code));
        const f = usable.map(norm).find(([d, s]) => !taken(d, s, code));
        if (t) picks.push(t);
        if (f) picks.push(f);
        const edge = usable.map(norm).find(([d, s]) => !picks.some(([pd, ps]) => pd === d && ps === s) &&
          sib.some((c) => taken(d, s, c) !== taken(d, s, code)));
        if (edge) picks.push(edge);
        picks.forEach(([d, s], i) => {
          const syn: Syntax = n++ % 3 === 2 ? 'llvm' : 'mnemonic';
          const imm = x ? 0 : s32(s);
          const isTaken = taken(d, s, code);
          const useLabel = (n % 2) === 0;
          const mn = name + (wide ? '' : '32');
          const target = useLabel ? 'taken' : '+2';
          const rhs = x ? (syn === 'llvm' ? `${wide ? 'r' : 'w'}2` : 'r2') : immText(imm, syn === 'llvm');
          const br = syn === 'llvm'
            ? `if ${wide ? 'r' : 'w'}1 ${LLVM_JMP[name]} ${rhs} goto ${target}`
            : `${mn} r1, ${rhs}, ${target}`;
          const mov = (r: number, v: number) => (syn === 'llvm' ? `r${r} = ${v}` : `mov r${r}, ${v}`);
          const lines = [load64(1, d, syn)];
          if (x) lines.push(load64(2, s, syn));
          lines.push(mov(0, 0), br, mov(0, 2), 'exit');
          if (useLabel) lines.push('taken:');
          lines.push(mov(0, 1), 'exit');
          const what = `${mn} ${x ? 'reg' : 'imm'}: ${hex(d)} vs ${x ? hex(s) : `imm ${imm}`} is ${isTaken ? 'taken' : 'not taken'}`;
          out.push({
            path: `gen-${wide ? 'jmp' : 'jmp32'}/${name}-${x ? 'reg' : 'imm'}-${i}.data`,
            text: `# generated by test/cases/gen.ts (${syn} syntax): ${what}\n-- asm\n${lines.join('\n')}\n-- result\n${isTaken ? '0x1' : '0x2'}\n`,
          });
        });
      }
    }
  }
}

/** Every generated case, paths relative to test/cases/. */
export function generate(): GenFile[] {
  const out: GenFile[] = [];
  genAlu(out);
  genUnary(out);
  genJmp(out);
  return out;
}

export const GEN_DIRS = ['gen-alu', 'gen-alu64', 'gen-unary', 'gen-jmp', 'gen-jmp32'];

/** test/cases/ in the source tree, found from this file's place in dist/test/cases/. */
export function casesDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'cases');
}

function write(): void {
  const root = casesDir();
  for (const d of GEN_DIRS) rmSync(join(root, d), { recursive: true, force: true });
  const files = generate();
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.text);
  }
  const count = GEN_DIRS.map((d) => `${d}: ${readdirSync(join(root, d)).length}`).join(', ');
  console.log(`wrote ${files.length} cases (${count})`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) write();

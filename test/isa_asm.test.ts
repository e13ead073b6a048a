// Tests of the assembler (src/isa/asm.ts) and disassembler (src/isa/disasm.ts): exact texts in both syntaxes,
// errors, labels, comments, pasted objdump output, and round trips over every opcode and random instructions.
// The comparison against llvm-objdump-19 itself lives in isa_objdump.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../src/isa/asm.js';
import { disassemble, formatInsn, type AsmSyntax } from '../src/isa/disasm.js';
import { type Insn, encode, insn, insnError, lddw } from '../src/isa/insn.js';
import { BpfError } from '../src/errors.js';

const SYNTAXES: AsmSyntax[] = ['llvm', 'mnemonic'];
const hex = (insns: readonly Insn[]): string => Buffer.from(encode(insns)).toString('hex');

// [slots, llvm text, mnemonic text]
const TABLE: [Insn[], string, string][] = [
  [[insn(0x07, 1, 0, 0, 0x10)], 'r1 += 0x10', 'add r1, 0x10'],
  [[insn(0x07, 2, 0, 0, -4)], 'r2 += -0x4', 'add r2, -4'],
  [[insn(0x24, 0, 0, 0, 3)], 'w0 *= 0x3', 'mul32 r0, 3'],
  [[insn(0xbf, 0, 1)], 'r0 = r1', 'mov r0, r1'],
  [[insn(0xb7, 0, 0, 0, 1)], 'r0 = 0x1', 'mov r0, 1'],
  [[insn(0xb4, 0, 0, 0, 1)], 'w0 = 0x1', 'mov32 r0, 1'],
  [[insn(0xb7, 1, 0, 0, -0x80000000)], 'r1 = -0x80000000', 'mov r1, 0x80000000'],
  [[insn(0x0c, 0, 1)], 'w0 += w1', 'add32 r0, r1'],
  [[insn(0x1f, 3, 4)], 'r3 -= r4', 'sub r3, r4'],
  [[insn(0x87, 0)], 'r0 = -r0', 'neg r0'],
  [[insn(0x84, 0)], 'w0 = -w0', 'neg32 r0'],
  [[insn(0x3c, 1, 2, 1)], 'w1 s/= w2', 'sdiv32 r1, r2'],
  [[insn(0x37, 1, 0, 1, -7)], 'r1 s/= -0x7', 'sdiv r1, -7'],
  [[insn(0x9f, 1, 2, 1)], 'r1 s%= r2', 'smod r1, r2'],
  [[insn(0x94, 1, 0, 0, 7)], 'w1 %= 0x7', 'mod32 r1, 7'],
  [[insn(0x4c, 1, 2)], 'w1 |= w2', 'or32 r1, r2'],
  [[insn(0x57, 1, 0, 0, 0xff)], 'r1 &= 0xff', 'and r1, 0xff'],
  [[insn(0x67, 1, 0, 0, 32)], 'r1 <<= 0x20', 'lsh r1, 0x20'],
  [[insn(0x7c, 1, 2)], 'w1 >>= w2', 'rsh32 r1, r2'],
  [[insn(0xa7, 1, 0, 0, -1)], 'r1 ^= -0x1', 'xor r1, -1'],
  [[insn(0xc4, 0, 0, 0, 3)], 'w0 s>>= 0x3', 'arsh32 r0, 3'],
  [[insn(0xcf, 0, 1)], 'r0 s>>= r1', 'arsh r0, r1'],
  [[insn(0xbc, 7, 1, 16)], 'w7 = (s16)w1', 'movsx1632 r7, r1'],
  [[insn(0xbc, 7, 1, 8)], 'w7 = (s8)w1', 'movsx832 r7, r1'],
  [[insn(0xbf, 1, 2, 8)], 'r1 = (s8)r2', 'movsx864 r1, r2'],
  [[insn(0xbf, 1, 2, 16)], 'r1 = (s16)r2', 'movsx1664 r1, r2'],
  [[insn(0xbf, 1, 2, 32)], 'r1 = (s32)r2', 'movsx3264 r1, r2'],
  [[insn(0xd7, 1, 0, 0, 32)], 'r1 = bswap32 r1', 'swap32 r1'],
  [[insn(0xdc, 1, 0, 0, 16)], 'r1 = be16 r1', 'be16 r1'],
  [[insn(0xd4, 1, 0, 0, 64)], 'r1 = le64 r1', 'le64 r1'],
  [[insn(0x61, 0, 1, 4)], 'r0 = *(u32 *)(r1 + 0x4)', 'ldxw r0, [r1+4]'],
  [[insn(0x79, 0, 10, -8)], 'r0 = *(u64 *)(r10 - 0x8)', 'ldxdw r0, [r10-8]'],
  [[insn(0x71, 2, 6, 0)], 'r2 = *(u8 *)(r6 + 0x0)', 'ldxb r2, [r6+0]'],
  [[insn(0x69, 2, 6, 0x7fff)], 'r2 = *(u16 *)(r6 + 0x7fff)', 'ldxh r2, [r6+32767]'],
  [[insn(0x91, 1, 6, 3)], 'r1 = *(s8 *)(r6 + 0x3)', 'ldxbsx r1, [r6+3]'],
  [[insn(0x89, 1, 6, -2)], 'r1 = *(s16 *)(r6 - 0x2)', 'ldxhsx r1, [r6-2]'],
  [[insn(0x81, 1, 6, 8)], 'r1 = *(s32 *)(r6 + 0x8)', 'ldxwsx r1, [r6+8]'],
  [[insn(0x62, 10, 0, -4, 0)], '*(u32 *)(r10 - 0x4) = 0x0', 'stw [r10-4], 0'],
  [[insn(0x6a, 1, 0, -3, -5)], '*(u16 *)(r1 - 0x3) = -0x5', 'sth [r1-3], -5'],
  [[insn(0x72, 1, 0, 1, 0xab)], '*(u8 *)(r1 + 0x1) = 0xab', 'stb [r1+1], 0xab'],
  [[insn(0x7a, 1, 0, 0, 0x11223344)], '*(u64 *)(r1 + 0x0) = 0x11223344', 'stdw [r1+0], 0x11223344'],
  [[insn(0x7b, 10, 1, -8)], '*(u64 *)(r10 - 0x8) = r1', 'stxdw [r10-8], r1'],
  [[insn(0x63, 1, 2, 0)], '*(u32 *)(r1 + 0x0) = r2', 'stxw [r1+0], r2'],
  [lddw(1, 0n), 'r1 = 0x0 ll', 'lddw r1, 0x0'],
  [lddw(0, 0x123456789n), 'r0 = 0x123456789 ll', 'lddw r0, 0x123456789'],
  [lddw(0, -1n), 'r0 = -0x1 ll', 'lddw r0, 0xffffffffffffffff'],
  [lddw(3, 0x8000000000000000n), 'r3 = -0x8000000000000000 ll', 'lddw r3, 0x8000000000000000'],
  [lddw(1, 3n, 1), 'r1 = map_fd(0x3) ll', 'lddw r1, map_fd(3)'],
  [lddw(1, (8n << 32n) | 3n, 2), 'r1 = map_value(0x3)+0x8 ll', 'lddw r1, map_value(3)+8'],
  [lddw(2, 7n, 3), 'r2 = btf_id(0x7) ll', 'lddw r2, btf_id(7)'],
  [lddw(2, 0xffffffffn, 4), 'r2 = func(-0x1) ll', 'lddw r2, func(-1)'],
  [lddw(2, 1n, 5), 'r2 = map_idx(0x1) ll', 'lddw r2, map_idx(1)'],
  [lddw(2, (0xfffffffen << 32n) | 1n, 6), 'r2 = map_idx_value(0x1)-0x2 ll', 'lddw r2, map_idx_value(1)-2'],
  [[insn(0x85, 0, 0, 0, 1)], 'call 0x1', 'call 1'],
  [[insn(0x85, 0, 0, 0, 12)], 'call 0xc', 'call 0xc'],
  [[insn(0x85, 0, 1, 0, -1)], 'call -0x1', 'call local -1'],
  [[insn(0x85, 0, 1, 0, 3)], 'call local 0x3', 'call local +3'],
  [[insn(0x85, 0, 2, 0, 7)], 'call kfunc 0x7', 'call runtime 7'],
  [[insn(0x85, 0, 0, 0, -5)], 'call helper -0x5', 'call helper -5'],
  [[insn(0x8d, 1)], 'callx r1', 'callx r1'],
  [[insn(0x95)], 'exit', 'exit'],
  [[insn(0x15, 0, 0, 2, 0)], 'if r0 == 0x0 goto +0x2', 'jeq r0, 0, +2'],
  [[insn(0x2d, 1, 2, 3)], 'if r1 > r2 goto +0x3', 'jgt r1, r2, +3'],
  [[insn(0x16, 1, 0, -2, 5)], 'if w1 == 0x5 goto -0x2', 'jeq32 r1, 5, -2'],
  [[insn(0xde, 1, 2, 0)], 'if w1 s<= w2 goto +0x0', 'jsle32 r1, r2, +0'],
  [[insn(0x45, 1, 0, 1, 0x10)], 'if r1 & 0x10 goto +0x1', 'jset r1, 0x10, +1'],
  [[insn(0x55, 1, 0, -1, -1)], 'if r1 != -0x1 goto -0x1', 'jne r1, -1, -1'],
  [[insn(0x65, 1, 0, 1, 0)], 'if r1 s> 0x0 goto +0x1', 'jsgt r1, 0, +1'],
  [[insn(0x75, 1, 0, 1, 0)], 'if r1 s>= 0x0 goto +0x1', 'jsge r1, 0, +1'],
  [[insn(0xa5, 1, 0, 1, 0)], 'if r1 < 0x0 goto +0x1', 'jlt r1, 0, +1'],
  [[insn(0xbe, 1, 2, 1)], 'if w1 <= w2 goto +0x1', 'jle32 r1, r2, +1'],
  [[insn(0xcd, 1, 2, 1)], 'if r1 s< r2 goto +0x1', 'jslt r1, r2, +1'],
  [[insn(0x3e, 1, 2, 1)], 'if w1 >= w2 goto +0x1', 'jge32 r1, r2, +1'],
  [[insn(0x05, 0, 0, 1)], 'goto +0x1', 'ja +1'],
  [[insn(0x05, 0, 0, -1)], 'goto -0x1', 'ja -1'],
  [[insn(0x06, 0, 0, 0, 300)], 'gotol +0x12c', 'ja32 +300'],
  [[insn(0xdb, 0, 1, 0, 0)], 'lock *(u64 *)(r0 + 0x0) += r1', 'lock add [r0+0], r1'],
  [[insn(0xdb, 0, 1, 0, 0x40)], 'lock *(u64 *)(r0 + 0x0) |= r1', 'lock or [r0+0], r1'],
  [[insn(0xdb, 2, 1, 0, 1)], 'r1 = atomic_fetch_add((u64 *)(r2 + 0x0), r1)', 'lock fetch add [r2+0], r1'],
  [[insn(0xdb, 2, 1, 0, 0x51)], 'r1 = atomic_fetch_and((u64 *)(r2 + 0x0), r1)', 'lock fetch and [r2+0], r1'],
  [[insn(0xdb, 2, 1, 8, 0xe1)], 'r1 = xchg_64(r2 + 0x8, r1)', 'lock xchg [r2+8], r1'],
  [[insn(0xdb, 2, 3, -8, 0xf1)], 'r0 = cmpxchg_64(r2 - 0x8, r0, r3)', 'lock cmpxchg [r2-8], r3'],
  [[insn(0xc3, 1, 2, 0, 0)], 'lock *(u32 *)(r1 + 0x0) += r2', 'lock add32 [r1+0], r2'],
  [[insn(0xc3, 1, 2, 4, 0x51)], 'w2 = atomic_fetch_and((u32 *)(r1 + 0x4), w2)', 'lock fetch and32 [r1+4], r2'],
  [[insn(0xc3, 1, 2, 4, 0xa1)], 'w2 = atomic_fetch_xor((u32 *)(r1 + 0x4), w2)', 'lock fetch xor32 [r1+4], r2'],
  [[insn(0xc3, 1, 2, 4, 0xa0)], 'lock *(u32 *)(r1 + 0x4) ^= w2', 'lock xor32 [r1+4], r2'],
  [[insn(0xc3, 1, 2, 4, 0xe1)], 'w2 = xchg32_32(r1 + 0x4, w2)', 'lock xchg32 [r1+4], r2'],
  [[insn(0xc3, 1, 2, 4, 0xf1)], 'w0 = cmpxchg32_32(r1 + 0x4, w0, w2)', 'lock cmpxchg32 [r1+4], r2'],
  [[insn(0x30, 0, 0, 0, 0x10)], 'r0 = *(u8 *)skb[0x10]', 'ldabsb 0x10'],
  [[insn(0x20, 0, 0, 0, -1)], 'r0 = *(u32 *)skb[-0x1]', 'ldabsw -1'],
  [[insn(0x40, 0, 1, 0, 0)], 'r0 = *(u32 *)skb[r1]', 'ldindw r1, 0'],
  [[insn(0x48, 0, 1, 0, 2)], 'r0 = *(u16 *)skb[r1 + 0x2]', 'ldindh r1, 2'],
  [[insn(0x50, 0, 3, 0, -2)], 'r0 = *(u8 *)skb[r3 - 0x2]', 'ldindb r3, -2'],
  [[insn(0xff, 1, 2, 3, 4)], '.insn 0xff, 1, 2, 3, 4', '.insn 0xff, 1, 2, 3, 4'],
  [[insn(0x07, 1, 5, 0, 1)], '.insn 0x07, 1, 5, 0, 1', '.insn 0x07, 1, 5, 0, 1'],
];

test('every table instruction prints exactly in both syntaxes and assembles back', () => {
  for (const [slots, llvm, mnemonic] of TABLE) {
    assert.equal(formatInsn(slots, 0, 'llvm'), llvm);
    assert.equal(formatInsn(slots, 0), llvm, 'llvm is the default syntax');
    assert.equal(formatInsn(slots, 0, 'mnemonic'), mnemonic);
    assert.equal(hex(assemble(llvm)), hex(slots), llvm);
    assert.equal(hex(assemble(mnemonic)), hex(slots), mnemonic);
  }
});

test('alternative spellings are accepted', () => {
  const same: [string, string][] = [
    ['mov %r0, %r1', 'mov r0, r1'],
    ['add64 r1, 2', 'add r1, 2'],
    ['neg64 r3', 'neg r3'],
    ['bswap16 r1', 'swap16 r1'],
    ['ldxsb r1, [r2+1]', 'ldxbsx r1, [r2+1]'],
    ['ldxsw r1, [r2]', 'ldxwsx r1, [r2+0]'],
    ['stxw [r1], r2', 'stxw [r1+0], r2'],
    ['stw [r10 - 4], 5', 'stw [r10-4], 5'],
    ['gotol +3', 'ja32 +3'],
    ['call -1', 'call local -1'],
    ['call helper 5', 'call 5'],
    ['call kfunc 7', 'call runtime 7'],
    ['call r3', 'callx r3'],
    ['call helper %r3', 'callx r3'],
    ['w1 = *(u32 *)(r2 + 0)', 'ldxw r1, [r2+0]'],
    ['w1 = *(u8 *)(r2 + 0)', 'ldxb r1, [r2+0]'],
    ['*(u32 *)(r1 + 0) = w2', 'stxw [r1+0], r2'],
    ['lock *(u32 *)(r1 + 0x0) += w2', 'lock add32 [r1+0], r2'],
    ['r2 = atomic_fetch_or((u32 *)(r1 + 0), r2)', 'lock fetch or32 [r1+0], r2'],
    ['r1 = 0xffffffff', 'mov r1, -1'],
    ['r1=*(u32*)(r2+4)', 'ldxw r1, [r2+4]'],
    ['if r1 s>= -5 goto +1', 'jsge r1, -5, +1'],
    ['ld_pseudo r1, 0x2, 0x7', 'lddw r1, map_value(7)'],
    ['r1 = map_value(3) + 8 ll', 'lddw r1, map_value(3)+8'],
    ['lddw r0, 18446744073709551615', 'lddw r0, -1'],
    ['lddw r1, map_fd 3', 'r1 = map_fd(0x3) ll'],
    ['61 21 04 00 00 00 00 00', 'ldxw r1, [r2+4]'],
    ['.insn 0x95, 0, 0, 0, 0', 'exit'],
  ];
  for (const [a, b] of same) assert.equal(hex(assemble(a)), hex(assemble(b)), `${a} vs ${b}`);
});

test('labels forward and backward, in both syntaxes, and a local call to a label', () => {
  const text = [
    'start:',
    '  mov r0, 0',
    '  jeq r1, 0, done      # forward',
    'loop: add r0, 1',
    '  jlt r0, 10, loop     // backward',
    '  if r0 > 0x5 goto done ; llvm syntax on the same program',
    '  call local sub',
    '  goto loop',
    'done:',
    '  exit',
    'sub: r0 = 0x2',
    '  gotol done',
    '  exit',
  ].join('\n');
  const p = assemble(text);
  assert.deepEqual(p, [
    insn(0xb7, 0, 0, 0, 0), //      0 start
    insn(0x15, 1, 0, 5, 0), //      1 -> done (7)
    insn(0x07, 0, 0, 0, 1), //      2 loop
    insn(0xa5, 0, 0, -2, 10), //    3 -> loop
    insn(0x25, 0, 0, 2, 5), //      4 -> done
    insn(0x85, 0, 1, 0, 2), //      5 call sub (8)
    insn(0x05, 0, 0, -5, 0), //     6 -> loop
    insn(0x95), //                  7 done
    insn(0xb7, 0, 0, 0, 2), //      8 sub
    insn(0x06, 0, 0, 0, -3), //     9 -> done
    insn(0x95), //                 10
  ]);
  // the symbols option prints labels that reassemble to the same program
  const symbols = new Map([[0, 'start'], [8, 'sub']]);
  for (const syntax of SYNTAXES) {
    const out = disassemble(p, { syntax, symbols });
    assert.match(out, /^start:\n/);
    assert.match(out, /\nsub:\n/);
    assert.equal(hex(assemble(out)), hex(p));
  }
});

test('a jump to `exit` names the first exit instruction when no such label exists', () => {
  const p = assemble('mov r0, 1\njne r0, 0, exit\nmov r0, 2\nexit\nexit');
  assert.equal(p[1].off, 1);
  const q = assemble('jeq r0, 0, exit\nexit:\nmov r0, 1\nexit');
  assert.equal(q[0].off, 0, 'an explicit label named exit wins');
});

test('comments, blank lines, hex and decimal numbers', () => {
  const p = assemble([
    '# a comment line',
    '',
    '   ; another',
    '// and another',
    'mov r1, 0x10   # trailing',
    'mov r2, 16     ; trailing',
    'r3 = 16        // trailing',
    'r4 = 0x10',
    '\t',
  ].join('\r\n'));
  assert.deepEqual(p, [insn(0xb7, 1, 0, 0, 16), insn(0xb7, 2, 0, 0, 16), insn(0xb7, 3, 0, 0, 16), insn(0xb7, 4, 0, 0, 16)]);
  assert.deepEqual(assemble(''), []);
  assert.deepEqual(assemble('\n\n# nothing\n'), []);
});

test('llvm-objdump output pastes back in: headers, addresses, bytes, annotations, <unknown>', () => {
  const objdump = `
t.o:\tfile format elf64-bpf

Disassembly of section xdp:

0000000000000000 <prog>:
       0:\t61 17 04 00 00 00 00 00\tr7 = *(u32 *)(r1 + 0x4)
       1:\t62 0a fc ff 00 00 00 00\t*(u32 *)(r10 - 0x4) = 0x0
       2:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll
\t\t0000000000000010:  R_BPF_64_64\tcnt
       4:\t85 00 00 00 01 00 00 00\tcall 0x1
       5:\t15 00 02 00 00 00 00 00\tif r0 == 0x0 goto +0x2 <prog+0x40>
       6:\tc3 21 04 00 a1 00 00 00\t<unknown>
       7:\t85 10 00 00 ff ff ff ff\tcall -0x1
       8:\t95 00 00 00 00 00 00 00\texit
`;
  const p = assemble(objdump);
  assert.equal(hex(p), [
    '6117040000000000', '620afcff00000000', '1801000000000000', '0000000000000000', '8500000001000000',
    '1500020000000000', 'c3210400a1000000', '85100000ffffffff', '9500000000000000'].join(''));
  // our own addresses+bytes output has the same columns and reassembles too
  const ours = disassemble(p, { addresses: true, bytes: true });
  const lines = ours.trimEnd().split('\n');
  assert.equal(lines[0], '       0:\t61 17 04 00 00 00 00 00\tr7 = *(u32 *)(r1 + 0x4)');
  assert.equal(lines[2], '       2:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll');
  assert.equal(lines[3], '       4:\t85 00 00 00 01 00 00 00\tcall 0x1');
  assert.equal(lines[5], '       6:\tc3 21 04 00 a1 00 00 00\tw2 = atomic_fetch_xor((u32 *)(r1 + 0x4), w2)');
  assert.equal(hex(assemble(ours)), hex(p));
  for (const syntax of SYNTAXES) assert.equal(hex(assemble(disassemble(p, { syntax, addresses: true, bytes: true }))), hex(p));
});

test('disassemble: one line per instruction, addresses, bytes, source lines', () => {
  const p = [insn(0xb7, 0, 0, 0, 0), ...lddw(1, 5n), insn(0x95)];
  assert.equal(disassemble(p), 'r0 = 0x0\nr1 = 0x5 ll\nexit\n');
  assert.equal(disassemble(p, { syntax: 'mnemonic' }), 'mov r0, 0\nlddw r1, 0x5\nexit\n');
  assert.equal(disassemble(p, { addresses: true }), '       0:\tr0 = 0x0\n       1:\tr1 = 0x5 ll\n       3:\texit\n');
  assert.equal(disassemble(p, { bytes: true }).split('\n')[0], 'b7 00 00 00 00 00 00 00\tr0 = 0x0');
  const src = new Map([[0, 'int x = 0;'], [3, 'return x;']]);
  const out = disassemble(p, { lineInfo: (pc) => src.get(pc) });
  assert.equal(out, '; int x = 0;\nr0 = 0x0\nr1 = 0x5 ll\n; return x;\nexit\n');
  assert.equal(hex(assemble(out)), hex(p));
  assert.equal(disassemble([]), '');
});

test('an lddw without a proper second slot prints as raw slots and still round-trips', () => {
  const cut = [insn(0x18, 1, 0, 0, 5)];
  assert.equal(formatInsn(cut, 0), '.insn 0x18, 1, 0, 0, 5');
  const dirty = [insn(0x18, 1, 0, 0, 5), insn(0x07, 1, 0, 0, 1)];
  assert.equal(disassemble(dirty), '.insn 0x18, 1, 0, 0, 5\nr1 += 0x1\n');
  for (const p of [cut, dirty]) for (const syntax of SYNTAXES) assert.equal(hex(assemble(disassemble(p, { syntax }))), hex(p));
});

function assertAsmError(text: string, re: RegExp): void {
  assert.throws(() => assemble(text), (e: unknown) => {
    assert.ok(e instanceof BpfError, `not a BpfError: ${String(e)}`);
    assert.equal(e.code, 'EINVAL');
    assert.equal(e.errno, 22);
    assert.match(e.message, re);
    return true;
  }, text);
}

test('bad input gives EINVAL naming the line and the text', () => {
  assertAsmError('foo r1, 2', /^EINVAL: line 1: unknown mnemonic 'foo': foo r1, 2$/);
  assertAsmError('exit\n\n  frob\n', /line 3: unknown mnemonic 'frob': frob$/);
  assertAsmError('mov r11, 1', /line 1: bad register r11: mov r11, 1/);
  assertAsmError('r12 = 0x1', /line 1: bad register r12/);
  assertAsmError('mov32 r1, 0x100000000', /line 1: immediate 4294967296 does not fit in 32 bits: mov32 r1, 0x100000000/);
  assertAsmError('mov r1, -2147483649', /does not fit in 32 bits/);
  assertAsmError('ldxw r0, [r1+40000]', /line 1: offset 40000 does not fit in a signed 16-bit field/);
  assertAsmError('r0 = *(u32 *)(r1 - 0x8001)', /offset -32769 does not fit/);
  assertAsmError('ja +32768', /jump offset 32768 does not fit/);
  assertAsmError('gotol +0x80000000', /jump offset 2147483648 does not fit/);
  assertAsmError('r1 = 0x10000000000000000 ll', /does not fit in 64 bits/);
  assertAsmError('mov r0, 0\nja nowhere\nexit', /^EINVAL: line 2: unknown label 'nowhere': ja nowhere$/);
  assertAsmError('call local nowhere', /line 1: unknown label 'nowhere'/);
  assertAsmError('a:\nexit\na: exit', /line 3: duplicate label 'a'/);
  assertAsmError('w1 += r2', /line 1: registers of different widths/);
  assertAsmError('r1 = 0x1 0x2', /line 1: cannot parse instruction/);
  assertAsmError('mov r1', /line 1: mov takes a register/);
  assertAsmError('ldxdwsx r1, [r2+0]', /no sign-extending 64-bit load/);
  assertAsmError('movsx3232 r1, r2', /movsx3232 does not exist/);
  assertAsmError('lock nand [r1+0], r2', /unknown atomic operation 'nand'/);
  assertAsmError('lddw r1, map_bogus(3)', /unknown lddw source kind 'map_bogus'/);
  assertAsmError('r0 = *(u64 *)skb[0x1]', /packet loads take u8, u16 or u32/);
  assertAsmError('mov r1, 0x1g', /bad number '0x1g'/);
  assertAsmError('mov r1, @', /unexpected character '@'/);
  assertAsmError('<unknown>', /<unknown> without the instruction bytes/);
  assertAsmError('r1 = be16 r2', /byte swap needs the same source and destination register/);
  assertAsmError('r0 = cmpxchg_64(r1 + 0x0, r2, r3)', /cmpxchg compares and returns in r0/);
  // a label jump beyond 16 bits
  assertAsmError(`ja far\n${'exit\n'.repeat(40000)}far: exit`, /line 1: jump to 'far' is out of 16-bit range/);
});

// ---- round trips ----

/** Every valid single instruction over a spread of field values, and lddw with every source kind. */
function everyOpcode(): Insn[][] {
  const fields: [number, number, number, number][] = [
    [1, 2, 3, 4], [1, 0, 0, 16], [1, 0, 0, 32], [1, 0, 0, 64], [0, 0, 0, 0], [1, 2, 8, 0], [1, 2, 16, 0],
    [1, 2, 32, 0], [1, 2, 1, 0], [1, 0, 1, 5], [1, 0, -3, -5], [10, 2, 0, 0], [1, 0, 0, 0xc1], [1, 2, -4, 0x1],
    [1, 2, 4, 0x41], [1, 2, 4, 0x51], [1, 2, 4, 0xa1], [1, 2, 4, 0xe1], [1, 2, 4, 0xf1], [1, 2, 4, 0x40],
    [1, 2, 4, 0x50], [1, 2, 4, 0xa0], [0, 1, 0, -1], [0, 2, 0, 7], [0, 0, 0, 9], [1, 0, 0, 0], [0, 0, 5, 0],
    [0, 0, 0, 5], [0, 0, -32768, -0x80000000], [9, 10, 32767, 0x7fffffff], [0, 0, 0, -0x80000000],
  ];
  const out: Insn[][] = [];
  for (let code = 0; code < 256; code++) {
    for (const [dst, src, off, imm] of fields) {
      const ins = insn(code, dst, src, off, imm);
      if (insnError(ins) !== null) continue;
      out.push(code === 0x18 ? [ins, insn(0, 0, 0, 0, -7)] : [ins]);
    }
  }
  for (let kind = 0; kind <= 6; kind++) for (const v of [0n, 1n, -1n, 0x7fffffff80000000n]) out.push(lddw(kind % 11, v, kind));
  return out;
}

test('every valid opcode round-trips in both syntaxes, alone and as one program', () => {
  const all = everyOpcode();
  const codes = new Set(all.map((p) => p[0].code));
  // ALU 27 + ALU64 26 + JMP 26 + JMP32 23 + LD 7 + LDX 7 + ST 4 + STX 6: every opcode RFC 9669 defines
  assert.equal(codes.size, 126);
  for (const p of all) {
    for (const syntax of SYNTAXES) {
      const text = formatInsn(p, 0, syntax);
      assert.ok(!text.startsWith('.insn'), `valid instruction printed raw: ${text}`);
      assert.equal(hex(assemble(text)), hex(p), `${syntax}: ${text}`);
    }
  }
  const program = all.flat();
  for (const syntax of SYNTAXES) {
    for (const opts of [{}, { addresses: true }, { addresses: true, bytes: true }]) {
      assert.equal(hex(assemble(disassemble(program, { syntax, ...opts }))), hex(program));
    }
  }
});

/** A small deterministic PRNG (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
}

test('random valid instructions round-trip in both syntaxes', () => {
  const next = rng(0x5eed);
  const validCodes = [...new Set(everyOpcode().map((p) => p[0].code))];
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length];
  const specials = [0, 1, -1, 8, 16, 32, 64, 0x7fffffff, -0x80000000, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1, 0x40, 0x50, 0xa0];
  let tested = 0;
  const program: Insn[] = [];
  for (let i = 0; i < 20000 && tested < 4000; i++) {
    const code = pick(validCodes);
    const r = insn(code, next() % 11, next() % 11, next() % 3 === 0 ? pick([0, 1, 8, 16, 32]) : (next() << 16) >> 16,
      next() % 2 === 0 ? pick(specials) : next() | 0);
    // keep the random fields the opcode gives meaning to: zero the fewest others that make it valid
    let ins: Insn | undefined;
    for (let mask = 0; mask < 16 && ins === undefined; mask++) {
      const c = insn(code, mask & 1 ? 0 : r.dst, mask & 2 ? 0 : r.src, mask & 4 ? 0 : r.off, mask & 8 ? 0 : r.imm);
      if (insnError(c) === null) ins = c;
    }
    if (ins === undefined) continue;
    const p = code === 0x18 ? [ins, insn(0, 0, 0, 0, next() | 0)] : [ins];
    for (const syntax of SYNTAXES) {
      const text = formatInsn(p, 0, syntax);
      assert.equal(hex(assemble(text)), hex(p), `${syntax}: ${text}`);
    }
    program.push(...p);
    tested++;
  }
  assert.ok(tested >= 4000, `only ${tested} random instructions were valid`);
  for (const syntax of SYNTAXES) assert.equal(hex(assemble(disassemble(program, { syntax }))), hex(program));
});

test('random byte soup (valid or not) round-trips through the raw escape', () => {
  const next = rng(42);
  const p: Insn[] = [];
  for (let i = 0; i < 3000; i++) p.push(insn(next() & 0xff, next() & 0xf, next() & 0xf, (next() << 16) >> 16, next() | 0));
  for (const syntax of SYNTAXES) assert.equal(hex(assemble(disassemble(p, { syntax }))), hex(p));
});

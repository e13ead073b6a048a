// Our llvm-syntax disassembly against llvm-objdump-19 itself, line for line, on clang-built C programs (several
// -mcpu levels), on an llvm-mc object holding every valid opcode, and on /tmp/llvmcheck/*.o when present.
// objdump's `<sym+off>` annotations are ignored. Our deliberate differences (see disasm.ts) are checked apart:
// 32-bit atomics other than a plain add print as `llvm-objdump --mcpu=v3` does; lddw pseudo kinds, LD_IND with
// an offset, and calls objdump cannot tell apart have spellings of our own. Skips when the tools are missing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../src/isa/asm.js';
import { disassemble } from '../src/isa/disasm.js';
import { type Insn, decode, encode, insn, insnError } from '../src/isa/insn.js';

const OBJDUMP = 'llvm-objdump-19';
const CLANG = 'clang-19';
const MC = 'llvm-mc-19';

function have(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const toolsMissing = [OBJDUMP, CLANG, MC].filter((t) => !have(t));
const skip = toolsMissing.length > 0 ? `${toolsMissing.join(', ')} not installed` : false;

const C_PROGRAMS: Record<string, string> = {
  'atomics.c': `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
int gcount = 3;
#if __BPF_CPU_VERSION__ >= 4
#define S(t) t
#else
#define S(t) unsigned t
#endif
static __attribute__((noinline)) long f2(long a, long b) { return (S(long))a % b + ((S(long))a / b) - (a >> 3) + ((unsigned long)a >> 5); }
static __attribute__((noinline)) int f3(int a, int b) { return ((S(int))a % b) + ((S(int))a / (b|1)) + ((unsigned)a / (unsigned)(b|1)) + ((unsigned)a % 7u); }
SEC("xdp") int prog(struct xdp_md *ctx) {
  void *data = (void*)(long)ctx->data, *end = (void*)(long)ctx->data_end;
  __u32 k = 1; __u64 *v = bpf_map_lookup_elem(&h, &k);
  int r = 0;
  if (v) {
    __sync_fetch_and_add(v, 1);
    r += __sync_fetch_and_add(v, 2);
    r += __sync_fetch_and_or(v, 4);
    r += __sync_fetch_and_and(v, 8);
    r += __sync_fetch_and_xor(v, 16);
    r += __sync_lock_test_and_set(v, 3);
    r += __sync_val_compare_and_swap(v, 5, 6);
    __u32 *w = (__u32 *)v;
    __sync_fetch_and_add(w, 1);
    __sync_fetch_and_or(w, 1);
    r += __sync_fetch_and_add(w, 2);
    r += __sync_fetch_and_xor(w, 2);
    r += __sync_val_compare_and_swap(w, 5, 6);
    r += __atomic_exchange_n(w, 9, __ATOMIC_SEQ_CST);
  }
  if (data + 40 > end) return 1;
  unsigned char *p = data;
  long x = (signed char)p[3];
  short s = *(short *)(p + 4);
  int i32 = *(int *)(p + 8);
  long long q = *(long long *)(p + 16);
  x += s + (long)i32 + q;
  x = f2(x, (long)p[5] + 1);
  r += f3((int)x, p[6]);
  r += __builtin_bswap16(*(unsigned short *)(p+12)) + __builtin_bswap32(i32) + (int)__builtin_bswap64(q);
  if ((int)x < -5) r ^= 0x55;
  if ((unsigned)x >= 100) r |= 2;
  if (x & 0x10) r -= 3;
  for (int j = 0; j < (p[7] & 7); j++) r = r * 3 + j;
  gcount += r;
  *(unsigned short *)(p + 2) = (unsigned short)r;
  *(long *)(p + 24) = -x;
  return r & 3;
}
char LICENSE[] SEC("license") = "GPL";
`,
  'packets.c': `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");
SEC("socket") int sock(struct __sk_buff *skb) {
  unsigned long long a = load_byte(skb, 23), b = load_half(skb, 12), c = load_word(skb, 26);
  unsigned long long d = load_byte(skb, skb->len - 1);
  long long big = 0x123456789abcdefLL * skb->len;
  return (a + b + c + d + big + -0x7fffffffffffffffLL * skb->protocol) > 5 ? -1 : 0;
}
static long cb(void *m, void *k, void *v, void *ctx) { return 0; }
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
SEC("xdp") int loop(struct xdp_md *ctx) {
  bpf_for_each_map_elem(&arr, cb, 0, 0);
  return 2;
}
char LICENSE[] SEC("license") = "GPL";
`,
  'parse.c': `
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 256); __type(key, __u32); __type(value, __s64); } cnt SEC(".maps");
SEC("xdp") int parse(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return XDP_DROP;
  __u32 key = ip->protocol;
  __s64 *c = bpf_map_lookup_elem(&cnt, &key);
  if (c) *c += (__s64)(__s16)bpf_ntohs(ip->tot_len);
  if (ip->protocol == 17) {
    struct udphdr *udp = (void *)ip + ip->ihl * 4;
    if ((void *)(udp + 1) > end) return XDP_DROP;
    if (bpf_ntohs(udp->dest) >= 1024 && (__s32)bpf_ntohl(ip->saddr) < 0) return XDP_TX;
    if ((__s8)ip->ttl <= -3) return XDP_ABORTED;
  }
  __u64 t = bpf_ktime_get_ns();
  return (t >> 60) == 7 ? XDP_REDIRECT : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`,
};

/** Every valid instruction over a few field values, as one program (lddw second slots with a non-zero imm). */
function everyOpcodeProgram(): Insn[] {
  const fields: [number, number, number, number][] = [
    [1, 2, 3, 4], [1, 0, 0, 16], [1, 0, 0, 32], [1, 0, 0, 64], [0, 0, 0, 0], [1, 2, 8, 0], [1, 2, 16, 0],
    [1, 2, 32, 0], [1, 2, 1, 0], [1, 0, 1, 5], [1, 0, -3, -5], [10, 2, 0, 0], [1, 2, -4, 0x1], [1, 2, 4, 0x41],
    [1, 2, 4, 0x51], [1, 2, 4, 0xa1], [1, 2, 4, 0xe1], [1, 2, 4, 0xf1], [1, 2, 4, 0x40], [1, 2, 4, 0x50],
    [1, 2, 4, 0xa0], [0, 1, 0, -1], [0, 2, 0, 7], [0, 0, 0, 9], [0, 0, -32768, -0x80000000], [9, 10, 32767, 0x7fffffff],
  ];
  const out: Insn[] = [];
  for (let code = 0; code < 256; code++) {
    for (const [dst, src, off, imm] of fields) {
      const ins = insn(code, dst, src, off, imm);
      if (insnError(ins) !== null) continue;
      out.push(ins);
      if (code === 0x18) out.push(insn(0, 0, 0, 0, -0x12345678));
    }
  }
  return out;
}

interface DumpLine { pc: number; bytes: string; text: string }
interface Section { name: string; lines: DumpLine[] }

/** Sections of `llvm-objdump-19 -d` output, each with its instruction lines (annotations stripped). */
function objdump(file: string, extra: string[] = []): Section[] {
  const out = execFileSync(OBJDUMP, ['-d', ...extra, file], { encoding: 'utf8' });
  const sections: Section[] = [];
  for (const line of out.split('\n')) {
    const sec = /^Disassembly of section (.+):$/.exec(line);
    if (sec !== null) { sections.push({ name: sec[1], lines: [] }); continue; }
    const m = /^\s*(\d+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (m !== null) sections[sections.length - 1].lines.push({ pc: Number(m[1]), bytes: m[2].trim(), text: m[3].replace(/ <[^<>\s]*>$/, '') });
  }
  return sections;
}

const slotsOf = (s: Section): Insn[] => decode(Uint8Array.from(s.lines.flatMap((l) => l.bytes.split(' ').map((h) => parseInt(h, 16)))));

/** Instructions whose objdump text cannot be reassembled to the same bytes, where ours differs on purpose. */
function deliberate(ins: Insn): 'v3' | 'own' | null {
  if (ins.code === 0xc3 && ins.imm !== 0) return 'v3';
  if (ins.code === 0x18 && ins.src !== 0) return 'own';
  if ((ins.code & 0xe7) === 0x40 && ins.imm !== 0) return 'own'; // LD_IND with an offset
  if (ins.code === 0x85 && (ins.src === 2 || (ins.src === 1 && ins.imm >= 0) || (ins.src === 0 && ins.imm < 0))) return 'own';
  return null;
}

/**
 * Compare our `addresses + bytes` disassembly of every section of `file` with objdump's, line for line; check
 * that our text and objdump's own text reassemble to the same bytes. Counts lines and deliberate differences.
 */
function compareObject(file: string): { lines: number; deviations: number } {
  const plain = objdump(file);
  const v3 = objdump(file, ['--mcpu=v3']);
  let deviations = 0;
  let lines = 0;
  plain.forEach((sec, si) => {
    lines += sec.lines.length;
    const slots = slotsOf(sec);
    const ours = disassemble(slots, { addresses: true, bytes: true }).trimEnd().split('\n');
    assert.equal(ours.length, sec.lines.length, `${file} ${sec.name}: line count`);
    sec.lines.forEach((l, i) => {
      const kind = deliberate(slots[l.pc]);
      const where = `${file} ${sec.name} slot ${l.pc} (${l.bytes})`;
      if (kind === 'own') {
        deviations++;
        assert.ok(ours[i].startsWith(`${String(l.pc).padStart(8)}:\t${l.bytes}\t`), where);
        return;
      }
      const text = kind === 'v3' ? v3[si].lines[i].text : l.text;
      if (kind === 'v3') deviations++;
      assert.equal(ours[i], `${String(l.pc).padStart(8)}:\t${l.bytes}\t${text}`, where);
    });
    // our text reassembles exactly; objdump's own text does too, except where it is lossy
    assert.equal(Buffer.from(encode(assemble(ours.join('\n')))).toString('hex'), Buffer.from(encode(slots)).toString('hex'), `${file} ${sec.name}`);
    const pasted = assemble(sec.lines.map((l) => `${l.pc}:\t${l.bytes}\t${l.text}`).join('\n'));
    assert.equal(pasted.length, slots.length);
    sec.lines.forEach((l) => {
      if (deliberate(slots[l.pc]) === null) assert.deepEqual(pasted[l.pc], slots[l.pc], `${file} ${sec.name} slot ${l.pc}: ${l.text}`);
    });
  });
  return { lines, deviations };
}

test('clang-built programs: our llvm disassembly equals llvm-objdump-19 line for line', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-objdump-'));
  try {
    let checked = 0;
    for (const [name, source] of Object.entries(C_PROGRAMS)) {
      writeFileSync(join(dir, name), source);
      // 32-bit atomics need v3; the other programs are built for every cpu level
      for (const cpu of name === 'atomics.c' ? ['v3', 'v4'] : ['v1', 'v2', 'v3', 'v4']) {
        const obj = join(dir, `${name}.${cpu}.o`);
        execFileSync(CLANG, ['-O2', '-g', '-target', 'bpf', `-mcpu=${cpu}`, '-I/usr/include/x86_64-linux-gnu', '-c', join(dir, name), '-o', obj]);
        const { lines, deviations } = compareObject(obj);
        assert.ok(lines > 20, `${obj}: only ${lines} lines`);
        // clang output differs only in 32-bit atomics and calls into other sections (src 1, imm >= 0)
        assert.ok(deviations <= 8, `${obj}: ${deviations} differences`);
        checked++;
      }
    }
    assert.equal(checked, 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every valid opcode: our llvm disassembly equals llvm-objdump-19 except where documented', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-objdump-'));
  try {
    const prog = everyOpcodeProgram();
    const bytes = encode(prog);
    writeFileSync(join(dir, 'all.s'), `.text\n${Array.from(bytes, (b) => `.byte ${b}`).join('\n')}\n`);
    execFileSync(MC, ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', join(dir, 'all.s'), '-o', join(dir, 'all.o')]);
    const { lines, deviations } = compareObject(join(dir, 'all.o'));
    assert.equal(lines, prog.length - prog.filter((i) => i.code === 0x18).length);
    const expected = prog.filter((ins, i) => !(i > 0 && prog[i - 1].code === 0x18) && deliberate(ins) !== null).length;
    assert.equal(deviations, expected);
    assert.ok(deviations < 40, `${deviations} deliberate differences`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('objects in /tmp/llvmcheck match llvm-objdump-19', { skip: skip || (!existsSync('/tmp/llvmcheck') && 'no /tmp/llvmcheck') }, () => {
  const objs = readdirSync('/tmp/llvmcheck').filter((f) => f.endsWith('.o'));
  for (const f of objs) assert.ok(compareObject(join('/tmp/llvmcheck', f)).lines > 0);
});

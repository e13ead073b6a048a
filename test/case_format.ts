// Parser of the instruction-level test case files (test/cases/<family>/<name>.data), a plain-text format
// close to bpf_conformance's so its files can be read too. One case per file:
//
//   # free text description (any '#' line before the first section)
//   -- asm            program text, llvm-objdump or mnemonic syntax; '#' starts a comment
//   -- raw            or: instruction bytes, one slot a line: 16 hex digits as "0x" + little-endian u64
//                     (ubpf style) or 8 hex bytes in memory order ("b7 00 00 00 01 00 00 00")
//   -- mem            optional input bytes in hex; r1 = their address, r2 = their length
//   -- result         expected r0 (hex or decimal, negative values wrap to u64)
//   -- error          or: a regular expression the BpfError message must match
//   -- errno EFAULT   optional with -- error: the errno name the error must carry
//   -- options        optional "key value" lines: budget N
//
// bpf_conformance's "-- no register offset"/"-- c" sections are accepted and ignored.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCase {
  file: string;
  description: string;
  /** Assembly text (comments stripped), or undefined when the case gives raw bytes. */
  asm?: string;
  /** Raw program bytes, when the case gives `-- raw`. */
  raw?: Uint8Array;
  /** Input memory, or undefined when the case has no `-- mem`. */
  mem?: Uint8Array;
  /** Expected r0 as an unsigned 64-bit value. */
  result?: bigint;
  /** Expected error: the message must match this. */
  error?: RegExp;
  /** Expected errno name of the error. */
  errno?: string;
  options: { budget?: number };
}

export class CaseFormatError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'CaseFormatError';
  }
}

const KNOWN = new Set(['asm', 'raw', 'mem', 'result', 'error', 'errno', 'options']);
const IGNORED = new Set(['no register offset', 'c', 'no jit']);

/** Parse the text of one case file; `file` only names it in errors. */
export function parseCase(text: string, file: string): TestCase {
  const lines = text.split(/\r?\n/);
  const desc: string[] = [];
  const sections = new Map<string, { line: number; arg: string; body: Array<{ n: number; text: string }> }>();
  let cur: { line: number; arg: string; body: Array<{ n: number; text: string }> } | undefined;
  let ignoring = false;

  lines.forEach((raw, i) => {
    const n = i + 1;
    const head = /^--\s+(.*?)\s*$/.exec(raw);
    if (head !== null) {
      const words = head[1];
      const key = IGNORED.has(words.toLowerCase()) ? words.toLowerCase() : words.split(/\s+/)[0].toLowerCase();
      if (IGNORED.has(key)) { ignoring = true; cur = undefined; return; }
      if (!KNOWN.has(key)) throw new CaseFormatError(file, n, `unknown section "-- ${words}"`);
      if (sections.has(key)) throw new CaseFormatError(file, n, `section "-- ${key}" appears twice`);
      ignoring = false;
      cur = { line: n, arg: words.slice(key.length).trim(), body: [] };
      sections.set(key, cur);
      return;
    }
    if (ignoring) return;
    if (cur === undefined) {
      const t = raw.trim();
      if (t === '') return;
      if (!t.startsWith('#')) throw new CaseFormatError(file, n, 'text before the first section must be a # comment');
      desc.push(t.replace(/^#\s?/, ''));
      return;
    }
    cur.body.push({ n, text: raw });
  });

  const tc: TestCase = { file, description: desc.join(' '), options: {} };
  // Errors about something missing point at the last line with text.
  let endLine = lines.length;
  while (endLine > 1 && lines[endLine - 1].trim() === '') endLine--;

  const asm = sections.get('asm');
  const rawSec = sections.get('raw');
  if (asm !== undefined && rawSec !== undefined) throw new CaseFormatError(file, rawSec.line, 'a case has "-- asm" or "-- raw", not both');
  if (asm === undefined && rawSec === undefined) throw new CaseFormatError(file, endLine, 'missing "-- asm" (or "-- raw") section');
  if (asm !== undefined) {
    // Strip '#' comments (whole-line and trailing) and blank lines; keep line structure for the assembler.
    const text = asm.body.map((l) => l.text.replace(/#.*$/, '').trimEnd()).filter((l) => l.trim() !== '').join('\n');
    if (text === '') throw new CaseFormatError(file, asm.line, '"-- asm" section is empty');
    tc.asm = text;
  }
  if (rawSec !== undefined) tc.raw = parseRaw(rawSec.body, file);

  const mem = sections.get('mem');
  if (mem !== undefined) tc.mem = parseHexBytes(mem.body, file);

  const result = sections.get('result');
  const error = sections.get('error');
  if (result !== undefined && error !== undefined) throw new CaseFormatError(file, error.line, 'a case has "-- result" or "-- error", not both');
  if (result === undefined && error === undefined) throw new CaseFormatError(file, endLine, 'missing "-- result" or "-- error" section');
  if (result !== undefined) {
    const body = nonBlank(result.body);
    if (body.length !== 1) throw new CaseFormatError(file, result.line, '"-- result" needs exactly one value');
    tc.result = parseInteger(body[0].text.trim(), file, body[0].n);
  }
  if (error !== undefined) {
    const body = nonBlank(error.body);
    const src = error.arg !== '' ? error.arg : body.map((l) => l.text.trim()).join('\n');
    if (src === '') throw new CaseFormatError(file, error.line, '"-- error" needs a regular expression');
    try {
      tc.error = new RegExp(src);
    } catch (e) {
      throw new CaseFormatError(file, error.line, `bad regular expression: ${(e as Error).message}`);
    }
  }
  const errno = sections.get('errno');
  if (errno !== undefined) {
    if (error === undefined) throw new CaseFormatError(file, errno.line, '"-- errno" only makes sense with "-- error"');
    const body = nonBlank(errno.body);
    const name = errno.arg !== '' ? errno.arg : body.length === 1 ? body[0].text.trim() : '';
    if (!/^E[A-Z0-9]+$/.test(name)) throw new CaseFormatError(file, errno.line, `"-- errno" needs one errno name like EFAULT, got "${name}"`);
    tc.errno = name;
  }
  const options = sections.get('options');
  if (options !== undefined) {
    for (const l of nonBlank(options.body)) {
      const m = /^\s*(\w+)\s+(\S+)\s*$/.exec(l.text);
      if (m === null) throw new CaseFormatError(file, l.n, `option line must be "name value": "${l.text.trim()}"`);
      if (m[1] === 'budget') {
        const v = Number(m[2]);
        if (!Number.isInteger(v) || v <= 0) throw new CaseFormatError(file, l.n, `budget must be a positive integer, got "${m[2]}"`);
        tc.options.budget = v;
      } else throw new CaseFormatError(file, l.n, `unknown option "${m[1]}"`);
    }
  }
  return tc;
}

/** Read and parse a case file. */
export function readCase(path: string): TestCase {
  return parseCase(readFileSync(path, 'utf8'), path);
}

const nonBlank = (body: Array<{ n: number; text: string }>) =>
  body.filter((l) => l.text.replace(/#.*$/, '').trim() !== '').map((l) => ({ n: l.n, text: l.text.replace(/#.*$/, '') }));

function parseInteger(t: string, file: string, n: number): bigint {
  const m = /^(-)?(0x[0-9a-fA-F]+|\d+)$/.exec(t);
  if (m === null) throw new CaseFormatError(file, n, `not an integer: "${t}"`);
  const v = BigInt(m[2]);
  const signed = m[1] === '-' ? -v : v;
  if (signed >= 1n << 64n || signed < -(1n << 63n)) throw new CaseFormatError(file, n, `value does not fit in 64 bits: "${t}"`);
  return BigInt.asUintN(64, signed);
}

function parseHexBytes(body: Array<{ n: number; text: string }>, file: string): Uint8Array {
  const out: number[] = [];
  for (const l of nonBlank(body)) {
    for (const tok of l.text.trim().split(/\s+/)) {
      if (!/^[0-9a-fA-F]{2}$/.test(tok)) throw new CaseFormatError(file, l.n, `memory bytes are two hex digits each, got "${tok}"`);
      out.push(parseInt(tok, 16));
    }
  }
  return Uint8Array.from(out);
}

function parseRaw(body: Array<{ n: number; text: string }>, file: string): Uint8Array {
  const out: number[] = [];
  for (const l of nonBlank(body)) {
    const t = l.text.trim();
    const word = /^0x([0-9a-fA-F]{16})$/.exec(t);
    if (word !== null) {
      let v = BigInt('0x' + word[1]);
      for (let i = 0; i < 8; i++, v >>= 8n) out.push(Number(v & 0xffn));
      continue;
    }
    const toks = t.split(/\s+/);
    if (toks.length !== 8 || !toks.every((x) => /^[0-9a-fA-F]{2}$/.test(x))) {
      throw new CaseFormatError(file, l.n, `a raw slot is "0x" + 16 hex digits or 8 hex bytes, got "${t}"`);
    }
    for (const x of toks) out.push(parseInt(x, 16));
  }
  if (out.length === 0) throw new CaseFormatError(file, body[0]?.n ?? 0, '"-- raw" section is empty');
  return Uint8Array.from(out);
}

/** Every case file (*.data) under `dir`, recursively, in a stable sorted order. */
export function listCases(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listCases(p));
    else if (name.endsWith('.data')) out.push(p);
  }
  return out;
}

// `tsbpf disasm FILE`: print the instructions of raw bytes or assembly text, in llvm-objdump's syntax
// (default) or the conformance suites' mnemonic syntax.

import { parseArgs } from 'node:util';
import { disassemble } from '../isa/disasm.js';
import { readProgram } from './input.js';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { syntax: { type: 'string', default: 'llvm' }, bytes: { type: 'boolean', default: false }, addresses: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1 || (values.syntax !== 'llvm' && values.syntax !== 'mnemonic')) {
    process.stderr.write('usage: tsbpf disasm FILE [--syntax llvm|mnemonic] [--addresses] [--bytes]\n');
    return 2;
  }
  const insns = readProgram(positionals[0]);
  const text = disassemble(insns, { syntax: values.syntax, addresses: values.addresses || values.bytes, bytes: values.bytes });
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return 0;
}

// `tsbpf asm FILE [-o OUT]`: assemble text into raw instruction bytes (written to OUT, or printed as hex,
// one 8-byte slot per line, when no output file is given).

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assemble } from '../isa/asm.js';
import { encode } from '../isa/insn.js';
import { toHex } from './input.js';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { output: { type: 'string', short: 'o' } } });
  if (positionals.length !== 1) {
    process.stderr.write('usage: tsbpf asm FILE [-o OUT]\n');
    return 2;
  }
  const bytes = encode(assemble(readFileSync(positionals[0], 'utf8')));
  if (values.output !== undefined) {
    writeFileSync(values.output, bytes);
  } else {
    let out = '';
    for (let i = 0; i < bytes.length; i += 8) out += toHex(bytes.subarray(i, i + 8), ' ') + '\n';
    process.stdout.write(out);
  }
  return 0;
}

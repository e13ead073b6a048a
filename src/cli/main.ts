#!/usr/bin/env node
// The `tsbpf` command: dispatches to one module per verb, imported lazily so that short-lived
// invocations (the conformance plugin runs once per test program) start quickly.

import { BpfError } from '../errors.js';

const USAGE = `usage: tsbpf <command> [options]

commands:
  asm FILE [-o OUT]                 assemble text (llvm-objdump or mnemonic syntax) to raw instructions
  disasm FILE [--syntax llvm|mnemonic] [--bytes]
                                    disassemble raw instruction bytes or assembly text
  run FILE [--mem HEX | --mem-file F] [--trace] [--budget N]
                                    run assembly or raw bytes, r1/r2 = input memory and its length; prints r0
  conformance-plugin [MEM] [--interpret] [--elf]
                                    the bpf_conformance plugin protocol: program bytes as hex on stdin
  prog show OBJ [--json]            programs and maps of a clang-built object
  prog dump OBJ --prog NAME [--xlated] [--source]
                                    disassembly as in the object or after the load-time rewrites
  prog run OBJ --prog NAME [--data-in F] [--data-out F] [--ctx-in F] [--repeat N] [--map-dump NAME]...
           [--json] [--trace-pipe] [--engine interp|jit]
                                    BPF_PROG_TEST_RUN: return value, average duration, output, maps
  map dump OBJ --map NAME [--json]  a map's contents after loading the object
  trace --log FILE [--json]         replay a strace log (strace -f -X raw -e raw=all) through the tracex5
                                    syscall-dispatch sample and print its trace pipe
  flows --pcap FILE [--xdp] [--json]
                                    run a pcap/pcapng capture through the sockex3 flow dissector, print flows
  xdp run --obj OBJ --prog NAME [--prog NAME]... --pcap IN [--out OUT] [--pass-out F]
          [--policy single|libxdp|mprog] [--prio NAME=N] [--actions NAME=pass,tx] [--engine interp|jit] [--json]
                                    a virtual interface's XDP program set over a capture: verdict table
  bench [--engine interp|jit|both] [--kernel] [--json] [--repeat N] [--rounds R]
                                    the performance table: tail calls, chain hops, parsers, per engine
                                    and against the kernel
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  asm: async () => (await import('./asm.js')).main,
  disasm: async () => (await import('./disasm.js')).main,
  run: async () => (await import('./run.js')).main,
  'conformance-plugin': async () => (await import('./conformance.js')).main,
  prog: async () => (await import('./prog.js')).main,
  map: async () => (await import('./map.js')).main,
  trace: async () => (await import('./trace.js')).main,
  flows: async () => (await import('./flows.js')).main,
  xdp: async () => (await import('./xdp.js')).main,
  bench: async () => (await import('./bench.js')).main,
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const load = COMMANDS[cmd];
  if (load === undefined) {
    process.stderr.write(`tsbpf: unknown command '${cmd}'\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof BpfError) {
      process.stderr.write(`tsbpf: ${err.message}\n`);
    } else if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`tsbpf: ${err.message}\n`);
    } else if (err instanceof Error && err.name === 'TypeError' && /parseArgs|option/i.test(err.message)) {
      process.stderr.write(`tsbpf: ${err.message}\n`);
    } else {
      process.stderr.write(`tsbpf: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    process.exitCode = 1;
  },
);

// A loaded program as the bpf() layer keeps it (the kernel's struct bpf_prog + bpf_prog_aux): type, name,
// id, tag, the instructions as loaded and as translated ("xlated"), the pre-decoded form the engine runs,
// the maps it holds references to, and run statistics. It is the ProgRef that prog arrays store.

import { createHash } from 'node:crypto';
import type { Insn } from '../isa/insn.js';
import { encode } from '../isa/insn.js';
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, OP_LDDW } from '../isa/opcodes.js';
import type { Program } from '../engine/vm.js';
import type { BpfMap, ProgRef } from '../maps/map.js';
import { progTypeName } from '../uapi/bpf.js';
import type { LineInfo } from '../object/loader.js';
import type { ChainSlots } from '../chain/slots.js';

/** License strings the kernel treats as GPL-compatible (include/linux/license.h). */
const GPL_COMPATIBLE = new Set(['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL']);

export function licenseIsGplCompatible(license: string): boolean {
  return GPL_COMPATIBLE.has(license);
}

/**
 * The program tag (bpf_prog_calc_tag): the first 8 bytes of the SHA-1 of the instructions, with the
 * immediates that name maps (fds, indexes) zeroed so the tag does not depend on fd numbers.
 */
export function progTag(insns: readonly Insn[]): string {
  const copy = insns.map((i) => ({ ...i }));
  for (let i = 0; i < copy.length; i++) {
    const ins = copy[i];
    if (ins.code !== OP_LDDW) continue;
    const s = ins.src;
    if (s === BPF_PSEUDO_MAP_FD || s === BPF_PSEUDO_MAP_IDX) {
      ins.imm = 0;
      if (i + 1 < copy.length) copy[i + 1].imm = 0;
    } else if (s === BPF_PSEUDO_MAP_VALUE || s === BPF_PSEUDO_MAP_IDX_VALUE) {
      ins.imm = 0;
    }
    i++;
  }
  return createHash('sha1').update(encode(copy)).digest('hex').slice(0, 16);
}

export interface ProgInit {
  id: number;
  type: number;
  expectedAttachType: number;
  name: string;
  license: string;
  progFlags: number;
  insns: Insn[];
  xlated: Insn[];
  program: Program;
  usedMaps: BpfMap[];
  usedHelpers: number[];
  stackDepth: number;
  hasTailCall: boolean;
  lineInfo: LineInfo[];
  /** Names of functions by first slot (for dumps). */
  functions: { name: string; insn: number }[];
  verifierLog: string;
}

export class BpfProg implements ProgRef {
  readonly id: number;
  readonly type: number;
  readonly expectedAttachType: number;
  /** Engine family; prog arrays refuse to mix programs of different modes (kernel: owner.jited). */
  readonly mode = 'interp';
  readonly name: string;
  readonly license: string;
  readonly gplCompatible: boolean;
  readonly progFlags: number;
  /** Instructions as handed to PROG_LOAD (map references as the caller wrote them). */
  readonly insns: Insn[];
  /** Instructions after the load-time rewrites; lddw map references hold addresses (src kept 1/2). */
  readonly xlated: Insn[];
  /** What the engine runs. */
  readonly program: Program;
  readonly usedMaps: BpfMap[];
  readonly usedHelpers: number[];
  readonly stackDepth: number;
  readonly hasTailCall: boolean;
  readonly tag: string;
  /** Boot-time clock at load, in ns (bpf_prog_info.load_time). */
  readonly loadTime: number;
  readonly lineInfo: LineInfo[];
  readonly functions: { name: string; insn: number }[];
  readonly verifierLog: string;
  /** Chain slots (BPF_PROG_CHAIN_*; src/chain): null until a chain is added, or from load with the inject flag. */
  chain: ChainSlots | null = null;
  /** Run statistics (bpf_prog_info.run_cnt / run_time_ns). */
  runCnt = 0;
  runTimeNs = 0;

  constructor(p: ProgInit) {
    this.id = p.id;
    this.type = p.type;
    this.expectedAttachType = p.expectedAttachType;
    this.name = p.name;
    this.license = p.license;
    this.gplCompatible = licenseIsGplCompatible(p.license);
    this.progFlags = p.progFlags;
    this.insns = p.insns;
    this.xlated = p.xlated;
    this.program = p.program;
    this.usedMaps = p.usedMaps;
    this.usedHelpers = p.usedHelpers;
    this.stackDepth = p.stackDepth;
    this.hasTailCall = p.hasTailCall;
    this.tag = progTag(p.insns);
    this.loadTime = Math.round(performance.now() * 1e6);
    this.lineInfo = p.lineInfo;
    this.functions = p.functions;
    this.verifierLog = p.verifierLog;
  }

  get typeName(): string {
    return progTypeName(this.type);
  }
}

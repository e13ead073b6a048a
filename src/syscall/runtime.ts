// BpfRuntime: the bpf() layer of one runtime instance. It owns the address space, the map registry, the
// engine, the fd table, the program id table and the pin namespace, and implements the kernel's commands
// (kernel/bpf/syscall.c) with the kernel's checks and errnos:
// - every command rejects attr fields it does not use when they are non-zero (CHECK_ATTR: EINVAL);
// - an fd that is not open is EBADF, an fd of the wrong kind (a program where a map is needed) EINVAL;
// - ids that do not exist are ENOENT; names follow bpf_obj_name_cpy (< 16 chars of [A-Za-z0-9_.]: EINVAL);
// - map access through an fd opened read-only / write-only is EPERM, as is writing a frozen map.
// Attributes are objects named after `union bpf_attr`'s fields in camelCase (map_fd -> mapFd). Outputs the
// kernel writes back into the attr (PROG_LOAD's log) are written back into the attr object too.
//
// Object lifetime follows the kernel's reference counts: fds and pins hold maps and programs, a program
// holds the maps it uses, prog arrays hold programs and map-in-maps hold inner maps. When the last fd or pin
// of a prog array goes away its slots are emptied (map_release_uref), which breaks program<->prog-array
// cycles. Unreachable objects are freed (their ids disappear) after every command that drops a reference.

import { BpfError, fail } from '../errors.js';
import { decode, type Insn } from '../isa/insn.js';
import { Vm, type Engine } from '../engine/vm.js';
import { AddressSpace } from '../vm/memory.js';
import {
  ArrayOfMapsMap, BpfMap, HashMap, MapRegistry, ProgArrayMap, createMap, type LookupBatchResult, type WriteBatchResult,
} from '../maps/index.js';
import {
  BPF_CMD, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_STRICT_ALIGNMENT, BPF_F_ANY_ALIGNMENT, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS,
  BPF_MAP_TYPE, BPF_OBJ_NAME_LEN, BPF_PROG_TYPE, progTypeName, BPF_F_INJECT_CHAIN_CALLS, SLEEPABLE_CAPABLE_PROG_TYPES,
} from '../uapi/bpf.js';
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, OP_LDDW } from '../isa/opcodes.js';
import type { LineInfo } from '../object/loader.js';
import { FMODE_READ, FMODE_RW, FMODE_WRITE, FdTable, type FdEntry } from './fdtable.js';
import { PinFs } from './pins.js';
import { BpfProg, licenseIsGplCompatible } from './prog.js';
import { resolvePseudoLdimm64 } from './fixup.js';
import { verify } from '../verifier/verifier.js';
import { attachEnv, helperProto, type RunEnv, type RunEnvOptions } from '../helpers/index.js';
import { progTypeOps, testRun } from '../hooks/index.js';
import { ChainCore, type ChainMode } from '../chain/core.js';
import { injectChainCalls } from '../verifier/chain_inject.js';
import { defaultXdpProgramRunner, getXdpProgramRunner, setXdpProgramRunner, type XdpProgramRunner } from '../net/runner.js';

// ---------------------------------------------------------------------------------------------------------
// Attributes and results.

export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  numaNode?: number;
  mapName?: string;
  mapIfindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: number;
}

export interface MapElemAttr {
  mapFd: number;
  /** null/undefined: the NULL pointer (fine for key_size 0 maps and for GET_NEXT_KEY's first key). */
  key?: Uint8Array | null;
  value?: Uint8Array;
  flags?: number;
}

export interface MapBatchAttr {
  mapFd: number;
  inBatch?: Uint8Array | null;
  keys?: Uint8Array;
  values?: Uint8Array;
  count: number;
  elemFlags?: number;
  flags?: number;
}

export interface ProgLoadAttr {
  progType: number;
  /** Instructions, decoded or as raw little-endian bytes. */
  insns: Insn[] | Uint8Array;
  license?: string;
  logLevel?: number;
  /** Bytes of the log buffer (0: no buffer). */
  logSize?: number;
  /** Out: the verifier log as it fits the buffer (log_buf). */
  logBuf?: string;
  /** Out: bytes the whole log needs, NUL included (log_true_size). */
  logTrueSize?: number;
  kernVersion?: number;
  progFlags?: number;
  progName?: string;
  progIfindex?: number;
  expectedAttachType?: number;
  /** fd_array: map fds that BPF_PSEUDO_MAP_IDX(_VALUE) references index. */
  fdArray?: number[];
  /** tsbpf: C source lines by instruction (what BTF line_info gives the kernel), for dumps. */
  lineInfo?: LineInfo[];
  /** tsbpf: function names by first instruction, for dumps. */
  functions?: { name: string; insn: number }[];
}

export interface TestRunAttr {
  progFd: number;
  dataIn?: Uint8Array;
  /** Size of the data_out buffer; shorter output than the result gives ENOSPC. Unset: unlimited. */
  dataSizeOut?: number;
  ctxIn?: Uint8Array;
  ctxSizeOut?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export interface TestRunResult {
  retval: number;
  /** Average ns per run (the kernel's `duration`). */
  duration: number;
  dataOut: Uint8Array;
  /** Bytes of output the program produced (data_size_out as the kernel writes it back). */
  dataSizeOut: number;
  ctxOut: Uint8Array | null;
}

/** struct bpf_prog_info (the fields tsbpf fills), plus the xlated instructions. */
export interface ProgInfo {
  kind: 'prog';
  type: number;
  id: number;
  tag: string;
  name: string;
  jitedProgLen: number;
  xlatedProgLen: number;
  /** Translated instructions as bpf_insn_prepare_dump shows them: lddw map references hold map ids. */
  xlatedProgInsns: Insn[];
  loadTime: number;
  createdByUid: number;
  mapIds: number[];
  nrMapIds: number;
  gplCompatible: boolean;
  runTimeNs: number;
  runCnt: number;
  verifiedInsns: number;
  nrLineInfo: number;
  expectedAttachType: number;
}

/** struct bpf_map_info (+ frozen, which the kernel shows in fdinfo). */
export interface MapInfo {
  kind: 'map';
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  name: string;
  frozen: boolean;
  mapExtra: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
}

export interface RuntimeOptions {
  /** Simulated CPUs (per-CPU maps hold one value each). */
  nCpus?: number;
  /** Instruction budget per run (guards unverified programs); unlimited by default. */
  budget?: number;
  /** Collect run_cnt / run_time_ns (the kernel's bpf_stats_enabled). On by default. */
  stats?: boolean;
  /** Helper environment: clock, PRNG seed, current task, devices, trace_printk format ('text' or 'pipe'). */
  env?: Omit<RunEnvOptions, 'traceSink'>;
  /**
   * How chain calls (BPF_PROG_CHAIN_*) run: 'native' (default) - the run loop follows chains, any program
   * can start one; 'inject' - the 2019 patch: BPF_F_INJECT_CHAIN_CALLS rewrites exits at load. See src/chain.
   */
  chainMode?: ChainMode;
  /** Engine that runs programs: 'interp' or 'jit' (default: TSBPF_ENGINE, see engine/vm.ts defaultEngine). */
  engine?: Engine;
}

/** BPF_PROG_CHAIN_ADD / DEL / GET attr (the series' `union bpf_attr` member). */
export interface ProgChainAttr {
  prevProgFd: number;
  /** ADD only. */
  nextProgFd?: number;
  /** The return code; ~0 (0xffffffff, or -1) is the wildcard. */
  retcode: number;
  /** Out (GET): the next program's id. */
  nextProgId?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Constants of the checks.

/** Program flags PROG_LOAD accepts (bpf_prog_load's mask). */
const BPF_F_TEST_RND_HI32 = 1 << 2;
const BPF_F_TEST_STATE_FREQ = 1 << 3;
const BPF_F_XDP_DEV_BOUND_ONLY = 1 << 6;
const BPF_F_TEST_REG_INVARIANTS = 1 << 7;
const PROG_FLAGS_MASK = BPF_F_STRICT_ALIGNMENT | BPF_F_ANY_ALIGNMENT | BPF_F_TEST_STATE_FREQ | BPF_F_SLEEPABLE |
  BPF_F_TEST_RND_HI32 | BPF_F_XDP_HAS_FRAGS | BPF_F_XDP_DEV_BOUND_ONLY | BPF_F_TEST_REG_INVARIANTS;
/** BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED */
const BPF_LOG_MASK = 1 | 2 | 4 | 8;
const BPF_LOG_FIXED = 8;
/** BPF_COMPLEXITY_LIMIT_INSNS: most instructions a (privileged) program may have. */
const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;
const INT_MAX = 0x7fffffff;

/** Which attr fields each command reads; anything else must be zero (CHECK_ATTR). */
const ATTR_FIELDS: Record<string, readonly string[]> = {
  BPF_MAP_CREATE: ['mapType', 'keySize', 'valueSize', 'maxEntries', 'mapFlags', 'innerMapFd', 'numaNode', 'mapName', 'mapIfindex',
    'btfFd', 'btfKeyTypeId', 'btfValueTypeId', 'btfVmlinuxValueTypeId', 'mapExtra'],
  BPF_MAP_LOOKUP_ELEM: ['mapFd', 'key', 'value', 'flags'],
  BPF_MAP_UPDATE_ELEM: ['mapFd', 'key', 'value', 'flags'],
  BPF_MAP_DELETE_ELEM: ['mapFd', 'key', 'flags'],
  BPF_MAP_GET_NEXT_KEY: ['mapFd', 'key', 'nextKey'],
  BPF_MAP_LOOKUP_AND_DELETE_ELEM: ['mapFd', 'key', 'value', 'flags'],
  BPF_MAP_FREEZE: ['mapFd'],
  BPF_MAP_BATCH: ['mapFd', 'inBatch', 'outBatch', 'keys', 'values', 'count', 'elemFlags', 'flags'],
  BPF_PROG_LOAD: ['progType', 'insns', 'insnCnt', 'license', 'logLevel', 'logSize', 'logBuf', 'logTrueSize', 'kernVersion', 'progFlags',
    'progName', 'progIfindex', 'expectedAttachType', 'fdArray', 'lineInfo', 'functions'],
  BPF_PROG_TEST_RUN: ['progFd', 'dataIn', 'dataSizeOut', 'ctxIn', 'ctxSizeOut', 'repeat', 'flags', 'cpu', 'batchSize', 'retval', 'duration', 'dataOut', 'ctxOut'],
  BPF_OBJ_GET_INFO_BY_FD: ['bpfFd', 'infoLen', 'info'],
  BPF_GET_NEXT_ID: ['startId', 'nextId', 'openFlags'],
  BPF_PROG_GET_FD_BY_ID: ['progId'],
  BPF_MAP_GET_FD_BY_ID: ['mapId', 'openFlags'],
  BPF_OBJ_PIN: ['bpfFd', 'pathname', 'fileFlags'],
  BPF_OBJ_GET: ['bpfFd', 'pathname', 'fileFlags'],
  BPF_PROG_CHAIN: ['prevProgFd', 'nextProgFd', 'retcode', 'nextProgId'],
};

const isZero = (v: unknown): boolean =>
  v === undefined || v === null || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0) ||
  (v instanceof Uint8Array && v.length === 0);

function checkAttr(cmd: string, attr: object, group = cmd): void {
  if (attr === null || typeof attr !== 'object') fail('EFAULT', `${cmd}: attr is not an object`);
  const allowed = ATTR_FIELDS[group];
  for (const [k, v] of Object.entries(attr)) {
    if (!allowed.includes(k) && !isZero(v)) fail('EINVAL', `${cmd}: attr field '${k}' is not used by this command and must be zero`);
  }
}

const u32 = (cmd: string, what: string, v: number | undefined, dflt = 0): number => {
  const n = v ?? dflt;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) fail('EINVAL', `${cmd}: ${what} must be a u32, got ${String(v)}`);
  return n;
};

/** bpf_obj_name_cpy: fewer than 16 characters, each alphanumeric, '_' or '.'. */
export function checkObjName(cmd: string, name: string): void {
  if (typeof name !== 'string') fail('EINVAL', `${cmd}: name must be a string`);
  if (name.length >= BPF_OBJ_NAME_LEN) fail('EINVAL', `${cmd}: name '${name}' is longer than ${BPF_OBJ_NAME_LEN - 1} characters`);
  if (!/^[A-Za-z0-9_.]*$/.test(name)) fail('EINVAL', `${cmd}: name '${name}' may only hold letters, digits, '_' and '.'`);
}

type Obj = BpfMap | BpfProg;

// ---------------------------------------------------------------------------------------------------------

export class BpfRuntime {
  readonly space: AddressSpace;
  readonly registry: MapRegistry;
  readonly vm: Vm;
  /** What helpers see: maps, clock, task, trace sink, tail-call state. */
  readonly env: RunEnv;
  readonly fds = new FdTable<BpfMap, BpfProg>();
  readonly pins = new PinFs<BpfMap, BpfProg>();
  /** Collect run statistics (run_cnt, run_time_ns). */
  stats: boolean;
  /** Lines programs wrote with bpf_trace_printk, oldest first (the trace pipe); readers may drain it. */
  readonly tracePipe: string[] = [];
  /** Chain calls: slots, the PROG_CHAIN_* rules and the run loop (src/chain/core.ts). */
  readonly chains: ChainCore;

  private readonly progs = new Map<number, BpfProg>();
  private nextProgId = 1;
  /** Prog arrays that had a user reference (fd or pin) at the last collection. */
  private urefHeld = new Set<ProgArrayMap>();

  constructor(opts: RuntimeOptions = {}) {
    this.space = new AddressSpace();
    this.registry = new MapRegistry(this.space, { nCpus: opts.nCpus });
    this.vm = new Vm({ space: this.space, budget: opts.budget, engine: opts.engine });
    this.env = attachEnv(this.vm, this.registry, { ...opts.env, traceSink: (line) => void this.tracePipe.push(line) });
    // A prog-array slot holds a BpfProg; tail calls continue in its pre-decoded program. The chain core
    // resolves them (it notes which program will exit) and runs every top-level run (it follows chains).
    this.chains = new ChainCore(this.vm, this.env, this.registry, opts.chainMode ?? 'native');
    this.env.resolveProg = this.chains.resolveProg;
    this.env.runHook = this.chains.runHook;
    installChainXdpRunner();
    this.stats = opts.stats ?? true;
    this.registry.resolveProgFd = (fd) => this.progFromFd('BPF_MAP_UPDATE_ELEM', fd);
    this.registry.resolveMapFd = (fd) => this.mapFromFd('BPF_MAP_UPDATE_ELEM', fd);
  }

  // -------------------------------------------------------------------------------------------------------
  // fds

  private entry(cmd: string, fd: number): FdEntry<BpfMap, BpfProg> {
    const e = this.fds.get(fd);
    if (e === undefined) fail('EBADF', `${cmd}: fd ${fd} is not open`);
    return e;
  }

  private mapEntry(cmd: string, fd: number): FdEntry<BpfMap, BpfProg> & { obj: BpfMap } {
    const e = this.entry(cmd, fd);
    if (e.kind !== 'map') fail('EINVAL', `${cmd}: fd ${fd} is a program, not a map`);
    return e as FdEntry<BpfMap, BpfProg> & { obj: BpfMap };
  }

  /** The map an fd names (EBADF: not open; EINVAL: not a map). */
  mapFromFd(cmd: string, fd: number): BpfMap {
    return this.mapEntry(cmd, fd).obj;
  }

  /** The program an fd names (EBADF: not open; EINVAL: not a program). */
  progFromFd(cmd: string, fd: number): BpfProg {
    const e = this.entry(cmd, fd);
    if (e.kind !== 'prog') fail('EINVAL', `${cmd}: fd ${fd} is a map, not a program`);
    return e.obj as BpfProg;
  }

  /** close(2). */
  close(fd: number): void {
    this.fds.close(fd);
    this.collect();
  }

  private openMapFd(map: BpfMap, mode: number): number {
    return this.fds.open('map', map, mode);
  }

  // -------------------------------------------------------------------------------------------------------
  // Maps

  /** BPF_MAP_CREATE: returns the new map's fd. */
  mapCreate(attr: MapCreateAttr): number {
    const cmd = 'BPF_MAP_CREATE';
    checkAttr(cmd, attr);
    const flags = u32(cmd, 'map_flags', attr.mapFlags);
    if (attr.mapType !== BPF_MAP_TYPE.BPF_MAP_TYPE_BLOOM_FILTER && (attr.mapExtra ?? 0) !== 0) {
      fail('EINVAL', `${cmd}: map_extra is only for bloom filters`);
    }
    // bpf_get_file_flag
    if ((flags & BPF_F_RDONLY) && (flags & BPF_F_WRONLY)) fail('EINVAL', `${cmd}: BPF_F_RDONLY and BPF_F_WRONLY together`);
    if ((attr.numaNode ?? 0) !== 0) fail('EINVAL', `${cmd}: numa_node ${attr.numaNode} is not online (the runtime has node 0 only)`);
    if ((attr.mapIfindex ?? 0) !== 0) fail('EINVAL', `${cmd}: map_ifindex ${attr.mapIfindex}: no device can offload maps`);
    checkObjName(cmd, attr.mapName ?? '');
    let inner: BpfMap | undefined;
    const t = attr.mapType;
    if (t === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS) {
      inner = this.mapFromFd(cmd, attr.innerMapFd ?? 0);
    }
    if (attr.btfKeyTypeId || attr.btfValueTypeId || attr.btfVmlinuxValueTypeId) {
      if (!attr.btfValueTypeId) fail('EINVAL', `${cmd}: btf_key_type_id without btf_value_type_id`);
      const e = this.entry(cmd, attr.btfFd ?? 0);
      fail('EINVAL', `${cmd}: btf_fd ${attr.btfFd} is a ${e.kind}, not BTF`);
    }
    const map = createMap(this.space, this.registry, {
      type: attr.mapType, keySize: attr.keySize, valueSize: attr.valueSize, maxEntries: attr.maxEntries, flags,
      name: attr.mapName ?? '', inner,
    });
    const mode = flags & BPF_F_RDONLY ? FMODE_READ : flags & BPF_F_WRONLY ? FMODE_WRITE : FMODE_RW;
    return this.openMapFd(map, mode);
  }

  /** The map of an fd, checked for read or write access (map_get_sys_perms: frozen maps are not writable). */
  private accessMap(cmd: string, fd: number, need: number): BpfMap {
    const e = this.mapEntry(cmd, fd);
    let mode = e.mode;
    if (e.obj.frozen) mode &= ~FMODE_WRITE;
    if ((mode & need) !== need) {
      const why = need === FMODE_WRITE && e.obj.frozen ? 'map is frozen' : `fd ${fd} was opened ${e.mode === FMODE_READ ? 'read-only' : 'write-only'}`;
      fail('EPERM', `${cmd}: ${why}`);
    }
    return e.obj;
  }

  /** __bpf_copy_key: a NULL key is EFAULT when the map has keys, a key for a key-less map EINVAL. */
  private copyKey(cmd: string, map: BpfMap, key: Uint8Array | null | undefined): Uint8Array | null {
    if (map.keySize === 0) {
      if (key != null && key.length > 0) fail('EINVAL', `${cmd}: map '${map.name}' has no keys (key_size 0), but a key was given`);
      return null;
    }
    if (key == null) fail('EFAULT', `${cmd}: key is NULL, map '${map.name}' has key_size ${map.keySize}`);
    return key;
  }

  /** BPF_MAP_LOOKUP_ELEM: the value (all CPUs' for per-CPU maps; the id for fd maps; queue/stack: peek). */
  mapLookupElem(attr: MapElemAttr): Uint8Array {
    const cmd = 'BPF_MAP_LOOKUP_ELEM';
    checkAttr(cmd, attr);
    const flags = u32(cmd, 'flags', attr.flags);
    if (flags & ~4) fail('EINVAL', `${cmd}: unknown flags 0x${flags.toString(16)}`);
    const map = this.accessMap(cmd, attr.mapFd, FMODE_READ);
    return map.lookupElem(this.copyKey(cmd, map, attr.key), flags);
  }

  /** BPF_MAP_UPDATE_ELEM (BPF_ANY / BPF_NOEXIST / BPF_EXIST); fd maps take a program or map fd as value. */
  mapUpdateElem(attr: MapElemAttr): void {
    const cmd = 'BPF_MAP_UPDATE_ELEM';
    checkAttr(cmd, attr);
    const map = this.accessMap(cmd, attr.mapFd, FMODE_WRITE);
    if (attr.value == null) fail('EFAULT', `${cmd}: value is NULL`);
    map.updateElem(this.copyKey(cmd, map, attr.key), attr.value, u32(cmd, 'flags', attr.flags));
    if (holdsObjects(map)) this.collect();
  }

  /** BPF_MAP_DELETE_ELEM. */
  mapDeleteElem(attr: MapElemAttr): void {
    const cmd = 'BPF_MAP_DELETE_ELEM';
    checkAttr(cmd, attr);
    if ((attr.flags ?? 0) !== 0) fail('EINVAL', `${cmd}: flags must be 0`);
    const map = this.accessMap(cmd, attr.mapFd, FMODE_WRITE);
    map.deleteElem(this.copyKey(cmd, map, attr.key));
    if (holdsObjects(map)) this.collect();
  }

  /** BPF_MAP_GET_NEXT_KEY: the key after `key` (the first key for null); ENOENT after the last. */
  mapGetNextKey(attr: MapElemAttr): Uint8Array {
    const cmd = 'BPF_MAP_GET_NEXT_KEY';
    checkAttr(cmd, attr);
    const map = this.accessMap(cmd, attr.mapFd, FMODE_READ);
    const key = attr.key == null ? null : this.copyKey(cmd, map, attr.key);
    return map.getNextKey(key);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash maps; queue/stack: pop). */
  mapLookupAndDeleteElem(attr: MapElemAttr): Uint8Array {
    const cmd = 'BPF_MAP_LOOKUP_AND_DELETE_ELEM';
    checkAttr(cmd, attr);
    const map = this.accessMap(cmd, attr.mapFd, FMODE_WRITE);
    return map.lookupAndDeleteElem(this.copyKey(cmd, map, attr.key), u32(cmd, 'flags', attr.flags));
  }

  /** BPF_MAP_FREEZE: user space can no longer write the map (EBUSY if already frozen). */
  mapFreeze(attr: { mapFd: number }): void {
    const cmd = 'BPF_MAP_FREEZE';
    checkAttr(cmd, attr);
    const e = this.mapEntry(cmd, attr.mapFd);
    if (!(e.mode & FMODE_WRITE)) fail('EPERM', `${cmd}: fd ${attr.mapFd} is not writable`);
    e.obj.freeze();
  }

  /**
   * BPF_MAP_LOOKUP_BATCH. Like the kernel, a partial batch is not an exception: the result carries what was
   * copied and `error` (ENOENT once the iteration reached the end).
   */
  mapLookupBatch(attr: MapBatchAttr): LookupBatchResult {
    const cmd = 'BPF_MAP_LOOKUP_BATCH';
    checkAttr(cmd, attr, 'BPF_MAP_BATCH');
    const map = this.accessMap(cmd, attr.mapFd, FMODE_READ);
    return map.lookupBatch(attr.inBatch ?? null, u32(cmd, 'count', attr.count), { elemFlags: attr.elemFlags, flags: attr.flags });
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_BATCH. */
  mapLookupAndDeleteBatch(attr: MapBatchAttr): LookupBatchResult {
    const cmd = 'BPF_MAP_LOOKUP_AND_DELETE_BATCH';
    checkAttr(cmd, attr, 'BPF_MAP_BATCH');
    const map = this.accessMap(cmd, attr.mapFd, FMODE_WRITE);
    const r = map.lookupAndDeleteBatch(attr.inBatch ?? null, u32(cmd, 'count', attr.count), { elemFlags: attr.elemFlags, flags: attr.flags });
    if (holdsObjects(map)) this.collect();
    return r;
  }

  /** BPF_MAP_UPDATE_BATCH: stops at the first failing element; `count` says how many were applied. */
  mapUpdateBatch(attr: MapBatchAttr): WriteBatchResult {
    const cmd = 'BPF_MAP_UPDATE_BATCH';
    checkAttr(cmd, attr, 'BPF_MAP_BATCH');
    const map = this.accessMap(cmd, attr.mapFd, FMODE_WRITE);
    if (attr.keys == null || attr.values == null) fail('EFAULT', `${cmd}: keys and values are required`);
    const r = map.updateBatch(attr.keys, attr.values, u32(cmd, 'count', attr.count), { elemFlags: attr.elemFlags, flags: attr.flags });
    if (holdsObjects(map)) this.collect();
    return r;
  }

  /** BPF_MAP_DELETE_BATCH. */
  mapDeleteBatch(attr: MapBatchAttr): WriteBatchResult {
    const cmd = 'BPF_MAP_DELETE_BATCH';
    checkAttr(cmd, attr, 'BPF_MAP_BATCH');
    const map = this.accessMap(cmd, attr.mapFd, FMODE_WRITE);
    if (attr.keys == null) fail('EFAULT', `${cmd}: keys are required`);
    const r = map.deleteBatch(attr.keys, u32(cmd, 'count', attr.count), { elemFlags: attr.elemFlags, flags: attr.flags });
    if (holdsObjects(map)) this.collect();
    return r;
  }

  // -------------------------------------------------------------------------------------------------------
  // Programs

  /**
   * BPF_PROG_LOAD: returns the program's fd. The verifier log goes to `attr.logBuf` (truncated to
   * `logSize` - 1 characters; a truncated log fails the load with ENOSPC, as in the kernel) and, when the
   * load is rejected, also onto the thrown error as `log`.
   */
  progLoad(attr: ProgLoadAttr): number {
    const cmd = 'BPF_PROG_LOAD';
    checkAttr(cmd, attr);
    const progFlags = u32(cmd, 'prog_flags', attr.progFlags);
    if (progFlags & ~PROG_FLAGS_MASK) fail('EINVAL', `${cmd}: unknown prog_flags 0x${(progFlags & ~PROG_FLAGS_MASK).toString(16)}`);
    if (attr.license === undefined || attr.license === null) fail('EFAULT', `${cmd}: license is NULL`);
    const license = String(attr.license).slice(0, 127);
    const insns = attr.insns instanceof Uint8Array ? decodeInsns(cmd, attr.insns) : attr.insns;
    if (!Array.isArray(insns)) fail('EFAULT', `${cmd}: insns must be an array of instructions or bytes`);
    if (insns.length === 0 || insns.length > BPF_COMPLEXITY_LIMIT_INSNS) {
      fail('E2BIG', `${cmd}: insn_cnt ${insns.length} is ${insns.length === 0 ? '0' : `more than ${BPF_COMPLEXITY_LIMIT_INSNS}`}`);
    }
    const type = u32(cmd, 'prog_type', attr.progType);
    const expectedAttachType = u32(cmd, 'expected_attach_type', attr.expectedAttachType);
    const ops = progTypeOps(type, expectedAttachType);
    if (ops === undefined) fail('EINVAL', `${cmd}: program type ${progTypeName(type)} is not supported`);
    // Bit 4 is BPF_F_SLEEPABLE for the types upstream lets sleep, BPF_F_INJECT_CHAIN_CALLS for the others
    // (uapi/bpf.ts). tsbpf runs no sleepable programs.
    const sleepableType = SLEEPABLE_CAPABLE_PROG_TYPES.includes(type);
    if (sleepableType && (progFlags & BPF_F_SLEEPABLE) !== 0) {
      fail('EINVAL', `${cmd}: only fentry/fexit/fmod_ret, lsm, iter, uprobe and struct_ops programs can be sleepable, and tsbpf runs none`);
    }
    const injectChains = !sleepableType && (progFlags & BPF_F_INJECT_CHAIN_CALLS) !== 0 && this.chains.mode === 'inject';
    if ((progFlags & BPF_F_XDP_HAS_FRAGS) !== 0 && type !== BPF_PROG_TYPE.BPF_PROG_TYPE_XDP) {
      fail('EINVAL', `${cmd}: BPF_F_XDP_HAS_FRAGS is only for XDP programs`);
    }
    if ((attr.progIfindex ?? 0) !== 0) fail('EINVAL', `${cmd}: prog_ifindex ${attr.progIfindex}: no device can offload programs`);
    const name = attr.progName ?? '';
    checkObjName(cmd, name);
    // bpf_vlog_init: log attributes have to be sane.
    const logLevel = u32(cmd, 'log_level', attr.logLevel);
    const logSize = u32(cmd, 'log_size', attr.logSize);
    if (logSize > 0 && logLevel === 0) fail('EINVAL', `${cmd}: a log buffer without log_level`);
    if (logLevel & ~BPF_LOG_MASK) fail('EINVAL', `${cmd}: unknown log_level bits 0x${(logLevel & ~BPF_LOG_MASK).toString(16)}`);
    if (logSize > 0xffffffff >>> 2) fail('EINVAL', `${cmd}: log_size ${logSize} too large`);

    const writeLog = (text: string): boolean => {
      attr.logTrueSize = text.length === 0 ? 0 : text.length + 1;
      if (logSize === 0) { attr.logBuf = ''; return false; }
      if (text.length <= logSize - 1) { attr.logBuf = text; return false; }
      // Rotating mode keeps the end of the log (where the error is); BPF_LOG_FIXED keeps the start.
      attr.logBuf = logLevel & BPF_LOG_FIXED ? text.slice(0, logSize - 1) : text.slice(text.length - (logSize - 1));
      return true;
    };

    let result;
    let used: BpfMap[];
    try {
      const resolved = resolvePseudoLdimm64(insns, (fd) => this.mapFromFd(cmd, fd), attr.fdArray);
      used = resolved.usedMaps;
      result = verify({
        insns: resolved.insns, maps: resolved.usedMaps, progType: ops, helperProto, gpl: licenseIsGplCompatible(license),
        logLevel, progFlags,
      });
    } catch (e) {
      if (e instanceof BpfError) {
        const log = (e as BpfError & { log?: string }).log ?? (logLevel > 0 ? e.message + '\n' : '');
        (e as BpfError & { log?: string }).log = log;
        writeLog(log);
      }
      throw e;
    }
    if (writeLog(result.log)) fail('ENOSPC', `${cmd}: the verifier log (${result.log.length + 1} bytes) does not fit log_size ${logSize}`);
    // bpf_check_tail_call: every prog array the program uses must belong to its type.
    const probe = { id: 0, type, expectedAttachType, mode: 'interp' };
    for (const m of used) {
      if (m instanceof ProgArrayMap && !m.claim(probe)) {
        fail('EINVAL', `${cmd}: prog array '${m.name}' (id ${m.id}) is owned by program type ${m.ownerType}, not ${type}`);
      }
    }
    // Chain calls, "inject" model: rewrite the main program's exits into tail calls through a hidden slot
    // table (the table is created first: the rewritten code holds its address).
    let xlated = result.insns;
    let stackDepth = result.stackDepth;
    let slots = null;
    if (injectChains) {
      slots = this.chains.newSlots({ id: 0, type, expectedAttachType, mode: 'interp' } as unknown as BpfProg);
      try {
        const inj = injectChainCalls(xlated, slots.handle, stackDepth);
        xlated = inj.insns;
        stackDepth = inj.stackDepth;
      } catch (e) {
        slots.destroy();
        if (e instanceof BpfError) fail(e.code, `${cmd}: ${e.message.replace(/^[A-Z0-9]+: /, '')}`);
        throw e;
      }
    }
    // The verifier checked the program; pre-decode its translation without checking again.
    const program = this.vm.loadUnchecked(xlated);
    const prog = new BpfProg({
      id: this.nextProgId++, type, expectedAttachType, name, license, progFlags, insns: insns.map((i) => ({ ...i })),
      xlated, program, usedMaps: used, usedHelpers: result.usedHelpers, stackDepth,
      hasTailCall: result.hasTailCall || injectChains, lineInfo: attr.lineInfo ?? [], functions: attr.functions ?? [], verifierLog: result.log,
    });
    this.progs.set(prog.id, prog);
    this.chains.adopt(prog, slots);
    return this.fds.open('prog', prog, FMODE_RW);
  }

  /** BPF_PROG_TEST_RUN: run the program `repeat` times on data_in / ctx_in. */
  progTestRun(attr: TestRunAttr): TestRunResult {
    const cmd = 'BPF_PROG_TEST_RUN';
    checkAttr(cmd, attr);
    const prog = this.progFromFd(cmd, attr.progFd);
    const repeat = u32(cmd, 'repeat', attr.repeat);
    const out = testRun(this.vm, prog, {
      dataIn: attr.dataIn, dataSizeOut: attr.dataSizeOut, ctxIn: attr.ctxIn, ctxSizeOut: attr.ctxSizeOut,
      ctxOut: attr.ctxIn !== undefined || attr.ctxSizeOut !== undefined, repeat, flags: attr.flags, cpu: attr.cpu,
      batchSize: attr.batchSize,
    });
    if (this.stats) {
      const runs = Math.max(1, repeat);
      prog.runCnt += runs;
      prog.runTimeNs += out.duration * runs;
    }
    const res: TestRunResult = { retval: out.retval, duration: out.duration, dataOut: out.dataOut, dataSizeOut: out.dataSizeOut, ctxOut: out.ctxOut };
    if (out.error !== null) {
      const err = new BpfError(out.error.code, `${cmd}: ${out.error.message.replace(/^[A-Z0-9]+: /, '')}`);
      (err as BpfError & { result?: TestRunResult }).result = res;
      throw err;
    }
    return res;
  }

  // -------------------------------------------------------------------------------------------------------
  // Chain calls (the 2019 series; src/chain). Checks in the patch's order: attr (EINVAL), slot (E2BIG),
  // prev fd (EBADF; EINVAL for a map fd), chainability (EOPNOTSUPP in the inject model), next fd (EBADF).

  /** BPF_PROG_CHAIN_ADD: chain `next` after `prev` for `retcode`, replacing silently what the slot held. */
  progChainAdd(attr: ProgChainAttr): void {
    const cmd = 'BPF_PROG_CHAIN_ADD';
    checkAttr(cmd, attr, 'BPF_PROG_CHAIN');
    const index = this.chains.slotIndex(cmd, attr.retcode ?? 0);
    const prev = this.progFromFd(cmd, attr.prevProgFd);
    this.chains.slotsOf(cmd, prev, false);
    const next = this.progFromFd(cmd, attr.nextProgFd ?? 0);
    const old = this.chains.add(cmd, prev, index, next);
    if (old !== null) this.collect(); // the replaced program's reference is gone
  }

  /** BPF_PROG_CHAIN_DEL: empty the slot of `retcode` (ENOENT when empty). */
  progChainDel(attr: ProgChainAttr): void {
    const cmd = 'BPF_PROG_CHAIN_DEL';
    checkAttr(cmd, attr, 'BPF_PROG_CHAIN');
    const index = this.chains.slotIndex(cmd, attr.retcode ?? 0);
    const prev = this.progFromFd(cmd, attr.prevProgFd);
    this.chains.del(cmd, prev, index, attr.retcode ?? 0);
    this.collect();
  }

  /** BPF_PROG_CHAIN_GET: the id of the program chained for `retcode` (also written to attr.nextProgId). */
  progChainGet(attr: ProgChainAttr): number {
    const cmd = 'BPF_PROG_CHAIN_GET';
    checkAttr(cmd, { ...attr, nextProgId: 0 }, 'BPF_PROG_CHAIN');
    const index = this.chains.slotIndex(cmd, attr.retcode ?? 0);
    const prev = this.progFromFd(cmd, attr.prevProgFd);
    const id = this.chains.get(cmd, prev, index, attr.retcode ?? 0).id;
    attr.nextProgId = id;
    return id;
  }

  /** libbpf's bpf_prog_chain_add(prev_fd, retcode, next_fd). */
  bpfProgChainAdd(prevFd: number, retcode: number, nextFd: number): void {
    this.progChainAdd({ prevProgFd: prevFd, retcode, nextProgFd: nextFd });
  }

  /** libbpf's bpf_prog_chain_del(prev_fd, retcode). */
  bpfProgChainDel(prevFd: number, retcode: number): void {
    this.progChainDel({ prevProgFd: prevFd, retcode });
  }

  /** libbpf's bpf_prog_chain_get(prev_fd, retcode, &prog_id): returns prog_id. */
  bpfProgChainGet(prevFd: number, retcode: number): number {
    return this.progChainGet({ prevProgFd: prevFd, retcode });
  }

  /** Every live program, by id. */
  programs(): BpfProg[] {
    return [...this.progs.values()].sort((a, b) => a.id - b.id);
  }

  // -------------------------------------------------------------------------------------------------------
  // Info, ids

  /** BPF_OBJ_GET_INFO_BY_FD. */
  objGetInfoByFd(attr: { bpfFd: number }): ProgInfo | MapInfo {
    const cmd = 'BPF_OBJ_GET_INFO_BY_FD';
    checkAttr(cmd, attr);
    // The kernel answers a closed fd here with EBADFD, not the EBADF of every other command.
    if (this.fds.get(attr.bpfFd) === undefined) fail('EBADFD', `${cmd}: fd ${attr.bpfFd} is not open`);
    const e = this.entry(cmd, attr.bpfFd);
    if (e.kind === 'prog') return progInfo(e.obj as BpfProg);
    return mapInfo(e.obj as BpfMap);
  }

  /** BPF_PROG_GET_NEXT_ID: the smallest program id > startId (ENOENT when none). */
  progGetNextId(attr: { startId: number }): number {
    return nextId('BPF_PROG_GET_NEXT_ID', attr, [...this.progs.keys()]);
  }

  /** BPF_MAP_GET_NEXT_ID. */
  mapGetNextId(attr: { startId: number }): number {
    return nextId('BPF_MAP_GET_NEXT_ID', attr, this.registry.all().map((m) => m.id));
  }

  /** BPF_PROG_GET_FD_BY_ID: a new fd for a live program. */
  progGetFdById(attr: { progId: number }): number {
    const cmd = 'BPF_PROG_GET_FD_BY_ID';
    checkAttr(cmd, attr);
    const prog = this.progs.get(u32(cmd, 'prog_id', attr.progId));
    if (prog === undefined) fail('ENOENT', `${cmd}: no program with id ${attr.progId}`);
    return this.fds.open('prog', prog, FMODE_RW);
  }

  /** BPF_MAP_GET_FD_BY_ID: open_flags BPF_F_RDONLY / BPF_F_WRONLY choose the fd's access. */
  mapGetFdById(attr: { mapId: number; openFlags?: number }): number {
    const cmd = 'BPF_MAP_GET_FD_BY_ID';
    checkAttr(cmd, attr);
    const mode = fileMode(cmd, u32(cmd, 'open_flags', attr.openFlags));
    const map = this.registry.byId(u32(cmd, 'map_id', attr.mapId));
    if (map === undefined) fail('ENOENT', `${cmd}: no map with id ${attr.mapId}`);
    return this.openMapFd(map, mode);
  }

  // -------------------------------------------------------------------------------------------------------
  // Pins

  /** BPF_OBJ_PIN: pin the map or program of `bpfFd` at `pathname` under /sys/fs/bpf. */
  objPin(attr: { bpfFd: number; pathname: string; fileFlags?: number }): void {
    const cmd = 'BPF_OBJ_PIN';
    checkAttr(cmd, attr);
    if ((attr.fileFlags ?? 0) !== 0) fail('EINVAL', `${cmd}: file_flags must be 0 (BPF_F_PATH_FD is not supported)`);
    const e = this.fds.get(attr.bpfFd);
    // bpf_fd_probe_obj: anything that is not a map, program or link fd (closed fds included) is EINVAL.
    if (e === undefined) fail('EINVAL', `${cmd}: fd ${attr.bpfFd} is not a BPF object`);
    this.pins.pin(attr.pathname, e.kind, e.obj);
  }

  /** BPF_OBJ_GET: a new fd for the object pinned at `pathname` (file_flags: BPF_F_RDONLY / BPF_F_WRONLY). */
  objGet(attr: { pathname: string; fileFlags?: number; bpfFd?: number }): number {
    const cmd = 'BPF_OBJ_GET';
    checkAttr(cmd, attr);
    if ((attr.bpfFd ?? 0) !== 0) fail('EINVAL', `${cmd}: bpf_fd must be 0`);
    const flags = u32(cmd, 'file_flags', attr.fileFlags);
    if (flags & ~(BPF_F_RDONLY | BPF_F_WRONLY)) fail('EINVAL', `${cmd}: unknown file_flags 0x${flags.toString(16)}`);
    const mode = fileMode(cmd, flags);
    const { kind, obj } = this.pins.get(attr.pathname);
    return kind === 'map' ? this.openMapFd(obj as BpfMap, mode) : this.fds.open('prog', obj, FMODE_RW);
  }

  /** mkdir in the bpffs (with `parents`, like mkdir -p). */
  mkdir(path: string, parents = false): void {
    this.pins.mkdir(path, parents);
  }

  /** unlink/rmdir in the bpffs: drops the pin's reference. */
  unlink(path: string): void {
    this.pins.unlink(path);
    this.collect();
  }

  // -------------------------------------------------------------------------------------------------------
  // The generic entry point.

  /** bpf(cmd, attr): dispatch by command number or name (BPF_MAP_CREATE ...). */
  bpf(cmd: number | string, attr: any): unknown {
    const name = typeof cmd === 'string' ? cmd : Object.keys(BPF_CMD).find((k) => BPF_CMD[k as keyof typeof BPF_CMD] === cmd);
    switch (name) {
      case 'BPF_MAP_CREATE': return this.mapCreate(attr);
      case 'BPF_MAP_LOOKUP_ELEM': return this.mapLookupElem(attr);
      case 'BPF_MAP_UPDATE_ELEM': return this.mapUpdateElem(attr);
      case 'BPF_MAP_DELETE_ELEM': return this.mapDeleteElem(attr);
      case 'BPF_MAP_GET_NEXT_KEY': return this.mapGetNextKey(attr);
      case 'BPF_MAP_LOOKUP_AND_DELETE_ELEM': return this.mapLookupAndDeleteElem(attr);
      case 'BPF_MAP_FREEZE': return this.mapFreeze(attr);
      case 'BPF_MAP_LOOKUP_BATCH': return this.mapLookupBatch(attr);
      case 'BPF_MAP_LOOKUP_AND_DELETE_BATCH': return this.mapLookupAndDeleteBatch(attr);
      case 'BPF_MAP_UPDATE_BATCH': return this.mapUpdateBatch(attr);
      case 'BPF_MAP_DELETE_BATCH': return this.mapDeleteBatch(attr);
      case 'BPF_PROG_LOAD': return this.progLoad(attr);
      case 'BPF_PROG_TEST_RUN': case 'BPF_PROG_RUN': return this.progTestRun(attr);
      case 'BPF_OBJ_GET_INFO_BY_FD': return this.objGetInfoByFd(attr);
      case 'BPF_PROG_GET_NEXT_ID': return this.progGetNextId(attr);
      case 'BPF_MAP_GET_NEXT_ID': return this.mapGetNextId(attr);
      case 'BPF_PROG_GET_FD_BY_ID': return this.progGetFdById(attr);
      case 'BPF_MAP_GET_FD_BY_ID': return this.mapGetFdById(attr);
      case 'BPF_OBJ_PIN': return this.objPin(attr);
      case 'BPF_OBJ_GET': return this.objGet(attr);
      case 'BPF_PROG_CHAIN_ADD': return this.progChainAdd(attr);
      case 'BPF_PROG_CHAIN_DEL': return this.progChainDel(attr);
      case 'BPF_PROG_CHAIN_GET': return this.progChainGet(attr);
      default: return fail('EINVAL', `bpf: unknown or unsupported command ${String(cmd)}`);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Reference counting.

  /**
   * Free what nothing references any more. Roots are open fds and pins; programs hold their maps, prog
   * arrays their programs, map-in-maps their inner maps. A prog array that lost its last fd/pin is emptied
   * first (map_release_uref), like the kernel does.
   */
  private collect(): void {
    const urefs = new Set<Obj>();
    for (const [, e] of this.fds.list()) urefs.add(e.obj);
    for (const p of this.pins.objects()) urefs.add(p.obj);
    const held = new Set<ProgArrayMap>();
    for (const o of urefs) if (o instanceof ProgArrayMap) held.add(o);
    for (const pa of this.urefHeld) if (!held.has(pa)) pa.clear();
    this.urefHeld = held;

    const live = new Set<Obj>();
    const stack: Obj[] = [...urefs];
    while (stack.length > 0) {
      const o = stack.pop()!;
      if (live.has(o)) continue;
      live.add(o);
      if (o instanceof BpfProg) { stack.push(...o.usedMaps, ...this.chains.targets(o)); continue; }
      for (const c of referencedBy(o)) stack.push(c);
    }
    for (const [id, p] of this.progs) {
      if (live.has(p)) continue;
      this.progs.delete(id);
      this.chains.release(p);
    }
    for (const m of this.registry.all()) if (!live.has(m)) m.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------

/** Maps whose values are references to objects (their updates and deletes change reachability). */
function holdsObjects(map: BpfMap): boolean {
  return map instanceof ProgArrayMap || map instanceof ArrayOfMapsMap || (map instanceof HashMap && map.inner !== null);
}

/** Objects a map's slots reference. */
function referencedBy(map: BpfMap): Obj[] {
  const out: Obj[] = [];
  if (map instanceof ProgArrayMap) {
    for (let i = 0; i < map.maxEntries; i++) {
      const p = map.progAt(i);
      if (p instanceof BpfProg) out.push(p);
    }
  } else if (map instanceof ArrayOfMapsMap) {
    for (let i = 0; i < map.maxEntries; i++) {
      const m = map.innerAt(i);
      if (m !== null) out.push(m);
    }
  } else if (map instanceof HashMap && map.inner !== null) {
    let key: Uint8Array | null = null;
    for (;;) {
      try {
        key = map.getNextKey(key);
      } catch {
        break;
      }
      const m = map.innerAt(key);
      if (m !== null) out.push(m);
    }
  }
  return out;
}

function fileMode(cmd: string, flags: number): number {
  if ((flags & BPF_F_RDONLY) && (flags & BPF_F_WRONLY)) fail('EINVAL', `${cmd}: BPF_F_RDONLY and BPF_F_WRONLY together`);
  if (flags & ~(BPF_F_RDONLY | BPF_F_WRONLY)) fail('EINVAL', `${cmd}: unknown open flags 0x${flags.toString(16)}`);
  return flags & BPF_F_RDONLY ? FMODE_READ : flags & BPF_F_WRONLY ? FMODE_WRITE : FMODE_RW;
}

function nextId(cmd: string, attr: { startId: number }, ids: number[]): number {
  checkAttr(cmd, attr, 'BPF_GET_NEXT_ID');
  const start = u32(cmd, 'start_id', attr.startId);
  if (start >= INT_MAX) fail('EINVAL', `${cmd}: start_id ${start} >= INT_MAX`);
  let best = Infinity;
  for (const id of ids) if (id > start && id < best) best = id;
  if (best === Infinity) fail('ENOENT', `${cmd}: no id after ${start}`);
  return best;
}

function decodeInsns(cmd: string, bytes: Uint8Array): Insn[] {
  if (bytes.length % 8 !== 0) fail('EINVAL', `${cmd}: ${bytes.length} bytes of instructions is not a multiple of 8`);
  return decode(bytes);
}

/** bpf_insn_prepare_dump: lddw map references show the map id (and value offset) instead of addresses. */
export function xlatedForDump(prog: BpfProg): Insn[] {
  const out = prog.xlated.map((i) => ({ ...i }));
  for (let i = 0; i < out.length; i++) {
    const ins = out[i];
    if (ins.code !== OP_LDDW) continue;
    if (ins.src === BPF_PSEUDO_MAP_FD || ins.src === BPF_PSEUDO_MAP_VALUE) {
      const addr = ins.imm >>> 0;
      const map = prog.usedMaps.find((m) => m.handle === addr) ??
        prog.usedMaps.find((m) => valueRange(m, addr));
      if (map !== undefined) {
        const off = ins.src === BPF_PSEUDO_MAP_VALUE ? addr - (map as unknown as { valueAddr(i: number): number }).valueAddr(0) : 0;
        ins.imm = map.id;
        out[i + 1].imm = off;
      }
    }
    i++;
  }
  return out;
}

function valueRange(m: BpfMap, addr: number): boolean {
  const va = (m as unknown as { valueAddr?: (i: number) => number }).valueAddr;
  if (typeof va !== 'function') return false;
  const base = va.call(m, 0);
  return addr >= base && addr < base + m.valueSize;
}

function progInfo(p: BpfProg): ProgInfo {
  return {
    kind: 'prog', type: p.type, id: p.id, tag: p.tag, name: p.name, jitedProgLen: 0, xlatedProgLen: p.xlated.length * 8,
    xlatedProgInsns: xlatedForDump(p), loadTime: p.loadTime, createdByUid: 0, mapIds: p.usedMaps.map((m) => m.id),
    nrMapIds: p.usedMaps.length, gplCompatible: p.gplCompatible, runTimeNs: p.runTimeNs, runCnt: p.runCnt,
    verifiedInsns: p.insns.length, nrLineInfo: p.lineInfo.length, expectedAttachType: p.expectedAttachType,
  };
}

function mapInfo(m: BpfMap): MapInfo {
  return {
    kind: 'map', type: m.type, id: m.id, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries,
    mapFlags: m.flags, name: m.name, frozen: m.frozen, mapExtra: 0, btfId: 0, btfKeyTypeId: 0, btfValueTypeId: 0,
  };
}

/**
 * The XDP runner of virtual interfaces (src/net/runner.ts) for runtimes with a chain core: the program's
 * whole chain runs, each hop reported to the interface's counters. Installed once, and only over the
 * default runner (a runner someone installed on purpose stays).
 */
const chainXdpRunner: XdpProgramRunner = (rt, prog, ctx, obs) => {
  if (rt.stats) prog.runCnt++;
  return rt.chains.run(prog, ctx, obs);
};

function installChainXdpRunner(): void {
  if (getXdpProgramRunner() === defaultXdpProgramRunner) setXdpProgramRunner(chainXdpRunner);
}

// Several XDP programs on one device: the two policies that replaced chain calls, on the same hook core
// (XdpHook, runner.ts). Both build a new immutable hook for every change and swap it in with one assignment,
// so a frame runs entirely on the old set or entirely on the new one.
//
// libxdp's dispatcher (xdp-tools lib/libxdp/libxdp.c, xdp-dispatcher.c):
// - up to MAX_DISPATCHER_ACTIONS (10) programs, sorted by cmp_xdp_programs: run priority (unsigned, low
//   first, default 50), then strcmp of the names, then already-loaded before not-yet-loaded, then (two
//   programs that come from objects) instruction count, then the tag bytes, then the load time; ties left
//   equal keep their attach order (JavaScript's sort is stable; qsort is not, the order is then undefined);
// - each program has a chain_call_actions bitmask (default 1 << XDP_PASS); the dispatcher config holds it
//   with bit 31 (XDP_DISPATCHER_RETVAL, what an empty slot returns) added. After program i returns ret, the
//   dispatcher continues if bit `ret & 31` of its mask is set (the BPF shift `1U << ret` takes the amount
//   mod 32: a program returning -1 therefore continues, through bit 31) and otherwise returns ret; after the
//   last program it returns XDP_PASS;
// - xdp_program__attach_multi adds programs to what the device runs (EINVAL: no programs or flags; E2BIG:
//   more than 10 in total; EBUSY: the device runs a program without a dispatcher); detach_multi removes
//   them by program id (ENOENT: no dispatcher, or a program not in it; EINVAL: a program never loaded),
//   and removing all of them removes the dispatcher. Attaching a program that is already attached adds it
//   once more (libxdp re-attaches the loaded freplace program); detaching it removes every copy. Priorities and actions are copied into the dispatcher
//   when it is built; changing them afterwards is EINVAL (libxdp: the program is loaded).
//   Run config from an object's `.xdp_run_config` BTF section is not read: set it with setRunPrio /
//   setChainCallEnabled.
//
// bpf_mprog (kernel/bpf/mprog.c, include/linux/bpf_mprog.h, tcx_prog_attach/detach in net/core/...): an
// ordered list of up to 63 programs per device with a revision counter that starts at 1 and grows with
// every change; the list (and its revision) disappears when its last program is detached. Attach with
// BPF_F_BEFORE / BPF_F_AFTER relative to a program (fd, or id with BPF_F_ID; none: front/back),
// BPF_F_REPLACE of a program given by fd, guarded by expected_revision. The errno of every case is the
// kernel's, in the kernel's order. Links (BPF_F_LINK) are not modelled: a link fd or id never resolves.
// Running: XDP has no mprog in the kernel, so tsbpf borrows tcx's rule: a program returning -1 (u32
// 0xffffffff, TCX_NEXT) hands the frame to the next program; any other value is the verdict; when every
// program says "next" (or the list is empty) the verdict is XDP_PASS, as TCX_NEXT at the end lets the
// packet continue into the stack.

import { BpfError, fail } from '../errors.js';
import type { BpfProg } from '../syscall/prog.js';
import { BPF_PROG_TYPE, XDP_PASS } from '../uapi/bpf.js';
import type { NetDevice, ProgLike, XdpHook } from './netdev.js';

// ===================================================================================================== libxdp

export const XDP_DEFAULT_RUN_PRIO = 50;
export const XDP_DEFAULT_CHAIN_CALL_ACTIONS = 1 << XDP_PASS;
export const MAX_DISPATCHER_ACTIONS = 10;
export const XDP_DISPATCHER_RETVAL = 31;

/** What cmp_xdp_programs compares. */
export interface XdpProgramOrderKey {
  readonly runPrio: number;
  readonly name: string;
  /** prog_fd >= 0: loaded into the kernel (every program of a dispatcher; a new one once attached). */
  readonly loaded: boolean;
  /** bpf_prog != NULL: the program comes from an object (not read back from a dispatcher). */
  readonly fromObject: boolean;
  /** bpf_program__insn_cnt, compared when both come from objects. */
  readonly insnCnt: number;
  /** prog_tag as 16 hex digits (zeros until loaded). */
  readonly tag: string;
  /** load_time (0 until loaded). */
  readonly loadTime: number;
}

const strcmp = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);

/** libxdp's cmp_xdp_programs. */
export function cmpXdpPrograms(a: XdpProgramOrderKey, b: XdpProgramOrderKey): number {
  if (a.runPrio !== b.runPrio) return a.runPrio < b.runPrio ? -1 : 1;
  const c = strcmp(a.name, b.name);
  if (c !== 0) return c;
  if (a.loaded && !b.loaded) return -1;
  if (!a.loaded && b.loaded) return 1;
  if (a.fromObject && b.fromObject && a.insnCnt !== b.insnCnt) return a.insnCnt < b.insnCnt ? -1 : 1;
  const t = strcmp(a.tag, b.tag); // memcmp of the tag bytes = order of their lowercase hex
  if (t !== 0) return t;
  if (a.loadTime !== b.loadTime) return a.loadTime < b.loadTime ? -1 : 1;
  return 0;
}

const ZERO_TAG = '0000000000000000';

/** libxdp's struct xdp_program: a program with its run priority and chain-call actions. */
export class XdpProgram implements XdpProgramOrderKey {
  readonly prog: BpfProg;
  readonly name: string;
  readonly fromObject = true;
  private prio = XDP_DEFAULT_RUN_PRIO;
  private actions = XDP_DEFAULT_CHAIN_CALL_ACTIONS;
  private isLoaded = false;

  /**
   * `prog`: the runtime's program or a lib BpfProgram (whose full name is used, as libxdp reads it from
   * BTF when the kernel's 15-character name was truncated).
   */
  constructor(prog: BpfProg | { readonly prog: BpfProg; readonly name: string }, opts: { runPrio?: number; chainCallActions?: number } = {}) {
    if ('program' in prog) {
      this.prog = prog;
      this.name = prog.name;
    } else {
      this.prog = prog.prog;
      this.name = prog.name;
    }
    if (opts.runPrio !== undefined) this.setRunPrio(opts.runPrio);
    if (opts.chainCallActions !== undefined) {
      const m = opts.chainCallActions;
      if (!Number.isInteger(m) || m < 0 || m > 0x7fffffff) fail('EINVAL', `chain_call_actions 0x${m.toString(16)} uses bit 31 or more`);
      this.actions = m;
    }
  }

  get runPrio(): number {
    return this.prio;
  }
  get chainCallActions(): number {
    return this.actions;
  }
  get loaded(): boolean {
    return this.isLoaded;
  }
  get insnCnt(): number {
    return this.prog.insns.length;
  }
  get tag(): string {
    return this.isLoaded ? this.prog.tag : ZERO_TAG;
  }
  get loadTime(): number {
    return this.isLoaded ? this.prog.loadTime : 0;
  }
  /** prog_id: 0 until loaded. */
  get id(): number {
    return this.isLoaded ? this.prog.id : 0;
  }

  /** xdp_program__set_run_prio (EINVAL once loaded, or not an unsigned int). */
  setRunPrio(prio: number): void {
    if (this.isLoaded) fail('EINVAL', `${this.name}: the run priority cannot change once the program is loaded`);
    if (!Number.isInteger(prio) || prio < 0 || prio > 0xffffffff) fail('EINVAL', `run priority ${prio} is not an unsigned int`);
    this.prio = prio;
  }

  /** xdp_program__chain_call_enabled */
  chainCallEnabled(action: number): boolean {
    if (!Number.isInteger(action) || action < 0 || action >= XDP_DISPATCHER_RETVAL) return false;
    return (this.actions & (1 << action)) !== 0;
  }

  /** xdp_program__set_chain_call_enabled (EINVAL once loaded or for action >= 31). */
  setChainCallEnabled(action: number, enabled: boolean): void {
    if (this.isLoaded) fail('EINVAL', `${this.name}: chain call actions cannot change once the program is loaded`);
    if (!Number.isInteger(action) || action < 0 || action >= XDP_DISPATCHER_RETVAL) fail('EINVAL', `action ${action} is outside 0..30`);
    this.actions = enabled ? (this.actions | (1 << action)) >>> 0 : this.actions & ~(1 << action);
  }

  /** Called when an attach succeeded: libxdp's xdp_program__load filled in prog_fd. */
  markLoaded(): void {
    this.isLoaded = true;
  }
}

/** One program of a built dispatcher, as libxdp reads it back (loaded, no bpf_program). */
export interface DispatcherEntry extends XdpProgramOrderKey {
  readonly prog: BpfProg;
  /** chain_call_actions without bit 31. */
  readonly chainCallActions: number;
}

let dispatcherIds = 0;

/** A generated dispatcher: the sorted programs and their config, fixed for its lifetime. */
export class XdpDispatcher implements XdpHook {
  readonly kind = 'libxdp';
  /** Increases with every generated dispatcher (what a new dispatcher program id would tell apart). */
  readonly id: number;
  readonly entries: readonly DispatcherEntry[];
  private readonly progs: readonly BpfProg[];
  /** conf.chain_call_actions: the program's mask | 1 << XDP_DISPATCHER_RETVAL. */
  private readonly masks: Uint32Array;

  constructor(entries: readonly DispatcherEntry[]) {
    this.id = ++dispatcherIds;
    this.entries = Object.freeze([...entries]);
    this.progs = Object.freeze(entries.map((e) => e.prog));
    this.masks = new Uint32Array(entries.map((e) => (e.chainCallActions | (1 << XDP_DISPATCHER_RETVAL)) >>> 0));
  }

  programs(): readonly BpfProg[] {
    return this.progs;
  }

  /** conf.run_prios */
  get runPrios(): number[] {
    return this.entries.map((e) => e.runPrio);
  }

  run(dev: NetDevice, ctx: number): number {
    const progs = this.progs, masks = this.masks, net = dev.net;
    for (let i = 0; i < progs.length; i++) {
      const ret = net.runProgram(progs[i], ctx, dev) >>> 0;
      if (((1 << (ret & 31)) & masks[i]) === 0) return ret;
    }
    return XDP_PASS;
  }
}

function currentDispatcher(dev: NetDevice, cmd: string): XdpDispatcher | null {
  const h = dev.hook;
  if (h === null) return null;
  if (!(h instanceof XdpDispatcher)) {
    fail('EBUSY', `${cmd}: ${dev.name} runs ${h.kind === 'single' ? 'a program without a dispatcher' : `the '${h.kind}' policy`}; unload it first`);
  }
  return h;
}

const entryOf = (p: XdpProgram): DispatcherEntry => ({
  prog: p.prog, name: p.name, runPrio: p.runPrio, chainCallActions: p.chainCallActions, loaded: true, fromObject: false,
  insnCnt: p.insnCnt, tag: p.prog.tag, loadTime: p.prog.loadTime,
});

/**
 * xdp_program__attach_multi: add `progs` to the programs `dev` runs and swap in a new dispatcher. Returns it.
 */
export function xdpAttachMulti(dev: NetDevice, progs: readonly XdpProgram[], flags = 0): XdpDispatcher {
  const cmd = 'xdp_program__attach_multi';
  if (progs.length === 0 || flags !== 0) fail('EINVAL', `${cmd}: ${progs.length === 0 ? 'no programs' : `flags 0x${flags.toString(16)} must be 0`}`);
  for (const p of progs) dev.net.resolveProg(cmd, p.prog);
  const old = currentDispatcher(dev, cmd);
  const total = (old?.entries.length ?? 0) + progs.length;
  if (total > MAX_DISPATCHER_ACTIONS) fail('E2BIG', `${cmd}: ${total} programs, a dispatcher runs at most ${MAX_DISPATCHER_ACTIONS}`);
  const all: XdpProgramOrderKey[] = [...(old?.entries ?? []), ...progs];
  all.sort(cmpXdpPrograms);
  const entries = all.map((k) => (k instanceof XdpProgram ? entryOf(k) : (k as DispatcherEntry)));
  const d = new XdpDispatcher(entries);
  dev.setHook(d);
  for (const p of progs) p.markLoaded();
  return d;
}

/** xdp_program__attach */
export function xdpAttach(dev: NetDevice, prog: XdpProgram, flags = 0): XdpDispatcher {
  return xdpAttachMulti(dev, [prog], flags);
}

/**
 * xdp_program__detach_multi: remove `progs` (by program id) from what `dev` runs. Removing every program
 * removes the dispatcher. Returns the new dispatcher, or null when none is left.
 */
export function xdpDetachMulti(dev: NetDevice, progs: readonly XdpProgram[], flags = 0): XdpDispatcher | null {
  const cmd = 'xdp_program__detach_multi';
  if (progs.length === 0 || flags !== 0) fail('EINVAL', `${cmd}: ${progs.length === 0 ? 'no programs' : `flags 0x${flags.toString(16)} must be 0`}`);
  const old = currentDispatcher(dev, cmd);
  if (old === null) fail('ENOENT', `${cmd}: no XDP dispatcher on ${dev.name}`);
  progs.forEach((p, i) => {
    if (p.id === 0) fail('EINVAL', `${cmd}: program ${i} (${p.name}) is not loaded`);
    if (!old.entries.some((e) => e.prog.id === p.id)) fail('ENOENT', `${cmd}: no program with id ${p.id} on ${dev.name}`);
  });
  if (progs.length === old.entries.length) {
    dev.setHook(null);
    return null;
  }
  const ids = new Set(progs.map((p) => p.id));
  const d = new XdpDispatcher(old.entries.filter((e) => !ids.has(e.prog.id)));
  dev.setHook(d.entries.length === 0 ? null : d);
  return d.entries.length === 0 ? null : d;
}

/** xdp_program__detach */
export function xdpDetach(dev: NetDevice, prog: XdpProgram, flags = 0): XdpDispatcher | null {
  return xdpDetachMulti(dev, [prog], flags);
}

/** xdp_multiprog__get_from_ifindex: the dispatcher `dev` runs (ENOENT: none; EBUSY: another policy). */
export function xdpMultiprog(dev: NetDevice): XdpDispatcher {
  const d = currentDispatcher(dev, 'xdp_multiprog__get_from_ifindex');
  if (d === null) fail('ENOENT', `no XDP program on ${dev.name}`);
  return d;
}

// ===================================================================================================== mprog

export const BPF_F_REPLACE = 1 << 2;
export const BPF_F_BEFORE = 1 << 3;
export const BPF_F_AFTER = 1 << 4;
export const BPF_F_ID = 1 << 5;
export const BPF_F_LINK = 1 << 13;
export const BPF_F_ATTACH_MASK_MPROG = BPF_F_REPLACE | BPF_F_BEFORE | BPF_F_AFTER | BPF_F_ID | BPF_F_LINK;
/** BPF_MPROG_MAX: the entry array; one slot stays NULL, so 63 programs fit. */
export const BPF_MPROG_MAX = 64;
const MPROG_MAX = BPF_MPROG_MAX - 1;
/** TCX_NEXT (-1) as the u32 an XDP program returns: run the next program. */
export const XDP_MPROG_NEXT = 0xffffffff;

/** BPF_PROG_ATTACH attr fields for an mprog attach point (camelCase of union bpf_attr). */
export interface MprogAttachAttr {
  attachBpfFd: number;
  attachFlags?: number;
  /** relative_fd / relative_id share one field in the kernel: give one. */
  relativeFd?: number;
  relativeId?: number;
  replaceBpfFd?: number;
  expectedRevision?: number;
}

/** BPF_PROG_DETACH attr fields (attachBpfFd 0/absent: detach by position). */
export interface MprogDetachAttr {
  attachBpfFd?: number;
  attachFlags?: number;
  relativeFd?: number;
  relativeId?: number;
  expectedRevision?: number;
}

export interface MprogQueryAttr {
  queryFlags?: number;
  attachFlags?: number;
  /** Size of the prog_ids buffer: absent, all ids; 0, none (count and revision only). */
  count?: number;
}

export interface MprogQueryResult {
  progIds: number[];
  revision: number;
  count: number;
}

/** bpf_mprog_bundle's shared part: the revision lives as long as the list has programs. */
class MprogBundle {
  revision = 1;
}

/** The active bpf_mprog_entry of a device: an immutable program list. */
export class MprogHook implements XdpHook {
  readonly kind = 'mprog';
  readonly progs: readonly BpfProg[];
  readonly bundle: MprogBundle;

  constructor(bundle: MprogBundle, progs: readonly BpfProg[]) {
    this.bundle = bundle;
    this.progs = Object.freeze([...progs]);
  }

  programs(): readonly BpfProg[] {
    return this.progs;
  }

  get revision(): number {
    return this.bundle.revision;
  }

  run(dev: NetDevice, ctx: number): number {
    const progs = this.progs, net = dev.net;
    for (let i = 0; i < progs.length; i++) {
      const ret = net.runProgram(progs[i], ctx, dev) >>> 0;
      if (ret !== XDP_MPROG_NEXT) return ret;
    }
    return XDP_PASS;
  }
}

function mprogEntry(dev: NetDevice, cmd: string): MprogHook | null {
  const h = dev.hook;
  if (h === null) return null;
  if (!(h instanceof MprogHook)) fail('EBUSY', `${cmd}: ${dev.name} runs the '${h.kind}' policy; detach it first`);
  return h;
}

function flagsOf(cmd: string, v: number | undefined): number {
  const f = v ?? 0;
  if (!Number.isInteger(f) || f < 0 || (f & ~BPF_F_ATTACH_MASK_MPROG) !== 0) {
    fail('EINVAL', `${cmd}: attach_flags 0x${f.toString(16)} has bits outside BPF_F_REPLACE|BEFORE|AFTER|ID|LINK`);
  }
  return f;
}

function relativeOf(cmd: string, attr: { relativeFd?: number; relativeId?: number }): number {
  const fd = attr.relativeFd ?? 0, id = attr.relativeId ?? 0;
  if (fd !== 0 && id !== 0) fail('EINVAL', `${cmd}: relative_fd and relative_id are one field; give one`);
  return fd !== 0 ? fd : id;
}

/** bpf_prog_get_type: the program behind an fd, of the hook's type. */
function progOfType(dev: NetDevice, cmd: string, fd: number, what: string): BpfProg {
  const p = dev.net.rt.progFromFd(cmd, fd);
  if (p.type !== BPF_PROG_TYPE.BPF_PROG_TYPE_XDP) fail('EINVAL', `${cmd}: ${what} fd ${fd} is ${p.typeName}, not XDP`);
  return p;
}

/** bpf_mprog_tuple_relative: the relative program (null: none given). */
function tupleRelative(dev: NetDevice, cmd: string, idOrFd: number, flags: number, type: number): BpfProg | null {
  const byId = (flags & BPF_F_ID) !== 0;
  if ((flags & BPF_F_LINK) !== 0) {
    // bpf_mprog_link: no BPF links exist here, so nothing resolves.
    if (byId) fail('ENOENT', `${cmd}: no BPF link with id ${idOrFd}`);
    if (idOrFd === 0) fail('EINVAL', `${cmd}: BPF_F_LINK without a relative link`);
    dev.net.rt.fds.get(idOrFd) ?? fail('EBADF', `${cmd}: fd ${idOrFd} is not open`);
    fail('EINVAL', `${cmd}: fd ${idOrFd} is not a BPF link`);
  }
  if (!byId && idOrFd === 0) return null;
  let p: BpfProg;
  if (byId) {
    const found = dev.net.rt.programs().find((x) => x.id === idOrFd);
    if (found === undefined) fail('ENOENT', `${cmd}: no program with id ${idOrFd}`);
    p = found;
  } else {
    p = dev.net.rt.progFromFd(cmd, idOrFd);
  }
  if (type !== 0 && p.type !== type) fail('EINVAL', `${cmd}: relative program ${p.name} (id ${p.id}) is ${p.typeName}, not of the attached program's type`);
  return p;
}

/** bpf_mprog_pos_before / _after / _exact over a list. */
function posBefore(list: readonly BpfProg[], rel: BpfProg | null): number {
  const i = rel === null ? -1 : list.indexOf(rel);
  if (rel !== null && i < 0) return -2; // -ENOENT
  return rel === null ? -1 : i - 1;
}
function posAfter(list: readonly BpfProg[], rel: BpfProg | null): number {
  const i = rel === null ? -1 : list.indexOf(rel);
  if (rel !== null && i < 0) return -2;
  return rel === null ? list.length : i + 1;
}

/** Combine the position rules (idx -ERANGE stands for "unset"), the kernel's bpf_mprog_attach/detach core. */
function position(cmd: string, list: readonly BpfProg[], start: number, flags: number, rel: BpfProg | null, relName: string): [number, number] {
  const UNSET = -1000;
  let idx = start;
  if ((flags & BPF_F_BEFORE) !== 0) {
    const t = posBefore(list, rel);
    if (t === -2) fail('ENOENT', `${cmd}: relative program ${relName} is not attached`);
    if (idx >= -1 && t !== idx) fail('ERANGE', `${cmd}: BPF_F_BEFORE ${relName} contradicts the other position rules`);
    idx = t;
  }
  if ((flags & BPF_F_AFTER) !== 0) {
    const t = posAfter(list, rel);
    if (t === -2) fail('ENOENT', `${cmd}: relative program ${relName} is not attached`);
    if (idx >= -1 && t !== idx) fail('ERANGE', `${cmd}: BPF_F_AFTER ${relName} contradicts the other position rules`);
    idx = t;
  }
  if (idx === UNSET) {
    if (rel !== null || flags !== 0) fail('EINVAL', `${cmd}: a relative program needs BPF_F_BEFORE or BPF_F_AFTER`);
    idx = list.length;
    flags = BPF_F_AFTER;
  }
  if (idx >= MPROG_MAX) fail('ERANGE', `${cmd}: position ${idx} is past the last of ${MPROG_MAX} slots`);
  return [idx, flags];
}

const UNSET_IDX = -1000;

/** BPF_PROG_ATTACH of an XDP program to `dev`'s bpf_mprog list. */
export function mprogAttach(dev: NetDevice, attr: MprogAttachAttr): void {
  const cmd = 'BPF_PROG_ATTACH';
  const flags = flagsOf(cmd, attr.attachFlags);
  const prog = progOfType(dev, cmd, attr.attachBpfFd, 'attach_bpf');
  dev.net.resolveProg(cmd, prog);
  const replaceProg = (flags & BPF_F_REPLACE) !== 0 ? progOfType(dev, cmd, attr.replaceBpfFd ?? 0, 'replace_bpf') : null;
  const entry = mprogEntry(dev, cmd);
  const bundle = entry?.bundle ?? new MprogBundle();
  const list = entry?.progs ?? [];
  const rev = attr.expectedRevision ?? 0;
  if (rev !== 0 && rev !== bundle.revision) fail('ESTALE', `${cmd}: expected revision ${rev}, the list is at ${bundle.revision}`);
  if (list.includes(prog)) fail('EEXIST', `${cmd}: program ${prog.name} (id ${prog.id}) is already attached`);
  const rel = tupleRelative(dev, cmd, relativeOf(cmd, attr), flags & ~BPF_F_REPLACE, prog.type);
  const relName = rel === null ? '(none)' : `${rel.name} (id ${rel.id})`;
  let idx = UNSET_IDX;
  if (replaceProg !== null) {
    idx = list.indexOf(replaceProg);
    if (idx < 0) fail('ENOENT', `${cmd}: program to replace ${replaceProg.name} (id ${replaceProg.id}) is not attached`);
  } else if (list.length === MPROG_MAX) {
    fail('ERANGE', `${cmd}: ${dev.name} already runs ${MPROG_MAX} programs`);
  }
  const [pos, how] = position(cmd, list, idx, flags, rel, relName);
  const next = [...list];
  if ((how & BPF_F_REPLACE) !== 0) {
    next[pos] = prog;
  } else if (pos === list.length) {
    next.push(prog);
  } else {
    next.splice((how & BPF_F_BEFORE) !== 0 ? pos + 1 : pos, 0, prog);
  }
  dev.setHook(new MprogHook(bundle, next));
  bundle.revision++;
}

/** BPF_PROG_DETACH from `dev`'s bpf_mprog list. */
export function mprogDetach(dev: NetDevice, attr: MprogDetachAttr = {}): void {
  const cmd = 'BPF_PROG_DETACH';
  const flags = flagsOf(cmd, attr.attachFlags);
  const prog = (attr.attachBpfFd ?? 0) !== 0 ? progOfType(dev, cmd, attr.attachBpfFd!, 'attach_bpf') : null;
  const entry = mprogEntry(dev, cmd);
  if (entry === null) fail('ENOENT', `${cmd}: no programs attached to ${dev.name}`);
  if ((flags & BPF_F_REPLACE) !== 0) fail('EINVAL', `${cmd}: BPF_F_REPLACE does not apply to detach`);
  const bundle = entry.bundle;
  const rev = attr.expectedRevision ?? 0;
  if (rev !== 0 && rev !== bundle.revision) fail('ESTALE', `${cmd}: expected revision ${rev}, the list is at ${bundle.revision}`);
  const list = entry.progs;
  if (list.length === 0) fail('ENOENT', `${cmd}: no programs attached to ${dev.name}`);
  const rel = tupleRelative(dev, cmd, relativeOf(cmd, attr), flags, prog?.type ?? 0);
  const relName = rel === null ? '(none)' : `${rel.name} (id ${rel.id})`;
  let idx = UNSET_IDX;
  if (prog !== null) {
    idx = list.indexOf(prog);
    if (idx < 0) fail('ENOENT', `${cmd}: program ${prog.name} (id ${prog.id}) is not attached`);
  }
  let [pos] = position(cmd, list, idx, flags, rel, relName);
  // bpf_mprog_fetch: -1 is the front, total the back.
  if (pos === -1) pos = 0;
  else if (pos === list.length) pos = list.length - 1;
  const next = list.filter((_, i) => i !== pos);
  bundle.revision++;
  // tcx frees the entry (and with it the revision) when its last program goes.
  dev.setHook(next.length === 0 ? null : new MprogHook(bundle, next));
}

/** BPF_PROG_QUERY of `dev`'s bpf_mprog list: ids in run order, count, revision (1 with no list). */
export function mprogQuery(dev: NetDevice, attr: MprogQueryAttr = {}): MprogQueryResult {
  const cmd = 'BPF_PROG_QUERY';
  if ((attr.queryFlags ?? 0) !== 0 || (attr.attachFlags ?? 0) !== 0) fail('EINVAL', `${cmd}: query_flags and attach_flags must be 0`);
  const entry = mprogEntry(dev, cmd);
  const ids = entry?.progs.map((p) => p.id) ?? [];
  const res: MprogQueryResult = { progIds: ids, revision: entry?.bundle.revision ?? 1, count: ids.length };
  if (attr.count === undefined) return res;
  if (attr.count === 0) return { ...res, progIds: [] };
  if (attr.count < ids.length) {
    const err = new BpfError('ENOSPC', `${cmd}: ${ids.length} programs, the buffer holds ${attr.count}`);
    (err as BpfError & { result?: MprogQueryResult }).result = { ...res, progIds: ids.slice(0, attr.count) };
    throw err;
  }
  return res;
}

/** Accept what callers hold for a program when they use fds: resolve to an fd in the device's runtime. */
export function progFdOf(dev: NetDevice, p: ProgLike): number {
  if (typeof p === 'number') return p;
  if ('fd' in p && typeof p.fd === 'number' && p.fd >= 0) return p.fd;
  fail('EINVAL', `bpf_mprog works with program fds; ${dev.name}: give the program's fd`);
}

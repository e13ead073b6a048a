// Map-in-map support (kernel/bpf/map_in_map.c): the inner-map template given at creation and the check that
// a map stored in an outer map is compatible with it (bpf_map_meta_equal, plus array_map_meta_equal's
// max_entries rule for arrays unless the template has BPF_F_INNER_MAP).

import { BPF_F_INNER_MAP, BPF_MAP_TYPE } from '../uapi/bpf.js';
import { fail } from '../errors.js';
import { BpfMap, E_INVAL } from './map.js';

const T = BPF_MAP_TYPE;

/** Validate the template of a new outer map (bpf_map_meta_alloc). */
export function checkInnerTemplate(inner: BpfMap | undefined, what: string): BpfMap {
  if (inner === undefined) fail('EBADF', `${what}: inner_map_fd does not name a map`);
  if (inner.type === T.BPF_MAP_TYPE_ARRAY_OF_MAPS || inner.type === T.BPF_MAP_TYPE_HASH_OF_MAPS) {
    fail('EINVAL', `${what}: the inner map is itself a map-in-map (only one level is supported)`);
  }
  if (inner.type === T.BPF_MAP_TYPE_PROG_ARRAY) {
    // prog_array has no map_meta_equal: its owner program type is a runtime binding.
    fail('ENOTSUPP', `${what}: a prog_array cannot be an inner map`);
  }
  return inner;
}

/** Why `map` cannot be stored in an outer map whose template is `meta`, or '' when it can. */
export function innerMismatch(meta: BpfMap, map: BpfMap): string {
  if (map.type !== meta.type) return `inner map type ${map.typeName} differs from the template's ${meta.typeName}`;
  if (map.keySize !== meta.keySize) return `inner key_size ${map.keySize} differs from the template's ${meta.keySize}`;
  if (map.valueSize !== meta.valueSize) return `inner value_size ${map.valueSize} differs from the template's ${meta.valueSize}`;
  if (map.flags !== meta.flags) return `inner map_flags 0x${map.flags.toString(16)} differ from the template's 0x${meta.flags.toString(16)}`;
  const isArray = meta.type === T.BPF_MAP_TYPE_ARRAY || meta.type === T.BPF_MAP_TYPE_PERCPU_ARRAY;
  if (isArray && !(meta.flags & BPF_F_INNER_MAP) && map.maxEntries !== meta.maxEntries) {
    return `inner max_entries ${map.maxEntries} differs from the template's ${meta.maxEntries} (no BPF_F_INNER_MAP)`;
  }
  return '';
}

/**
 * Resolve the inner map an fd-carrying user value names (u32 fd at `valueAddr`) and check it against the
 * template. Returns the map, or a negative errno with `outer.why` set.
 */
export function resolveInnerFd(outer: BpfMap, meta: BpfMap, valueAddr: number): BpfMap | number {
  const resolve = outer.registry.resolveMapFd;
  if (resolve === null) {
    outer.why = 'no fd table: pass map objects (updateInner) instead of fds';
    return -9; // EBADF
  }
  const fd = outer.space.dv.getUint32(valueAddr, true);
  const map = resolve(fd);
  return checkInner(outer, meta, map);
}

export function checkInner(outer: BpfMap, meta: BpfMap, map: BpfMap): BpfMap | number {
  if (map.registry !== outer.registry) {
    outer.why = 'inner map belongs to another runtime';
    return E_INVAL;
  }
  const why = innerMismatch(meta, map);
  if (why !== '') {
    outer.why = why;
    return E_INVAL;
  }
  return map;
}

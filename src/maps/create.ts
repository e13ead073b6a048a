// createMap: the MAP_CREATE command's attribute checks (syscall.c map_create + each type's map_alloc_check /
// map_alloc) with the kernel's errnos, then construction of the right map class.

import {
  BPF_F_INNER_MAP, BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY,
  BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_MAP_TYPE, BPF_OBJ_NAME_LEN, mapTypeName,
} from '../uapi/bpf.js';
import { BpfError, fail } from '../errors.js';
import type { ErrnoName } from '../uapi/errno.js';
import { MAX_PAGES, PAGE } from '../vm/memory.js';
import { BpfMap, KMALLOC_MAX_SIZE, type MapAttr, MapRegistry, NR_CPUS, PCPU_MIN_UNIT_SIZE, checkCpuCount, round8 } from './map.js';
import { ArrayMap } from './array.js';
import { HashMap } from './hash.js';
import { ArrayOfMapsMap, PerfEventArrayMap, ProgArrayMap } from './fd_array.js';
import { LpmTrieMap } from './lpm_trie.js';
import { QueueStackMap } from './queue_stack.js';
import { RingBufMap } from './ringbuf.js';
import { CpuMap, DevMap, DevMapHash } from './devmap.js';
import type { AddressSpace } from '../vm/memory.js';
import { checkInnerTemplate } from './map_in_map.js';

const T = BPF_MAP_TYPE;
/** BPF_F_PRESERVE_ELEMS (perf event arrays only). */
export const BPF_F_PRESERVE_ELEMS = 1 << 11;
const ACCESS_MASK = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
const ARRAY_MASK = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const HTAB_MASK = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;
const LPM_MASK = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS_MASK;
const QUEUE_MASK = BPF_F_NUMA_NODE | ACCESS_MASK;
const DEV_MASK = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
/** sizeof(struct htab_elem) on x86-64: bounds key_size + value_size. */
const HTAB_ELEM_SIZE = 48;
const LPM_KEY_SIZE_MIN = 4 + 1;
const LPM_KEY_SIZE_MAX = 4 + 256;
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - 256 - 24;
const INT_MAX = 0x7fffffff;

/** Types tsbpf knows by number but does not implement. */
const UNSUPPORTED = new Set<number>([
  T.BPF_MAP_TYPE_STACK_TRACE, T.BPF_MAP_TYPE_CGROUP_ARRAY, T.BPF_MAP_TYPE_SOCKMAP, T.BPF_MAP_TYPE_XSKMAP,
  T.BPF_MAP_TYPE_SOCKHASH, T.BPF_MAP_TYPE_CGROUP_STORAGE, T.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
  T.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, T.BPF_MAP_TYPE_SK_STORAGE, T.BPF_MAP_TYPE_STRUCT_OPS,
  T.BPF_MAP_TYPE_INODE_STORAGE, T.BPF_MAP_TYPE_TASK_STORAGE, T.BPF_MAP_TYPE_BLOOM_FILTER,
  T.BPF_MAP_TYPE_USER_RINGBUF,
]);

const isU32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0 && n <= 0x80000000;
const accessOk = (flags: number): boolean => (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);

/**
 * BPF_MAP_CREATE. Validates `attr` like the kernel (EINVAL for bad sizes/flags, E2BIG for oversized values,
 * ENOTSUPP/EBADF for map-in-map templates, ENOMEM when the address space cannot hold the preallocation) and
 * returns the map, registered in `registry` with a fresh id and handle.
 */
export function createMap(space: AddressSpace, registry: MapRegistry, attr: MapAttr): BpfMap {
  if (registry.space !== space) fail('EINVAL', 'MAP_CREATE: registry belongs to another address space');
  const { type, keySize, valueSize, maxEntries } = attr;
  const flags = attr.flags ?? 0;
  const name = attr.name ?? '';
  const what = `MAP_CREATE ${mapTypeName(type)}${name ? ` '${name}'` : ''}`;
  const bad = (code: ErrnoName, msg: string): never => {
    throw new BpfError(code, `${what}: ${msg}`);
  };
  if (!isU32(type)) bad('EINVAL', `map type ${String(type)} is not a u32`);
  if (!isU32(keySize) || !isU32(valueSize) || !isU32(maxEntries) || !isU32(flags)) {
    bad('EINVAL', 'key_size, value_size, max_entries and map_flags must be u32 integers');
  }
  if (name.length >= BPF_OBJ_NAME_LEN) bad('EINVAL', `name '${name}' is longer than ${BPF_OBJ_NAME_LEN - 1} characters`);
  if (!/^[A-Za-z0-9_.]*$/.test(name)) bad('EINVAL', `name '${name}' may only hold letters, digits, '_' and '.'`);
  if (attr.nCpus !== undefined) checkCpuCount(attr.nCpus);
  const nCpus = attr.nCpus ?? registry.nCpus;
  if ((flags & BPF_F_RDONLY) && (flags & BPF_F_WRONLY)) bad('EINVAL', 'BPF_F_RDONLY and BPF_F_WRONLY together');
  if (UNSUPPORTED.has(type)) bad('EOPNOTSUPP', 'this map type is not implemented by tsbpf');

  // Refuse sizes the address space cannot hold before allocating any typed array.
  const limit = MAX_PAGES * PAGE;
  const checkMem = (bytes: number): void => {
    if (bytes > limit) bad('ENOMEM', `needs ${bytes} bytes, more than the ${limit}-byte address space`);
  };
  const full: MapAttr = { ...attr, flags, name, nCpus };

  switch (type) {
    case T.BPF_MAP_TYPE_ARRAY:
    case T.BPF_MAP_TYPE_PERCPU_ARRAY:
    case T.BPF_MAP_TYPE_PROG_ARRAY:
    case T.BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    case T.BPF_MAP_TYPE_ARRAY_OF_MAPS: {
      const fdArray = type === T.BPF_MAP_TYPE_PROG_ARRAY || type === T.BPF_MAP_TYPE_PERF_EVENT_ARRAY || type === T.BPF_MAP_TYPE_ARRAY_OF_MAPS;
      const percpu = type === T.BPF_MAP_TYPE_PERCPU_ARRAY;
      if (fdArray) {
        if (valueSize !== 4) bad('EINVAL', `value_size must be 4 (an fd), got ${valueSize}`);
        if (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) bad('EINVAL', 'BPF_F_RDONLY_PROG/BPF_F_WRONLY_PROG are not supported for fd arrays');
      }
      if (maxEntries === 0) bad('EINVAL', 'max_entries is 0');
      if (keySize !== 4) bad('EINVAL', `key_size must be 4, got ${keySize}`);
      if (valueSize === 0) bad('EINVAL', 'value_size is 0');
      if (flags & ~ARRAY_MASK) bad('EINVAL', `unknown map_flags 0x${(flags & ~ARRAY_MASK).toString(16)}`);
      if (!accessOk(flags)) bad('EINVAL', 'BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together');
      if (percpu && flags & BPF_F_NUMA_NODE) bad('EINVAL', 'BPF_F_NUMA_NODE on a per-CPU map');
      if (type !== T.BPF_MAP_TYPE_ARRAY && flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) {
        bad('EINVAL', 'BPF_F_MMAPABLE/BPF_F_INNER_MAP are only for BPF_MAP_TYPE_ARRAY');
      }
      if (type !== T.BPF_MAP_TYPE_PERF_EVENT_ARRAY && flags & BPF_F_PRESERVE_ELEMS) {
        bad('EINVAL', 'BPF_F_PRESERVE_ELEMS is only for perf event arrays');
      }
      if (valueSize > INT_MAX) bad('E2BIG', `value_size ${valueSize} too large`);
      if (percpu && round8(valueSize) > PCPU_MIN_UNIT_SIZE) bad('E2BIG', `per-CPU value_size ${valueSize} > ${PCPU_MIN_UNIT_SIZE}`);
      checkMem(maxEntries * (fdArray ? 8 : round8(valueSize) * (percpu ? nCpus : 1)));
      if (type === T.BPF_MAP_TYPE_PROG_ARRAY) return new ProgArrayMap(registry, full);
      if (type === T.BPF_MAP_TYPE_PERF_EVENT_ARRAY) return new PerfEventArrayMap(registry, full);
      if (type === T.BPF_MAP_TYPE_ARRAY_OF_MAPS) return new ArrayOfMapsMap(registry, full, checkInnerTemplate(attr.inner, what));
      return new ArrayMap(registry, full, percpu);
    }

    case T.BPF_MAP_TYPE_HASH:
    case T.BPF_MAP_TYPE_PERCPU_HASH:
    case T.BPF_MAP_TYPE_LRU_HASH:
    case T.BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case T.BPF_MAP_TYPE_HASH_OF_MAPS: {
      const percpu = type === T.BPF_MAP_TYPE_PERCPU_HASH || type === T.BPF_MAP_TYPE_LRU_PERCPU_HASH;
      const lru = type === T.BPF_MAP_TYPE_LRU_HASH || type === T.BPF_MAP_TYPE_LRU_PERCPU_HASH;
      const percpuLru = (flags & BPF_F_NO_COMMON_LRU) !== 0;
      if (type === T.BPF_MAP_TYPE_HASH_OF_MAPS && valueSize !== 4) bad('EINVAL', `value_size must be 4 (an fd), got ${valueSize}`);
      if (flags & ~HTAB_MASK) bad('EINVAL', `unknown map_flags 0x${(flags & ~HTAB_MASK).toString(16)}`);
      if (!accessOk(flags)) bad('EINVAL', 'BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together');
      if (!lru && percpuLru) bad('EINVAL', 'BPF_F_NO_COMMON_LRU on a map that is not LRU');
      if (lru && flags & BPF_F_NO_PREALLOC) bad('ENOTSUPP', 'LRU maps must be preallocated (no BPF_F_NO_PREALLOC)');
      if (flags & BPF_F_NUMA_NODE && (percpu || percpuLru)) bad('EINVAL', 'BPF_F_NUMA_NODE on a per-CPU map');
      if (maxEntries === 0) bad('EINVAL', 'max_entries is 0');
      if (keySize === 0) bad('EINVAL', 'key_size is 0');
      if (valueSize === 0) bad('EINVAL', 'value_size is 0');
      if (keySize + valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) bad('E2BIG', `key_size + value_size ${keySize + valueSize} too large`);
      if (percpu && round8(valueSize) > PCPU_MIN_UNIT_SIZE) bad('E2BIG', `per-CPU value_size ${valueSize} > ${PCPU_MIN_UNIT_SIZE}`);
      let entries = maxEntries;
      if (percpuLru) {
        // Each CPU's LRU list gets an equal share: round max_entries to a multiple of the CPU count.
        entries = Math.ceil(maxEntries / nCpus) * nCpus;
        if (entries > 0xffffffff) entries = Math.floor(maxEntries / nCpus) * nCpus;
        if (entries === 0) bad('E2BIG', `max_entries ${maxEntries} rounds to 0 over ${nCpus} CPU lists`);
      }
      if (entries > 0x80000000) bad('E2BIG', `max_entries ${entries} > 2^31`);
      checkMem((entries + 1) * (round8(keySize) + round8(valueSize) * (percpu ? nCpus : 1) + 24));
      let inner: BpfMap | null = null;
      if (type === T.BPF_MAP_TYPE_HASH_OF_MAPS) inner = checkInnerTemplate(attr.inner, what);
      return new HashMap(registry, { ...full, maxEntries: entries }, percpu, lru, inner);
    }

    case T.BPF_MAP_TYPE_LPM_TRIE: {
      if (maxEntries === 0) bad('EINVAL', 'max_entries is 0');
      if (!(flags & BPF_F_NO_PREALLOC)) bad('EINVAL', 'LPM tries need BPF_F_NO_PREALLOC');
      if (flags & ~LPM_MASK) bad('EINVAL', `unknown map_flags 0x${(flags & ~LPM_MASK).toString(16)}`);
      if (!accessOk(flags)) bad('EINVAL', 'BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together');
      if (keySize < LPM_KEY_SIZE_MIN || keySize > LPM_KEY_SIZE_MAX) {
        bad('EINVAL', `key_size must be 4 + 1..256 data bytes (struct bpf_lpm_trie_key), got ${keySize}`);
      }
      if (valueSize < 1 || valueSize > LPM_VAL_SIZE_MAX) bad('EINVAL', `value_size ${valueSize} out of range`);
      checkMem((2 * maxEntries + 1) * (round8(valueSize) + keySize + 16));
      return new LpmTrieMap(registry, full);
    }

    case T.BPF_MAP_TYPE_QUEUE:
    case T.BPF_MAP_TYPE_STACK: {
      if (maxEntries === 0) bad('EINVAL', 'max_entries is 0');
      if (keySize !== 0) bad('EINVAL', `key_size must be 0, got ${keySize}`);
      if (valueSize === 0) bad('EINVAL', 'value_size is 0');
      if (flags & ~QUEUE_MASK) bad('EINVAL', `unknown map_flags 0x${(flags & ~QUEUE_MASK).toString(16)}`);
      if (!accessOk(flags)) bad('EINVAL', 'BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together');
      if (valueSize > KMALLOC_MAX_SIZE) bad('E2BIG', `value_size ${valueSize} too large`);
      checkMem((maxEntries + 1) * valueSize);
      return new QueueStackMap(registry, full, type === T.BPF_MAP_TYPE_STACK);
    }

    case T.BPF_MAP_TYPE_RINGBUF: {
      if (flags & ~BPF_F_NUMA_NODE) bad('EINVAL', `unknown map_flags 0x${(flags & ~BPF_F_NUMA_NODE).toString(16)}`);
      if (keySize !== 0 || valueSize !== 0) bad('EINVAL', 'key_size and value_size must be 0');
      if (!isPow2(maxEntries) || maxEntries % 4096 !== 0) {
        bad('EINVAL', `max_entries ${maxEntries} must be a power of 2 and a multiple of the 4096-byte page`);
      }
      checkMem(2 * maxEntries + 3 * 4096);
      return new RingBufMap(registry, full);
    }

    case T.BPF_MAP_TYPE_DEVMAP:
    case T.BPF_MAP_TYPE_DEVMAP_HASH: {
      if (maxEntries === 0) bad('EINVAL', 'max_entries is 0');
      if (keySize !== 4) bad('EINVAL', `key_size must be 4, got ${keySize}`);
      if (valueSize !== 4 && valueSize !== 8) bad('EINVAL', `value_size must be 4 or 8 (struct bpf_devmap_val), got ${valueSize}`);
      if (flags & ~DEV_MASK) bad('EINVAL', `unknown map_flags 0x${(flags & ~DEV_MASK).toString(16)}`);
      checkMem(maxEntries * 24);
      // Lookups return a pointer to the value: the kernel forces it read-only for programs.
      const f2 = { ...full, flags: flags | BPF_F_RDONLY_PROG };
      return type === T.BPF_MAP_TYPE_DEVMAP ? new DevMap(registry, f2) : new DevMapHash(registry, f2);
    }

    case T.BPF_MAP_TYPE_CPUMAP: {
      if (maxEntries === 0) bad('EINVAL', 'max_entries is 0');
      if (keySize !== 4) bad('EINVAL', `key_size must be 4, got ${keySize}`);
      if (valueSize !== 4 && valueSize !== 8) bad('EINVAL', `value_size must be 4 or 8 (struct bpf_cpumap_val), got ${valueSize}`);
      if (flags & ~BPF_F_NUMA_NODE) bad('EINVAL', `unknown map_flags 0x${(flags & ~BPF_F_NUMA_NODE).toString(16)}`);
      if (maxEntries > NR_CPUS) bad('E2BIG', `max_entries ${maxEntries} > NR_CPUS ${NR_CPUS}`);
      return new CpuMap(registry, full);
    }

    default:
      return bad('EINVAL', `unknown map type ${type}`);
  }
}

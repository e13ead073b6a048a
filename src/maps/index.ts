// Public surface of maps/: the factory, the registry, the base class and every map class.
export * from './map.js';
export { createMap, BPF_F_PRESERVE_ELEMS } from './create.js';
export { ArrayMap, progPerm } from './array.js';
export { HashMap } from './hash.js';
export { LpmTrieMap } from './lpm_trie.js';
export { QueueStackMap } from './queue_stack.js';
export * from './ringbuf.js';
export * from './fd_array.js';
export * from './devmap.js';
export { innerMismatch } from './map_in_map.js';
export { jhash } from './jhash.js';

// Public surface of chain calls (the 2019 series): the core (models, run loop), the slots, the typed API
// and the inject rewrite. The bpf() commands are BpfRuntime.progChainAdd/Del/Get and bpfProgChain*.
export { ChainCore, CHAIN_MODES, checkChainMode, type ChainMode } from './core.js';
export { ChainSlots, chainSlotIndex } from './slots.js';
export { ProgChain, parseRetcode, slotRetcode, type ChainEntry, type ProgHandle, type Retcode } from './api.js';
export { injectChainCalls, chainExitSequence, CHAIN_EXIT_SEQ_LEN } from '../verifier/chain_inject.js';

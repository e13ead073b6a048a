// Prototypes of the helpers tsbpf implements (the kernel's struct bpf_func_proto: gpl_only, ret_type,
// arg1..5_type), for the verifier's argument checks. Argument kinds are written as the kernel writes them
// (src/verifier/types.ts). Where the kernel's proto differs per program type (bpf_perf_event_output) the
// argument kinds are the same for every type, so one proto serves all.

import type { ArgKind, HelperProto, RetKind } from '../verifier/types.js';
import { HELPER_NAMES } from '../uapi/bpf.js';

const P = (id: number, gplOnly: boolean, ret: RetKind, args: ArgKind[], pktAccess?: boolean): HelperProto => ({
  id, name: HELPER_NAMES[id], gplOnly, ret, args, ...(pktAccess === undefined ? {} : { pktAccess }),
});

const MAP = 'ARG_CONST_MAP_PTR';
const KEY = 'ARG_PTR_TO_MAP_KEY';
const VAL = 'ARG_PTR_TO_MAP_VALUE';
const ANY = 'ARG_ANYTHING';
const CTX = 'ARG_PTR_TO_CTX';
const RO_MEM = 'ARG_PTR_TO_MEM|MEM_RDONLY';
const UNINIT = 'ARG_PTR_TO_UNINIT_MEM';
const SIZE = 'ARG_CONST_SIZE';
const SIZE0 = 'ARG_CONST_SIZE_OR_ZERO';
const INT = 'RET_INTEGER';

const LIST: HelperProto[] = [
  P(1, false, 'RET_PTR_TO_MAP_VALUE_OR_NULL', [MAP, KEY]),
  P(2, false, INT, [MAP, KEY, VAL, ANY]),
  P(3, false, INT, [MAP, KEY]),
  P(4, true, INT, [UNINIT, SIZE0, ANY]),
  P(5, false, INT, []),
  P(6, true, INT, [RO_MEM, SIZE]),
  P(7, false, INT, []),
  P(8, false, INT, []),
  P(12, false, 'RET_VOID', [CTX, MAP, ANY]),
  P(14, false, INT, []),
  P(16, false, INT, [UNINIT, SIZE]),
  P(23, false, INT, [ANY, ANY]),
  P(25, true, INT, [CTX, MAP, ANY, RO_MEM, SIZE0]),
  P(26, false, INT, [CTX, ANY, UNINIT, SIZE]),
  P(28, false, INT, ['ARG_PTR_TO_MEM|PTR_MAYBE_NULL|MEM_RDONLY', SIZE0, 'ARG_PTR_TO_MEM|PTR_MAYBE_NULL|MEM_RDONLY', SIZE0, ANY], true),
  P(42, false, INT, []),
  P(44, false, INT, [CTX, ANY]),
  P(45, true, INT, [UNINIT, SIZE0, ANY]),
  P(51, false, INT, [MAP, ANY, ANY]),
  P(54, false, INT, [CTX, ANY]),
  P(65, false, INT, [CTX, ANY]),
  P(87, false, INT, [MAP, VAL, ANY]),
  P(88, false, INT, [MAP, 'ARG_PTR_TO_MAP_VALUE|MEM_UNINIT']),
  P(89, false, INT, [MAP, 'ARG_PTR_TO_MAP_VALUE|MEM_UNINIT']),
  P(112, true, INT, [UNINIT, SIZE0, ANY]),
  P(113, true, INT, [UNINIT, SIZE0, ANY]),
  P(114, true, INT, [UNINIT, SIZE0, ANY]),
  P(115, true, INT, [UNINIT, SIZE0, ANY]),
  P(125, false, INT, []),
  P(130, false, INT, [MAP, RO_MEM, SIZE0, ANY]),
  P(131, false, 'RET_PTR_TO_MEM_OR_NULL', [MAP, 'ARG_CONST_ALLOC_SIZE_OR_ZERO', ANY]),
  P(132, false, 'RET_VOID', ['ARG_PTR_TO_RINGBUF_MEM|OBJ_RELEASE', ANY]),
  P(133, false, 'RET_VOID', ['ARG_PTR_TO_RINGBUF_MEM|OBJ_RELEASE', ANY]),
  P(134, false, INT, [MAP, ANY]),
  P(160, false, INT, []),
  P(165, true, INT, ['ARG_PTR_TO_UNINIT_MEM|PTR_MAYBE_NULL', SIZE0, 'ARG_PTR_TO_CONST_STR', 'ARG_PTR_TO_MEM|PTR_MAYBE_NULL|MEM_RDONLY', SIZE0]),
  P(188, false, INT, [CTX]),
  P(189, false, INT, [CTX, ANY, UNINIT, SIZE]),
  P(190, false, INT, [CTX, ANY, RO_MEM, SIZE]),
  P(195, false, 'RET_PTR_TO_MAP_VALUE_OR_NULL', [MAP, KEY, ANY]),
];

const BY_ID: (HelperProto | undefined)[] = [];
for (const p of LIST) BY_ID[p.id] = Object.freeze(p);

/** The prototype of helper `id`, or undefined when tsbpf does not implement it. */
export function helperProto(id: number): HelperProto | undefined {
  return Number.isInteger(id) && id >= 0 ? BY_ID[id] : undefined;
}

/** Every implemented helper's prototype, by increasing id. */
export function allHelperProtos(): readonly HelperProto[] {
  return LIST;
}

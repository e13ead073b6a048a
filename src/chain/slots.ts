// The chain slots of one program (the 2019 series' `prog->aux->chain_progs`): 8 program references keyed
// by return code, slot 0 the wildcard (retcode ~0), slot retcode + 1 an exact code. They live in a hidden
// BPF_MAP_TYPE_PROG_ARRAY of 8 entries, because in the "inject" model the rewritten exits tail-call through
// it (bpf_tail_call accepts any prog array), and the "native" model reads the same slots. "Hidden": the
// array has a handle (the address the injected code loads) but no user-visible id - it is taken out of the
// registry's id table, so MAP_GET_NEXT_ID, `map show` and the runtime's collector never see it; the chain
// core destroys it with its program. The array is owned by the program's type (ProgArrayMap.claim), so a
// program of another type cannot be chained (EINVAL; the patch did not check this).

import { fail } from '../errors.js';
import { ProgArrayMap } from '../maps/fd_array.js';
import type { MapRegistry } from '../maps/map.js';
import type { BpfProg } from '../syscall/prog.js';
import { BPF_CHAIN_WILDCARD, BPF_MAP_TYPE, BPF_NUM_CHAIN_SLOTS } from '../uapi/bpf.js';

export class ChainSlots {
  /** The hidden prog array (8 entries). */
  readonly table: ProgArrayMap;
  /** The table's handle: what the injected `r2 = T ll` loads. */
  readonly handle: number;
  /** Changes so far (the CLI and tests read it; a change is one slot write, so atomic per hop). */
  generation = 0;

  constructor(registry: MapRegistry, owner: BpfProg) {
    this.table = new ProgArrayMap(registry, {
      type: BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: BPF_NUM_CHAIN_SLOTS, name: 'chain_slots',
    });
    // Hide it: keep the handle (bpf_tail_call finds the map by handle), drop the id.
    registry.unregister(this.table);
    registry.registerHandle(this.table.handle, this.table);
    this.table.claim(owner);
    this.handle = this.table.handle;
  }

  /** The program in slot `index` (hot path). */
  at(index: number): BpfProg | null {
    return this.table.progAt(index) as BpfProg | null;
  }

  /** Store `next` in `index` (EINVAL when its type differs from the owner's); returns the program it replaced. */
  set(cmd: string, index: number, next: BpfProg): BpfProg | null {
    const old = this.at(index);
    if (!this.table.claim(next)) {
      fail('EINVAL', `${cmd}: program '${next.name}' (id ${next.id}) is of type ${next.typeName}, the chain's owner is of type ${this.table.ownerType}`);
    }
    this.table.setProg(index, next);
    this.generation++;
    return old;
  }

  /** Empty `index`; returns the program it held or null. */
  delete(index: number): BpfProg | null {
    const old = this.at(index);
    if (old !== null) {
      this.table.setProg(index, null);
      this.generation++;
    }
    return old;
  }

  /** Every program the slots hold (references for the collector). */
  targets(): BpfProg[] {
    const out: BpfProg[] = [];
    for (let i = 0; i < BPF_NUM_CHAIN_SLOTS; i++) {
      const p = this.at(i);
      if (p !== null) out.push(p);
    }
    return out;
  }

  /** Free the table (its program went away). */
  destroy(): void {
    this.table.destroy();
  }
}

/**
 * The slot a user retcode names: ~0 (also -1) is slot 0, anything else retcode + 1. Returns -1 for a value
 * that is not a u32 (EINVAL at the caller) and a number >= 8 for E2BIG.
 */
export function chainSlotIndex(retcode: number): number {
  if (retcode === -1) return 0;
  if (!Number.isInteger(retcode) || retcode < 0 || retcode > 0xffffffff) return -1;
  return retcode === BPF_CHAIN_WILDCARD ? 0 : retcode + 1;
}

// A minimal ELF64 BPF relocatable object, written byte by byte: one XDP program `tsbpf_probe` that returns
// XDP_PASS, and a GPL license. kernelAvailable() loads it through bpftool to prove the kernel takes XDP
// programs, without shipping a clang-built file inside src/ or needing clang at run time.

const EM_BPF = 247;
const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const STB_GLOBAL = 1;
const STT_OBJECT = 1;
const STT_FUNC = 2;

/** The probe program's name, as bpftool pins it. */
export const PROBE_PROG_NAME = 'tsbpf_probe';

/** r0 = 2 (XDP_PASS); exit */
const PROG = [0xb7, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
const LICENSE = [0x47, 0x50, 0x4c, 0x00]; // "GPL\0"

export function probeObject(): Uint8Array {
  // One string table serves both as .shstrtab and .strtab.
  const names = ['', 'xdp', 'license', '.strtab', '.symtab', PROBE_PROG_NAME, '_license'];
  const strOff = new Map<string, number>();
  let strtab: number[] = [];
  for (const n of names) {
    strOff.set(n, strtab.length);
    strtab = strtab.concat([...Buffer.from(n, 'latin1')], [0]);
  }
  const sym = (name: string, info: number, shndx: number, size: number): number[] => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(strOff.get(name)!, 0);
    b[4] = info;
    b.writeUInt16LE(shndx, 6);
    b.writeBigUInt64LE(BigInt(size), 16);
    return [...b];
  };
  const symtab = [
    ...new Array<number>(24).fill(0),
    ...sym(PROBE_PROG_NAME, (STB_GLOBAL << 4) | STT_FUNC, 2, PROG.length),
    ...sym('_license', (STB_GLOBAL << 4) | STT_OBJECT, 3, LICENSE.length),
  ];
  // Layout: header, then section bodies (8-aligned), then the section header table.
  const bodies: number[][] = [strtab, PROG, LICENSE, symtab];
  const offsets: number[] = [];
  let off = 64;
  for (const b of bodies) {
    off = (off + 7) & ~7;
    offsets.push(off);
    off += b.length;
  }
  const shoff = (off + 7) & ~7;
  const out = Buffer.alloc(shoff + 5 * 64);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELFCLASS64, little endian, EV_CURRENT
  out.writeUInt16LE(1, 16); // ET_REL
  out.writeUInt16LE(EM_BPF, 18);
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(shoff), 40);
  out.writeUInt16LE(64, 52); // e_ehsize
  out.writeUInt16LE(64, 58); // e_shentsize
  out.writeUInt16LE(5, 60); // e_shnum
  out.writeUInt16LE(1, 62); // e_shstrndx
  bodies.forEach((b, i) => out.set(b, offsets[i]));
  const shdr = (i: number, name: string, type: number, flags: number, body: number, link: number, info: number, align: number, entsize: number): void => {
    const o = shoff + i * 64;
    out.writeUInt32LE(strOff.get(name)!, o);
    out.writeUInt32LE(type, o + 4);
    out.writeBigUInt64LE(BigInt(flags), o + 8);
    out.writeBigUInt64LE(BigInt(offsets[body]), o + 24);
    out.writeBigUInt64LE(BigInt(bodies[body].length), o + 32);
    out.writeUInt32LE(link, o + 40);
    out.writeUInt32LE(info, o + 44);
    out.writeBigUInt64LE(BigInt(align), o + 48);
    out.writeBigUInt64LE(BigInt(entsize), o + 56);
  };
  shdr(1, '.strtab', SHT_STRTAB, 0, 0, 0, 0, 1, 0);
  shdr(2, 'xdp', SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 1, 0, 0, 8, 0);
  shdr(3, 'license', SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 2, 0, 0, 1, 0);
  shdr(4, '.symtab', SHT_SYMTAB, 0, 3, 1, 1, 8, 24); // sh_info: index of the first global symbol
  return new Uint8Array(out);
}

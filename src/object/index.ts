// Public surface of object/: the ELF + BTF reader for clang-built BPF objects.
export { parseObject, objectName } from './loader.js';
export type { ObjectSpec, ProgramSpec, LineInfo, MapRef } from './loader.js';
export type { MapSpec } from './maps.js';
export { internalMapName, LIBBPF_PIN_NONE, LIBBPF_PIN_BY_NAME } from './maps.js';
export { parseElf } from './elf.js';
export type { Elf, ElfSection, ElfSymbol, ElfRel } from './elf.js';
export { parseBtf, Btf, BTF_KIND } from './btf.js';
export type { BtfType, BtfMember, BtfKindName } from './btf.js';
export { parseBtfExt } from './btf_ext.js';
export type { BtfExt, SecLineInfo, FuncInfo } from './btf_ext.js';
export { sectionType, SECTION_DEFS } from './sections.js';
export type { SectionDef, SectionType } from './sections.js';

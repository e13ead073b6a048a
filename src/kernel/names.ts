// The names libbpf (1.x) gives an object's maps in the kernel and on bpffs, so a map of an object as tsbpf
// names it ('.rodata', 'flow_table') can be found where `bpftool prog loadall ... pinmaps DIR` pinned it.

import { basename } from 'node:path';

/** BPF_OBJ_NAME_LEN: kernel object names hold 15 characters and a NUL. */
const OBJ_NAME_LEN = 16;

/** libbpf's object name: the file's base name up to its first '.'. */
export function libbpfObjectName(path: string): string {
  const b = basename(path);
  const dot = b.indexOf('.');
  return dot < 0 ? b : b.slice(0, dot);
}

/** Whether a map name is one of libbpf's internal global-data maps (.data, .rodata*, .bss, .data.*, .kconfig). */
export function isGlobalDataName(name: string): boolean {
  return /^\.(data|rodata|bss|kconfig)(\.|$)/.test(name);
}

/**
 * The name libbpf gives a map: BTF/legacy maps keep their name; global-data maps get libbpf's
 * internal_map_name(): a prefix of the object name (none when the section name has a second '.', as in
 * `.data.custom`) followed by the section name, cut to 15 characters, non [A-Za-z0-9_.] replaced by '_'.
 */
export function libbpfMapName(mapName: string, objectPath: string): string {
  if (!isGlobalDataName(mapName)) return mapName;
  const obj = libbpfObjectName(objectPath);
  const sfxLen = Math.max(7, mapName.length);
  const pfxLen = mapName.indexOf('.', 1) >= 0 ? 0 : Math.min(OBJ_NAME_LEN - sfxLen - 1, obj.length);
  const name = (obj.slice(0, Math.max(0, pfxLen)) + mapName.slice(0, sfxLen)).slice(0, OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

/** The file name `pinmaps` gives a map: its libbpf name with '.' turned into '_' (libbpf's sanitize_pin_path). */
export function libbpfPinName(mapName: string, objectPath: string): string {
  return libbpfMapName(mapName, objectPath).replace(/\./g, '_');
}

// The pin namespace: an in-memory bpffs mounted at /sys/fs/bpf. BPF_OBJ_PIN creates a file holding a map or
// program (the file keeps a reference, so the object outlives its fds), BPF_OBJ_GET opens one again. Paths
// follow the kernel's rules: absolute, at most PATH_MAX bytes and NAME_MAX bytes per component, every name
// looked up in bpffs must be free of '.' (bpf_lookup reserves dots: EPERM), the parent directory must exist
// (ENOENT) and be a directory (ENOTDIR), the target must not exist (EEXIST), and only bpffs can hold pins
// (EPERM anywhere else). Directories are made with mkdir(), objects removed with unlink().

import { fail } from '../errors.js';

export const BPFFS_ROOT = '/sys/fs/bpf';
const PATH_MAX = 4096;
const NAME_MAX = 255;

export type PinKind = 'map' | 'prog';

interface DirNode {
  dir: true;
  children: Map<string, Node>;
}
interface ObjNode<M, P> {
  dir: false;
  kind: PinKind;
  obj: M | P;
}
type Node = DirNode | ObjNode<unknown, unknown>;

/** Split an absolute path into components, resolving '.' and '..' as the VFS walk does. */
function components(cmd: string, path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) fail('ENOENT', `${cmd}: empty path`);
  if (path.length >= PATH_MAX) fail('ENAMETOOLONG', `${cmd}: path is ${path.length} bytes, PATH_MAX is ${PATH_MAX}`);
  if (path.includes('\0')) fail('EINVAL', `${cmd}: path contains a NUL byte`);
  if (!path.startsWith('/')) fail('EINVAL', `${cmd}: path '${path}' is not absolute (the runtime has no working directory)`);
  const out: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') { out.pop(); continue; }
    if (c.length > NAME_MAX) fail('ENAMETOOLONG', `${cmd}: path component '${c.slice(0, 20)}...' is longer than ${NAME_MAX} bytes`);
    out.push(c);
  }
  return out;
}

const ROOT_PARTS = BPFFS_ROOT.split('/').filter((c) => c !== '');

export class PinFs<M, P> {
  private readonly root: DirNode = { dir: true, children: new Map() };

  /** Components below the bpffs root, or null when the path is outside it (depth says how far it got). */
  private relative(parts: string[]): string[] | null {
    for (let i = 0; i < ROOT_PARTS.length; i++) if (parts[i] !== ROOT_PARTS[i]) return null;
    return parts.slice(ROOT_PARTS.length);
  }

  /** Walk to the directory holding the last component; checks every looked-up name. */
  private parentOf(cmd: string, path: string, rel: string[]): DirNode {
    let node: Node = this.root;
    for (let i = 0; i < rel.length - 1; i++) {
      const name = rel[i];
      if (name.includes('.')) fail('EPERM', `${cmd} '${path}': bpffs names may not contain '.' ('${name}')`);
      const next: Node | undefined = (node as DirNode).children.get(name);
      if (next === undefined) fail('ENOENT', `${cmd} '${path}': no such directory '${name}'`);
      if (!next.dir) fail('ENOTDIR', `${cmd} '${path}': '${name}' is not a directory`);
      node = next;
    }
    return node as DirNode;
  }

  private checkName(cmd: string, path: string, name: string): void {
    if (name.includes('.')) fail('EPERM', `${cmd} '${path}': bpffs names may not contain '.' ('${name}')`);
  }

  /** Create a file at `path` holding `obj` (BPF_OBJ_PIN). */
  pin(path: string, kind: PinKind, obj: M | P): void {
    const cmd = 'BPF_OBJ_PIN';
    const parts = components(cmd, path);
    const rel = this.relative(parts);
    if (rel === null) fail('EPERM', `${cmd} '${path}': not on a bpf filesystem (pins live under ${BPFFS_ROOT})`);
    if (rel.length === 0) fail('EEXIST', `${cmd} '${path}': the bpffs mount point exists`);
    const dir = this.parentOf(cmd, path, rel);
    const name = rel[rel.length - 1];
    this.checkName(cmd, path, name);
    if (dir.children.has(name)) fail('EEXIST', `${cmd} '${path}': file exists`);
    dir.children.set(name, { dir: false, kind, obj });
  }

  /** The object pinned at `path` (BPF_OBJ_GET). */
  get(path: string): { kind: PinKind; obj: M | P } {
    const cmd = 'BPF_OBJ_GET';
    const parts = components(cmd, path);
    const rel = this.relative(parts);
    if (rel === null) {
      const isAncestor = parts.every((c, i) => c === ROOT_PARTS[i]);
      if (isAncestor) fail('EACCES', `${cmd} '${path}': a directory, not a pinned object`);
      fail('ENOENT', `${cmd} '${path}': no such file (pins live under ${BPFFS_ROOT})`);
    }
    if (rel.length === 0) fail('EACCES', `${cmd} '${path}': a directory, not a pinned object`);
    const dir = this.parentOf(cmd, path, rel);
    const name = rel[rel.length - 1];
    this.checkName(cmd, path, name);
    const node = dir.children.get(name);
    if (node === undefined) fail('ENOENT', `${cmd} '${path}': no such file`);
    if (node.dir) fail('EACCES', `${cmd} '${path}': a directory, not a pinned object`);
    return { kind: node.kind, obj: node.obj as M | P };
  }

  /** mkdir(2) in bpffs; with `parents`, like mkdir -p (existing directories are fine). */
  mkdir(path: string, parents = false): void {
    const cmd = 'mkdir';
    const rel = this.relative(components(cmd, path));
    if (rel === null) fail('EPERM', `${cmd} '${path}': not on a bpf filesystem`);
    let node: DirNode = this.root;
    for (let i = 0; i < rel.length; i++) {
      const name = rel[i];
      this.checkName(cmd, path, name);
      const next = node.children.get(name);
      const last = i === rel.length - 1;
      if (next === undefined) {
        if (!last && !parents) fail('ENOENT', `${cmd} '${path}': no such directory '${name}'`);
        const d: DirNode = { dir: true, children: new Map() };
        node.children.set(name, d);
        node = d;
        continue;
      }
      if (!next.dir) fail(last ? 'EEXIST' : 'ENOTDIR', `${cmd} '${path}': '${name}' is a pinned object`);
      if (last && !parents) fail('EEXIST', `${cmd} '${path}': file exists`);
      node = next;
    }
  }

  /**
   * unlink(2) of a pinned object, or rmdir(2) of an empty directory. Returns what the removed file held
   * (so the caller can drop its reference), or null for a directory.
   */
  unlink(path: string): { kind: PinKind; obj: M | P } | null {
    const cmd = 'unlink';
    const rel = this.relative(components(cmd, path));
    if (rel === null || rel.length === 0) fail('EPERM', `${cmd} '${path}': not a file on the bpf filesystem`);
    const dir = this.parentOf(cmd, path, rel);
    const name = rel[rel.length - 1];
    const node = dir.children.get(name);
    if (node === undefined) fail('ENOENT', `${cmd} '${path}': no such file`);
    if (node.dir && node.children.size > 0) fail('ENOTEMPTY', `${cmd} '${path}': directory not empty`);
    dir.children.delete(name);
    return node.dir ? null : { kind: node.kind, obj: node.obj as M | P };
  }

  /** Every pinned object (for reference counting), with its path. */
  *objects(): IterableIterator<{ path: string; kind: PinKind; obj: M | P }> {
    const walk = function* (d: DirNode, prefix: string): IterableIterator<{ path: string; kind: PinKind; obj: M | P }> {
      for (const [name, n] of d.children) {
        const p = `${prefix}/${name}`;
        if (n.dir) yield* walk(n, p);
        else yield { path: p, kind: n.kind, obj: n.obj as M | P };
      }
    };
    yield* walk(this.root, BPFFS_ROOT);
  }

  /** Names in a directory, sorted. */
  list(path: string): string[] {
    const rel = this.relative(components('ls', path));
    if (rel === null) fail('ENOENT', `ls '${path}': not on the bpf filesystem`);
    let node: Node = this.root;
    for (const name of rel) {
      if (!node.dir) fail('ENOTDIR', `ls '${path}': '${name}' is under a pinned object`);
      const next: Node | undefined = node.children.get(name);
      if (next === undefined) fail('ENOENT', `ls '${path}': no such directory`);
      node = next;
    }
    if (!node.dir) fail('ENOTDIR', `ls '${path}': not a directory`);
    return [...node.children.keys()].sort();
  }
}

/**
 * Where COPY/ADD put what they copy. A staging directory (the layer's snapshot as well) is needed
 * when something must exist on disk (an unpacked archive, sources that vanish after the step); a
 * copy straight from the build context instead records layer entries that point at the context's
 * files, so the layer is written in one read of each file and the snapshot is unpacked only if a
 * later step needs it (a 10,000-file `COPY . .` no longer copies 10,000 files first).
 *
 * Both give the same layer: EntryTarget models what the directory target's syscalls leave behind,
 * including a directory's mtime moving to "now" when a child is created in or removed from it.
 */
import {
  chmodSync,
  copyFileSync,
  constants as fsc,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerEntry } from '../layer/types.js';
import { entriesFromDir, linkHardlinks, sortByPath } from '../layer/walk.js';

export interface Ownership {
  uid: number;
  gid: number;
}

/** What a copied node ends up with; `mtime` in seconds since the epoch (fractions allowed). */
export interface NodeMeta extends Ownership {
  mode: number;
  mtime: number;
}

/** Paths are image paths: absolute, posix, normalized. */
export interface CopyTarget {
  /**
   * Creates a directory whose parent exists; an existing directory is left as it is. `copyUp`:
   * the image already has this directory (it is staged only as a parent), so, as overlayfs's
   * copy-up, it is no new entry and its parent's mtime does not move.
   */
  mkdir(path: string, copyUp?: boolean): void;
  /** Owner, then permission bits (so a chown cannot clear setuid/setgid), then mtime. */
  setMeta(path: string, meta: NodeMeta, atime: number): void;
  /** Removes the path and everything under it, if present. */
  remove(path: string): void;
  /** `sourceDigest`: the content digest of `from`, when known. */
  copyFile(
    path: string,
    from: string,
    size: number,
    meta: NodeMeta,
    atime: number,
    sourceDigest?: string,
  ): void;
  /** A second name for a file this copy already wrote. */
  link(path: string, existing: string): void;
  /** A link keeps its source's mtime (seconds), as BuildKit's copy does. */
  symlink(path: string, linkTarget: string, owner: Ownership, mtime: number): void;
  /** The host directory behind `path`, for targets that have one (ADD unpacking archives). */
  hostDir(path: string): string | undefined;
  /** The layer's entries, and the directory that becomes its snapshot if the target has one. */
  finish(): Promise<{ entries: LayerEntry[]; snapshotDir?: string }>;
  /** Drops what was copied (the step failed). */
  discard(): Promise<void>;
}

/** The staging directory: real files, which become the layer's snapshot. */
export class DirectoryTarget implements CopyTarget {
  constructor(readonly staging: string) {}

  private host(path: string): string {
    return join(this.staging, path);
  }

  mkdir(path: string, copyUp = false): void {
    const p = this.host(path);
    const parent = copyUp && path !== '/' ? lstatSync(join(p, '..')) : undefined;
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (lstatSync(p).isDirectory()) return;
      rmSync(p, { force: true });
      mkdirSync(p);
    }
    if (parent) utimesSync(join(p, '..'), parent.atime, parent.mtime);
  }

  setMeta(path: string, meta: NodeMeta, atime: number): void {
    const p = this.host(path);
    lchownSync(p, meta.uid, meta.gid);
    chmodSync(p, meta.mode & 0o7777);
    utimesSync(p, atime, meta.mtime);
  }

  remove(path: string): void {
    rmSync(this.host(path), { recursive: true, force: true });
  }

  copyFile(path: string, from: string, _size: number, meta: NodeMeta, atime: number): void {
    copyFileSync(from, this.host(path), fsc.COPYFILE_FICLONE);
    this.setMeta(path, meta, atime);
  }

  link(path: string, existing: string): void {
    linkSync(this.host(existing), this.host(path));
  }

  symlink(path: string, linkTarget: string, owner: Ownership, mtime: number): void {
    const p = this.host(path);
    symlinkSync(linkTarget, p);
    lchownSync(p, owner.uid, owner.gid);
    lutimesSync(p, mtime, mtime);
  }

  hostDir(path: string): string {
    return this.host(path);
  }

  async finish(): Promise<{ entries: LayerEntry[]; snapshotDir: string }> {
    return { entries: await entriesFromDir(this.staging, { xattrs: 'none' }), snapshotDir: this.staging };
  }

  async discard(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}

/** The names of one inode (hardlinks); shared by each name's record. */
interface Inode {
  members: Set<string>;
}

/** Layer entries only; file contents stay where they are until the layer is written. */
export class EntryTarget implements CopyTarget {
  private readonly nodes = new Map<string, LayerEntry>();
  private readonly inodes = new Map<string, Inode>();

  /** Image paths come absolute and normalized; the layer's are relative. */
  private static key(path: string): string {
    if (path.charCodeAt(0) === 0x2f && path.charCodeAt(1) !== 0x2f && !path.endsWith('/'))
      return path.slice(1);
    return path.replace(/^\/+|\/+$/g, '');
  }

  /** A directory's mtime moves when an entry is created in or removed from it. */
  private touchParent(key: string): void {
    const slash = key.lastIndexOf('/');
    const parent = this.nodes.get(slash === -1 ? '.' : key.slice(0, slash));
    if (parent) parent.mtime = nowSeconds();
  }

  private put(node: LayerEntry): void {
    this.nodes.set(node.path, node);
    this.touchParent(node.path);
  }

  mkdir(path: string, copyUp = false): void {
    const key = EntryTarget.key(path);
    const existing = this.nodes.get(key);
    if (existing?.type === 'dir') return;
    if (existing) this.remove(path);
    const node: LayerEntry = {
      path: key,
      type: 'dir',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: nowSeconds(),
    };
    if (copyUp) this.nodes.set(key, node);
    else this.put(node);
  }

  setMeta(path: string, meta: NodeMeta): void {
    const key = EntryTarget.key(path);
    const node = this.nodes.get(key);
    if (!node) throw new Error(`copy target: ${path} was never created`);
    const members = this.inodes.get(key)?.members;
    for (const n of members ? [...members].map((m) => this.nodes.get(m)) : [node]) {
      if (!n) continue;
      n.uid = meta.uid;
      n.gid = meta.gid;
      n.mode = meta.mode & 0o7777;
      n.mtime = Math.floor(meta.mtime);
    }
  }

  remove(path: string): void {
    const key = EntryTarget.key(path);
    const node = this.nodes.get(key);
    // Every recorded node's parent is recorded too: nothing below an absent path.
    if (!node) return;
    const drop = (k: string) => {
      this.inodes.get(k)?.members.delete(k);
      this.inodes.delete(k);
      this.nodes.delete(k);
    };
    drop(key);
    if (node.type === 'dir') {
      const below = `${key}/`;
      for (const k of this.nodes.keys()) if (k.startsWith(below)) drop(k);
    }
    this.touchParent(key);
  }

  copyFile(
    path: string,
    from: string,
    size: number,
    meta: NodeMeta,
    _atime: number,
    sourceDigest?: string,
  ): void {
    const node: LayerEntry = {
      path: EntryTarget.key(path),
      type: 'file',
      mode: meta.mode & 0o7777,
      uid: meta.uid,
      gid: meta.gid,
      size,
      mtime: Math.floor(meta.mtime),
      source: from,
    };
    if (sourceDigest !== undefined) node.sourceDigest = sourceDigest;
    this.put(node);
  }

  link(path: string, existing: string): void {
    const firstKey = EntryTarget.key(existing);
    const first = this.nodes.get(firstKey);
    if (!first) throw new Error(`copy target: ${existing} was never created`);
    let inode = this.inodes.get(firstKey);
    if (!inode) {
      inode = { members: new Set([firstKey]) };
      this.inodes.set(firstKey, inode);
    }
    const key = EntryTarget.key(path);
    inode.members.add(key);
    this.inodes.set(key, inode);
    this.put({ ...first, path: key });
  }

  symlink(path: string, linkTarget: string, owner: Ownership, mtime: number): void {
    const key = EntryTarget.key(path);
    this.put({
      path: key,
      type: 'symlink',
      mode: 0o777,
      uid: owner.uid,
      gid: owner.gid,
      size: 0,
      mtime: Math.floor(mtime),
      linkTarget,
    });
  }

  hostDir(): undefined {
    return undefined;
  }

  /** The layer's entries in tar order; the first name of a hardlinked file carries its content. */
  async finish(): Promise<{ entries: LayerEntry[] }> {
    const entries = sortByPath([...this.nodes.values()], (n) => n.path);
    if (this.inodes.size > 0) {
      linkHardlinks(entries, (e) => {
        const inode = this.inodes.get(e.path);
        return inode && inode.members.size > 1 ? inode : undefined;
      });
    }
    return { entries };
  }

  async discard(): Promise<void> {
    this.nodes.clear();
    this.inodes.clear();
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

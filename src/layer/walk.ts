/** Walk a directory into layer entries: lstat only (symlinks are entries, never followed), sorted bytewise. */
import { type BigIntStats, lstatSync, readdirSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import type { LayerEntry, LayerEntryType } from './types.js';
import { attrMissing, readXattrTree, type XattrMap, xattrToolsAvailable } from './xattr.js';

/** xattrs that describe the file itself; security.selinux and trusted.* belong to the host. */
export const LAYER_XATTR_PATTERN = '^(security\\.capability|user\\..*)$';

export interface WalkNode {
  /** Relative posix path. */
  rel: string;
  abs: string;
  stat: BigIntStats;
}

/** Normalise a caller's exclude list (`/etc/hosts` or `etc/hosts`) to relative paths. */
export function normalizeExcludes(exclude: readonly string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const p of exclude ?? []) {
    const rel = p
      .split('/')
      .filter((s) => s !== '' && s !== '.')
      .join('/');
    if (rel !== '') out.add(rel);
  }
  return out;
}

/** Every node under `root` (root itself excluded), in bytewise path order. Excluded paths drop their subtree. */
export async function walkTree(root: string, exclude: Set<string> = new Set()): Promise<WalkNode[]> {
  const nodes: WalkNode[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const dirRel = pending.pop()!;
    const dirAbs = dirRel === '' ? root : join(root, dirRel);
    let names: string[];
    try {
      // Synchronous calls: a tree of small entries is bound by thread-pool round trips, not the disk.
      names = readdirSync(dirAbs);
    } catch (e) {
      throw new SlipwayError('LAYER', `cannot read directory ${dirAbs}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const children = names.map((name) => {
      if (name.includes('\uFFFD')) {
        throw new SlipwayError('LAYER', `file name is not valid UTF-8 in ${dirAbs}`, {
          hint: 'rename the file; layer paths must be UTF-8',
        });
      }
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (exclude.has(rel)) return undefined;
      const abs = join(dirAbs, name);
      return { rel, abs, stat: lstatSync(abs, { bigint: true }) };
    });
    for (const c of children) {
      if (c === undefined) continue;
      nodes.push(c);
      if (c.stat.isDirectory()) pending.push(c.rel);
    }
  }
  return sortByPath(nodes, (n) => n.rel);
}

// Below U+D800, UTF-16 code units order strings as their UTF-8 bytes do; only surrogate pairs
// (astral characters) and U+E000..U+FFFF disagree, and paths rarely hold either.
const ORDERS_AS_UTF8 = /^[\u0000-\ud7ff]*$/;

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Bytewise (UTF-8) order, which is not JavaScript's UTF-16 string order for astral characters.
 * Returns a new array; input that is already in order (a walk's, mostly) is only checked.
 */
export function sortByPath<T>(items: T[], key: (t: T) => string): T[] {
  const keys = items.map(key);
  if (keys.every((k) => ORDERS_AS_UTF8.test(k))) {
    if (keys.every((k, i) => i === 0 || byCodeUnits(keys[i - 1]!, k) <= 0)) return items.slice();
    const order = keys.map((_, i) => i).sort((i, j) => byCodeUnits(keys[i]!, keys[j]!));
    return order.map((i) => items[i]!);
  }
  const keyed = items.map((item, i) => ({ item, k: Buffer.from(keys[i]!, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.k, b.k));
  return keyed.map((x) => x.item);
}

/** Whether `a` sorts strictly before `b` in sortByPath's order. */
export function pathPrecedes(a: string, b: string): boolean {
  if (ORDERS_AS_UTF8.test(a) && ORDERS_AS_UTF8.test(b)) return a < b;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')) < 0;
}

export function entryType(st: BigIntStats): LayerEntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archivable; docker/BuildKit skip them too
}

/** Linux dev_t encoding (glibc gnu_dev_major/minor). */
export function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
export function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

/** A node as an entry; `undefined` for sockets. Hardlinks and xattrs are added by the caller. */
export async function nodeToEntry(node: WalkNode): Promise<LayerEntry | undefined> {
  const st = node.stat;
  const type = entryType(st);
  if (type === undefined) return undefined;
  const entry: LayerEntry = {
    path: node.rel,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'file' ? Number(st.size) : 0,
    mtime: Number(st.mtimeNs / 1_000_000_000n),
  };
  if (type === 'file') entry.source = node.abs;
  if (type === 'symlink') entry.linkTarget = await readlink(node.abs);
  if (type === 'char' || type === 'block') {
    entry.devMajor = devMajor(st.rdev);
    entry.devMinor = devMinor(st.rdev);
  }
  return entry;
}

/**
 * Turn the second and later paths of one inode into `hardlink` entries pointing at the first
 * (entries must already be in final order). `inodeOf` names an entry's inode, or is undefined for
 * an entry that has no other name.
 */
export function linkHardlinks(entries: LayerEntry[], inodeOf: (e: LayerEntry) => unknown): void {
  const firstPath = new Map<unknown, string>();
  for (const e of entries) {
    if (e.type === 'dir' || e.type === 'symlink' || e.type === 'hardlink') continue;
    const key = inodeOf(e);
    if (key === undefined) continue;
    const first = firstPath.get(key);
    if (first === undefined) {
      firstPath.set(key, e.path);
      continue;
    }
    e.type = 'hardlink';
    e.linkTarget = first;
    e.size = 0;
    delete e.source;
    delete e.sourceDigest;
    delete e.content;
    delete e.devMajor;
    delete e.devMinor;
    delete e.xattrs; // the inode's xattrs travel with the first entry
  }
}

/** linkHardlinks' `inodeOf` for entries read from disk (`stats`: entry path → stat). */
export function inodeFromStats(stats: Map<string, BigIntStats>): (e: LayerEntry) => string | undefined {
  return (e) => {
    const st = stats.get(e.path);
    return st === undefined || st.nlink < 2n ? undefined : `${st.dev}:${st.ino}`;
  };
}

export interface EntriesFromDirOptions {
  /**
   * `auto` (default): read security.capability and user.* xattrs when getfattr is installed, else skip
   * them and call `onWarning`; `require`: fail without getfattr; `none`: never read xattrs.
   */
  xattrs?: 'auto' | 'require' | 'none';
  /** Paths (absolute in the tree, or relative) to leave out, with everything under them. */
  exclude?: string[];
  onWarning?: (message: string) => void;
}

export async function attachXattrs(
  root: string,
  entries: LayerEntry[],
  mode: 'auto' | 'require' | 'none',
  onWarning: ((m: string) => void) | undefined,
  pattern: string = LAYER_XATTR_PATTERN,
): Promise<Map<string, XattrMap>> {
  if (mode === 'none') return new Map();
  if (!xattrToolsAvailable()) {
    if (mode === 'require') {
      throw attrMissing('needed to read extended attributes');
    }
    onWarning?.(
      'getfattr is not installed (Debian package "attr"): file capabilities and xattrs are not recorded',
    );
    return new Map();
  }
  const all = await readXattrTree(root, pattern);
  const byRel = new Map<string, XattrMap>();
  const prefix = root.endsWith('/') ? root : `${root}/`;
  for (const [abs, xattrs] of all) {
    if (abs.startsWith(prefix)) byRel.set(abs.slice(prefix.length), xattrs);
  }
  for (const e of entries) {
    const x = byRel.get(e.path);
    if (x && Object.keys(x).length > 0 && e.type !== 'symlink') e.xattrs = x;
  }
  return byRel;
}

export async function entriesFromDir(root: string, opts: EntriesFromDirOptions = {}): Promise<LayerEntry[]> {
  root = resolve(root);
  const nodes = await walkTree(root, normalizeExcludes(opts.exclude));
  const entries: LayerEntry[] = [];
  const stats = new Map<string, BigIntStats>();
  for (const node of nodes) {
    const e = await nodeToEntry(node);
    if (e === undefined) {
      opts.onWarning?.(`skipping socket ${node.rel}`);
      continue;
    }
    entries.push(e);
    stats.set(e.path, node.stat);
  }
  await attachXattrs(root, entries, opts.xattrs ?? 'auto', opts.onWarning);
  linkHardlinks(entries, inodeFromStats(stats));
  return entries;
}

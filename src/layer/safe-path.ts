/**
 * Resolving layer member paths inside a root without ever leaving it. Every parent component is
 * lstat'ed; symlinks are resolved by hand, component by component, so the decision whether a path
 * stays inside the root is made on what is on disk, not on the string.
 */
import { chmodSync, lchownSync, lstatSync, mkdirSync, readlinkSync, utimesSync } from 'node:fs';
import { dirname } from 'node:path';
import { SlipwayError } from '../errors.js';

/**
 * How a symlink met while resolving a *parent* directory is treated:
 * - `reject` (default): follow it only while it stays inside the root when read as the kernel would
 *   (absolute targets are host paths); anything else is an escape attempt and fails the apply.
 * - `scoped`: Docker/containerd semantics — resolve as if chrooted into the root (absolute targets
 *   start at the root, `..` stops at the root), so it can never leave but never fails either.
 */
export type SymlinkPolicy = 'reject' | 'scoped';

const MAX_SYMLINK_HOPS = 40;

/**
 * What lies below the root where a member implies a parent directory the root does not have yet
 * (`rel`: relative to the root): an ADD unpacks into a staging directory, but BuildKit unpacks
 * onto the image. `linkTo` (relative to the root): the image has a link there (merged /usr's
 * `lib -> usr/lib`), followed. `dir`: the image has a directory there, staged with its owner, mode
 * and mtime (overlayfs's copy-up) instead of as a new 0755 one. undefined: nothing there.
 */
export type Underlay = (
  rel: string,
) =>
  | { linkTo: string }
  | { dir: { mode: number; uid: number; gid: number; atime: Date; mtime: Date } }
  | undefined;

export function escapeError(path: string): SlipwayError {
  return new SlipwayError('LAYER', `layer tries to write outside the root: ${path}`);
}

/**
 * Split a member name into clean components. A leading `/` is stripped (as Docker does); `..`
 * anywhere is rejected outright, even where it would stay inside.
 */
export function memberComponents(name: string): string[] {
  if (name.includes('\0')) throw new SlipwayError('LAYER', `invalid path in layer: ${JSON.stringify(name)}`);
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw escapeError(name);
    parts.push(p);
  }
  return parts;
}

export class RootResolver {
  /**
   * Parent paths already resolved in this apply (member components joined by `/` → real dir).
   * Members come in tar order, so most share the previous one's parent: one walk per directory
   * instead of an lstat per component per member. `forget()` empties it whenever something that
   * existed is removed, as that may have been a directory or a link some entry resolved through.
   */
  private readonly resolved = new Map<string, string>();

  /** `root` must already be a real path (no symlinks), absolute. `onCreate` hears of each directory made. */
  constructor(
    readonly root: string,
    readonly policy: SymlinkPolicy = 'reject',
    private readonly onCreate: (dir: string) => void = () => {},
    private readonly below?: Underlay,
  ) {}

  private inside(p: string): boolean {
    return p === this.root || p.startsWith(`${this.root}/`);
  }

  forget(): void {
    this.resolved.clear();
  }

  /**
   * The real absolute directory that `components` name, inside the root. Missing directories are
   * created (0755, like Docker) when `create`, else `undefined` is returned. `member` names the
   * entry in errors.
   */
  resolveDir(components: readonly string[], member: string, create: boolean): string | undefined {
    const key = components.join('/');
    const known = this.resolved.get(key);
    if (known !== undefined) return known;
    // Tar order puts a directory before what it holds, so the parent is usually resolved: start
    // there. Walking from the root each time made a layer 1500 directories deep take a minute of
    // lstat calls (each one a path the kernel walks again).
    const parent = components.length > 1 ? this.resolved.get(key.slice(0, key.lastIndexOf('/'))) : undefined;
    const queue = parent === undefined ? [...components] : [components[components.length - 1]!];
    let cur = parent ?? this.root;
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (cur === this.root) {
          if (this.policy === 'reject') throw escapeError(member);
          continue;
        }
        cur = dirname(cur);
        continue;
      }
      const next = `${cur === '/' ? '' : cur}/${c}`;
      const st = lstatSync(next, { throwIfNoEntry: false });
      if (st === undefined) {
        if (!create) return undefined;
        const under = this.below?.(next.slice(this.root.length + 1));
        if (under && 'linkTo' in under) {
          if (++hops > MAX_SYMLINK_HOPS) {
            throw new SlipwayError('LAYER', `too many levels of symbolic links resolving ${member}`);
          }
          queue.unshift(...under.linkTo.split('/'));
          cur = this.root;
          continue;
        }
        // A copied-up directory is no new entry: its parent's mtime must not move.
        const parentTimes = under ? lstatSync(cur) : undefined;
        mkdirSync(next, { mode: 0o755 });
        if (under && parentTimes) {
          lchownSync(next, under.dir.uid, under.dir.gid);
          chmodSync(next, under.dir.mode & 0o7777);
          utimesSync(next, under.dir.atime, under.dir.mtime);
          utimesSync(cur, parentTimes.atime, parentTimes.mtime);
        }
        this.onCreate(next);
        cur = next;
        continue;
      }
      if (st.isDirectory()) {
        cur = next;
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new SlipwayError('LAYER', `too many levels of symbolic links resolving ${member}`);
        }
        const target = readlinkSync(next);
        if (target.startsWith('/')) {
          if (this.policy === 'reject') {
            // Read literally, an absolute target is a host path; only one inside the root is acceptable.
            if (!this.inside(target.replace(/\/+$/, '') || '/')) throw escapeError(member);
            queue.unshift(...target.slice(this.root.length).split('/'));
          } else {
            queue.unshift(...target.split('/'));
          }
          cur = this.root;
        } else {
          queue.unshift(...target.split('/'));
        }
        continue;
      }
      throw new SlipwayError(
        'LAYER',
        `cannot extract ${member}: ${next.slice(this.root.length + 1)} is not a directory`,
      );
    }
    this.resolved.set(key, cur);
    return cur;
  }

  /**
   * True when `abs` (a path this apply produced) still reaches its object through real directories
   * only — later members may have swapped a parent for a symlink, and deferred work must not follow it.
   */
  stillInside(abs: string, verified: Map<string, boolean>): boolean {
    if (!this.inside(abs) || abs === this.root) return abs === this.root;
    // A directory is recorded as verified only once every directory above it was: a verified
    // parent settles it. Without this shortcut each call walked (and hashed) every ancestor again,
    // which took seconds on a layer 1500 directories deep.
    if (verified.get(abs.slice(0, abs.lastIndexOf('/'))) === true) return true;
    const rel = abs.slice(this.root.length + 1).split('/');
    let cur = this.root;
    for (let i = 0; i < rel.length - 1; i++) {
      cur = `${cur}/${rel[i]}`;
      let ok = verified.get(cur);
      if (ok === undefined) {
        ok = lstatSync(cur, { throwIfNoEntry: false })?.isDirectory() ?? false;
        verified.set(cur, ok);
      }
      if (!ok) return false;
    }
    return true;
  }
}

import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readlinkSync, rmdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { posix } from 'node:path';

/**
 * Resolve `p` inside `root` the way runc (securejoin) and continuity's RootPath do: symlinks are
 * followed but can never leave `root`. Components that do not exist are kept as written.
 * Returns the container path (always absolute, inside root).
 */
export function resolveInRoot(root: string, p: string): string {
  const pending = posix.normalize(`/${p}`).split('/').filter(Boolean);
  let resolved = '/';
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved = posix.dirname(resolved);
      continue;
    }
    const next = posix.join(resolved, part);
    let target: string | undefined;
    try {
      if (lstatSync(root + next).isSymbolicLink()) target = readlinkSync(root + next);
    } catch {
      // missing: the rest of the path cannot contain symlinks
    }
    if (target === undefined) {
      resolved = next;
      continue;
    }
    if (++links > 255) return posix.join(next, ...pending);
    if (target.startsWith('/')) resolved = '/';
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return resolved;
}

export interface MountStubs {
  /** Container paths (e.g. `/etc/resolv.conf`, `/mnt/cache`, `/mnt`) that did not exist before the run. */
  readonly paths: readonly string[];
  /**
   * Remove the stubs runc left behind if they are still empty (an empty file or an empty directory).
   * The existing directory a stub was created in gets its pre-run timestamps back when its entries
   * are the same as before the run, so a copied-up parent (/etc) looks unchanged to a differ.
   * Returns the container paths actually removed.
   */
  cleanup(): string[];
}

/**
 * Whether `p`'s directories inside `rootfs` are all real directories (no symlinks). The container
 * has run by the time stubs are cleaned: a directory it swapped for a link to `/etc` must not send
 * an rmdir, unlink or utimes to the host's `/etc`.
 */
function dirsInside(rootfs: string, p: string, includeLast: boolean): boolean {
  const parts = p.split('/').filter(Boolean);
  const upTo = includeLast ? parts.length : parts.length - 1;
  let current = '';
  for (let i = 0; i < upTo; i++) {
    current += `/${parts[i]}`;
    const st = lstatSync(rootfs + current, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory()) return false;
  }
  return true;
}

function missing(hostPath: string): boolean {
  try {
    lstatSync(hostPath);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}

/** An existing directory stubs get created in, as it was before the run. */
interface Anchor {
  names: string[];
  atimeNs: bigint;
  mtimeNs: bigint;
}

function snapshotDir(hostPath: string): Anchor | undefined {
  try {
    const st = statSync(hostPath, { bigint: true });
    if (!st.isDirectory()) return undefined;
    return { names: readdirSync(hostPath).sort(), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs };
  } catch {
    return undefined;
  }
}

/**
 * Must be called on the container's merged rootfs before the container starts: records which
 * mount targets (and their missing parents) runc will have to create. BuildKit's MountStubsCleaner.
 */
export function recordMountStubs(rootfs: string, candidates: readonly string[]): MountStubs {
  const paths = new Set<string>();
  const anchors = new Map<string, Anchor>();
  for (const c of candidates) {
    const target = resolveInRoot(rootfs, c);
    let p = target;
    while (p !== '/' && missing(rootfs + p)) {
      paths.add(p);
      p = posix.dirname(p);
    }
    // `p` is now the deepest existing directory: runc's mkdir there changes its mtime.
    if (p !== target && !anchors.has(p)) {
      const snap = snapshotDir(rootfs + p);
      if (snap) anchors.set(p, snap);
    }
  }
  // Deepest first so a stub directory is empty by the time we reach it.
  const ordered = [...paths].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
  return {
    paths: ordered,
    cleanup: () => {
      const removed = removeStubs(rootfs, ordered);
      for (const [dir, before] of anchors) {
        if (!dirsInside(rootfs, dir, true)) continue;
        const now = snapshotDir(rootfs + dir);
        if (now && now.names.join('\0') === before.names.join('\0')) {
          restoreTimes(rootfs + dir, before.atimeNs, before.mtimeNs);
        }
      }
      return removed;
    },
  };
}

function removeStubs(rootfs: string, paths: readonly string[]): string[] {
  const removed: string[] = [];
  for (const p of paths) {
    if (!dirsInside(rootfs, p, false)) continue;
    const host = rootfs + p;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(host);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (readdirSync(host).length !== 0) continue;
    } else if (!st.isFile() || st.size !== 0) {
      continue;
    }
    try {
      if (st.isDirectory()) rmdirSync(host);
      else unlinkSync(host);
    } catch {
      continue;
    }
    removed.push(p);
  }
  return removed;
}

/**
 * Nanosecond-exact. Node's utimes goes through a double, which is exact for the whole-second times
 * unpacked layers have; when the result differs, `touch` (which keeps every digit) sets it.
 */
function restoreTimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  utimesSync(path, Number(atimeNs) / 1e9, Number(mtimeNs) / 1e9);
  const now = lstatSync(path, { bigint: true });
  if (now.atimeNs === atimeNs && now.mtimeNs === mtimeNs) return;
  const stamp = (ns: bigint) =>
    `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  spawnSync('touch', ['-c', '-a', '-d', stamp(atimeNs), path]);
  spawnSync('touch', ['-c', '-m', '-d', stamp(mtimeNs), path]);
}

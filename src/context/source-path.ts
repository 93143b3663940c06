/**
 * Source paths as BuildKit's copy resolves them: through the tree's own symlinks and never out of
 * it. The tree is asked through a lookup, so the cache key (over the context walk) and the copy and
 * bind mounts (over a directory on disk) resolve alike.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';

/** A COPY/ADD source word as a path relative to its tree's root: no leading or trailing `/` (`''` is the root). */
export function cleanSourcePath(raw: string): string {
  return posix.normalize(`/${raw}`).slice(1).replace(/\/+$/, '');
}

/** What a source path resolver needs to know of a node: whether it is a link, and to what. */
export type LinkLookup = (rel: string) => { linkTarget?: string | undefined; isLink: boolean } | undefined;

/**
 * Resolves a source path through the tree's symlinks as BuildKit's copy does, inside the tree:
 * absolute targets and `..` are taken from the tree's root, never the host's. A link in the middle
 * of the path must lead somewhere (undefined otherwise); the last component is followed too when
 * `followLast`, and a last link whose target is missing stays a link. As in the kernel, 40 links
 * in all may be followed, however they nest.
 */
export function resolveSourcePath(
  lookup: LinkLookup,
  rel: string,
  followLast: boolean,
  budget = { links: 40 },
): string | undefined {
  if (rel === '' || rel === '.') return '.';
  const parts = rel.split('/');
  let current = '';
  for (let i = 0; i < parts.length; i++) {
    const candidate = current ? `${current}/${parts[i]}` : (parts[i] as string);
    const node = lookup(candidate);
    if (node === undefined) return undefined;
    const last = i === parts.length - 1;
    if (!node.isLink || (last && !followLast)) {
      current = candidate;
      continue;
    }
    const target = node.linkTarget ?? '';
    const next = posix
      .normalize(posix.isAbsolute(target) ? target : posix.join('/', posix.dirname(candidate), target))
      .slice(1);
    const resolved = budget.links-- > 0 ? resolveSourcePath(lookup, next, true, budget) : undefined;
    if (resolved === undefined) return last ? candidate : undefined;
    current = resolved === '.' ? '' : resolved;
  }
  return current === '' ? '.' : current;
}

/** resolveSourcePath's lookup over a directory on disk (each path it asks about has no link before its last part). */
export function diskLinks(root: string): LinkLookup {
  return (rel) => {
    const st = lstatSync(join(root, rel), { throwIfNoEntry: false });
    if (st === undefined) return undefined;
    return st.isSymbolicLink()
      ? { isLink: true, linkTarget: readlinkSync(join(root, rel)) }
      : { isLink: false };
  };
}

/**
 * The host path of `source` inside `root` with every link resolved inside it, for a bind mount or a
 * copy the kernel would otherwise resolve on the host; undefined when it is not in the tree.
 */
export function hostPathInside(root: string, source: string): string | undefined {
  const rel = resolveSourcePath(diskLinks(root), cleanSourcePath(source) || '.', true);
  if (rel === undefined) return undefined;
  const path = rel === '.' ? root : join(root, rel);
  const st = lstatSync(path, { throwIfNoEntry: false });
  // A last link that leads nowhere inside the tree would be followed on the host by mount(2).
  return st === undefined || st.isSymbolicLink() ? undefined : path;
}

/**
 * A file read by name from a directory the user may not control (the context's Dockerfile or
 * .dockerignore): a link is followed only inside `dir`, as BuildKit reads them from the
 * transferred tree, and only a regular file is read (a fifo would hang the build).
 */
export function regularFileInside(
  dir: string,
  name: string,
): { path: string } | { missing: true } | { refused: string } {
  const rel = resolveSourcePath(diskLinks(dir), name, true);
  if (rel === undefined) return { missing: true };
  const path = rel === '.' ? dir : join(dir, rel);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return { missing: true };
  if (st.isSymbolicLink()) return { refused: `${name} is a symlink that leads out of ${dir}` };
  if (!st.isFile()) return { refused: `${name} is not a regular file` };
  return { path };
}

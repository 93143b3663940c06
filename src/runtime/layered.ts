import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Read one file from a stack of layer directories without mounting them, top-most first — the
 * view overlayfs would give. Whiteouts hide lower entries in both spellings a layer dir can hold:
 * overlayfs' (a 0/0 character device) and OCI's (`.wh.<name>`, `.wh..wh..opq`). overlayfs' opaque
 * xattr cannot be read from Node and is not honoured. Symlinks are followed inside the stack.
 */
export function readLayeredFile(layerDirs: readonly string[], path: string): Buffer | undefined {
  const found = resolveLayered(layerDirs, path, false);
  return found?.stat.isFile() ? readFileSync(found.hostPath) : undefined;
}

/**
 * lstat of a path in the stacked view (the last component is not followed), or undefined when the
 * view has nothing there. Symlinks in the parents are followed inside the stack.
 */
export function layeredLstat(layerDirs: readonly string[], path: string): Stats | undefined {
  return resolveLayered(layerDirs, path, true)?.stat;
}

/** stat of a path in the stacked view: a symlink at the path itself is followed too. */
export function layeredStat(layerDirs: readonly string[], path: string): Stats | undefined {
  return resolveLayered(layerDirs, path, false)?.stat;
}

/**
 * The path with every symlink in it resolved inside the stacked view (the last component too), as
 * BuildKit's copy and mkdir resolve a destination: `/lib/x` on a merged-/usr image is `/usr/lib/x`,
 * and `..` never leaves the root. A missing component ends the resolution; the rest is kept as is.
 */
export function resolveImagePath(layerDirs: readonly string[], path: string): string {
  let pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  let resolved: string[] = [];
  for (let hops = 0; pending.length > 0; ) {
    const candidate = [...resolved, pending[0] as string];
    const found = resolveLayered(layerDirs, `/${candidate.join('/')}`, true);
    if (found?.stat.isSymbolicLink() && hops++ < 40) {
      const target = readlinkSync(found.hostPath);
      const base = target.startsWith('/') ? target : posix.join('/', ...resolved, target);
      pending = [...posix.normalize(`/${base}`).split('/').filter(Boolean), ...pending.slice(1)];
      resolved = [];
      continue;
    }
    resolved = candidate;
    pending = pending.slice(1);
    if (found === undefined) break;
  }
  return `/${[...resolved, ...pending].join('/')}`;
}

function resolveLayered(
  layerDirs: readonly string[],
  path: string,
  keepLastLink: boolean,
  depth = 0,
): { hostPath: string; stat: Stats } | undefined {
  const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  if (depth > 40) return undefined;
  if (parts.length === 0) {
    const top = layerDirs[0];
    const st = top === undefined ? undefined : lstat(top);
    return top !== undefined && st ? { hostPath: top, stat: st } : undefined;
  }
  for (const dir of layerDirs) {
    const hit = probe(dir, parts, keepLastLink);
    if (hit.kind === 'absent') continue;
    if (hit.kind === 'hidden') return undefined;
    if (hit.kind === 'symlink') {
      const parent = `/${parts.slice(0, hit.index).join('/')}`;
      const target = hit.target.startsWith('/') ? hit.target : posix.join(parent, hit.target);
      const rest = parts.slice(hit.index + 1);
      return resolveLayered(layerDirs, posix.join(target, ...rest), keepLastLink, depth + 1);
    }
    return { hostPath: hit.hostPath, stat: hit.stat };
  }
  return undefined;
}

type Probe =
  | { kind: 'absent' }
  | { kind: 'hidden' }
  | { kind: 'found'; hostPath: string; stat: Stats }
  | { kind: 'symlink'; index: number; target: string };

function lstat(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** What one layer says about `parts`: has it, hides it, redirects it, or leaves it to lower layers. */
function probe(dir: string, parts: string[], keepLastLink: boolean): Probe {
  let cur = dir;
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!;
    if (lstat(join(cur, `.wh.${name}`))) return { kind: 'hidden' };
    const st = lstat(join(cur, name));
    const last = i === parts.length - 1;
    if (st === undefined) {
      // An opaque directory hides everything below it in lower layers.
      return i > 0 && lstat(join(cur, '.wh..wh..opq')) ? { kind: 'hidden' } : { kind: 'absent' };
    }
    if (isWhiteoutDevice(st)) return { kind: 'hidden' };
    if (last && (keepLastLink || !st.isSymbolicLink()))
      return { kind: 'found', hostPath: join(cur, name), stat: st };
    if (st.isSymbolicLink()) return { kind: 'symlink', index: i, target: readlinkSync(join(cur, name)) };
    // A non-directory in the middle of the path hides the lower layers' directory.
    if (!st.isDirectory()) return { kind: 'hidden' };
    cur = join(cur, name);
  }
  return { kind: 'absent' };
}

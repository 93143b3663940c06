import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Read one file from a stack of layer directories without mounting them, top-most first — the
 * view overlayfs would give. Whiteouts hide lower entries in both spellings a layer dir can hold:
 * overlayfs' (a 0/0 character device) and OCI's (`.wh.<name>`, `.wh..wh..opq`). overlayfs' opaque
 * xattr cannot be read from Node and is not honoured. Symlinks are followed inside the stack.
 */
export function readLayeredFile(layerDirs: readonly string[], path: string, depth = 0): Buffer | undefined {
  const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  if (parts.length === 0 || depth > 40) return undefined;
  for (const dir of layerDirs) {
    const hit = probe(dir, parts);
    if (hit.kind === 'absent') continue;
    if (hit.kind === 'hidden') return undefined;
    if (hit.kind === 'symlink') {
      const parent = `/${parts.slice(0, hit.index).join('/')}`;
      const target = hit.target.startsWith('/') ? hit.target : posix.join(parent, hit.target);
      const rest = parts.slice(hit.index + 1);
      return readLayeredFile(layerDirs, posix.join(target, ...rest), depth + 1);
    }
    return hit.data;
  }
  return undefined;
}

type Probe =
  | { kind: 'absent' }
  | { kind: 'hidden' }
  | { kind: 'file'; data: Buffer }
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
function probe(dir: string, parts: string[]): Probe {
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
    if (st.isSymbolicLink()) return { kind: 'symlink', index: i, target: readlinkSync(join(cur, name)) };
    if (last) {
      if (!st.isFile()) return { kind: 'hidden' };
      return { kind: 'file', data: readFileSync(join(cur, name)) };
    }
    // A non-directory in the middle of the path hides the lower layers' directory.
    if (!st.isDirectory()) return { kind: 'hidden' };
    cur = join(cur, name);
  }
  return { kind: 'absent' };
}

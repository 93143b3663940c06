/**
 * An overlayfs upper dir as layer entries: the upper dir already *is* the change set, with deletions
 * recorded as char 0/0 devices and "rm -rf dir && mkdir dir" as an opaque xattr on the new dir.
 *
 * Opaque dirs are only visible as the `trusted.overlay.opaque` xattr, which needs getxattr(2); without
 * a native addon that means `getfattr` (Debian package `attr`), run once for the whole tree.
 * `user.overlay.*` (overlay mounted with `userxattr`, rootless) is understood too.
 */
import type { BigIntStats } from 'node:fs';
import { resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import type { LayerEntry } from './types.js';
import {
  LAYER_XATTR_PATTERN,
  inodeFromStats,
  linkHardlinks,
  nodeToEntry,
  normalizeExcludes,
  sortByPath,
  walkTree,
} from './walk.js';
import { attrMissing, readXattrTree, type XattrMap, xattrToolsAvailable } from './xattr.js';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

const OVERLAY_XATTR_PATTERN = '^(security\\.capability|user\\..*|trusted\\.overlay\\..*)$';

export interface DiffUpperDirOptions {
  /**
   * Paths the runtime created as empty placeholders (resolv.conf, hosts, hostname, mount-point stubs):
   * absolute-in-container or relative; each is dropped with its subtree. Deciding emptiness is the caller's job.
   */
  exclude?: string[];
  onWarning?: (message: string) => void;
}

function overlayAttr(x: XattrMap | undefined, name: string): Buffer | undefined {
  return x?.[`trusted.overlay.${name}`] ?? x?.[`user.overlay.${name}`];
}

function layerXattrs(x: XattrMap | undefined): XattrMap | undefined {
  if (x === undefined) return undefined;
  const re = new RegExp(LAYER_XATTR_PATTERN);
  const out: XattrMap = {};
  for (const [k, v] of Object.entries(x)) {
    if (re.test(k) && !k.startsWith('user.overlay.')) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function parentAndName(rel: string): { dir: string; name: string } {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? { dir: '', name: rel } : { dir: rel.slice(0, slash + 1), name: rel.slice(slash + 1) };
}

export async function diffUpperDir(upper: string, opts: DiffUpperDirOptions = {}): Promise<LayerEntry[]> {
  upper = resolve(upper);
  if (!xattrToolsAvailable()) throw attrMissing('needed to read overlayfs opaque-directory markers');
  // getfattr runs in its own process while this one walks (the walk is synchronous): started
  // after it, the process's start-up alone was ~10 ms of every RUN step.
  const reading = readXattrTree(upper, OVERLAY_XATTR_PATTERN);
  reading.catch(() => {});
  const nodes = await walkTree(upper, normalizeExcludes(opts.exclude));
  const xattrs = await reading;
  const xattrsOf = (rel: string): XattrMap | undefined => xattrs.get(`${upper}/${rel}`);

  const entries: LayerEntry[] = [];
  const stats = new Map<string, BigIntStats>();
  for (const node of nodes) {
    const st = node.stat;
    const x = xattrsOf(node.rel);
    const mtime = Number(st.mtimeNs / 1_000_000_000n);
    if (overlayAttr(x, 'redirect') !== undefined) {
      throw new SlipwayError('LAYER', `overlay upper dir uses redirect_dir (renamed directory ${node.rel})`, {
        hint: 'mount overlayfs with redirect_dir=off so that renames are recorded as copies',
      });
    }
    if (overlayAttr(x, 'metacopy') !== undefined) {
      throw new SlipwayError(
        'LAYER',
        `overlay upper dir uses metacopy (${node.rel} has no data of its own)`,
        {
          hint: 'mount overlayfs with metacopy=off',
        },
      );
    }
    const isWhiteoutDevice = st.isCharacterDevice() && st.rdev === 0n;
    // Kernel 6.7+ "xwhiteouts": a zero-size file marked with an xattr.
    const isXattrWhiteout = st.isFile() && st.size === 0n && overlayAttr(x, 'whiteout') !== undefined;
    if (isWhiteoutDevice || isXattrWhiteout) {
      const { dir, name } = parentAndName(node.rel);
      entries.push({
        path: `${dir}${WHITEOUT_PREFIX}${name}`,
        type: 'file',
        // moby's overlay differ (what dockerd's BuildKit exports) writes whiteouts as 0600.
        mode: 0o600,
        uid: 0,
        gid: 0,
        size: 0,
        mtime,
        content: Buffer.alloc(0),
      });
      continue;
    }
    const entry = await nodeToEntry(node);
    if (entry === undefined) {
      opts.onWarning?.(`skipping socket ${node.rel}`);
      continue;
    }
    const keep = layerXattrs(x);
    if (keep && entry.type !== 'symlink') entry.xattrs = keep;
    entries.push(entry);
    stats.set(entry.path, st);
    if (entry.type === 'dir' && overlayAttr(x, 'opaque')?.toString() === 'y') {
      // Docker's overlay2 differ: the marker carries the directory's permissions and owner.
      entries.push({
        path: `${node.rel}/${WHITEOUT_OPAQUE}`,
        type: 'file',
        mode: entry.mode & 0o777,
        uid: entry.uid,
        gid: entry.gid,
        size: 0,
        mtime,
        content: Buffer.alloc(0),
      });
    }
  }
  const sorted = sortByPath(entries, (e) => e.path);
  linkHardlinks(sorted, inodeFromStats(stats));
  return sorted;
}

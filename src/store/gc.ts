import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { chainIds } from '../image/chain.js';
import { isDigest } from '../image/digest.js';
import { isIndexMediaType } from '../image/media-types.js';
import type { ImageConfig, Index, Manifest } from '../image/types.js';
import type { BlobStore } from './blobs.js';
import { isErrno, removeQuiet, tempName } from './fsutil.js';
import { readLivePins } from './leases.js';
import type { StorePaths } from './paths.js';

export interface GcResult {
  removedBlobs: string[];
  removedSnapshots: string[];
  /** Bytes of removed blobs (snapshot trees are not measured). */
  reclaimedBytes: number;
}

export interface GcInput {
  paths: StorePaths;
  blobs: BlobStore;
  /** Manifest digests named or dangling in index.json (read under the index lock). */
  manifests: Iterable<string>;
  /** Extra pinned digests (blobs or chain IDs), e.g. the build cache's. */
  roots: Iterable<string>;
  snapshots: boolean;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
}

async function tryJson<T>(blobs: BlobStore, d: string): Promise<T | undefined> {
  try {
    return JSON.parse((await readFile(blobs.path(d))).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Hex digests of every blob and snapshot reachable from the index's manifests. */
async function reachable(input: GcInput): Promise<{ blobs: Set<string>; snaps: Set<string> }> {
  const blobs = new Set<string>();
  const snaps = new Set<string>();
  const hex = (d: string) => d.slice(d.indexOf(':') + 1);
  const visit = async (d: string): Promise<void> => {
    if (!isDigest(d) || blobs.has(hex(d))) return;
    blobs.add(hex(d));
    const doc = await tryJson<Manifest & Index>(input.blobs, d);
    if (doc === undefined) return;
    if (isIndexMediaType(doc.mediaType) || Array.isArray(doc.manifests)) {
      for (const m of doc.manifests ?? []) await visit(m.digest);
      return;
    }
    if (doc.config?.digest && isDigest(doc.config.digest)) {
      blobs.add(hex(doc.config.digest));
      const cfg = await tryJson<ImageConfig>(input.blobs, doc.config.digest);
      const diffIds = cfg?.rootfs?.diff_ids;
      if (Array.isArray(diffIds) && diffIds.every(isDigest))
        for (const c of chainIds(diffIds)) snaps.add(hex(c));
    }
    for (const l of doc.layers ?? []) if (isDigest(l.digest)) blobs.add(hex(l.digest));
  };
  for (const m of input.manifests) await visit(m);
  return { blobs, snaps };
}

/**
 * Must run under the index lock (so names cannot change). Safe against other processes writing blobs or
 * snapshots without the lock, given they pin (lease) a digest BEFORE it appears under its final name or
 * before they test that it exists:
 *   1. list blobs/snapshots; 2. read live pins; 3. move unreachable, unpinned ones into a private trash dir;
 *   4. read live pins again and move back whatever got pinned meanwhile; 5. rename the trash out of
 *   restorable reach and delete it. A gc killed before 5 has its trash put back by the next open.
 * A writer that pinned before step 2 is protected; one that pinned later finds the item gone (it is in the
 * trash or restored), and rewrites it — identical bytes, so a concurrent restore is harmless.
 */
export async function collectGarbage(input: GcInput): Promise<GcResult> {
  const { paths } = input;
  const reach = await reachable(input);
  const blobNames = (await listDir(paths.blobsDir)).filter((n) => /^[a-f0-9]{64}$/.test(n));
  const snapNames = input.snapshots
    ? (await listDir(paths.snapshotsDir)).filter((n) => /^[a-f0-9]{64}$/.test(n))
    : [];
  const pins = await readLivePins(paths.leases, true);
  for (const r of input.roots) pins.add(r.slice(r.indexOf(':') + 1));

  let trash = join(paths.tmp, tempName(GC_TRASH_PREFIX));
  const doomed = join(paths.tmp, tempName('rm'));
  await mkdir(trash);
  const moved: { kind: 'blob' | 'snap'; hex: string; size: number }[] = [];
  try {
    for (const hex of blobNames) {
      if (reach.blobs.has(hex) || pins.has(hex)) continue;
      const from = join(paths.blobsDir, hex);
      const size = (await stat(from).catch(() => undefined))?.size ?? 0;
      try {
        await rename(from, join(trash, `b-${hex}`));
        moved.push({ kind: 'blob', hex, size });
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
      }
    }
    for (const hex of snapNames) {
      if (reach.snaps.has(hex) || pins.has(hex)) continue;
      try {
        await rename(join(paths.snapshotsDir, hex), join(trash, `s-${hex}`));
        moved.push({ kind: 'snap', hex, size: 0 });
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
      }
    }
    const pinsAfter = await readLivePins(paths.leases, false);
    const result: GcResult = { removedBlobs: [], removedSnapshots: [], reclaimedBytes: 0 };
    for (const m of moved) {
      const inTrash = join(trash, `${m.kind === 'blob' ? 'b' : 's'}-${m.hex}`);
      const home = join(m.kind === 'blob' ? paths.blobsDir : paths.snapshotsDir, m.hex);
      if (pinsAfter.has(m.hex)) {
        // A rewrite by the pinning writer may already be back in place; either copy is the same content.
        await rename(inTrash, home).catch(() => {});
        continue;
      }
      if (m.kind === 'blob') {
        result.removedBlobs.push(`sha256:${m.hex}`);
        result.reclaimedBytes += m.size;
      } else result.removedSnapshots.push(`sha256:${m.hex}`);
    }
    // Past this rename nothing in the trash may be restored: deleting it can leave half a snapshot.
    await rename(trash, doomed);
    trash = doomed;
    return result;
  } finally {
    await removeQuiet(trash);
  }
}

/** Prefix of gc's trash dirs under tmp/ (a tempName), while their content may still be put back. */
export const GC_TRASH_PREFIX = 'gc';

/**
 * Put back what a gc killed between moving items to its trash and restoring the ones pinned meanwhile
 * left there. Every entry is whole (moved by one rename), and a writer that pinned it may already have
 * named it in index.json; the unpinned rest is garbage the next gc collects again.
 */
export async function restoreTrash(paths: StorePaths, trash: string): Promise<void> {
  for (const name of await listDir(trash)) {
    const m = /^([bs])-([a-f0-9]{64})$/.exec(name);
    if (!m) continue;
    const home = join(m[1] === 'b' ? paths.blobsDir : paths.snapshotsDir, m[2]!);
    // A rewrite by a writer may be back in place already: same content, keep that one.
    if (
      await stat(home).then(
        () => false,
        () => true,
      )
    )
      await rename(join(trash, name), home).catch(() => {});
  }
}

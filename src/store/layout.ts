import { type FileHandle, mkdir, open, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { MediaType } from '../image/media-types.js';
import type { Descriptor, Index } from '../image/types.js';
import { mountPoints, unmount } from '../runtime/overlay.js';
import { GC_TRASH_PREFIX, restoreTrash } from './gc.js';
import {
  atomicCreateFile,
  atomicWriteFile,
  isErrno,
  isProcessAlive,
  removeQuiet,
  tempOwner,
} from './fsutil.js';
import type { StorePaths } from './paths.js';

/**
 * index.json of the OCI layout is slipway's name table and image-record cache in one file, so `Store.open`
 * reads one small file and no blobs. Each entry is a manifest descriptor; annotations:
 *   org.opencontainers.image.ref.name  full normalized ref (docker.io/library/python:3.11-slim) — one entry
 *                                      per name, as skopeo (`oci:<dir>:<ref>`) and umoci (`ls`) look them up
 *   io.slipway.dangling = "true"       the entry of an image with no name (Docker's <none>), no ref.name
 *   io.slipway.image.config            config digest (= Docker IMAGE ID)
 *   io.slipway.image.size              sum of uncompressed layer sizes (Docker SIZE), decimal
 *   org.opencontainers.image.created   the config's `created`
 * Entries written by other tools lack the io.slipway.* keys; the store then reads their manifest.
 */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_DANGLING = 'io.slipway.dangling';
export const ANNOTATION_CONFIG = 'io.slipway.image.config';
export const ANNOTATION_SIZE = 'io.slipway.image.size';

export function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

/** index.json's text and the stamp of the file it was read from (one descriptor: they always agree). */
export interface IndexFile {
  text: string;
  stamp: string;
}

/**
 * index.json is only ever replaced by rename, never written in place: a file's inode, size and
 * mtime name its content, so an unchanged stamp means an unchanged index.
 */
export function indexStamp(st: { ino: number; size: number; mtimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export async function readIndexFile(paths: StorePaths): Promise<IndexFile | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(paths.indexFile, 'r');
  } catch (e) {
    // A file where the root or one of its parents should be: initLayout names it.
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return undefined;
    throw e;
  }
  try {
    const stamp = indexStamp(await fh.stat());
    return { text: await fh.readFile('utf8'), stamp };
  } finally {
    await fh.close();
  }
}

export function parseIndex(paths: StorePaths, text: string): Index {
  try {
    const idx = JSON.parse(text) as Index;
    if (!Array.isArray(idx.manifests)) throw new Error('manifests is not an array');
    return idx;
  } catch (e) {
    throw new SlipwayError('STORE', `corrupt ${paths.indexFile}: ${(e as Error).message}`, { cause: e });
  }
}

export async function readIndex(paths: StorePaths): Promise<Index | undefined> {
  const file = await readIndexFile(paths);
  return file && parseIndex(paths, file.text);
}

export function indexText(idx: Index): string {
  return `${JSON.stringify(idx)}\n`;
}

export async function writeIndexText(paths: StorePaths, text: string): Promise<void> {
  await atomicWriteFile(paths.indexFile, text);
}

/**
 * Makes `dir` and its missing parents one mkdir at a time. Node's recursive mkdir never returns
 * where mkdir(2) answers ENOENT under a parent that exists (`--root /proc/x` hung), and its errors
 * name a path inside the store rather than the root the user gave.
 */
async function makeRoot(dir: string, root = dir): Promise<void> {
  const fail = (why: string, cause?: unknown) =>
    new SlipwayError('STORE', `cannot use ${root} as the store root: ${why}`, { cause });
  const st = await stat(dir).catch((e: unknown) => e as NodeJS.ErrnoException);
  if (!(st instanceof Error)) {
    if (st.isDirectory()) return;
    throw fail(`${dir} is not a directory`);
  }
  const missing = isErrno(st, 'ENOENT') || isErrno(st, 'ENOTDIR');
  if (!missing || dirname(dir) === dir) throw fail(st.message, st);
  await makeRoot(dirname(dir), root);
  await mkdir(dir).catch((e: unknown) => {
    if (!isErrno(e, 'EEXIST')) throw fail((e as Error).message, e);
  });
}

/** Create the directory skeleton; idempotent and safe when several processes initialize at once. */
export async function initLayout(paths: StorePaths): Promise<void> {
  await makeRoot(paths.root);
  for (const d of [paths.blobsDir, paths.tmp, paths.snapshotsDir, paths.leases, paths.roots, paths.locks]) {
    await mkdir(d, { recursive: true });
  }
  await atomicCreateFile(paths.ociLayoutFile, `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  // Never clobbers: a concurrent first open may have created (and already updated) it.
  await atomicCreateFile(paths.indexFile, `${JSON.stringify(emptyIndex())}\n`);
}

/**
 * Remove temp files/dirs and leases left by crashed processes (owner PID gone); live ones are kept.
 * A killed gc's trash is put back first (see restoreTrash). A process killed during a RUN step leaves its overlay mounted inside its temp dir: that is unmounted
 * first, and a dir that still holds a mount is kept, since a recursive delete would walk into the mount.
 */
export async function cleanStaleTemps(paths: StorePaths): Promise<number> {
  let removed = 0;
  for (const dir of [paths.tmp, paths.oci, paths.leases, paths.locks]) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) continue;
      throw e;
    }
    for (const name of names) {
      const pid = tempOwner(name);
      if (pid === undefined || isProcessAlive(pid)) continue;
      if (dir === paths.tmp && name.startsWith(`${GC_TRASH_PREFIX}.`))
        await restoreTrash(paths, join(dir, name));
      if (await removeUnmounted(join(dir, name))) removed++;
    }
  }
  return removed;
}

/** Mount points at or below `path` (resolved as /proc/self/mountinfo spells it), deepest first. */
async function mountsUnder(path: string): Promise<string[]> {
  const real = await realpath(path).catch(() => path);
  return mountPoints()
    .filter((m) => m === real || m.startsWith(`${real}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Delete a dead process's leftover tree, unmounting whatever is still mounted inside it first. A tree
 * that still holds a mount is kept (false): a recursive delete would walk into the mount.
 */
export async function removeUnmounted(path: string): Promise<boolean> {
  for (const m of await mountsUnder(path)) await unmount(m).catch(() => {});
  if ((await mountsUnder(path)).length > 0) return false;
  await removeQuiet(path);
  return true;
}

export function refName(d: Descriptor): string | undefined {
  return d.annotations?.[ANNOTATION_REF_NAME];
}

/**
 * Where a COPY's LayerIndex is kept between builds (`<root>/cache/layer-index/`, one per step
 * position: parent key + instruction), and how the previous layer is opened for the next write.
 * Everything here is an optimisation: a missing, stale or unreadable index only means the layer
 * is written from its files, so every failure reads as "no previous layer".
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { isDigest } from '../image/digest.js';
import { type LayerIndex, type PreviousLayer, previousLayer } from '../layer/reuse.js';
import { atomicWriteFile } from '../store/fsutil.js';
import type { Store } from '../store/store.js';

const gunzipAsync = promisify(gunzip);

/** A previous tar is held in memory while the new one is written: past this, write from the files. */
const MAX_REUSED_TAR_BYTES = 64 << 20;

export function layerIndexFile(root: string, parentKey: string, instruction: string): string {
  const key = createHash('sha256').update(`${parentKey}\0${instruction}`).digest('hex');
  return join(root, 'cache', 'layer-index', `${key}.json`);
}

/**
 * The index and blob are read at once, so the inflate runs on the thread pool while the main thread
 * lays out the COPY (with async reads, each step would wait for the main thread to come free).
 */
export function openPreviousLayer(store: Store, indexFile: string): Promise<PreviousLayer | undefined> {
  let index: LayerIndex;
  let blob: Buffer;
  try {
    index = JSON.parse(readFileSync(indexFile, 'utf8')) as LayerIndex;
    if (!isDigest(index.blob) || !(index.tarSize <= MAX_REUSED_TAR_BYTES)) return Promise.resolve(undefined);
    blob = readFileSync(store.blobPath(index.blob));
  } catch {
    return Promise.resolve(undefined);
  }
  // One output buffer for the whole tar: the inflate is then one job on the thread pool that needs
  // the (busy) main thread only when it is done; zlib's 16 KiB default would need it 600 times.
  const chunkSize = Math.max(1 << 16, index.tarSize + 1);
  return gunzipAsync(blob, { chunkSize, maxOutputLength: MAX_REUSED_TAR_BYTES }).then(
    (tar) => previousLayer(index, blob, tar),
    () => undefined,
  );
}

/** Indexes kept: one per COPY step rebuilt lately is all a dev loop needs; older ones go. */
const KEPT_INDEXES = 32;

export async function saveLayerIndex(indexFile: string, index: LayerIndex): Promise<void> {
  const dir = dirname(indexFile);
  try {
    await mkdir(dir, { recursive: true });
    await atomicWriteFile(indexFile, JSON.stringify(index), { durable: false });
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    if (names.length <= KEPT_INDEXES) return;
    const aged = await Promise.all(
      names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
    );
    aged.sort((a, b) => b.t - a.t);
    await Promise.all(aged.slice(KEPT_INDEXES).map(({ n }) => rm(join(dir, n), { force: true })));
  } catch {
    // the next rebuild writes its layer from the files
  }
}

/**
 * Where a COPY's LayerIndex is kept between builds (`<root>/cache/layer-index/`, one per step
 * position: parent key + instruction), and how the previous layer is opened for the next write.
 * Everything here is an optimisation: a missing, stale or unreadable index only means the layer
 * is written from its files, so every failure reads as "no previous layer".
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { isDigest } from '../image/digest.js';
import { type LayerIndex, type PreviousLayer, previousLayer } from '../layer/reuse.js';
import { atomicWriteFile } from '../store/fsutil.js';
import type { Store } from '../store/store.js';

const gunzipAsync = promisify(gunzip);

/** A previous tar is held in memory while the new one is written: past this, write from the files. */
const MAX_REUSED_TAR_BYTES = 256 << 20;

export function layerIndexFile(root: string, parentKey: string, instruction: string): string {
  const key = createHash('sha256').update(`${parentKey}\0${instruction}`).digest('hex');
  return join(root, 'cache', 'layer-index', `${key}.json`);
}

export async function openPreviousLayer(store: Store, indexFile: string): Promise<PreviousLayer | undefined> {
  try {
    const index = JSON.parse(await readFile(indexFile, 'utf8')) as LayerIndex;
    if (!isDigest(index.blob) || !(index.tarSize <= MAX_REUSED_TAR_BYTES)) return undefined;
    const blob = await readFile(store.blobPath(index.blob));
    // zlib's 16 KiB default chunks make a 10 MiB inflate four times slower off the main thread.
    const tar = await gunzipAsync(blob, { chunkSize: 1 << 20, maxOutputLength: MAX_REUSED_TAR_BYTES });
    return previousLayer(index, blob, tar);
  } catch {
    return undefined;
  }
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

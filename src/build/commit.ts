import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chainId } from '../image/chain.js';
import type { Digest } from '../image/digest.js';
import type { PreviousLayer } from '../layer/reuse.js';
import type { LayerEntry } from '../layer/types.js';
import { writeLayer } from '../layer/write-layer.js';
import { tempName } from '../store/fsutil.js';
import type { Store } from '../store/store.js';
import type { LayerRef } from './cache-index.js';
import { saveLayerIndex } from './layer-reuse.js';

export interface CommitOptions {
  sourceDateEpoch?: number;
  compression?: 'gzip' | 'zstd' | 'none';
  /** The previous write of this step's layer, to take unchanged members from. */
  previous?: PreviousLayer;
  /** Where to keep this layer's LayerIndex for the next write of the step. */
  indexFile?: string;
}

/**
 * Turns a step's changes into a layer: the entries become a blob in the store and the
 * directory they were read from, if any, becomes the layer's snapshot (no second extraction;
 * without one, the snapshot is unpacked from the blob when a later step needs it).
 * A step that changed nothing still gets its (empty) layer: BuildKit exports every RUN, COPY
 * and WORKDIR it ran as a layer, `0B` in `docker history`.
 */
export async function commitLayer(
  store: Store,
  parent: readonly LayerRef[],
  entries: LayerEntry[],
  snapshotDir: string | undefined,
  scratch: string,
  opts: CommitOptions,
): Promise<LayerRef> {
  const tmp = join(scratch, tempName('layer'));
  try {
    const blob = await writeLayer(entries, tmp, {
      compression: opts.compression ?? 'gzip',
      ...(opts.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: opts.sourceDateEpoch }),
      ...(opts.previous ? { previous: opts.previous } : {}),
      ...(opts.indexFile ? { index: true } : {}),
    });
    await store.adoptBlob(tmp, blob.digest, blob.size);
    if (opts.indexFile && blob.index) await saveLayerIndex(opts.indexFile, blob.index);
    const chain = chainId([...parent.map((l) => l.diffId), blob.diffId] as Digest[])!;
    if (snapshotDir) await store.commitSnapshot(snapshotDir, chain);
    return {
      descriptor: { mediaType: blob.mediaType, digest: blob.digest, size: blob.size },
      diffId: blob.diffId,
      chainId: chain,
      uncompressedSize: entries.reduce((n, e) => n + e.size, 0),
    };
  } finally {
    await rm(tmp, { force: true });
  }
}

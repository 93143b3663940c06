import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chainId } from '../image/chain.js';
import type { Digest } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';
import type { PreviousLayer } from '../layer/reuse.js';
import type { LayerEntry } from '../layer/types.js';
import { startLayer, writeLayer } from '../layer/write-layer.js';
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

/** The chain ID of `parent` with one more layer on top. */
function chainAfter(parent: readonly LayerRef[], diffId: string): Digest {
  return chainId([...parent.map((l) => l.diffId), diffId])!;
}

/** Bytes of content the entries unpack to (Docker's SIZE adds these up). */
function contentBytes(entries: readonly LayerEntry[]): number {
  return entries.reduce((n, e) => n + e.size, 0);
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
    const chain = chainAfter(parent, blob.diffId);
    if (snapshotDir) await store.commitSnapshot(snapshotDir, chain);
    return {
      descriptor: { mediaType: blob.mediaType, digest: blob.digest, size: blob.size },
      diffId: blob.diffId,
      chainId: chain,
      uncompressedSize: contentBytes(entries),
    };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** A committed layer whose blob may still be compressing: its descriptor can be read once `sealed` settles. */
export interface SealingLayer {
  ref: LayerRef;
  sealed: Promise<void>;
}

/**
 * A LayerRef whose descriptor is filled in later. Reading it early is a bug in the caller, and it
 * fails loudly instead of handing out a descriptor of a blob that is not in the store yet.
 */
function unsealedRef(
  diffId: string,
  chainId: string,
  uncompressedSize: number,
): {
  ref: LayerRef;
  seal: (d: Descriptor) => void;
} {
  let descriptor: Descriptor | undefined;
  const ref = {} as LayerRef;
  Object.defineProperty(ref, 'descriptor', {
    enumerable: true,
    get(): Descriptor {
      if (descriptor === undefined) throw new Error(`layer ${diffId} is still being compressed`);
      return descriptor;
    },
  });
  Object.assign(ref, { diffId, chainId, uncompressedSize });
  return { ref, seal: (d) => (descriptor = d) };
}

/**
 * commitLayer for a step whose next steps need only its snapshot and diffID: the tar is made and
 * hashed while parallel gzip takes its chunks (startLayer), the snapshot is committed once the tar
 * is complete, and the compression goes on in the background (on the thread pool) while the build
 * runs its next steps. A layer too large to wait in memory for the compressor is committed as
 * commitLayer does, before this returns.
 */
export async function commitLayerInBackground(
  store: Store,
  parent: readonly LayerRef[],
  entries: LayerEntry[],
  snapshotDir: string,
  scratch: string,
  opts: Omit<CommitOptions, 'previous' | 'indexFile'>,
): Promise<SealingLayer> {
  const tmp = join(scratch, tempName('layer'));
  const started = await startLayer(entries, tmp, opts);
  if (started === undefined) {
    return {
      ref: await commitLayer(store, parent, entries, snapshotDir, scratch, opts),
      sealed: Promise.resolve(),
    };
  }
  const sealing = (async () => {
    try {
      const blob = await started.blob;
      await store.adoptBlob(tmp, blob.digest, blob.size);
      return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
    } finally {
      await rm(tmp, { force: true });
    }
  })();
  sealing.catch(() => {});
  const chain = chainAfter(parent, started.diffId);
  try {
    await store.commitSnapshot(snapshotDir, chain);
  } catch (e) {
    await sealing.catch(() => {});
    throw e;
  }
  const { ref, seal } = unsealedRef(started.diffId, chain, contentBytes(entries));
  const sealed = sealing.then(seal);
  // Awaited by the build before anything reads the descriptor; a failure is reported there.
  sealed.catch(() => {});
  return { ref, sealed };
}

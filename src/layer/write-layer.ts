/** Entries → compressed blob on disk, with diffId and digest hashed in the same single pass. */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSlipwayError, SlipwayError } from '../errors.js';
import { compressBuffer, compressor, gzipOptions } from './compress.js';
import { layerMediaType } from './media-types.js';
import { type BlockRecord, parallelGzip } from './parallel-gzip.js';
import { IndexRecorder } from './reuse.js';
import { type TarWriteOptions, tarStream } from './tar-writer.js';
import type { LayerBlob, LayerEntry, WriteLayerOptions } from './types.js';
import { pathPrecedes, sortByPath } from './walk.js';

async function* hashed(
  source: AsyncIterable<Buffer>,
  hash: Hash,
  count: { bytes: number },
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    count.bytes += chunk.length;
    yield chunk;
  }
}

/** Writes the pieces in order; compression of later pieces goes on while one is written. */
async function writePieces(
  pieces: AsyncIterable<Buffer>,
  outPath: string,
  hash: Hash,
  count: { bytes: number },
): Promise<void> {
  const file = await open(outPath, 'w', 0o644);
  try {
    for await (const piece of pieces) {
      hash.update(piece);
      count.bytes += piece.length;
      await file.write(piece);
    }
  } finally {
    await file.close();
  }
}

function hashTap(hash: Hash, count?: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      if (count) count.bytes += chunk.length;
      cb(null, chunk);
    },
  });
}

/** Determinism needs one order; an unsorted or duplicated stream is a caller bug, so it fails loudly. */
function orderCheck(): (e: LayerEntry) => void {
  let prev: string | undefined;
  return (e) => {
    if (prev !== undefined && !pathPrecedes(prev, e.path)) {
      throw new SlipwayError('LAYER', `layer entries are not in sorted order at ${e.path}`);
    }
    prev = e.path;
  };
}

async function* inOrder(entries: AsyncIterable<LayerEntry>): AsyncGenerator<LayerEntry> {
  const check = orderCheck();
  for await (const e of entries) {
    check(e);
    yield e;
  }
}

/** An array is sorted here, and checked for duplicates, before any byte is written. */
function sortedArray(entries: LayerEntry[]): LayerEntry[] {
  const sorted = sortByPath(entries, (e) => e.path);
  const check = orderCheck();
  for (const e of sorted) check(e);
  return sorted;
}

// Up to this tar size a layer is built in memory and compressed in one call: for a COPY of a few
// source files the stream pipeline costs more than the work (~10 ms of a 0.25 s rebuild here).
// Larger layers stream, so compression runs on the thread pool beside the tar writer.
const IN_MEMORY_LAYER_BYTES = 1 << 20;

function tarBytes(entries: LayerEntry[]): number {
  let n = 1024;
  for (const e of entries) n += 512 + (e.type === 'file' ? Math.ceil(e.size / 512) * 512 : 0);
  return n;
}

async function tarInMemory(entries: LayerEntry[], tarOpts: TarWriteOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries, tarOpts)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function writeBlobFile(outPath: string, blob: Buffer): Promise<void> {
  try {
    await writeFile(outPath, blob, { mode: 0o644 });
  } catch (e) {
    await rm(outPath, { force: true });
    throw new SlipwayError('LAYER', `writing layer ${outPath} failed: ${(e as Error).message}`, { cause: e });
  }
}

async function writeLayerInMemory(
  entries: LayerEntry[],
  outPath: string,
  compression: 'gzip' | 'none',
  level: number | undefined,
  oci: boolean,
  tarOpts: TarWriteOptions,
): Promise<LayerBlob> {
  const tar = await tarInMemory(entries, tarOpts);
  const blob = compressBuffer(tar, compression, level);
  await writeBlobFile(outPath, blob);
  return {
    path: outPath,
    digest: sha256(blob),
    diffId: sha256(tar),
    size: blob.length,
    mediaType: layerMediaType(compression, oci),
  };
}

function tarOptions(opts: WriteLayerOptions): TarWriteOptions {
  if (
    opts.sourceDateEpoch !== undefined &&
    !(Number.isFinite(opts.sourceDateEpoch) && opts.sourceDateEpoch >= 0)
  ) {
    throw new SlipwayError('LAYER', `invalid SOURCE_DATE_EPOCH: ${opts.sourceDateEpoch}`);
  }
  return opts.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: opts.sourceDateEpoch };
}

/** A layer's tar held in memory: its diffID is known before a byte of it is compressed. */
export interface TarredLayer {
  tar: Buffer;
  diffId: string;
}

/**
 * Up to this tar size a layer can be held in memory while it compresses, so a build goes on with
 * its next step meanwhile; a larger one is written as a stream (writeLayer) before the build goes on.
 */
export const TARRED_LAYER_MAX_BYTES = 64 << 20;

/** The entries as one tar in memory, or undefined when it would be larger than TARRED_LAYER_MAX_BYTES. */
export async function tarLayer(
  entries: LayerEntry[],
  opts: Pick<WriteLayerOptions, 'sourceDateEpoch'> = {},
): Promise<TarredLayer | undefined> {
  const tarOpts = tarOptions(opts);
  if (tarBytes(entries) > TARRED_LAYER_MAX_BYTES) return undefined;
  const tar = await tarInMemory(sortedArray(entries), tarOpts);
  return { tar, diffId: sha256(tar) };
}

/**
 * Compresses a tarLayer() result into the blob at outPath. gzip deflates on the thread pool
 * (parallelGzip: the same bytes gzipSync gives for one block, and writeLayer's stream for more),
 * so the main thread stays free for the build's next step.
 */
export async function compressTarredLayer(
  layer: TarredLayer,
  outPath: string,
  opts: Pick<WriteLayerOptions, 'compression' | 'oci' | 'gzipLevel' | 'zstdLevel'> = {},
): Promise<LayerBlob> {
  const compression = opts.compression ?? 'gzip';
  const blobHash = createHash('sha256');
  const written = { bytes: 0 };
  if (compression === 'gzip') {
    const pieces = parallelGzip(
      (async function* () {
        yield layer.tar;
      })(),
      gzipOptions(opts.gzipLevel),
    );
    try {
      await writePieces(pieces, outPath, blobHash, written);
    } catch (e) {
      await rm(outPath, { force: true });
      throw new SlipwayError('LAYER', `writing layer ${outPath} failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
  } else if (compression === 'none') {
    await writeBlobFile(outPath, layer.tar);
    blobHash.update(layer.tar);
    written.bytes = layer.tar.length;
  } else {
    const codec = compressor(compression, opts.zstdLevel);
    try {
      await Promise.all([
        pipeline(
          Readable.from([layer.tar]),
          codec.stream,
          hashTap(blobHash, written),
          createWriteStream(outPath, { mode: 0o644 }),
        ),
        codec.done,
      ]);
    } catch (e) {
      await rm(outPath, { force: true });
      if (isSlipwayError(e)) throw e;
      throw new SlipwayError('LAYER', `writing layer ${outPath} failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  return {
    path: outPath,
    digest: `sha256:${blobHash.digest('hex')}`,
    diffId: layer.diffId,
    size: written.bytes,
    mediaType: layerMediaType(compression, opts.oci ?? true),
  };
}

export async function writeLayer(
  entries: AsyncIterable<LayerEntry> | LayerEntry[],
  outPath: string,
  opts: WriteLayerOptions = {},
): Promise<LayerBlob> {
  const compression = opts.compression ?? 'gzip';
  const oci = opts.oci ?? true;
  const source = Array.isArray(entries) ? sortedArray(entries) : inOrder(entries);
  const tarOpts = tarOptions(opts);
  const level = compression === 'zstd' ? opts.zstdLevel : opts.gzipLevel;
  if (Array.isArray(entries) && compression !== 'zstd' && tarBytes(entries) <= IN_MEMORY_LAYER_BYTES) {
    return writeLayerInMemory(source as LayerEntry[], outPath, compression, level, oci, tarOpts);
  }
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  const written = { bytes: 0 };
  const gzip = compression === 'gzip' ? gzipOptions(level) : undefined;
  const previous = gzip && opts.previous?.level === gzip.level ? opts.previous : undefined;
  const members = opts.index && gzip ? new IndexRecorder() : undefined;
  const blocks: BlockRecord | undefined = members ? { sizes: [], crcs: [] } : undefined;
  const tar = tarStream(source, {
    ...tarOpts,
    ...(previous ? { previous } : {}),
    ...(members ? { record: members } : {}),
  });
  const tarSize = { bytes: 0 };
  try {
    if (gzip) {
      const pieces = parallelGzip(hashed(tar, diffHash, tarSize), gzip, {
        ...(previous ? { previous } : {}),
        ...(blocks ? { blocks } : {}),
      });
      await writePieces(pieces, outPath, blobHash, written);
    } else {
      const codec = compressor(compression, level);
      await Promise.all([
        pipeline(
          Readable.from(tar, { objectMode: false, highWaterMark: 1 << 20 }),
          hashTap(diffHash),
          codec.stream,
          hashTap(blobHash, written),
          createWriteStream(outPath, { mode: 0o644 }),
        ),
        codec.done,
      ]);
    }
  } catch (e) {
    await rm(outPath, { force: true });
    if (isSlipwayError(e)) throw e;
    throw new SlipwayError('LAYER', `writing layer ${outPath} failed: ${(e as Error).message}`, { cause: e });
  }
  const digest = `sha256:${blobHash.digest('hex')}`;
  return {
    path: outPath,
    digest,
    diffId: `sha256:${diffHash.digest('hex')}`,
    size: written.bytes,
    mediaType: layerMediaType(compression, oci),
    ...(gzip && members && blocks ? { index: members.index(digest, gzip.level, tarSize.bytes, blocks) } : {}),
  };
}

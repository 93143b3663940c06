/** Entries → compressed blob on disk, with diffId and digest hashed in the same single pass. */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSlipwayError, SlipwayError } from '../errors.js';
import { compressBuffer, compressor, gzipOptions } from './compress.js';
import { layerMediaType } from './media-types.js';
import { type BlockRecord, type ParallelGzipExtras, parallelGzip } from './parallel-gzip.js';
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

async function writeLayerInMemory(
  entries: LayerEntry[],
  outPath: string,
  compression: 'gzip' | 'none',
  level: number | undefined,
  oci: boolean,
  tarOpts: TarWriteOptions,
): Promise<LayerBlob> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries, tarOpts)) chunks.push(chunk);
  const tar = Buffer.concat(chunks);
  const blob = compressBuffer(tar, compression, level);
  try {
    await writeFile(outPath, blob, { mode: 0o644 });
  } catch (e) {
    await rm(outPath, { force: true });
    throw new SlipwayError('LAYER', `writing layer ${outPath} failed: ${(e as Error).message}`, { cause: e });
  }
  return {
    path: outPath,
    digest: `sha256:${createHash('sha256').update(blob).digest('hex')}`,
    diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}`,
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

/**
 * Up to this tar size a layer's blob may still be compressing after its diffID is known (a build
 * goes on with its next step meanwhile); the tar waits in memory for the compressor. A larger one
 * is written as a stream (writeLayer), compression and all, before its diffID is known.
 */
export const STARTED_LAYER_MAX_BYTES = 64 << 20;

/** A layer whose tar is made and hashed; its blob is done when `blob` settles. */
export interface StartedLayer {
  diffId: string;
  blob: Promise<LayerBlob>;
}

/** Tar chunks handed from the tar writer to a compressor that may lag behind it, never throttling it. */
class ChunkQueue implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.wake?.();
  }

  end(failure?: { error: unknown }): void {
    this.ended = true;
    this.failure = failure;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        yield chunk;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

/**
 * Tar chunks → the compressed blob at outPath, hashed as it is written: what every layer not
 * built in memory goes through. gzip is parallel gzip (with `extras` for a rebuild's block reuse);
 * zstd runs its CLI as a stream.
 */
async function compressChunks(
  chunks: AsyncIterable<Buffer>,
  outPath: string,
  opts: Pick<WriteLayerOptions, 'compression' | 'oci' | 'gzipLevel' | 'zstdLevel'>,
  extras: ParallelGzipExtras = {},
): Promise<Omit<LayerBlob, 'diffId'>> {
  const compression = opts.compression ?? 'gzip';
  const blobHash = createHash('sha256');
  const written = { bytes: 0 };
  try {
    if (compression === 'zstd') {
      const codec = compressor(compression, opts.zstdLevel);
      await Promise.all([
        pipeline(
          Readable.from(chunks, { objectMode: false, highWaterMark: 1 << 20 }),
          codec.stream,
          hashTap(blobHash, written),
          createWriteStream(outPath, { mode: 0o644 }),
        ),
        codec.done,
      ]);
    } else {
      const pieces =
        compression === 'gzip' ? parallelGzip(chunks, gzipOptions(opts.gzipLevel), extras) : chunks;
      await writePieces(pieces, outPath, blobHash, written);
    }
  } catch (e) {
    await rm(outPath, { force: true });
    if (isSlipwayError(e)) throw e;
    throw new SlipwayError('LAYER', `writing layer ${outPath} failed: ${(e as Error).message}`, { cause: e });
  }
  return {
    path: outPath,
    digest: `sha256:${blobHash.digest('hex')}`,
    size: written.bytes,
    mediaType: layerMediaType(compression, opts.oci ?? true),
  };
}

/**
 * writeLayer for a caller that needs the diffID before the blob: the tar is made and hashed at
 * full speed while the compressor (parallel gzip on the thread pool) takes its chunks as they
 * come, and this returns once the tar is complete, the blob still on its way. The bytes are those
 * of writeLayer. Undefined when the tar would be larger than STARTED_LAYER_MAX_BYTES.
 */
export async function startLayer(
  entries: LayerEntry[],
  outPath: string,
  opts: Pick<WriteLayerOptions, 'compression' | 'oci' | 'gzipLevel' | 'zstdLevel' | 'sourceDateEpoch'> = {},
): Promise<StartedLayer | undefined> {
  const tarOpts = tarOptions(opts);
  if (tarBytes(entries) > STARTED_LAYER_MAX_BYTES) return undefined;
  const sorted = sortedArray(entries);
  const queue = new ChunkQueue();
  const compressing = compressChunks(queue, outPath, opts);
  compressing.catch(() => {});
  const diffHash = createHash('sha256');
  try {
    for await (const chunk of tarStream(sorted, tarOpts)) {
      diffHash.update(chunk);
      queue.push(chunk);
    }
  } catch (e) {
    queue.end({ error: e });
    // The compressor has let go of outPath (and removed it) before the caller hears of the failure.
    await compressing.catch(() => {});
    throw e;
  }
  queue.end();
  const diffId = `sha256:${diffHash.digest('hex')}`;
  return { diffId, blob: compressing.then((b) => ({ ...b, diffId })) };
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
  const blob = await compressChunks(hashed(tar, diffHash, tarSize), outPath, opts, {
    ...(previous ? { previous } : {}),
    ...(blocks ? { blocks } : {}),
  });
  return {
    ...blob,
    diffId: `sha256:${diffHash.digest('hex')}`,
    ...(gzip && members && blocks
      ? { index: members.index(blob.digest, gzip.level, tarSize.bytes, blocks) }
      : {}),
  };
}

/**
 * gzip on every core, as pigz does it: the input is cut into fixed 1 MiB blocks, each block is
 * deflated on the thread pool with the 32 KiB before it as its dictionary and ended with a sync
 * flush, and the pieces are joined under one gzip header and trailer. The result is one ordinary
 * gzip member (any gunzip reads it) that is as small as single-threaded output, and the bytes
 * depend only on the input and the level, never on timing. Input of at most one block gives
 * exactly what `gzipSync` gives.
 */
import { promisify } from 'node:util';
import { crc32, deflateRaw, type ZlibOptions, constants as zc } from 'node:zlib';

const BLOCK = 1 << 20;
const WINDOW = 32 * 1024;
/** Blocks being deflated at once: enough to keep every pool thread busy, memory stays a few MiB. */
const IN_FLIGHT = 4;

const deflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(deflateRaw);

/** Which zlib deflates here: a block compressed by another may not be byte for byte what this one writes. */
export function zlibVersion(): string {
  return process.versions.zlib ?? 'unknown';
}

export interface BlockReuse {
  /** The input of an earlier run of parallelGzip with the same options... */
  tar: Buffer;
  /** ...and what each of its blocks compressed to. */
  pieces: Buffer[];
}

export interface ParallelGzipExtras {
  /** A block whose input and dictionary equal the earlier run's is taken as it came out then. */
  previous?: BlockReuse;
  /** Receives each block's compressed length, in order (for a later run's `previous`). */
  blockSizes?: number[];
}

/** What zlib writes for its own gzip wrapper: no name, mtime 0, OS Unix, XFL from the level. */
function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

function gzipTrailer(crc: number, length: number): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32LE(crc >>> 0, 0);
  t.writeUInt32LE(length % 2 ** 32, 4);
  return t;
}

/** Compresses `source` into the pieces of one gzip stream, in order. */
export async function* parallelGzip(
  source: AsyncIterable<Buffer>,
  options: ZlibOptions & { level: number },
  extras: ParallelGzipExtras = {},
): AsyncGenerator<Buffer> {
  yield gzipHeader(options.level);
  const { previous, blockSizes } = extras;
  const pending: Promise<Buffer>[] = [];
  let index = 0;
  let crc = 0;
  let length = 0;
  let block = Buffer.allocUnsafe(BLOCK);
  let filled = 0;
  let tail: Buffer | undefined;
  // A full block is sent only once more input follows it: the last block must end the stream.
  let full: Buffer | undefined;

  /** Deflate output depends on the block, its dictionary and whether it ends the stream: nothing else. */
  const unchanged = (data: Buffer, last: boolean): Buffer | undefined => {
    if (previous === undefined || index >= previous.pieces.length) return undefined;
    if ((index === previous.pieces.length - 1) !== last) return undefined;
    const start = index * BLOCK;
    const end = start + data.length;
    if (last ? previous.tar.length !== end : previous.tar.length < end) return undefined;
    if (!data.equals(previous.tar.subarray(start, end))) return undefined;
    if (tail !== undefined && !tail.equals(previous.tar.subarray(start - tail.length, start)))
      return undefined;
    return previous.pieces[index];
  };

  const next = async (): Promise<Buffer> => {
    const piece = await (pending.shift() as Promise<Buffer>);
    blockSizes?.push(piece.length);
    return piece;
  };

  const send = (data: Buffer, last: boolean): void => {
    crc = crc32(data, crc);
    length += data.length;
    const reused = unchanged(data, last);
    const piece =
      reused === undefined
        ? deflateRawAsync(data, {
            ...options,
            finishFlush: last ? zc.Z_FINISH : zc.Z_SYNC_FLUSH,
            ...(tail === undefined ? {} : { dictionary: tail }),
          })
        : Promise.resolve(reused);
    // Awaited in order later; a failure while the source is still being read must not go unhandled.
    piece.catch(() => undefined);
    pending.push(piece);
    tail = data.length >= WINDOW ? data.subarray(data.length - WINDOW) : undefined;
    index++;
  };

  for await (const chunk of source) {
    let off = 0;
    while (off < chunk.length) {
      if (full !== undefined) {
        send(full, false);
        full = undefined;
        while (pending.length >= IN_FLIGHT) yield await next();
      }
      const n = Math.min(chunk.length - off, BLOCK - filled);
      chunk.copy(block, filled, off, off + n);
      filled += n;
      off += n;
      if (filled === BLOCK) {
        full = block;
        block = Buffer.allocUnsafe(BLOCK);
        filled = 0;
      }
    }
  }
  send(full ?? block.subarray(0, filled), true);
  while (pending.length > 0) yield await next();
  yield gzipTrailer(crc, length);
}

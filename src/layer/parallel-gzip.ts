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
): AsyncGenerator<Buffer> {
  yield gzipHeader(options.level);
  const pending: Promise<Buffer>[] = [];
  let crc = 0;
  let length = 0;
  let block = Buffer.allocUnsafe(BLOCK);
  let filled = 0;
  let tail: Buffer | undefined;
  // A full block is sent only once more input follows it: the last block must end the stream.
  let full: Buffer | undefined;

  const send = (data: Buffer, last: boolean): void => {
    crc = crc32(data, crc);
    length += data.length;
    const piece = deflateRawAsync(data, {
      ...options,
      finishFlush: last ? zc.Z_FINISH : zc.Z_SYNC_FLUSH,
      ...(tail === undefined ? {} : { dictionary: tail }),
    });
    // Awaited in order later; a failure while the source is still being read must not go unhandled.
    piece.catch(() => undefined);
    pending.push(piece);
    tail = data.length >= WINDOW ? data.subarray(data.length - WINDOW) : undefined;
  };

  for await (const chunk of source) {
    let off = 0;
    while (off < chunk.length) {
      if (full !== undefined) {
        send(full, false);
        full = undefined;
        while (pending.length >= IN_FLIGHT) yield await (pending.shift() as Promise<Buffer>);
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
  while (pending.length > 0) yield await (pending.shift() as Promise<Buffer>);
  yield gzipTrailer(crc, length);
}

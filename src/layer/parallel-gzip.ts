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
  /** ...what each of its blocks compressed to... */
  pieces: Buffer[];
  /** ...and each block's own CRC-32. */
  crcs: number[];
}

/** What a run reports of its blocks, in order, for a later run's BlockReuse. */
export interface BlockRecord {
  sizes: number[];
  crcs: number[];
}

export interface ParallelGzipExtras {
  /** A block whose input and dictionary equal the earlier run's is taken as it came out then. */
  previous?: BlockReuse;
  blocks?: BlockRecord;
}

// CRC-32 of a concatenation from the CRCs of its parts (zlib's crc32_combine), so a reused block
// is not read again for the trailer's CRC.
const CRC_POLY = 0xedb88320;

/** a(x) * b(x) modulo the CRC polynomial, reflected as zlib keeps CRCs. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ CRC_POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31. */
const X2N: number[] = [];
for (let k = 0, p = 0x40000000; k < 32; k++) {
  X2N.push(p);
  p = multModP(p, p);
}

/** x^(8 * bytes) modulo the polynomial: appending `bytes` zero bytes to a CRC. */
function shiftBytes(bytes: number): number {
  let p = 0x80000000;
  let k = 3;
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multModP(X2N[k % 32] as number, p);
  }
  return p;
}

export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  return (multModP(shiftBytes(length2), crc1) ^ crc2) >>> 0;
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

/**
 * Compresses `source` into the pieces of one gzip stream, in order. The source must not reuse a
 * buffer it has yielded: blocks are deflated on the thread pool straight from its chunks.
 */
export async function* parallelGzip(
  source: AsyncIterable<Buffer>,
  options: ZlibOptions & { level: number },
  extras: ParallelGzipExtras = {},
): AsyncGenerator<Buffer> {
  yield gzipHeader(options.level);
  const { previous, blocks } = extras;
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
  const unchanged = (data: Buffer, last: boolean): number | undefined => {
    if (previous === undefined || index >= previous.pieces.length) return undefined;
    if ((index === previous.pieces.length - 1) !== last) return undefined;
    const start = index * BLOCK;
    const end = start + data.length;
    if (last ? previous.tar.length !== end : previous.tar.length < end) return undefined;
    if (!data.equals(previous.tar.subarray(start, end))) return undefined;
    if (tail !== undefined && !tail.equals(previous.tar.subarray(start - tail.length, start)))
      return undefined;
    return index;
  };

  const next = async (): Promise<Buffer> => {
    const piece = await (pending.shift() as Promise<Buffer>);
    blocks?.sizes.push(piece.length);
    return piece;
  };

  const send = (data: Buffer, last: boolean): void => {
    const reused = unchanged(data, last);
    const blockCrc = reused === undefined ? crc32(data) : (previous?.crcs[reused] as number);
    crc = length === 0 ? blockCrc : crc32Combine(crc, blockCrc, data.length);
    length += data.length;
    blocks?.crcs.push(blockCrc);
    const piece =
      reused === undefined
        ? deflateRawAsync(data, {
            ...options,
            finishFlush: last ? zc.Z_FINISH : zc.Z_SYNC_FLUSH,
            ...(tail === undefined ? {} : { dictionary: tail }),
          })
        : Promise.resolve(previous?.pieces[reused] as Buffer);
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
      if (filled === 0 && chunk.length - off >= BLOCK) {
        // A whole block inside one chunk is deflated where it lies.
        full = chunk.subarray(off, off + BLOCK);
        off += BLOCK;
        continue;
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

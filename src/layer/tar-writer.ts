/** Entries in, tar bytes out: an async generator, so content is streamed and memory stays flat. */
import { createReadStream, readFileSync } from 'node:fs';
import { SlipwayError } from '../errors.js';
import { END_OF_ARCHIVE, encodeHeader, padding, TYPEFLAG } from './tar-header.js';
import type { LayerEntry } from './types.js';

export interface TarWriteOptions {
  sourceDateEpoch?: number;
}

const TYPEFLAG_OF: Record<LayerEntry['type'], number> = {
  file: TYPEFLAG.file,
  dir: TYPEFLAG.dir,
  symlink: TYPEFLAG.symlink,
  hardlink: TYPEFLAG.hardlink,
  char: TYPEFLAG.char,
  block: TYPEFLAG.block,
  fifo: TYPEFLAG.fifo,
};

/** Layer paths are relative posix paths without `.`/`..` parts; anything else is a caller bug worth naming. */
export function checkEntryPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.endsWith('/') || path.includes('\0')) {
    throw new SlipwayError('LAYER', `invalid layer entry path: ${JSON.stringify(path)}`);
  }
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') {
      throw new SlipwayError('LAYER', `invalid layer entry path: ${JSON.stringify(path)}`);
    }
  }
}

export function clampMtime(mtime: number, sourceDateEpoch: number | undefined): number {
  const m = Math.floor(mtime);
  return sourceDateEpoch !== undefined && m > sourceDateEpoch ? Math.floor(sourceDateEpoch) : m;
}

const SMALL_FILE = 1 << 20;
/** Headers and small files are gathered into chunks of about this size before they go downstream. */
const CHUNK = 1 << 18;

async function* fileContent(entry: LayerEntry): AsyncGenerator<Buffer> {
  if (entry.source === undefined) {
    const content = entry.content ?? Buffer.alloc(0);
    if (content.length !== entry.size) {
      throw new SlipwayError(
        'LAYER',
        `layer entry ${entry.path}: content is ${content.length} bytes, size says ${entry.size}`,
      );
    }
    if (content.length > 0) yield content;
    return;
  }
  if (entry.size <= SMALL_FILE) {
    // One read for a small file: streaming it costs more in thread-pool hops than the bytes.
    let content: Buffer;
    try {
      content = readFileSync(entry.source);
    } catch (e) {
      throw new SlipwayError('LAYER', `cannot read ${entry.source}: ${(e as Error).message}`, { cause: e });
    }
    if (content.length !== entry.size) {
      throw new SlipwayError('LAYER', `file changed while writing the layer: ${entry.source}`, {
        hint: `expected ${entry.size} bytes, read ${content.length}`,
      });
    }
    if (content.length > 0) yield content;
    return;
  }
  let seen = 0;
  const stream = createReadStream(entry.source, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > entry.size) break;
      yield chunk;
    }
  } catch (e) {
    throw new SlipwayError('LAYER', `cannot read ${entry.source}: ${(e as Error).message}`, { cause: e });
  } finally {
    stream.destroy();
  }
  if (seen !== entry.size) {
    throw new SlipwayError('LAYER', `file changed while writing the layer: ${entry.source}`, {
      hint: `expected ${entry.size} bytes, read ${seen > entry.size ? 'more' : seen}`,
    });
  }
}

/** The tar stream for `entries`, in the order given (callers sort; `entriesFromDir` already does). */
export async function* tarStream(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  opts: TarWriteOptions = {},
): AsyncGenerator<Buffer> {
  // Thousands of 512-byte headers would each cross the stream machinery alone: batch them.
  let batch: Buffer[] = [];
  let batched = 0;
  for await (const chunk of unbatched(entries, opts)) {
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= CHUNK) {
      yield batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
    }
  }
  if (batched > 0) yield Buffer.concat(batch, batched);
}

async function* unbatched(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  opts: TarWriteOptions,
): AsyncGenerator<Buffer> {
  for await (const entry of entries) {
    checkEntryPath(entry.path);
    const isFile = entry.type === 'file';
    const isLink = entry.type === 'symlink' || entry.type === 'hardlink';
    if (isLink && !entry.linkTarget) {
      throw new SlipwayError('LAYER', `layer entry ${entry.path}: ${entry.type} without a target`);
    }
    const isDevice = entry.type === 'char' || entry.type === 'block';
    const blocks = encodeHeader({
      name: entry.type === 'dir' ? `${entry.path}/` : entry.path,
      typeflag: TYPEFLAG_OF[entry.type],
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: isFile ? entry.size : 0,
      mtime: clampMtime(entry.mtime, opts.sourceDateEpoch),
      linkname: isLink ? entry.linkTarget : '',
      devmajor: isDevice ? (entry.devMajor ?? 0) : 0,
      devminor: isDevice ? (entry.devMinor ?? 0) : 0,
      ...(entry.xattrs ? { xattrs: entry.xattrs } : {}),
    });
    for (const b of blocks) yield b;
    if (isFile) {
      yield* fileContent(entry);
      const pad = padding(entry.size);
      if (pad.length > 0) yield pad;
    }
  }
  yield END_OF_ARCHIVE;
}

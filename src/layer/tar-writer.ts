/** Entries in, tar bytes out: an async generator, so content is streamed and memory stays flat. */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { SlipwayError } from '../errors.js';
import {
  BLOCK,
  END_OF_ARCHIVE,
  type EncodeInput,
  encodeHeader,
  encodeSingleBlockInto,
  TYPEFLAG,
} from './tar-header.js';
import type { IndexRecorder, PreviousLayer } from './reuse.js';
import type { LayerEntry } from './types.js';

export interface TarWriteOptions {
  sourceDateEpoch?: number;
  /** An earlier tar whose members are copied where their make-up is unchanged (see reuse.ts). */
  previous?: PreviousLayer;
  /** Records where each member lies, for a later write's `previous`. */
  record?: IndexRecorder;
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

/** Headers and small files are gathered into chunks of about this size before they go downstream. */
const CHUNK = 1 << 18;

function changedWhileWriting(entry: LayerEntry, read: number | 'more'): SlipwayError {
  return new SlipwayError('LAYER', `file changed while writing the layer: ${entry.source}`, {
    hint: `expected ${entry.size} bytes, read ${read}`,
  });
}

function cannotRead(entry: LayerEntry, e: unknown): SlipwayError {
  return new SlipwayError('LAYER', `cannot read ${entry.source}: ${(e as Error).message}`, { cause: e });
}

/**
 * Gathers tar bytes into CHUNK-sized buffers. A small file is read straight into the chunk (one
 * open, one read, one close, no per-file buffer); only full chunks travel downstream, so a layer of
 * 10,000 small files is ~40 stream writes instead of ~30,000.
 */
class ChunkWriter {
  // Zeroed once, written once front to back: header fields and padding need no fill of their own.
  private buf = Buffer.alloc(CHUNK);
  private pos = 0;
  /** Bytes before the current chunk, including those streamed around the writer. */
  private before = 0;
  readonly ready: Buffer[] = [];

  get offset(): number {
    return this.before + this.pos;
  }

  /** Counts content that went downstream without passing through the writer. */
  streamed(bytes: number): void {
    this.before += bytes;
  }

  /** Encodes a header into the chunk; only headers that need pax records take the general path. */
  header(h: EncodeInput): void {
    if (this.pos + BLOCK > this.buf.length) this.flush();
    if (encodeSingleBlockInto(this.buf, this.pos, h)) {
      this.pos += BLOCK;
      return;
    }
    for (const b of encodeHeader(h)) this.put(b);
  }

  put(bytes: Buffer): void {
    if (this.pos + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) {
      this.ready.push(bytes);
      this.before += bytes.length;
      return;
    }
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  /** Zeros up to the next block boundary after `size` bytes of content. */
  pad(size: number): void {
    const rem = size % BLOCK;
    if (rem === 0) return;
    if (this.pos + BLOCK > this.buf.length) this.flush();
    this.pos += BLOCK - rem;
  }

  /** Whether `entry`'s content (plus one byte that proves the file did not grow) fits in a chunk. */
  fits(size: number): boolean {
    return size + 1 <= CHUNK;
  }

  /** Reads the whole file into the chunk; it must be exactly `entry.size` bytes long. */
  readFile(entry: LayerEntry, path: string): void {
    if (this.pos + entry.size + 1 > this.buf.length) this.flush();
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw cannotRead(entry, e);
    }
    try {
      let got = 0;
      const want = entry.size + 1;
      for (;;) {
        const n = readSync(fd, this.buf, this.pos + got, want - got, null);
        if (n === 0) break;
        got += n;
        if (got === want) throw changedWhileWriting(entry, 'more');
      }
      if (got !== entry.size) throw changedWhileWriting(entry, got);
    } catch (e) {
      if (e instanceof SlipwayError) throw e;
      throw cannotRead(entry, e);
    } finally {
      closeSync(fd);
    }
    this.pos += entry.size;
  }

  flush(): void {
    if (this.pos === 0) return;
    this.ready.push(this.buf.subarray(0, this.pos));
    this.before += this.pos;
    this.buf = Buffer.alloc(CHUNK);
    this.pos = 0;
  }
}

async function* streamFile(entry: LayerEntry, path: string): AsyncGenerator<Buffer> {
  let seen = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > entry.size) break;
      yield chunk;
    }
  } catch (e) {
    throw cannotRead(entry, e);
  } finally {
    stream.destroy();
  }
  if (seen !== entry.size) throw changedWhileWriting(entry, seen > entry.size ? 'more' : seen);
}

/** The tar stream for `entries`, in the order given (callers sort; `entriesFromDir` already does). */
export async function* tarStream(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  opts: TarWriteOptions = {},
): AsyncGenerator<Buffer> {
  const out = new ChunkWriter();
  const members = new MemberWriter(out, opts);
  for await (const batch of batches(entries)) {
    for (const entry of batch) {
      const large = members.begin(entry);
      if (large !== undefined) {
        yield* out.ready.splice(0);
        yield* streamFile(entry, large);
        members.streamed(entry);
      }
      members.end(entry);
      if (out.ready.length > 0) yield* out.ready.splice(0);
    }
  }
  members.finish();
  out.put(END_OF_ARCHIVE);
  out.flush();
  yield* out.ready.splice(0);
}

/** A plain array is one batch, walked without an await per entry. */
async function* batches(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
): AsyncGenerator<Iterable<LayerEntry>> {
  if (Symbol.iterator in entries) {
    yield entries;
    return;
  }
  for await (const entry of entries) yield [entry];
}

/**
 * Writes members into a ChunkWriter, taking those whose fingerprint is unchanged from `previous`
 * (members that lie back to back there are copied as one range) and recording each member's range.
 */
class MemberWriter {
  private runStart = 0;
  private runEnd = 0;
  /** The member being written: its mtime as written and where it starts. */
  private mtime = 0;
  private start = 0;

  constructor(
    private readonly out: ChunkWriter,
    private readonly opts: TarWriteOptions,
  ) {}

  private get offset(): number {
    return this.out.offset + (this.runEnd - this.runStart);
  }

  private endRun(): void {
    if (this.opts.previous !== undefined && this.runEnd > this.runStart) {
      this.out.put(this.opts.previous.tar.subarray(this.runStart, this.runEnd));
    }
    this.runStart = this.runEnd = 0;
  }

  /** Writes `entry`, except a large file's content: returns the path to stream that from. */
  begin(entry: LayerEntry): string | undefined {
    const { previous, sourceDateEpoch } = this.opts;
    this.mtime = clampMtime(entry.mtime, sourceDateEpoch);
    this.start = this.offset;
    const was = previous?.find(entry, this.mtime);
    if (was !== undefined) {
      const [start, end] = was;
      if (this.runEnd !== start || this.runEnd === this.runStart) {
        this.endRun();
        this.runStart = start;
      }
      this.runEnd = end;
      return undefined;
    }
    this.endRun();
    return writeEntry(entry, this.out, this.opts);
  }

  /** A large file's content went downstream around the writer: account for it and pad it. */
  streamed(entry: LayerEntry): void {
    this.out.streamed(entry.size);
    this.out.pad(entry.size);
  }

  end(entry: LayerEntry): void {
    this.opts.record?.add(entry, this.mtime, this.start, this.offset);
  }

  finish(): void {
    this.endRun();
  }
}

/**
 * Puts one entry's header and (unless it is a large file) content and padding into `out`.
 * Returns the path to stream a large file's content from; `out` is flushed before it.
 */
function writeEntry(entry: LayerEntry, out: ChunkWriter, opts: TarWriteOptions): string | undefined {
  checkEntryPath(entry.path);
  const isFile = entry.type === 'file';
  const isLink = entry.type === 'symlink' || entry.type === 'hardlink';
  if (isLink && !entry.linkTarget) {
    throw new SlipwayError('LAYER', `layer entry ${entry.path}: ${entry.type} without a target`);
  }
  const isDevice = entry.type === 'char' || entry.type === 'block';
  out.header({
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
  if (!isFile) return undefined;
  if (entry.source === undefined) {
    const content = entry.content ?? Buffer.alloc(0);
    if (content.length !== entry.size) {
      throw new SlipwayError(
        'LAYER',
        `layer entry ${entry.path}: content is ${content.length} bytes, size says ${entry.size}`,
      );
    }
    out.put(content);
  } else if (out.fits(entry.size)) {
    out.readFile(entry, entry.source);
  } else {
    out.flush();
    return entry.source;
  }
  out.pad(entry.size);
  return undefined;
}

/**
 * A pull-based streaming tar reader: ustar, pax (local and global, binary-safe values), GNU long
 * names. Each entry's body must be consumed (or is skipped) before the next header is read.
 */
import { SlipwayError } from '../errors.js';
import {
  applyPax,
  BLOCK,
  decodeRawHeader,
  isZeroBlock,
  parsePax,
  type TarHeader,
  TYPEFLAG,
} from './tar-header.js';

/** Exact-length reads over an async iterator of chunks. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(min: number): Promise<void> {
    while (this.buffered < min && !this.ended) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
  }

  /** Up to `max` bytes (at least 1 unless at EOF), without copying more than needed. */
  async readSome(max: number): Promise<Buffer | null> {
    await this.fill(1);
    if (this.buffered === 0) return null;
    const first = this.chunks[0]!;
    if (first.length <= max) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.buffered -= max;
    return first.subarray(0, max);
  }

  /** Exactly `n` bytes, or null at a clean EOF; a partial read is a truncated archive. */
  async readExact(n: number): Promise<Buffer | null> {
    await this.fill(n);
    if (this.buffered === 0) return null;
    if (this.buffered < n) throw truncated();
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const part = await this.readSome(need);
      if (part === null) throw truncated();
      parts.push(part);
      need -= part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const part = await this.readSome(left);
      if (part === null) throw truncated();
      left -= part.length;
    }
  }

  /** Read and discard everything left (so a hash over the stream sees all of it). */
  async drain(): Promise<void> {
    while ((await this.readSome(1 << 20)) !== null) {}
  }
}

function truncated(): SlipwayError {
  return new SlipwayError('LAYER', 'unexpected end of layer data: the tar archive is truncated');
}

export interface TarReadEntry {
  header: TarHeader;
  /** The body, streamed; only meaningful for regular files. */
  body(): AsyncGenerator<Buffer>;
}

const HEADER_ONLY = new Set<number>([
  TYPEFLAG.hardlink,
  TYPEFLAG.symlink,
  TYPEFLAG.char,
  TYPEFLAG.block,
  TYPEFLAG.dir,
  TYPEFLAG.fifo,
]);

const MAX_META = 16 << 20; // pax/long-name data beyond this is hostile, not a real layer

/** Iterate the members of a tar stream. Metadata entries (pax, GNU long names) are folded in. */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarReadEntry> {
  const src = new ByteSource(source[Symbol.asyncIterator]());
  let globalPax = new Map<string, Buffer>();
  let localPax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const block = await src.readExact(BLOCK);
      if (block === null) return; // EOF without end blocks: tolerated, as GNU tar and Go do
      if (isZeroBlock(block)) {
        // End of archive. Read what follows too, so a hash over the whole stream (the diffId) is complete.
        await src.drain();
        return;
      }
      const h = decodeRawHeader(block);
      const pad = (BLOCK - (h.size % BLOCK)) % BLOCK;
      const meta = async (): Promise<Buffer> => {
        if (h.size > MAX_META)
          throw new SlipwayError('LAYER', `tar metadata entry too large (${h.size} bytes)`);
        const data = h.size === 0 ? Buffer.alloc(0) : ((await src.readExact(h.size)) ?? Buffer.alloc(0));
        if (data.length !== h.size) throw truncated();
        await src.skip(pad);
        return data;
      };
      if (h.typeflag === TYPEFLAG.paxLocal) {
        localPax = parsePax(await meta());
        continue;
      }
      if (h.typeflag === TYPEFLAG.paxGlobal) {
        globalPax = new Map([...globalPax, ...parsePax(await meta())]);
        continue;
      }
      if (h.typeflag === TYPEFLAG.gnuLongName) {
        longName = cString(await meta());
        continue;
      }
      if (h.typeflag === TYPEFLAG.gnuLongLink) {
        longLink = cString(await meta());
        continue;
      }
      if (longName !== undefined) h.name = longName;
      if (longLink !== undefined) h.linkname = longLink;
      applyPax(h, globalPax);
      if (localPax) applyPax(h, localPax);
      localPax = undefined;
      longName = undefined;
      longLink = undefined;
      if (h.size < 0 || !Number.isSafeInteger(h.size)) {
        throw new SlipwayError('LAYER', `corrupt tar header: bad size for ${h.name}`);
      }
      // Like Go's archive/tar (what Docker and containerd read with): header-only types have no data,
      // whatever their size field says.
      const dataSize = HEADER_ONLY.has(h.typeflag) ? 0 : h.size;
      let left = dataSize;
      let consumed = false;
      const entry: TarReadEntry = {
        header: h,
        body: async function* () {
          if (consumed) throw new SlipwayError('LAYER', `tar entry body read twice: ${h.name}`);
          consumed = true;
          while (left > 0) {
            const part = await src.readSome(Math.min(left, 1 << 20));
            if (part === null) throw truncated();
            left -= part.length;
            yield part;
          }
        },
      };
      yield entry;
      consumed = true;
      if (left > 0) await src.skip(left);
      await src.skip((BLOCK - (dataSize % BLOCK)) % BLOCK);
    }
  } catch (e) {
    if (e instanceof SlipwayError) throw e;
    throw new SlipwayError('LAYER', `cannot read layer data: ${(e as Error).message}`, { cause: e });
  }
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

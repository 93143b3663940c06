import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { assertDigest, type Digest } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';
import { fsyncDir, isErrno, tempName } from './fsutil.js';
import type { Lease } from './leases.js';
import type { StorePaths } from './paths.js';

/** Writes of this size: big enough to amortize a thread-pool round trip, small enough to stay flat. */
const GATHER_BYTES = 1 << 20;

export type BlobSource = Buffer | Uint8Array | string | AsyncIterable<Buffer | Uint8Array | string>;

export interface WriteBlobOptions {
  /** When given, the content must hash to this; a mismatch stores nothing and throws. */
  digest?: Digest;
  /** When given together with `digest`, the byte count must match too. */
  size?: number;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** Content-addressed blobs of the OCI layout. Writes need no lock: same digest, same bytes. */
export class BlobStore {
  /** A blob was renamed into place since the last syncDir(). */
  private dirty = false;

  constructor(
    private readonly paths: StorePaths,
    private readonly lease: Lease,
  ) {}

  path(digest: Digest): string {
    return this.paths.blob(digest);
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
  }

  async size(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.path(digest))).size;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  /**
   * Move a file this process wrote and hashed itself (e.g. a layer it just compressed) into place
   * without copying it again. `file` must live under the store's tmp dir (same filesystem).
   */
  async adopt(file: string, digest: Digest, size: number): Promise<BlobInfo> {
    assertDigest(digest);
    await this.lease.pin([digest]);
    if ((await this.size(digest)) !== undefined) {
      await unlink(file).catch(() => {});
      return { digest, size };
    }
    const fh = await open(file, 'r');
    try {
      if ((await fh.stat()).size !== size)
        throw new SlipwayError('STORE', `blob size mismatch for ${digest}`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(file, this.path(digest));
    this.dirty = true;
    return { digest, size };
  }

  /**
   * Stream `source` to a temp file while hashing, fsync, verify, then rename into place. With an expected
   * digest that is already stored, the source is not read (the caller may skip producing it: check `has`).
   */
  async write(source: BlobSource, opts: WriteBlobOptions = {}): Promise<BlobInfo> {
    if (opts.digest === undefined && (typeof source === 'string' || source instanceof Uint8Array)) {
      // Bytes in memory hash first: a blob the store has already (a rebuild's config and manifest)
      // then costs a stat instead of a write, fsync and rename.
      const digest = `sha256:${createHash('sha256').update(source).digest('hex')}` as Digest;
      opts = { digest };
    }
    if (opts.digest !== undefined) {
      assertDigest(opts.digest);
      // Pin first: gc re-checks pins after moving candidates away (see gc.ts).
      await this.lease.pin([opts.digest]);
      const existing = await this.size(opts.digest);
      if (existing !== undefined) {
        // The caller's stream is not needed: release its file descriptor.
        (source as { destroy?: () => void }).destroy?.();
        return { digest: opts.digest, size: existing };
      }
    }
    const tmp = join(this.paths.tmp, tempName('blob'));
    const h = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx', 0o644);
    try {
      try {
        const chunks: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string> =
          typeof source === 'string' || source instanceof Uint8Array ? [source] : source;
        // Network chunks are ~64 KiB: gather them into 1 MiB writes (one copy; a source may reuse
        // its buffer after yielding it), and keep one write in flight while the next MiB arrives.
        let buf = Buffer.allocUnsafe(GATHER_BYTES);
        let pos = 0;
        let inflight: Promise<void> = Promise.resolve();
        const writeAll = async (data: Buffer) => {
          let off = 0;
          while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
        };
        const flush = async () => {
          const data = buf.subarray(0, pos);
          buf = Buffer.allocUnsafe(GATHER_BYTES);
          pos = 0;
          await inflight;
          inflight = writeAll(data);
          // Observed when awaited; until then a failure must not count as unhandled.
          inflight.catch(() => {});
        };
        for await (const chunk of chunks) {
          const b =
            typeof chunk === 'string'
              ? Buffer.from(chunk)
              : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          h.update(b);
          size += b.length;
          let off = 0;
          while (off < b.length) {
            const n = Math.min(b.length - off, GATHER_BYTES - pos);
            b.copy(buf, pos, off, off + n);
            pos += n;
            off += n;
            if (pos === GATHER_BYTES) await flush();
          }
        }
        if (pos > 0) await flush();
        await inflight;
        await fh.sync();
      } finally {
        await fh.close();
      }
      const digest = `sha256:${h.digest('hex')}`;
      if (opts.digest !== undefined && digest !== opts.digest) {
        throw new SlipwayError('STORE', `blob digest mismatch: expected ${opts.digest}, got ${digest}`);
      }
      if (opts.digest !== undefined && opts.size !== undefined && size !== opts.size) {
        throw new SlipwayError(
          'STORE',
          `blob size mismatch for ${digest}: expected ${opts.size}, got ${size}`,
        );
      }
      await this.lease.pin([digest]);
      await rename(tmp, this.path(digest));
      this.dirty = true;
      // The blobs dir itself is fsynced once per index.json update (Store.updateIndex), before any name
      // can refer to this blob: one directory fsync per image instead of one per blob.
      return { digest, size };
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  /** Make this process's blob renames durable (before index.json may name them). */
  async syncDir(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await fsyncDir(this.paths.blobsDir);
  }

  async read(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new SlipwayError('NOT_FOUND', `blob ${digest} not found in store`);
      throw e;
    }
  }

  async readJson<T>(digest: Digest): Promise<T> {
    const buf = await this.read(digest);
    try {
      return JSON.parse(buf.toString('utf8')) as T;
    } catch (e) {
      throw new SlipwayError('STORE', `blob ${digest} is not valid JSON`, { cause: e });
    }
  }

  createReadStream(digest: Digest): ReadStream {
    return createReadStream(this.path(digest));
  }

  /** Write a JSON document as a blob and return its descriptor. */
  async writeJson(value: unknown, mediaType: string): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(value));
    const info = await this.write(bytes);
    return { mediaType, digest: info.digest, size: info.size };
  }
}

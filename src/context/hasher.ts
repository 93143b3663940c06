/**
 * Content digests for a build context with a persistent stat cache, so that a rebuild with nothing changed
 * reads no file contents. A cache record is trusted only when (size, mtime, inode, device, mode) are all
 * unchanged and the file was not modified close to when it was hashed (git's "racy clean" problem: a write
 * within the filesystem's timestamp granularity after hashing would leave the stat unchanged).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import type { ContextEntry } from './walk.js';

// Binary cache file, laid out so loading is two bulk operations rather than 100k small ones:
//   MAGIC (8) | u32 count | u32 prefixBytes | u32 keyBytes | prefix (UTF-8, the directory shared by all keys)
//   | keys (UTF-8, relative to prefix, NUL-separated; NUL cannot occur in paths)
//   | padding to 8 | count fixed records of 80 bytes:
//   f64 size, f64 mtimeMs, f64 ino, f64 dev, f64 mode, f64 racy (0|1), 32-byte sha256.
// JSON was ~17 MB for 100k files and parsing it took longer than walking the context.
const MAGIC = Buffer.from('SLWCTX\x00\x03', 'latin1');
const HEADER = MAGIC.length + 12;
const RECORD = 80;
const F64_PER_RECORD = RECORD / 8;
const DIGEST_AT = 48;
// Files modified this recently before hashing may still change without their stat changing.
const RACY_WINDOW_MS = 2000;
// Above this, stream instead of reading the file into memory at once.
const STREAM_THRESHOLD = 4 * 1024 * 1024;

export interface HasherStats {
  hits: number;
  misses: number;
  bytesRead: number;
}

/** Records as loaded: keys in file order over one buffer of fixed-size records. */
interface LoadedTable {
  /** Ends in `/`; keys are absolute paths with this prefix removed. */
  prefix: string;
  /** Walk order when the cache was written by a full walk, so lookups are mostly sequential. */
  keys: string[];
  nums: Float64Array;
  bytes: Buffer;
  /** The file as read, for a save that changes records only. */
  raw?: Buffer;
}

function emptyTable(): LoadedTable {
  return { prefix: '/', keys: [], nums: new Float64Array(0), bytes: Buffer.alloc(0) };
}

function decodeCache(buf: Buffer): LoadedTable {
  if (buf.length < HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return emptyTable();
  const count = buf.readUInt32LE(MAGIC.length);
  const prefixBytes = buf.readUInt32LE(MAGIC.length + 4);
  const keyBytes = buf.readUInt32LE(MAGIC.length + 8);
  const prefix = buf.toString('utf8', HEADER, HEADER + prefixBytes);
  if (!prefix.endsWith('/')) return emptyTable();
  const keysAt = HEADER + prefixBytes;
  const recordsAt = Math.ceil((keysAt + keyBytes) / 8) * 8;
  if (recordsAt + count * RECORD !== buf.length) return emptyTable();
  const keys = count === 0 ? [] : buf.toString('utf8', keysAt, keysAt + keyBytes).split('\0');
  if (keys.length !== count) return emptyTable();
  // A Float64Array view needs 8-byte alignment; copy only when the read buffer does not provide it.
  let bytes = buf.subarray(recordsAt);
  if ((buf.byteOffset + recordsAt) % 8 !== 0) {
    bytes = Buffer.alloc(count * RECORD);
    buf.copy(bytes, 0, recordsAt);
  }
  return {
    prefix,
    keys,
    nums: new Float64Array(bytes.buffer, bytes.byteOffset, count * F64_PER_RECORD),
    bytes,
    raw: buf,
  };
}

/** The stat key matches and the record is not racy. */
function sameStat(nums: ArrayLike<number>, base: number, entry: ContextEntry): boolean {
  return (
    nums[base] === entry.size &&
    nums[base + 1] === entry.mtimeMs &&
    nums[base + 2] === entry.ino &&
    nums[base + 3] === entry.dev &&
    nums[base + 4] === entry.mode &&
    nums[base + 5] === 0
  );
}

interface NewRecord {
  nums: [number, number, number, number, number, number];
  digest: Buffer;
}

export class ContextHasher {
  readonly stats: HasherStats = { hits: 0, misses: 0, bytesRead: 0 };
  /** Records hashed since open; they shadow the loaded table. */
  private readonly fresh = new Map<string, NewRecord>();
  /** Loaded records used since open (by table index), for `save({ prune: true })`. */
  private readonly used: Uint8Array;
  private dirty = false;
  /** Where the next lookup most likely is: the walk visits files in the order the cache holds them. */
  private cursor = 0;
  /** Key → record, built only when a lookup misses the cursor (100k Map inserts cost ~60 ms). */
  private index: Map<string, number> | undefined;
  /** Records in the order this session first used them (loaded index, or fresh absolute path): the next file's order. */
  private readonly visits: Array<number | string> = [];

  private constructor(
    readonly cacheFile: string,
    private readonly table: LoadedTable,
  ) {
    this.used = new Uint8Array(table.keys.length);
  }

  private lookup(key: string): number | undefined {
    const c = this.cursor;
    if (this.table.keys[c] === key) {
      this.cursor = c + 1;
      return c;
    }
    if (!this.index) {
      this.index = new Map();
      for (const [i, k] of this.table.keys.entries()) this.index.set(k, i);
    }
    const i = this.index.get(key);
    if (i !== undefined) this.cursor = i + 1;
    return i;
  }

  /** Loads the cache; a missing, corrupt or other-format cache file just means starting empty. */
  static async open(cacheFile: string): Promise<ContextHasher> {
    let table = emptyTable();
    try {
      table = decodeCache(await readFile(cacheFile));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new SlipwayError('CONTEXT', `cannot read context cache ${cacheFile}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    return new ContextHasher(cacheFile, table);
  }

  /**
   * The cached digest if the stat key still matches and the record is not racy (counted as a hit).
   * Never reads the file; lets callers skip an `await` per unchanged file.
   */
  cachedDigest(absPath: string, entry: ContextEntry): string | undefined {
    const f = this.fresh.size === 0 ? undefined : this.fresh.get(absPath);
    if (f !== undefined) {
      if (!sameStat(f.nums, 0, entry)) return undefined;
      this.stats.hits++;
      return `sha256:${f.digest.toString('hex')}`;
    }
    const pre = this.table.prefix;
    if (!absPath.startsWith(pre)) return undefined;
    return this.loadedDigest(this.lookup(absPath.slice(pre.length)), entry);
  }

  /** cachedDigest for `<dir>/<rel>`, skipping the path concatenation when `dir/` is the table's prefix. */
  cachedDigestIn(dir: string, rel: string, entry: ContextEntry): string | undefined {
    if (this.table.prefix.length === dir.length + 1 && this.table.prefix.startsWith(dir)) {
      // Files hashed in this session shadow the table; most sessions hash few or none.
      if (this.fresh.size === 0 || !this.fresh.has(`${dir}/${rel}`)) {
        return this.loadedDigest(this.lookup(rel), entry);
      }
    }
    return this.cachedDigest(`${dir}/${rel}`, entry);
  }

  private loadedDigest(i: number | undefined, entry: ContextEntry): string | undefined {
    if (i === undefined || !sameStat(this.table.nums, i * F64_PER_RECORD, entry)) return undefined;
    if (this.used[i] === 0) this.visits.push(i);
    this.used[i] = 1;
    this.stats.hits++;
    const at = i * RECORD + DIGEST_AT;
    return `sha256:${this.table.bytes.toString('hex', at, at + 32)}`;
  }

  /** sha256 of a regular file's contents, as `sha256:<hex>`; `entry` is its stat from the walk. */
  async fileDigest(absPath: string, entry: ContextEntry): Promise<string> {
    const cached = this.cachedDigest(absPath, entry);
    if (cached !== undefined) return cached;
    this.stats.misses++;
    const startedMs = Date.now();
    let digest: Buffer;
    try {
      digest = entry.size < STREAM_THRESHOLD ? this.hashSmall(absPath) : await this.hashStream(absPath);
    } catch (e) {
      throw new SlipwayError(
        'CONTEXT',
        `cannot read ${entry.path} in build context: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    const racy = entry.mtimeMs >= startedMs - RACY_WINDOW_MS ? 1 : 0;
    if (!this.fresh.has(absPath)) this.visits.push(absPath);
    this.fresh.set(absPath, {
      nums: [entry.size, entry.mtimeMs, entry.ino, entry.dev, entry.mode, racy],
      digest,
    });
    this.dirty = true;
    return `sha256:${digest.toString('hex')}`;
  }

  private hashSmall(absPath: string): Buffer {
    const buf = readFileSync(absPath);
    this.stats.bytesRead += buf.length;
    return createHash('sha256').update(buf).digest();
  }

  private async hashStream(absPath: string): Promise<Buffer> {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(absPath)) {
      const b = chunk as Buffer;
      this.stats.bytesRead += b.length;
      h.update(b);
    }
    return h.digest();
  }

  /**
   * Writes the cache atomically (temp file, fsync, rename, fsync of the directory). Does nothing when no
   * record changed. With `prune`, records not used since `open` are dropped (use one cache file per context).
   */
  async save(opts: { prune?: boolean } = {}): Promise<void> {
    if (opts.prune && this.used.includes(0)) this.dirty = true;
    if (!this.dirty) return;
    const dir = dirname(this.cacheFile);
    const tmp = join(dir, `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(this.encode(opts.prune === true));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.cacheFile);
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new SlipwayError(
        'CONTEXT',
        `cannot write context cache ${this.cacheFile}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    this.dirty = false;
  }

  private encode(prune: boolean): Buffer {
    const patched = patchTable(this.table, this.visits, this.fresh);
    if (patched) return patched;
    const pre = this.table.prefix;
    const abs: string[] = [];
    const sources: Array<number | NewRecord> = [];
    for (const v of this.visits) {
      if (typeof v === 'number') {
        abs.push(pre + this.table.keys[v]);
        sources.push(v);
      } else {
        abs.push(v);
        sources.push(this.fresh.get(v) as NewRecord);
      }
    }
    if (!prune) {
      for (const [i, k] of this.table.keys.entries()) {
        if (this.used[i] === 0 && !this.fresh.has(pre + k)) {
          abs.push(pre + k);
          sources.push(i);
        }
      }
    }
    const prefix = commonDir(abs);
    const keys = abs.map((k) => k.slice(prefix.length));
    const prefixBlock = Buffer.from(prefix, 'utf8');
    const keyBlock = Buffer.from(keys.join('\0'), 'utf8');
    const keysAt = HEADER + prefixBlock.length;
    const recordsAt = Math.ceil((keysAt + keyBlock.length) / 8) * 8;
    const out = Buffer.alloc(recordsAt + keys.length * RECORD);
    MAGIC.copy(out, 0);
    out.writeUInt32LE(keys.length, MAGIC.length);
    out.writeUInt32LE(prefixBlock.length, MAGIC.length + 4);
    out.writeUInt32LE(keyBlock.length, MAGIC.length + 8);
    prefixBlock.copy(out, HEADER);
    keyBlock.copy(out, keysAt);
    for (let j = 0; j < keys.length; j++) {
      const at = recordsAt + j * RECORD;
      const r = sources[j] as number | NewRecord;
      if (typeof r === 'number') {
        this.table.bytes.copy(out, at, r * RECORD, (r + 1) * RECORD);
        continue;
      }
      for (let n = 0; n < r.nums.length; n++) out.writeDoubleLE(r.nums[n] as number, at + n * 8);
      r.digest.copy(out, at + DIGEST_AT);
    }
    return out;
  }
}

/**
 * A rebuild after an edit visits the files the cache holds, in its order, and re-hashes a few: the
 * file as loaded with those records written over is what encode would build key by key.
 */
function patchTable(
  table: LoadedTable,
  visits: ReadonlyArray<number | string>,
  fresh: ReadonlyMap<string, NewRecord>,
): Buffer | undefined {
  const { keys, raw, prefix } = table;
  if (raw === undefined || visits.length !== keys.length) return undefined;
  const out = Buffer.from(raw);
  const recordsAt = out.length - keys.length * RECORD;
  for (let j = 0; j < visits.length; j++) {
    const v = visits[j];
    if (typeof v === 'number') {
      if (v !== j) return undefined;
      continue;
    }
    const r = fresh.get(v as string);
    if (r === undefined || v !== prefix + keys[j]) return undefined;
    const at = recordsAt + j * RECORD;
    for (let n = 0; n < r.nums.length; n++) out.writeDoubleLE(r.nums[n] as number, at + n * 8);
    r.digest.copy(out, at + DIGEST_AT);
  }
  return out;
}

/** The longest directory (ending in `/`) that contains every path. */
function commonDir(paths: string[]): string {
  if (paths.length === 0) return '/';
  let prefix = paths[0] as string;
  for (const p of paths) {
    while (!p.startsWith(prefix)) prefix = prefix.slice(0, prefix.length - 1);
  }
  const slash = prefix.lastIndexOf('/');
  return slash < 0 ? '/' : prefix.slice(0, slash + 1);
}

export interface SelectionOptions {
  /** Paths are hashed relative to this context-relative directory, so equal trees hash equal anywhere. */
  base?: string;
  /** Receives each file's content digest as it is taken in. */
  onDigest?: (entry: ContextEntry, digest: string) => void;
}

/**
 * One digest for a set of context entries: path, type, permission bits, owner, link target and content
 * digest of each, in the order given (walkContext order). Times are deliberately left out, so touching a
 * file does not change the digest.
 */
export async function digestSelection(
  entries: readonly ContextEntry[],
  hasher: ContextHasher,
  contextDir: string,
  opts: SelectionOptions = {},
): Promise<string> {
  const h = createHash('sha256');
  const root = resolve(contextDir);
  const base = opts.base === undefined || opts.base === '' || opts.base === '.' ? undefined : opts.base;
  let buf = '';
  for (const e of entries) {
    let rel = e.path;
    if (base !== undefined) {
      if (rel === base) rel = '.';
      else if (rel.startsWith(`${base}/`)) rel = rel.slice(base.length + 1);
    }
    let content = '';
    if (e.type === 'file') {
      content = hasher.cachedDigestIn(root, e.path, e) ?? (await hasher.fileDigest(`${root}/${e.path}`, e));
      opts.onDigest?.(e, content);
    }
    // NUL cannot occur in paths or link targets, so the fields cannot run into each other.
    const perm = e.type === 'other' ? e.mode : e.mode & 0o7777;
    buf += `${rel}\0${e.type}\0${perm.toString(8)}\0${e.uid}\0${e.gid}\0${e.linkTarget ?? ''}\0${content}\n`;
    if (buf.length > 65536) {
      h.update(buf);
      buf = '';
    }
  }
  h.update(buf);
  return `sha256:${h.digest('hex')}`;
}

/** The entry for `relDir` (if present) and everything below it, in walk order. */
export function entriesUnder(entries: readonly ContextEntry[], relDir: string): ContextEntry[] {
  if (relDir === '' || relDir === '.') return [...entries];
  const prefix = `${relDir}/`;
  return entries.filter((e) => e.path === relDir || e.path.startsWith(prefix));
}

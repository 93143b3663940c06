import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../image/digest.js';
import type { ContainerConfig, Descriptor, HistoryEntry } from '../image/types.js';
import { atomicWriteFile } from '../store/fsutil.js';
import type { CacheKeyParts } from './cachekey.js';

/** A layer as the build engine tracks it: blob descriptor plus what stacking needs. */
export interface LayerRef {
  descriptor: Descriptor;
  diffId: string;
  chainId: string;
  /** Bytes of content once unpacked (Docker's SIZE adds these up). */
  uncompressedSize?: number;
}

/** What a step produced: enough to continue the build without running the step again. */
export interface StepRecord {
  key: string;
  parts: CacheKeyParts;
  /** The layer this step added, or none for a config-only or empty step. */
  layer?: LayerRef;
  config: ContainerConfig;
  history: HistoryEntry;
  createdAt: string;
}

/**
 * Cache key → step record, one small JSON file per key under `<root>/cache/steps/`.
 * Records are written atomically after their blobs are in the store, so a record never
 * names a blob that is not there.
 */
export class CacheIndex {
  private constructor(private readonly dir: string) {}

  static async open(root: string): Promise<CacheIndex> {
    const dir = join(root, 'cache', 'steps');
    await mkdir(dir, { recursive: true });
    return new CacheIndex(dir);
  }

  private file(key: string): string {
    return join(this.dir, `${key.replace(/^sha256:/, '')}.json`);
  }

  async get(key: string): Promise<StepRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.file(key), 'utf8')) as StepRecord;
    } catch {
      return undefined;
    }
  }

  async put(record: StepRecord): Promise<void> {
    await atomicWriteFile(this.file(record.key), JSON.stringify(record), { durable: false });
  }
}

/**
 * Blob digests and snapshot chain IDs the build cache's step records (`<root>/cache/steps/*.json`) name,
 * so image removal's gc keeps what a rebuild would reuse.
 */
export async function buildCacheRoots(root: string): Promise<string[]> {
  const dir = join(root, 'cache', 'steps');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    try {
      const rec = JSON.parse(await readFile(join(dir, n), 'utf8')) as {
        layer?: { descriptor?: { digest?: unknown }; chainId?: unknown };
      };
      const d = rec.layer?.descriptor?.digest;
      const c = rec.layer?.chainId;
      if (typeof d === 'string' && isDigest(d)) out.push(d);
      if (typeof c === 'string' && isDigest(c)) out.push(c);
    } catch {
      // a record being written or foreign: it pins nothing
    }
  }
  return out;
}

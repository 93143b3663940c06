import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../store/fsutil.js';
import { withLock } from '../store/lock.js';

/**
 * Where each blob is known to exist remotely (`<root>/registry/blob-origins.json`): repositories it was
 * pulled from or pushed to, so a push can ask the registry for a cross-repository mount instead of
 * uploading. Only hints: a stale entry costs one failed mount request.
 */
export type OriginMap = Record<string, string[]>;

/** Entries kept per blob (most recent first). */
const MAX_PER_BLOB = 8;

export class BlobOrigins {
  readonly file: string;
  private readonly lockFile: string;

  constructor(readonly root: string) {
    this.file = join(root, 'registry', 'blob-origins.json');
    this.lockFile = join(root, 'registry', 'blob-origins.lock');
  }

  async load(): Promise<OriginMap> {
    try {
      const doc = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as OriginMap) : {};
    } catch {
      return {};
    }
  }

  /** Repositories (`host/path`) on `host` other than `except` where `digest` is known. */
  async candidates(digest: string, host: string, except: string): Promise<string[]> {
    const all = (await this.load())[digest] ?? [];
    const prefix = `${host}/`;
    return all
      .filter((r) => r.startsWith(prefix) && r !== `${host}/${except}`)
      .map((r) => r.slice(prefix.length));
  }

  /** Remember that these blobs exist in `host/repository`. */
  async record(host: string, repository: string, digests: readonly string[]): Promise<void> {
    if (digests.length === 0) return;
    await mkdir(join(this.root, 'registry'), { recursive: true });
    const where = `${host}/${repository}`;
    await withLock(this.lockFile, async () => {
      const map = await this.load();
      for (const d of digests) {
        const list = (map[d] ?? []).filter((r) => r !== where);
        list.unshift(where);
        map[d] = list.slice(0, MAX_PER_BLOB);
      }
      await atomicWriteFile(this.file, `${JSON.stringify(map)}\n`, { durable: false });
    });
  }
}

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../image/digest.js';
import { Store } from '../store/store.js';

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

/** Open the store so that its gc honours the build cache. */
export function openStoreForRemoval(root: string): Promise<Store> {
  return Store.open(root, { extraRoots: () => buildCacheRoots(root) });
}

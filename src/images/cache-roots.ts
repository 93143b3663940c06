import { buildCacheRoots } from '../build/cache-index.js';
import { Store } from '../store/store.js';

export { buildCacheRoots } from '../build/cache-index.js';

/** Open the store so that its gc honours the build cache. */
export function openStoreForRemoval(root: string): Promise<Store> {
  return Store.open(root, { extraRoots: () => buildCacheRoots(root) });
}

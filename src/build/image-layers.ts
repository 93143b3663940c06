import { chainIds } from '../image/chain.js';
import type { Digest } from '../image/digest.js';
import type { ImageRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { LayerRef } from './cache-index.js';

/** An image's layers as the engine and containers stack them: blob, diff id and chain id each. */
export async function imageLayers(store: Store, record: ImageRecord): Promise<LayerRef[]> {
  const manifest = await store.readManifest(record.manifestDigest);
  const diffIds = record.config.rootfs.diff_ids as Digest[];
  const chains = chainIds(diffIds);
  return manifest.layers.map((d, i) => ({ descriptor: d, diffId: diffIds[i]!, chainId: chains[i]! }));
}

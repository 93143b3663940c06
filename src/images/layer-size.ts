import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex } from '../image/digest.js';
import { layerCompression } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { decompressor } from '../layer/compress.js';
import type { Store } from '../store/store.js';

/**
 * Uncompressed (tar) size of each layer blob, Docker's per-layer SIZE. The store only records the sum per
 * image, so sizes are measured by streaming the blob through its decompressor once and cached by blob
 * digest under `<root>/meta/layer-sizes/` (content addressed: a cached value never goes stale).
 */
export async function layerSizes(
  store: Store,
  layers: readonly Descriptor[],
  imageSize?: number,
): Promise<number[]> {
  // A one-layer image's recorded size is that layer's size: no need to read the blob.
  if (layers.length === 1 && imageSize !== undefined) return [imageSize];
  const out: number[] = [];
  for (const l of layers) out.push(await layerSize(store, l));
  return out;
}

function cacheFile(store: Store, digest: string): string {
  return join(store.root, 'meta', 'layer-sizes', digestHex(digest));
}

export async function layerSize(store: Store, layer: Descriptor): Promise<number> {
  const compression = layerCompression(layer.mediaType);
  if (compression === 'none') return layer.size;
  const file = cacheFile(store, layer.digest);
  const cached = Number(await readFile(file, 'utf8').catch(() => ''));
  if (Number.isInteger(cached) && cached > 0) return cached;
  let size: number;
  try {
    size = await measure(store.blobPath(layer.digest), compression);
  } catch {
    return layer.size; // unreadable or foreign codec: the compressed size is the best we can say
  }
  await mkdir(join(store.root, 'meta', 'layer-sizes'), { recursive: true });
  await writeFile(file, String(size)).catch(() => {});
  return size;
}

async function measure(path: string, compression: 'gzip' | 'zstd'): Promise<number> {
  const codec = decompressor(compression);
  const input = createReadStream(path);
  input.on('error', (e) => codec.stream.destroy(e));
  input.pipe(codec.stream);
  let n = 0;
  for await (const chunk of codec.stream) n += (chunk as Buffer).length;
  await codec.done;
  return n;
}

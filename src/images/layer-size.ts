import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex } from '../image/digest.js';
import { layerCompression } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { decompressedFile } from '../layer/compress.js';
import { regularFileBytes } from '../layer/content-size.js';
import { readTar } from '../layer/tar-reader.js';
import type { Compression } from '../layer/types.js';
import type { Store } from '../store/store.js';

/**
 * Each layer's Docker SIZE (its regular files' bytes, see layer/content-size.ts). The store only records the sum per
 * image, so sizes are measured by reading the blob's tar once and cached by blob digest under
 * `<root>/meta/layer-file-bytes/` (content addressed: a cached value never goes stale).
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
  return join(store.root, 'meta', 'layer-file-bytes', digestHex(digest));
}

export async function layerSize(store: Store, layer: Descriptor): Promise<number> {
  const compression = layerCompression(layer.mediaType);
  const file = cacheFile(store, layer.digest);
  const cached = Number(await readFile(file, 'utf8').catch(() => ''));
  if (Number.isInteger(cached) && cached > 0) return cached;
  let size: number;
  try {
    size = await measure(store.blobPath(layer.digest), compression);
  } catch {
    return layer.size; // unreadable or foreign codec: the compressed size is the best we can say
  }
  await mkdir(join(store.root, 'meta', 'layer-file-bytes'), { recursive: true });
  await writeFile(file, String(size)).catch(() => {});
  return size;
}

async function measure(path: string, compression: Compression): Promise<number> {
  const { content, done } = decompressedFile(path, compression);
  let n = 0;
  for await (const member of readTar(content)) n += regularFileBytes(member.header);
  await done;
  return n;
}

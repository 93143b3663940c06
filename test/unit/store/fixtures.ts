import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import type { Descriptor, ImageConfig } from '../../../src/image/types.js';
import type { PutImageResult, Store } from '../../../src/store/store.js';

export async function tempRoot(tag = 'store'): Promise<string> {
  return mkdtemp(join(tmpdir(), `slipway-${tag}-`));
}

export interface FixtureImage extends PutImageResult {
  layers: Descriptor[];
  diffIds: string[];
}

/**
 * Store an image whose layers are gzip'd `layerContents` (real tar bytes when the caller passes them; the
 * store itself never looks inside) and whose config records matching diff_ids and history.
 */
export async function putFixtureImage(
  store: Store,
  opts: { layers: (string | Buffer)[]; created?: string; cmd?: string[]; mediaTypes?: 'oci' | 'docker' },
): Promise<FixtureImage> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  const sizes: number[] = [];
  for (const content of opts.layers) {
    const raw = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const gz = gzipSync(raw);
    const info = await store.writeBlob(gz, { digest: sha256Digest(gz) });
    layers.push({ mediaType: MediaType.ociLayerGzip, digest: info.digest, size: info.size });
    diffIds.push(sha256Digest(raw));
    sizes.push(raw.length);
  }
  const created = opts.created ?? '2024-05-01T12:00:00Z';
  const config: ImageConfig = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: opts.cmd ?? ['sh'],
      WorkingDir: '/',
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: opts.layers.map((_, i) => ({ created, created_by: `RUN step ${i}` })),
  };
  const r = await store.putImage({
    config,
    layers,
    uncompressedSizes: sizes,
    mediaTypes: opts.mediaTypes ?? 'oci',
  });
  return { ...r, layers, diffIds };
}

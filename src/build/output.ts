import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { applyLayer } from '../layer/apply.js';
import { entriesFromDir } from '../layer/walk.js';
import { writeLayer } from '../layer/write-layer.js';
import { tempName } from '../store/fsutil.js';
import type { Store } from '../store/store.js';
import type { LayerRef } from './cache-index.js';

/** Flattens a layer chain into `dir` (whiteouts applied), as `--output type=local` writes it. */
export async function flattenInto(store: Store, layers: readonly LayerRef[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const layer of layers) {
    await applyLayer(createReadStream(store.blobPath(layer.descriptor.digest)), dir, {
      mediaType: layer.descriptor.mediaType,
    });
  }
}

/** `--output type=tar`: the flattened filesystem as one uncompressed tarball (`-` = stdout). */
export async function writeRootfsTar(store: Store, layers: readonly LayerRef[], dest: string): Promise<void> {
  const dir = join(store.paths.tmp, tempName('output'));
  const tar = join(store.paths.tmp, tempName('output-tar'));
  try {
    await flattenInto(store, layers, dir);
    await writeLayer(await entriesFromDir(dir), tar, { compression: 'none' });
    const out = dest === '-' ? process.stdout : createWriteStream(resolve(dest));
    await new Promise<void>((ok, fail) => {
      const input = createReadStream(tar);
      input.on('error', fail);
      out.on('error', fail);
      input.on('end', () => ok());
      input.pipe(out, { end: dest !== '-' });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(tar, { force: true });
  }
}

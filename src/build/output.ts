import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import { applyLayer } from '../layer/apply.js';
import type { Compression } from '../layer/types.js';
import { entriesFromDir } from '../layer/walk.js';
import { writeLayer } from '../layer/write-layer.js';
import { tempName } from '../store/fsutil.js';
import type { Store } from '../store/store.js';
import type { LayerRef } from './cache-index.js';

/** `--output` as docker buildx parses it: `type=local,dest=out`, or a bare path meaning type=local. */
export type OutputSpec =
  | { type: 'image'; compression?: Compression }
  | { type: 'oci' | 'docker'; dest: string; compression?: Compression }
  | { type: 'local' | 'tar'; dest: string };

/** BuildKit's `compression=` values for image outputs. */
function parseCompression(value: string | undefined): Compression | undefined {
  if (value === undefined) return undefined;
  if (value === 'gzip' || value === 'zstd') return value;
  if (value === 'uncompressed') return 'none';
  throw new SlipwayError('USAGE', `unsupported compression "${value}" (gzip, zstd, uncompressed)`);
}

export function parseOutputFlag(text: string): OutputSpec {
  if (!text.includes('=')) return text === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: text };
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new SlipwayError('USAGE', `invalid value "${part}" in --output ${text}`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'local';
  const compression = parseCompression(fields.get('compression'));
  if (type === 'image' || type === 'moby')
    return compression ? { type: 'image', compression } : { type: 'image' };
  if (type === 'registry')
    throw new SlipwayError(
      'UNSUPPORTED',
      '--output type=registry is not supported yet: build, then slipway push',
    );
  if (type !== 'local' && type !== 'tar' && type !== 'oci' && type !== 'docker') {
    throw new SlipwayError('USAGE', `unsupported output type "${type}" (local, tar, oci, docker, image)`);
  }
  const dest = fields.get('dest');
  if (!dest) throw new SlipwayError('USAGE', `--output type=${type} needs dest=…`);
  if (type === 'oci' || type === 'docker') return compression ? { type, dest, compression } : { type, dest };
  return { type, dest };
}

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

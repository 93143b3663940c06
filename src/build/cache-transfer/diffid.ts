import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { layerCompression } from '../../image/media-types.js';

type Decompressor = () => NodeJS.ReadWriteStream;

/** Node 20 has no zstd; newer Node versions expose it on zlib. */
function zstdDecompressor(): Decompressor | undefined {
  const make = (zlib as unknown as { createZstdDecompress?: Decompressor }).createZstdDecompress;
  return make ? () => make() : undefined;
}

/**
 * The diffID (sha256 of the uncompressed tar) of a layer blob file, or undefined when this Node
 * cannot decompress the layer's format (zstd on Node 20): the blob digest is then all that is checked.
 */
export async function layerDiffId(path: string, mediaType: string): Promise<string | undefined> {
  const kind = layerCompression(mediaType);
  const decompress: Decompressor | undefined =
    kind === 'gzip' ? () => zlib.createGunzip() : kind === 'zstd' ? zstdDecompressor() : undefined;
  if (kind !== 'none' && decompress === undefined) return undefined;
  const h = createHash('sha256');
  const sink = async (src: AsyncIterable<Buffer | string>) => {
    for await (const c of src) h.update(c);
  };
  if (decompress) await pipeline(createReadStream(path), decompress(), sink);
  else await pipeline(createReadStream(path), sink);
  return `sha256:${h.digest('hex')}`;
}

import { SlipwayError } from '../errors.js';
import type { Compression } from './types.js';

export const MEDIA_TYPE_OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const MEDIA_TYPE_DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
export const MEDIA_TYPE_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const MEDIA_TYPE_DOCKER_LAYER_ZSTD = 'application/vnd.docker.image.rootfs.diff.tar.zstd';
/** Docker's "foreign" layers (Windows base layers) are gzip tars too. */
export const MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP =
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
export const MEDIA_TYPE_OCI_NONDISTRIBUTABLE_GZIP =
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';

/**
 * Docker schema 2 has no zstd layer type that registries and engines agree on, so like BuildKit
 * (which turns oci-mediatypes on for zstd) a zstd layer always gets the OCI type.
 */
export function layerMediaType(compression: Compression, oci: boolean): string {
  switch (compression) {
    case 'gzip':
      return oci ? MEDIA_TYPE_OCI_LAYER_GZIP : MEDIA_TYPE_DOCKER_LAYER_GZIP;
    case 'zstd':
      return MEDIA_TYPE_OCI_LAYER_ZSTD;
    case 'none':
      return oci ? MEDIA_TYPE_OCI_LAYER : MEDIA_TYPE_DOCKER_LAYER;
  }
}

/** The compression a layer media type declares; `undefined` for types that are not tar layers. */
export function compressionOfMediaType(mediaType: string): Compression | undefined {
  const mt = mediaType.trim().toLowerCase();
  if (mt.endsWith('+gzip') || mt.endsWith('.tar.gzip')) return 'gzip';
  if (mt.endsWith('+zstd') || mt.endsWith('.tar.zstd')) return 'zstd';
  if (mt.endsWith('.tar') || mt.endsWith('.v1.tar')) return 'none';
  return undefined;
}

export function assertCompression(value: string): Compression {
  if (value === 'gzip' || value === 'zstd' || value === 'none') return value;
  if (value === 'uncompressed') return 'none';
  throw new SlipwayError('LAYER', `unsupported layer compression: ${value}`, {
    hint: 'use gzip, zstd or uncompressed',
  });
}

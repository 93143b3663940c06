/** Media types slipway reads and writes (OCI image-spec v1.1 and Docker image manifest v2 schema 2). */
export const MediaType = {
  ociLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  ociDescriptor: 'application/vnd.oci.descriptor.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociEmptyJson: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type MediaTypeName = (typeof MediaType)[keyof typeof MediaType];

export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

export function isLayerMediaType(mt: string): boolean {
  return (
    mt.startsWith('application/vnd.oci.image.layer.') ||
    mt.startsWith('application/vnd.docker.image.rootfs.') ||
    // Docker still emits the pre-schema2 name for some uncompressed layers.
    mt === 'application/vnd.docker.image.rootfs.diff.tar'
  );
}

export type LayerCompression = 'none' | 'gzip' | 'zstd';

export function layerCompression(mt: string): LayerCompression {
  if (mt.endsWith('+gzip') || mt.endsWith('.gzip')) return 'gzip';
  if (mt.endsWith('+zstd') || mt.endsWith('.zstd')) return 'zstd';
  return 'none';
}

const ociToDocker: Record<string, string> = {
  [MediaType.ociManifest]: MediaType.dockerManifest,
  [MediaType.ociIndex]: MediaType.dockerManifestList,
  [MediaType.ociConfig]: MediaType.dockerConfig,
  [MediaType.ociLayer]: MediaType.dockerLayer,
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  [MediaType.ociLayerZstd]: MediaType.dockerLayerZstd,
};
const dockerToOci: Record<string, string> = Object.fromEntries(
  Object.entries(ociToDocker).map(([k, v]) => [v, k]),
);

/** Same content, the other format's name; unknown types pass through unchanged. */
export function toDockerMediaType(mt: string): string {
  return ociToDocker[mt] ?? mt;
}

export function toOciMediaType(mt: string): string {
  return dockerToOci[mt] ?? mt;
}

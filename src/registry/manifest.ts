import { isIndexMediaType, isManifestMediaType, MediaType } from '../image/media-types.js';
import type { Index, Manifest } from '../image/types.js';
import { RegistryError } from './errors.js';

/** What we ask registries for: both OCI and Docker schema 2, single manifests and indexes. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
];

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: Index }
  | { kind: 'manifest'; mediaType: string; manifest: Manifest };

/** Image configs slipway can run and build on; anything else is an artifact (Helm chart, signature…). */
const IMAGE_CONFIG_TYPES = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig]);

/** Classify a manifest document by its mediaType (body first, then Content-Type), refusing schema 1. */
export function parseManifestBytes(
  bytes: Buffer,
  contentType: string | undefined,
  name: string,
): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    doc = v as Record<string, unknown>;
  } catch (e) {
    throw new RegistryError(`invalid manifest for ${name}: ${(e as Error).message}`);
  }
  const bodyType = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (
    doc.schemaVersion === 1 ||
    SCHEMA1_TYPES.has(bodyType ?? '') ||
    (!bodyType && SCHEMA1_TYPES.has(contentType ?? ''))
  ) {
    throw new RegistryError(
      `[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of ${name} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/`,
    );
  }
  const mt = bodyType ?? contentType;
  if (isIndexMediaType(mt) || (mt === undefined && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests))
      throw new RegistryError(`invalid image index for ${name}: no manifests`);
    return { kind: 'index', mediaType: mt ?? MediaType.ociIndex, index: doc as unknown as Index };
  }
  if (
    isManifestMediaType(mt) ||
    ((mt === undefined || mt === 'application/json') && doc.config && Array.isArray(doc.layers))
  ) {
    const m = doc as unknown as Manifest;
    if (!m.config || typeof m.config.digest !== 'string' || !Array.isArray(m.layers)) {
      throw new RegistryError(`invalid image manifest for ${name}`);
    }
    return {
      kind: 'manifest',
      mediaType: mt && mt !== 'application/json' ? mt : MediaType.ociManifest,
      manifest: m,
    };
  }
  throw new RegistryError(`unsupported manifest media type "${mt ?? '(none)'}" for ${name}`);
}

export function assertImageManifest(m: Manifest, name: string): void {
  if (!IMAGE_CONFIG_TYPES.has(m.config.mediaType)) {
    throw new RegistryError(
      `${name} is not a container image: its config has media type ${m.config.mediaType} (artifacts are not supported)`,
    );
  }
}

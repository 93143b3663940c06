import { SlipwayError } from '../../errors.js';
import { isDigest, sha256Digest } from '../../image/digest.js';
import { isLayerMediaType, MediaType } from '../../image/media-types.js';
import type { Descriptor, Manifest } from '../../image/types.js';
import type { LayerRef, StepRecord } from '../cache-index.js';
import { cacheKey } from '../cachekey.js';

/**
 * An exported build cache is one OCI image manifest (an artifact): its config blob is a
 * CacheDocument holding the step records, its layers are the records' layer blobs. The same
 * document works in an OCI layout directory (type=local) and in a registry (type=registry).
 */
export const CACHE_MEDIA_TYPE = 'application/vnd.slipway.buildcache.v1+json';

export interface CacheDocument {
  /** Format version of this document; readers refuse versions they do not know. */
  version: 1;
  records: StepRecord[];
}

export interface BuiltCache {
  manifest: Manifest;
  manifestBytes: Buffer;
  manifestDescriptor: Descriptor;
  configBytes: Buffer;
  configDescriptor: Descriptor;
  /** Distinct layer blobs, in the manifest's order. */
  layers: Descriptor[];
}

/**
 * The manifest and config bytes for a set of records. Records are sorted by key and layers by first
 * use, so exporting the same records twice gives the same manifest digest (a no-op re-push).
 */
export function buildCacheManifest(records: readonly StepRecord[]): BuiltCache {
  const byKey = new Map<string, StepRecord>();
  for (const r of records) byKey.set(r.key, r);
  const sorted = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const layers = new Map<string, Descriptor>();
  for (const r of sorted) {
    if (!r.layer) continue;
    const d = r.layer.descriptor;
    if (!layers.has(d.digest))
      layers.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
  }
  const doc: CacheDocument = { version: 1, records: sorted };
  const configBytes = Buffer.from(JSON.stringify(doc));
  const configDescriptor: Descriptor = {
    mediaType: CACHE_MEDIA_TYPE,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: CACHE_MEDIA_TYPE,
    config: configDescriptor,
    layers: [...layers.values()],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    manifest,
    manifestBytes,
    manifestDescriptor: {
      mediaType: MediaType.ociManifest,
      digest: sha256Digest(manifestBytes),
      size: manifestBytes.length,
    },
    configBytes,
    configDescriptor,
    layers: [...layers.values()],
  };
}

/** The manifest, checked to be a slipway build cache; `source` names it in errors. */
export function parseCacheManifest(bytes: Buffer, source: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SlipwayError('BUILD', `${source}: cache manifest is not valid JSON`);
  }
  if (!isObject(m) || m.schemaVersion !== 2 || !isObject(m.config) || !Array.isArray(m.layers)) {
    throw new SlipwayError('BUILD', `${source}: not an OCI image manifest`);
  }
  const manifest = m as unknown as Manifest;
  if (manifest.config.mediaType !== CACHE_MEDIA_TYPE) {
    throw new SlipwayError(
      'BUILD',
      `${source} is not a slipway build cache (its config media type is ${String(manifest.config.mediaType)}, want ${CACHE_MEDIA_TYPE})`,
    );
  }
  for (const d of [manifest.config, ...manifest.layers]) {
    if (!isDescriptor(d))
      throw new SlipwayError('BUILD', `${source}: cache manifest has an invalid descriptor`);
  }
  return manifest;
}

export interface ParsedRecords {
  records: StepRecord[];
  /** One line per record left out, saying why. */
  rejected: string[];
}

/**
 * The records of a cache document that are safe to put in a CacheIndex: the key must be the hash of
 * the record's own parts (so an entry can only answer the step it describes), and any layer must be
 * one of the manifest's blobs with the same digest and size.
 */
export function parseCacheDocument(bytes: Buffer, manifestLayers: readonly Descriptor[]): ParsedRecords {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SlipwayError('BUILD', 'cache records blob is not valid JSON');
  }
  if (!isObject(doc) || !Array.isArray(doc.records))
    throw new SlipwayError('BUILD', 'cache records blob has no records');
  if (doc.version !== 1)
    throw new SlipwayError('BUILD', `unsupported build cache version ${String(doc.version)}`);
  const layers = new Map(manifestLayers.map((d) => [d.digest, d]));
  const records: StepRecord[] = [];
  const rejected: string[] = [];
  for (const raw of doc.records as unknown[]) {
    const why = recordProblem(raw, layers);
    if (why) {
      const key = isObject(raw) && typeof raw.key === 'string' ? raw.key : '(no key)';
      rejected.push(`${key}: ${why}`);
    } else records.push(raw as StepRecord);
  }
  return { records, rejected };
}

function recordProblem(raw: unknown, layers: Map<string, Descriptor>): string | undefined {
  if (!isObject(raw)) return 'not an object';
  if (typeof raw.key !== 'string' || !isDigest(raw.key)) return 'invalid key';
  const parts = raw.parts;
  if (
    !isObject(parts) ||
    typeof parts.parent !== 'string' ||
    typeof parts.op !== 'string' ||
    typeof parts.platform !== 'string' ||
    !isObject(parts.args) ||
    !Object.values(parts.args).every((v) => typeof v === 'string') ||
    !Array.isArray(parts.inputs) ||
    !parts.inputs.every((v) => typeof v === 'string')
  ) {
    return 'invalid key parts';
  }
  if (cacheKey(parts as unknown as StepRecord['parts']) !== raw.key) return 'key does not match its parts';
  if (!isObject(raw.config)) return 'invalid config';
  if (!isObject(raw.history)) return 'invalid history';
  if (typeof raw.createdAt !== 'string') return 'invalid createdAt';
  if (raw.layer !== undefined) {
    const l = raw.layer;
    if (!isObject(l) || !isDescriptor(l.descriptor)) return 'invalid layer';
    const layer = l as unknown as LayerRef;
    if (!isDigest(layer.diffId) || !isDigest(layer.chainId)) return 'invalid layer diffId or chainId';
    if (!isLayerMediaType(layer.descriptor.mediaType))
      return `unknown layer media type ${layer.descriptor.mediaType}`;
    const listed = layers.get(layer.descriptor.digest);
    if (!listed || listed.size !== layer.descriptor.size)
      return 'layer blob is not part of the cache manifest';
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDescriptor(v: unknown): v is Descriptor {
  return (
    isObject(v) &&
    typeof v.mediaType === 'string' &&
    typeof v.digest === 'string' &&
    isDigest(v.digest) &&
    typeof v.size === 'number' &&
    Number.isSafeInteger(v.size) &&
    v.size >= 0
  );
}

import { SlipwayError } from '../errors.js';
import { sha256Digest } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';
import type { RegistryOptions } from '../registry/options.js';
import { runPool } from '../registry/pool.js';
import type { Store } from '../store/store.js';
import type { CacheIndex, StepRecord } from './cache-index.js';
import { layerDiffId } from './cache-transfer/diffid.js';
import { buildCacheManifest, parseCacheDocument, parseCacheManifest } from './cache-transfer/format.js';
import { LocalSource, LocalTarget } from './cache-transfer/local.js';
import { RegistrySource, RegistryTarget } from './cache-transfer/registry.js';
import type { CacheSpec } from './cache-transfer/spec.js';
import type { CacheSource, CacheTarget } from './cache-transfer/transport.js';

export { CACHE_MEDIA_TYPE } from './cache-transfer/format.js';
export { type CacheSpec, parseCacheFlag } from './cache-transfer/spec.js';

/**
 * Registry settings (config, credentials, tlsVerify, retry) for type=registry, plus `signal` and
 * `onProgress`: one line per blob written or fetched, BuildKit's wording (`writing layer sha256:… done`).
 */
export type CacheTransferOptions = RegistryOptions;

export interface ExportResult {
  /** Digest of the cache manifest now under the ref / tag. */
  manifestDigest: string;
  records: number;
  layers: number;
  /** Records left out because their layer blob is no longer in the store. */
  skipped: number;
}

export interface ImportResult {
  /** Records written to the CacheIndex (ones already present locally are not counted). */
  records: number;
  /** Layer blobs fetched into the store. */
  layers: number;
  /** Records refused, each with the reason (bad key, blob missing or failing verification). */
  rejected: string[];
  manifestDigest: string;
}

/** Roots file that keeps imported layer blobs from gc until their records name them. */
export const IMPORT_ROOTS = 'buildcache-import';

const CONCURRENCY = 3;
/** A records blob is JSON for a few hundred steps; anything this big is not one. */
const MAX_RECORDS_BLOB = 64 << 20;

function target(spec: CacheSpec, opts: CacheTransferOptions): CacheTarget {
  return spec.type === 'local' ? new LocalTarget(spec.dir, spec.tag) : new RegistryTarget(spec.ref, opts);
}

function source(spec: CacheSpec, opts: CacheTransferOptions): CacheSource {
  if (spec.type === 'registry') return new RegistrySource(spec.ref, opts);
  return new LocalSource(spec.dir, {
    ...(spec.tag === undefined ? {} : { tag: spec.tag }),
    ...(spec.digest === undefined ? {} : { digest: spec.digest }),
  });
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SlipwayError('INTERRUPTED', 'operation cancelled');
}

/**
 * Write `records` (every step record the build used, cached or new) and their layer blobs as one
 * cache manifest to a local OCI layout or a registry. Blobs already at the destination are skipped;
 * the manifest is named last, so a reader never finds a cache whose blobs are missing.
 */
export async function exportCache(
  store: Store,
  records: readonly StepRecord[],
  spec: CacheSpec,
  opts: CacheTransferOptions = {},
): Promise<ExportResult> {
  const progress = opts.onProgress ?? (() => {});
  const dest = target(spec, opts);
  const layerDigests = records.flatMap((r) => (r.layer ? [r.layer.descriptor.digest] : []));
  // Pin before checking, so a concurrent gc cannot take a blob between the check and the copy.
  await store.pin(layerDigests);
  const usable: StepRecord[] = [];
  for (const r of records) {
    if (!r.layer || (await store.hasBlob(r.layer.descriptor.digest))) usable.push(r);
  }
  progress('preparing build cache for export');
  const built = buildCacheManifest(usable);
  await runPool(built.layers, CONCURRENCY, async (d) => {
    checkAbort(opts.signal);
    if (!(await dest.hasBlob(d))) await dest.putBlob(d, { path: store.blobPath(d.digest) });
    progress(`writing layer ${d.digest} done`);
  });
  checkAbort(opts.signal);
  if (!(await dest.hasBlob(built.configDescriptor))) {
    await dest.putBlob(built.configDescriptor, { bytes: built.configBytes });
  }
  progress(`writing config ${built.configDescriptor.digest} done`);
  await dest.putManifest(built);
  progress(`writing cache manifest ${built.manifestDescriptor.digest} done`);
  const unique = new Set(usable.map((r) => r.key)).size;
  return {
    manifestDigest: built.manifestDescriptor.digest,
    records: unique,
    layers: built.layers.length,
    skipped: records.length - usable.length,
  };
}

async function collect(src: AsyncIterable<Buffer>, d: Descriptor): Promise<Buffer> {
  if (d.size > MAX_RECORDS_BLOB) {
    throw new SlipwayError('BUILD', `cache records blob ${d.digest} is too large (${d.size} bytes)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of src) {
    size += c.length;
    if (size > d.size) break;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Failures that condemn one blob (and its records) rather than the whole import. */
function isBlobFault(e: unknown): boolean {
  return e instanceof SlipwayError && (e.code === 'STORE' || e.code === 'NOT_FOUND');
}

/**
 * Read a cache manifest and put its step records into `cache`, so the next build of the same steps
 * prints CACHED. Every layer blob a new record names is fetched into the store first and checked
 * (blob digest and size, and the uncompressed diffID the record claims); a record is written only
 * after its blob passed, and records whose blob fails are refused. Records the local cache already
 * has (with their blob) are left alone: local results win.
 */
export async function importCache(
  store: Store,
  cache: CacheIndex,
  spec: CacheSpec,
  opts: CacheTransferOptions = {},
): Promise<ImportResult> {
  const progress = opts.onProgress ?? (() => {});
  const src = source(spec, opts);
  const manifestBytes = await src.manifest();
  const manifest = parseCacheManifest(manifestBytes, src.name);
  const manifestDigest = sha256Digest(manifestBytes);
  progress(`importing cache manifest ${manifestDigest} from ${src.name}`);

  const configBytes = await collect(src.blob(manifest.config), manifest.config);
  if (configBytes.length !== manifest.config.size || sha256Digest(configBytes) !== manifest.config.digest) {
    throw new SlipwayError(
      'STORE',
      `cache records blob ${manifest.config.digest} from ${src.name} failed verification`,
    );
  }
  const parsed = parseCacheDocument(configBytes, manifest.layers);
  const rejected = [...parsed.rejected];

  const wanted: StepRecord[] = [];
  for (const r of parsed.records) {
    const local = await cache.get(r.key);
    if (local && (!local.layer || (await store.hasBlob(local.layer.descriptor.digest)))) continue;
    wanted.push(r);
  }

  const blobs = new Map<string, Descriptor>();
  for (const r of wanted) if (r.layer) blobs.set(r.layer.descriptor.digest, r.layer.descriptor);
  // digest → its diffID (undefined: could not be computed), or an Error saying why the blob is refused.
  const checked = new Map<string, string | undefined | Error>();
  let fetched = 0;
  await runPool([...blobs.values()], CONCURRENCY, async (d) => {
    checkAbort(opts.signal);
    try {
      await store.pin([d.digest]);
      if (!(await store.hasBlob(d.digest))) {
        await store.writeBlob(src.blob(d), { digest: d.digest, size: d.size });
        fetched++;
        progress(`fetching layer ${d.digest} done`);
      }
      checked.set(d.digest, await layerDiffId(store.blobPath(d.digest), d.mediaType));
    } catch (e) {
      if (!isBlobFault(e)) throw e;
      checked.set(d.digest, e as Error);
    }
  });

  let written = 0;
  const kept: string[] = [];
  for (const r of wanted) {
    if (r.layer) {
      const got = checked.get(r.layer.descriptor.digest);
      if (got instanceof Error) {
        rejected.push(`${r.key}: ${got.message}`);
        continue;
      }
      if (got !== undefined && got !== r.layer.diffId) {
        rejected.push(
          `${r.key}: layer ${r.layer.descriptor.digest} has diffID ${got}, record says ${r.layer.diffId}`,
        );
        continue;
      }
      kept.push(r.layer.descriptor.digest);
    }
    await cache.put(r);
    written++;
  }
  // The records now pin their blobs for gc (build cache roots); this covers the window until a gc
  // process reads them, and imports made without the build engine's gc hook.
  await store.setRoots(IMPORT_ROOTS, [...new Set(kept)]);
  for (const line of rejected) progress(`skipped cache record ${line}`);
  return { records: written, layers: fetched, rejected, manifestDigest };
}

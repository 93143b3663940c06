import { SlipwayError } from '../errors.js';
import { sha256Digest, shortId } from '../image/digest.js';
import { layerCompression } from '../image/media-types.js';
import {
  familiarName,
  familiarString,
  formatReference,
  parseDockerRef,
  type Reference,
} from '../image/reference.js';
import type { Descriptor, Manifest } from '../image/types.js';
import { layerSize } from '../images/layer-size.js';
import type { ImageRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { BlobOrigins } from './blob-origins.js';
import { EndpointSession, RegistryClient, type RegistryContext } from './client.js';
import { blobChunks, gzipTrailerSize } from './download.js';
import { RegistryError } from './errors.js';
import { type Endpoint, endpointsFor } from './hosts.js';
import { assertImageManifest, MANIFEST_ACCEPT, parseManifestBytes } from './manifest.js';
import { makeContext, type RegistryOptions } from './options.js';
import {
  formatPlatform,
  hostPlatform,
  type PlatformSpec,
  parsePlatform,
  platformMatches,
  selectManifest,
} from './platform.js';
import { runPool } from './pool.js';

export interface PullOptions extends RegistryOptions {
  /** `linux/arm64`, or a parsed spec; default the host platform. */
  platform?: string | PlatformSpec;
  /** Layers downloaded at once (default 3). */
  concurrency?: number;
}

export interface PullResult {
  record: ImageRecord;
  /** Normalized reference pulled: `docker.io/library/python:latest` (or `…@sha256:…`). */
  reference: string;
  /** The digest Docker prints as `Digest:`: the index's when the tag named one. */
  digest: string;
  /** The platform manifest stored and named. */
  manifestDigest: string;
  /** The local image already was this manifest: nothing was downloaded. */
  upToDate: boolean;
  /** Endpoint the image came from (a mirror URL or the registry's). */
  source: string;
}

/**
 * Pull `ref` into the store: resolve tag/digest (index → platform manifest), download config and
 * layers (verified against their digests before they enter the store, 3 at a time, resumed after a
 * dropped connection), keep the manifest bytes verbatim, then record and tag the image. For docker.io,
 * configured mirrors are tried first, then the origin.
 */
export async function pullImage(store: Store, ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const r = parseDockerRef(ref);
  const progress = opts.onProgress ?? (() => {});
  const result = await onEndpoints(r, opts, (ep, ctx, want) =>
    pullFrom(store, r, ep, ctx, want, opts, progress),
  );
  progress(statusLine(result.upToDate, familiarString(r)));
  return result;
}

/**
 * `docker pull --all-tags`: every tag the registry lists for the repository, in its order, each with
 * its own "Pulling from" and "Digest:" lines, then one status line for the repository.
 */
export async function pullAllTags(store: Store, repo: string, opts: PullOptions = {}): Promise<PullResult[]> {
  const r = parseDockerRef(repo);
  const progress = opts.onProgress ?? (() => {});
  const results = await onEndpoints(r, opts, async (ep, ctx, want) => {
    const tags = await new RegistryClient(new EndpointSession(ep, ctx), r.path, 'pull').listTags();
    const out: PullResult[] = [];
    for (const tag of tags) out.push(await pullFrom(store, { ...r, tag }, ep, ctx, want, opts, progress));
    return out;
  });
  progress(
    statusLine(
      results.every((x) => x.upToDate),
      familiarName(r),
    ),
  );
  return results;
}

function statusLine(upToDate: boolean, name: string): string {
  return upToDate ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}`;
}

/** Run `fn` against the endpoints for `r`: for docker.io, configured mirrors first, then the origin. */
async function onEndpoints<T>(
  r: Reference,
  opts: PullOptions,
  fn: (ep: Endpoint, ctx: RegistryContext, want: PlatformSpec) => Promise<T>,
): Promise<T> {
  const ctx = makeContext(opts);
  const want =
    opts.platform === undefined
      ? hostPlatform()
      : typeof opts.platform === 'string'
        ? parsePlatform(opts.platform)
        : opts.platform;
  const endpoints = endpointsFor(r.domain, {
    config: ctx.config,
    mirrors: true,
    ...(opts.tlsVerify === undefined ? {} : { tlsVerify: opts.tlsVerify }),
  });
  for (let i = 0; i < endpoints.length; i++) {
    const ep = endpoints[i]!;
    try {
      return await fn(ep, ctx, want);
    } catch (e) {
      const interrupted = e instanceof SlipwayError && e.code === 'INTERRUPTED';
      // A mirror that fails for any reason falls back to the next one / the origin, as in Docker.
      if (ep.mirror && !interrupted && i + 1 < endpoints.length) continue;
      throw translatePullError(e, r);
    }
  }
  throw new SlipwayError('REGISTRY', `no endpoint for ${r.domain}`);
}

/** moby's TranslatePullError wording for the registry's "not found"/"denied" answers. */
function translatePullError(e: unknown, r: Reference): unknown {
  if (!(e instanceof RegistryError)) return e;
  const cause = e.message;
  switch (e.registryCode) {
    case 'DENIED':
      return new RegistryError(
        `pull access denied for ${familiarName(r)}, repository does not exist or may require 'docker login': ${cause}`,
        { status: e.status ?? 403, registryCode: 'DENIED' },
      );
    case 'MANIFEST_UNKNOWN':
      return new RegistryError(`manifest for ${familiarString(r)} not found: ${cause}`, {
        status: e.status ?? 404,
        registryCode: e.registryCode,
      });
    case 'NAME_UNKNOWN':
      return new RegistryError(`repository ${familiarName(r)} not found: ${cause}`, {
        status: e.status ?? 404,
        registryCode: e.registryCode,
      });
    default:
      return e;
  }
}

async function pullFrom(
  store: Store,
  r: Reference,
  ep: Endpoint,
  ctx: RegistryContext,
  want: PlatformSpec,
  opts: PullOptions,
  progress: (line: string) => void,
): Promise<PullResult> {
  const name = formatReference(r);
  const session = new EndpointSession(ep, ctx);
  const client = new RegistryClient(session, r.path, 'pull');
  const top = await client.getManifest(r.digest ?? r.tag!, MANIFEST_ACCEPT);
  // moby prints this once the manifest is fetched (so not before a "not found"), keyed by the tag or,
  // for a digest pull, by the whole canonical reference.
  progress(`${r.digest === undefined ? r.tag : name}: Pulling from ${r.path}`);
  const topDigest = sha256Digest(top.bytes);
  if (r.digest !== undefined && topDigest !== r.digest) {
    throw new RegistryError(`manifest verification failed for digest ${r.digest}`);
  }
  if (r.digest === undefined && top.digest?.startsWith('sha256:') && top.digest !== topDigest) {
    throw new RegistryError(
      `manifest verification failed for digest ${top.digest}: content hashes to ${topDigest}`,
    );
  }
  const parsed = parseManifestBytes(top.bytes, top.contentType, name);
  let manifest: Manifest;
  let manifestBytes = top.bytes;
  let manifestDigest = topDigest;
  if (parsed.kind === 'index') {
    const desc = selectManifest(parsed.index.manifests, want);
    if (!desc)
      throw new RegistryError(
        `no matching manifest for ${formatPlatform(want)} in the manifest list entries`,
      );
    const sub = await client.getManifest(desc.digest, MANIFEST_ACCEPT);
    manifestDigest = sha256Digest(sub.bytes);
    if (manifestDigest !== desc.digest)
      throw new RegistryError(`manifest verification failed for digest ${desc.digest}`);
    const p = parseManifestBytes(sub.bytes, sub.contentType ?? desc.mediaType, name);
    if (p.kind !== 'manifest')
      throw new RegistryError(`${name}: index entry ${desc.digest} is not an image manifest`);
    manifest = p.manifest;
    manifestBytes = sub.bytes;
  } else {
    manifest = parsed.manifest;
  }
  assertImageManifest(manifest, name);

  const origins = new BlobOrigins(store.root);
  const allBlobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  await store.pin([topDigest, manifestDigest, ...allBlobs]);

  const existing =
    r.tag !== undefined ? await store.tryResolve(name) : await store.getByManifest(manifestDigest);
  if (existing && existing.manifestDigest === manifestDigest) {
    await origins.record(ep.host, r.path, allBlobs).catch(() => {});
    progress(`Digest: ${topDigest}`);
    return {
      record: existing,
      reference: name,
      digest: topDigest,
      manifestDigest,
      upToDate: true,
      source: ep.url,
    };
  }

  const retryNote = (what: string) => (e: unknown, attempt: number, offset: number) =>
    ctx.onRetry?.(`${what} at byte ${offset}`, e, attempt);
  const fetchBlob = async (
    d: Descriptor,
    what: string,
    tap?: (src: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>,
  ) => {
    const chunks = blobChunks(client, d.digest, d.size, {
      ...(ctx.retry ? { policy: ctx.retry } : {}),
      signal: ctx.signal,
      onRetry: retryNote(what),
    });
    try {
      await store.writeBlob(tap ? tap(chunks) : chunks, { digest: d.digest, size: d.size });
    } catch (e) {
      if (e instanceof SlipwayError && e.code === 'STORE' && /mismatch/.test(e.message)) {
        throw new RegistryError(`${what} verification failed for digest ${d.digest}: ${e.message}`);
      }
      throw e;
    }
  };

  // Config first: it is small and tells whether the image fits the requested platform.
  if (!(await store.hasBlob(manifest.config.digest))) await fetchBlob(manifest.config, 'image config');
  const config = await store.readConfig(manifest.config.digest);
  if (parsed.kind === 'manifest' && opts.platform !== undefined && !platformMatches(config, want)) {
    throw new RegistryError(
      `image with reference ${familiarString(r)} was found but its platform (${formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) })}) does not match the specified platform (${formatPlatform(want)})`,
    );
  }

  const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
  const sizes = new Map<string, number>();
  const missing: Descriptor[] = [];
  for (const l of unique) if (!(await store.hasBlob(l.digest))) missing.push(l);
  // moby skips the layers of an image it already has (another tag of it): no layer lines at all.
  const haveImage = missing.length === 0 && (await store.tryResolve(manifest.config.digest)) !== undefined;
  if (!haveImage) {
    for (const l of unique)
      progress(`${shortId(l.digest)}: ${missing.includes(l) ? 'Pulling fs layer' : 'Already exists'}`);
  }
  await runPool(missing, opts.concurrency ?? 3, async (l) => {
    const gz = layerCompression(l.mediaType) === 'gzip' ? gzipTrailerSize() : undefined;
    await fetchBlob(l, 'filesystem layer', gz?.tap);
    const n = gz?.result();
    if (n !== undefined) sizes.set(l.digest, n);
    progress(`${shortId(l.digest)}: Verifying Checksum`);
    progress(`${shortId(l.digest)}: Download complete`);
  });
  for (const l of missing) progress(`${shortId(l.digest)}: Pull complete`);

  const uncompressedSizes: number[] = [];
  for (const l of manifest.layers) uncompressedSizes.push(sizes.get(l.digest) ?? (await layerSize(store, l)));
  if (parsed.kind === 'index')
    await store.writeBlob(top.bytes, { digest: topDigest, size: top.bytes.length });
  await store.writeBlob(manifestBytes, { digest: manifestDigest, size: manifestBytes.length });
  let record = await store.registerImage(manifestDigest, { uncompressedSizes });
  if (r.tag !== undefined) {
    await store.tag(name, manifestDigest);
    record = (await store.getByManifest(manifestDigest)) ?? record;
  }
  await origins.record(ep.host, r.path, allBlobs).catch(() => {});
  progress(`Digest: ${topDigest}`);
  return { record, reference: name, digest: topDigest, manifestDigest, upToDate: false, source: ep.url };
}

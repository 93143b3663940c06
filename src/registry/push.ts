import { createReadStream } from 'node:fs';
import { SlipwayError } from '../errors.js';
import { sha256Digest, shortId } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import {
  familiarName,
  formatReference,
  parseDockerRef,
  parseReference,
  repositoryName,
} from '../image/reference.js';
import type { Descriptor, Manifest } from '../image/types.js';
import type { Store } from '../store/store.js';
import { BlobOrigins } from './blob-origins.js';
import { EndpointSession, RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { originEndpoint } from './hosts.js';
import { sleep } from './http.js';
import { makeContext, type RegistryOptions } from './options.js';
import { runPool } from './pool.js';
import { DEFAULT_RETRY, isRetryable, retryDelay, withRetry } from './retry.js';

export interface PushOptions extends RegistryOptions {
  /** Layers uploaded at once (default 3). */
  concurrency?: number;
  /** Blobs larger than this go up in PATCH chunks (default 64 MiB); smaller ones in one PUT. */
  chunkThreshold?: number;
  /** PATCH chunk size (default 32 MiB). */
  chunkSize?: number;
}

export type BlobPushStatus = 'pushed' | 'exists' | 'mounted';

export interface PushResult {
  /** `docker.io/user/app:latest`. */
  reference: string;
  /** `docker.io/user/app`. */
  repository: string;
  tag: string;
  /** Manifest digest, as the registry now serves it. */
  digest: string;
  /** Manifest size in bytes. */
  size: number;
  layers: { digest: string; status: BlobPushStatus; from?: string }[];
}

/**
 * Push a local image to its registry: each blob is HEADed first (skipped when present), mounted from
 * another repository of the same registry where it is known to exist, else uploaded (one PUT, or
 * PATCH chunks for large blobs); then the stored manifest bytes are PUT verbatim with their media type,
 * so the pushed digest is the local manifest digest.
 */
export async function pushImage(store: Store, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  const given = parseReference(ref);
  if (given.digest !== undefined) throw new SlipwayError('USAGE', 'cannot push a digest reference');
  const r = parseDockerRef(ref);
  const name = formatReference(r);
  const tag = r.tag!;
  const progress = opts.onProgress ?? (() => {});
  // moby names the repository before it looks for the image or dials the registry, so this line
  // comes first even when the push then fails.
  progress(`The push refers to repository [${repositoryName(r)}]`);
  const record = await store.tryResolve(name);
  if (!record)
    throw new SlipwayError('NOT_FOUND', `An image does not exist locally with the tag: ${familiarName(r)}`);
  const ctx = makeContext(opts);
  const ep = originEndpoint(r.domain, {
    config: ctx.config,
    ...(opts.tlsVerify === undefined ? {} : { tlsVerify: opts.tlsVerify }),
  });
  const session = new EndpointSession(ep, ctx);
  const client = new RegistryClient(session, r.path, 'pull,push');
  const origins = new BlobOrigins(store.root);

  await store.pin([record.manifestDigest]);
  const manifestBytes = await store.readBlob(record.manifestDigest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  await store.pin([manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
  // Docker keys push progress by each layer's diff ID (the uncompressed digest), not the blob's.
  const diffIds = (await store.readConfig(manifest.config.digest)).rootfs?.diff_ids ?? [];
  const progressId = new Map(manifest.layers.map((l, i) => [l.digest, shortId(diffIds[i] ?? l.digest)]));
  // moby dials the registry before it lists any layer: an unreachable one fails with no Preparing lines.
  await session.ready();
  const layers = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()].reverse();
  for (const l of layers) progress(`${progressId.get(l.digest)}: Preparing`);

  const pushOne = async (d: Descriptor): Promise<{ status: BlobPushStatus; from?: string }> => {
    if (!(await store.hasBlob(d.digest))) {
      throw new SlipwayError('NOT_FOUND', `blob ${d.digest} of ${name} is not in the local store`);
    }
    if ((await client.headBlob(d.digest)) !== undefined) return { status: 'exists' };
    for (const from of (await origins.candidates(d.digest, ep.host, r.path)).slice(0, 3)) {
      const start = await client.startUpload({ digest: d.digest, from }).catch((e: unknown) => {
        // A mount the token may not cover (no pull on `from`) is just a missed shortcut.
        if (e instanceof RegistryError && (e.status === 401 || e.status === 403 || e.status === 404))
          return undefined;
        throw e;
      });
      if (!start) continue;
      if (start.mounted) return { status: 'mounted', from };
      await uploadBlob(client, store, d, start.location, opts);
      return { status: 'pushed' };
    }
    await uploadBlob(client, store, d, undefined, opts);
    return { status: 'pushed' };
  };

  const results = await runPool(layers, opts.concurrency ?? 3, async (l) => {
    const res = await pushOne(l);
    const line =
      res.status === 'exists'
        ? 'Layer already exists'
        : res.status === 'mounted'
          ? `Mounted from ${res.from}`
          : 'Pushed';
    progress(`${progressId.get(l.digest)}: ${line}`);
    return { digest: l.digest, ...res };
  });
  await pushOne(manifest.config);

  const mediaType = manifest.mediaType ?? record.manifestMediaType ?? MediaType.ociManifest;
  const digest = sha256Digest(manifestBytes);
  const served = await client.putManifest(tag, manifestBytes, mediaType);
  if (served?.startsWith('sha256:') && served !== digest) {
    throw new RegistryError(`registry stored manifest ${served}, expected ${digest}`);
  }
  await origins
    .record(ep.host, r.path, [manifest.config.digest, ...layers.map((l) => l.digest)])
    .catch(() => {});
  progress(`${tag}: digest: ${digest} size: ${manifestBytes.length}`);
  return {
    reference: name,
    repository: repositoryName(r),
    tag,
    digest,
    size: manifestBytes.length,
    layers: results,
  };
}

/** Upload one blob; a failed attempt starts a fresh session (a chunked one resumes where the registry is). */
async function uploadBlob(
  client: RegistryClient,
  store: Store,
  d: Descriptor,
  location: URL | undefined,
  opts: PushOptions,
): Promise<void> {
  const path = store.blobPath(d.digest);
  const threshold = opts.chunkThreshold ?? 64 << 20;
  const chunkSize = Math.max(1, opts.chunkSize ?? 32 << 20);
  let loc = location;
  await withRetry(
    async () => {
      const start = loc ?? (await client.startUpload()).location;
      loc = undefined;
      if (d.size <= threshold) {
        await client.completeUpload(start, d.digest, () => createReadStream(path), d.size);
        return;
      }
      await chunkedUpload(client, path, d, start, chunkSize, opts);
    },
    { policy: opts.retry ?? DEFAULT_RETRY, signal: opts.signal },
  );
}

async function chunkedUpload(
  client: RegistryClient,
  path: string,
  d: Descriptor,
  start: URL,
  chunkSize: number,
  opts: PushOptions,
): Promise<void> {
  const policy = opts.retry ?? DEFAULT_RETRY;
  let offset = 0;
  let loc = start;
  let failures = 0;
  while (offset < d.size) {
    const len = Math.min(chunkSize, d.size - offset);
    const from = offset;
    try {
      loc = await client.patchChunk(loc, from, len, () =>
        createReadStream(path, { start: from, end: from + len - 1 }),
      );
      offset += len;
      failures = 0;
    } catch (e) {
      if (!isRetryable(e) || ++failures >= policy.attempts) throw e;
      await sleep(retryDelay(e, failures - 1, policy), opts.signal);
      // Ask the registry how much of the upload it kept and go on from there.
      const status = await uploadStatus(client, loc);
      offset = status.offset;
      loc = status.location;
    }
  }
  await client.completeUpload(loc, d.digest);
}

async function uploadStatus(client: RegistryClient, loc: URL): Promise<{ offset: number; location: URL }> {
  const res = await client.request('GET', loc);
  await client.expect(res, [204, 200], 'GET blob upload status');
  res.body.resume();
  const range = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ''));
  const end = range ? Number(range[1]) : -1;
  const location = res.headers.location ? new URL(String(res.headers.location), loc) : loc;
  return { offset: end > 0 ? end + 1 : 0, location };
}

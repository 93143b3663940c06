import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { SlipwayError } from '../../errors.js';
import { sha256Digest } from '../../image/digest.js';
import { MediaType } from '../../image/media-types.js';
import { formatReference, parseDockerRef, parseReference, type Reference } from '../../image/reference.js';
import type { Descriptor } from '../../image/types.js';
import { EndpointSession, RegistryClient } from '../../registry/client.js';
import { blobChunks } from '../../registry/download.js';
import { RegistryError } from '../../registry/errors.js';
import { originEndpoint } from '../../registry/hosts.js';
import { makeContext, type RegistryOptions } from '../../registry/options.js';
import { DEFAULT_RETRY, withRetry } from '../../registry/retry.js';
import type { BuiltCache } from './format.js';
import type { CacheSource, CacheTarget } from './transport.js';

function client(r: Reference, actions: 'pull' | 'pull,push', opts: RegistryOptions): RegistryClient {
  const ctx = makeContext(opts);
  const ep = originEndpoint(r.domain, {
    config: ctx.config,
    ...(opts.tlsVerify === undefined ? {} : { tlsVerify: opts.tlsVerify }),
  });
  return new RegistryClient(new EndpointSession(ep, ctx), r.path, actions);
}

/**
 * A cache pushed like an image: blobs the repository lacks are uploaded (one PUT each), then the
 * manifest goes up under the tag. Blobs come straight from the store's files, so nothing is buffered.
 */
export class RegistryTarget implements CacheTarget {
  readonly name: string;
  private readonly ref: Reference;
  private readonly client: RegistryClient;

  constructor(
    ref: string,
    private readonly opts: RegistryOptions = {},
  ) {
    if (parseReference(ref).digest !== undefined) {
      throw new SlipwayError('USAGE', `cannot export cache to a digest reference: ${ref}`);
    }
    this.ref = parseDockerRef(ref);
    this.name = formatReference(this.ref);
    this.client = client(this.ref, 'pull,push', opts);
  }

  async hasBlob(d: Descriptor): Promise<boolean> {
    return (await this.client.headBlob(d.digest)) !== undefined;
  }

  async putBlob(d: Descriptor, content: { path: string } | { bytes: Buffer }): Promise<void> {
    const body = () => ('path' in content ? createReadStream(content.path) : Readable.from([content.bytes]));
    // Each attempt opens a fresh upload session: a half-sent PUT cannot be resumed.
    await withRetry(
      async () => {
        const { location } = await this.client.startUpload();
        await this.client.completeUpload(location, d.digest, body, d.size);
      },
      { policy: this.opts.retry ?? DEFAULT_RETRY, signal: this.opts.signal },
    );
  }

  async putManifest(built: BuiltCache): Promise<void> {
    const served = await this.client.putManifest(this.ref.tag!, built.manifestBytes, MediaType.ociManifest);
    if (served?.startsWith('sha256:') && served !== built.manifestDescriptor.digest) {
      throw new RegistryError(
        `registry stored cache manifest ${served}, expected ${built.manifestDescriptor.digest}`,
      );
    }
  }
}

export class RegistrySource implements CacheSource {
  readonly name: string;
  private readonly ref: Reference;
  private readonly client: RegistryClient;

  constructor(
    ref: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.ref = parseDockerRef(ref);
    this.name = formatReference(this.ref);
    this.client = client(this.ref, 'pull', opts);
  }

  async manifest(): Promise<Buffer> {
    const reference = this.ref.digest ?? this.ref.tag!;
    let got: Awaited<ReturnType<RegistryClient['getManifest']>>;
    try {
      got = await this.client.getManifest(reference, [MediaType.ociManifest]);
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) {
        throw new SlipwayError('NOT_FOUND', `${this.name}: not found`, { cause: e });
      }
      throw e;
    }
    if (this.ref.digest !== undefined && sha256Digest(got.bytes) !== this.ref.digest) {
      throw new RegistryError(`cache manifest from ${this.name} does not match its digest`);
    }
    return got.bytes;
  }

  async *blob(d: Descriptor): AsyncIterable<Buffer> {
    try {
      yield* blobChunks(this.client, d.digest, d.size, {
        policy: this.opts.retry ?? DEFAULT_RETRY,
        signal: this.opts.signal,
      });
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) {
        throw new SlipwayError('NOT_FOUND', `blob ${d.digest} is missing from ${this.name}`, { cause: e });
      }
      throw e;
    }
  }
}

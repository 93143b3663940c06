import type { Readable } from 'node:stream';
import { SlipwayError } from '../errors.js';
import { Authenticator } from './auth.js';
import type { RegistryConfig } from './config.js';
import type { CredentialStore } from './credentials.js';
import { errorFromResponse, headerValue } from './errors.js';
import type { Endpoint } from './hosts.js';
import { drain, type HttpResponse, NetworkError, type RequestBody, readBody, send } from './http.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';

/** Shared by every client of one operation: config, credentials, cancellation, retry policy. */
export interface RegistryContext {
  config: RegistryConfig;
  credentials: CredentialStore;
  signal?: AbortSignal | undefined;
  retry?: RetryPolicy;
  /** Told about each retry (for progress output); never given secrets. */
  onRetry?: ((what: string, e: unknown, attempt: number) => void) | undefined;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: RequestBody;
  bodyLength?: number;
  /** Retry 5xx/429/connection errors (default true; off for bodies that cannot be replayed). */
  retry?: boolean;
  /** Extra scopes this request needs (e.g. a mount's source repository). */
  scopes?: string[];
}

/**
 * One registry endpoint: the scheme it answers on (HTTPS, or HTTP for insecure registries after HTTPS
 * fails) and its Authenticator, resolved once by pinging `/v2/` and shared by all repositories.
 */
export class EndpointSession {
  readonly auth: Authenticator;
  private base: URL | undefined;
  private pinging: Promise<URL> | undefined;

  constructor(
    readonly endpoint: Endpoint,
    readonly ctx: RegistryContext,
  ) {
    const retry = { policy: ctx.retry ?? DEFAULT_RETRY, signal: ctx.signal };
    this.auth = new Authenticator(
      () =>
        ctx.credentials.get(
          endpoint.domain === 'docker.io' && !endpoint.mirror ? 'docker.io' : endpoint.host,
        ),
      retry,
      endpoint.tlsVerify,
    );
  }

  get tls(): { verify: boolean; ca?: string[]; cert?: string; key?: string } {
    return { verify: this.endpoint.tlsVerify, ...this.endpoint.tls };
  }

  /** Base URL after the ping (scheme decided). */
  ready(): Promise<URL> {
    if (this.base) return Promise.resolve(this.base);
    this.pinging ??= this.ping().then(
      (u) => {
        this.base = u;
        return u;
      },
      (e: unknown) => {
        this.pinging = undefined;
        throw e;
      },
    );
    return this.pinging;
  }

  /** GET /v2/: learn the scheme and the auth challenge. */
  private async ping(): Promise<URL> {
    const first = new URL(`${this.endpoint.url}/`);
    try {
      await this.pingAt(first);
      return first;
    } catch (e) {
      if (!(this.endpoint.httpFallback && first.protocol === 'https:' && e instanceof NetworkError)) throw e;
      const plain = new URL(first.href);
      plain.protocol = 'http:';
      await this.pingAt(plain);
      return plain;
    }
  }

  private async pingAt(base: URL): Promise<void> {
    const url = new URL('/v2/', base);
    await withRetry(
      async () => {
        const res = await send({
          method: 'GET',
          url,
          tls: this.tls,
          ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
        });
        const body = await readBody(res, 1 << 20);
        if (res.status === 200) return;
        if (res.status === 401) {
          this.auth.setChallenge(headerValue(res.headers['www-authenticate']));
          return;
        }
        if (res.status === 404 && !res.headers['docker-distribution-api-version']) {
          throw new SlipwayError(
            'REGISTRY',
            `${this.endpoint.host} does not look like a registry: GET /v2/ returned 404`,
          );
        }
        throw errorFromResponse(res.status, res.headers, body, `GET ${url.href}`);
      },
      {
        policy: this.ctx.retry ?? DEFAULT_RETRY,
        signal: this.ctx.signal,
        // Nothing listening at first contact is a wrong address, not a blip: Docker fails at once.
        retryIf: (e) => !(e instanceof NetworkError && e.errno === 'ECONNREFUSED'),
      },
    );
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Requests against one repository of one endpoint, with the scopes that repository needs. */
export class RegistryClient {
  readonly scopes: string[];

  constructor(
    readonly session: EndpointSession,
    readonly repository: string,
    actions: 'pull' | 'pull,push',
  ) {
    this.scopes = [`repository:${repository}:${actions}`];
  }

  get endpoint(): Endpoint {
    return this.session.endpoint;
  }

  /** `/v2/<repo>/<suffix>` on the resolved base. */
  async url(suffix: string): Promise<URL> {
    const base = await this.session.ready();
    return new URL(`/v2/${this.repository}/${suffix}`, base);
  }

  /**
   * Send with auth, redirects and retries. Resolves with any non-5xx/429 response (the caller checks
   * the status); 5xx/429/connection errors are retried, then thrown.
   */
  async request(method: string, target: URL, opts: RequestOptions = {}): Promise<HttpResponse> {
    const base = await this.session.ready();
    const scopes = opts.scopes ? [...this.scopes, ...opts.scopes] : this.scopes;
    const ctx = this.session.ctx;
    const once = async (): Promise<HttpResponse> => {
      let url = target;
      let authTries = 0;
      for (let hops = 0; hops < 10; hops++) {
        const headers: Record<string, string> = { ...opts.headers };
        // Credentials go to the registry host only, never to a redirect target elsewhere (e.g. S3).
        const sameHost = url.host === base.host;
        let hadAuth = false;
        if (sameHost) {
          const a = await this.session.auth.header(scopes, ctx.signal);
          if (a) {
            headers.Authorization = a;
            hadAuth = true;
          }
        }
        const res = await send({
          method,
          url,
          headers,
          ...(opts.body ? { body: opts.body } : {}),
          ...(opts.bodyLength !== undefined ? { bodyLength: opts.bodyLength } : {}),
          tls: sameHost ? this.session.tls : { verify: true },
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        if (res.status === 401 && sameHost && authTries === 0) {
          const body = await readBody(res, 1 << 20);
          authTries++;
          if (
            await this.session.auth.onUnauthorized(
              headerValue(res.headers['www-authenticate']),
              scopes,
              hadAuth,
            )
          )
            continue;
          throw errorFromResponse(res.status, res.headers, body, `${method} ${url.pathname}`);
        }
        if (REDIRECTS.has(res.status) && (method === 'GET' || method === 'HEAD') && res.headers.location) {
          drain(res);
          url = new URL(res.headers.location, url);
          continue;
        }
        if (res.status >= 500 || res.status === 429) {
          const body = method === 'HEAD' ? Buffer.alloc(0) : await readBody(res, 1 << 20);
          throw errorFromResponse(res.status, res.headers, body, `${method} ${url.pathname}`);
        }
        return res;
      }
      throw new SlipwayError('REGISTRY', `too many redirects for ${method} ${target.pathname}`);
    };
    if (opts.retry === false) return once();
    return withRetry(once, {
      policy: ctx.retry ?? DEFAULT_RETRY,
      signal: ctx.signal,
      onRetry: (e, attempt) => ctx.onRetry?.(`${method} ${target.pathname}`, e, attempt),
    });
  }

  /** Throw the registry's error for a response that is not one of `ok`. */
  async expect(res: HttpResponse, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    const body = res.body.readableEnded
      ? Buffer.alloc(0)
      : await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
    throw errorFromResponse(res.status, res.headers, body, what);
  }

  async getManifest(
    reference: string,
    accept: string[],
  ): Promise<{ bytes: Buffer; contentType: string | undefined; digest: string | undefined }> {
    const url = await this.url(`manifests/${reference}`);
    const res = await this.request('GET', url, { headers: { Accept: accept.join(', ') } });
    await this.expect(res, [200], `GET manifest ${reference}`);
    const bytes = await readBody(res, 4 << 20);
    return {
      bytes,
      contentType: headerValue(res.headers['content-type'])?.split(';')[0]?.trim(),
      digest: headerValue(res.headers['docker-content-digest']),
    };
  }

  /** The repository's tags in the registry's order, following `Link: <…>; rel="next"` pages. */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | undefined = await this.url('tags/list');
    for (let page = 0; url && page < 1000; page++) {
      const res = await this.request('GET', url);
      await this.expect(res, [200], 'GET tags');
      const doc = JSON.parse((await readBody(res, 16 << 20)).toString('utf8')) as { tags?: unknown };
      if (Array.isArray(doc.tags)) tags.push(...doc.tags.filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(headerValue(res.headers.link) ?? '');
      url = next ? new URL(next[1]!, url) : undefined;
    }
    return tags;
  }

  /** Size of a blob the repository has, or undefined. */
  async headBlob(digest: string): Promise<number | undefined> {
    const url = await this.url(`blobs/${digest}`);
    const res = await this.request('HEAD', url);
    drain(res);
    if (res.status === 404) return undefined;
    await this.expect(res, [200], `HEAD blob ${digest}`);
    const len = Number(res.headers['content-length']);
    return Number.isFinite(len) ? len : 0;
  }

  /** GET a blob from `offset` (Range). The caller owns the body. */
  async openBlob(digest: string, offset: number): Promise<HttpResponse> {
    const url = await this.url(`blobs/${digest}`);
    const headers: Record<string, string> = {};
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const res = await this.request('GET', url, { headers });
    await this.expect(res, offset > 0 ? [200, 206] : [200], `GET blob ${digest}`);
    return res;
  }

  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string | undefined> {
    const url = await this.url(`manifests/${reference}`);
    const res = await this.request('PUT', url, { headers: { 'Content-Type': mediaType }, body: bytes });
    await this.expect(res, [200, 201, 202], `PUT manifest ${reference}`);
    drain(res);
    return headerValue(res.headers['docker-content-digest']);
  }

  /**
   * POST an upload; with `mount`, ask for a cross-repository mount first. `mounted` true means the
   * registry linked the blob (201); otherwise `location` is a fresh upload session.
   */
  async startUpload(mount?: { digest: string; from: string }): Promise<{ mounted: boolean; location: URL }> {
    const url = await this.url('blobs/uploads/');
    if (mount) {
      url.searchParams.set('mount', mount.digest);
      url.searchParams.set('from', mount.from);
    }
    const res = await this.request('POST', url, mount ? { scopes: [`repository:${mount.from}:pull`] } : {});
    await this.expect(res, [201, 202], 'POST blob upload');
    drain(res);
    const loc = headerValue(res.headers.location);
    if (res.status === 201) return { mounted: true, location: new URL(loc ?? url.href, url) };
    if (!loc) throw new SlipwayError('REGISTRY', 'registry started an upload without a Location');
    return { mounted: false, location: new URL(loc, url) };
  }

  /** PATCH one chunk `[start, start+length)` of an upload; returns the next Location. */
  async patchChunk(location: URL, start: number, length: number, body: () => Readable): Promise<URL> {
    const res = await this.request('PATCH', location, {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `${start}-${start + length - 1}`,
      },
      body,
      bodyLength: length,
      retry: false,
    });
    await this.expect(res, [202, 204], 'PATCH blob upload');
    drain(res);
    const loc = headerValue(res.headers.location);
    return loc ? new URL(loc, location) : location;
  }

  /** Finish an upload: PUT `?digest=` with the (rest of the) content. */
  async completeUpload(location: URL, digest: string, body?: () => Readable, length = 0): Promise<void> {
    const url = new URL(location.href);
    url.searchParams.set('digest', digest);
    const res = await this.request('PUT', url, {
      headers: { 'Content-Type': 'application/octet-stream' },
      ...(body ? { body, bodyLength: length } : {}),
      retry: false,
    });
    await this.expect(res, [201, 204], `PUT blob ${digest}`);
    drain(res);
  }
}

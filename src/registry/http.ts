import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { SlipwayError } from '../errors.js';
import type { TlsFiles } from './hosts.js';

/**
 * node:http(s) rather than the global fetch: undici's fetch takes no per-request CA/verify options
 * without importing undici itself, and node:http gives plain stream backpressure, so a 1 GiB layer
 * flows socket → file with flat memory, and a Range resume is just another request.
 */

export type RequestBody = Buffer | (() => Readable);

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a factory so the request can be replayed after a retry. */
  body?: RequestBody;
  /** Byte length of a streamed body (sets Content-Length; chunked otherwise). */
  bodyLength?: number;
  tls?: TlsFiles & { verify: boolean };
  signal?: AbortSignal;
  /** Idle socket timeout (default 60 s). */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

let extraCas: string[] | undefined;

/**
 * The CAs of NODE_EXTRA_CA_CERTS when bin/slipway.js started Node without loading them (it passes
 * the file as SLIPWAY_EXTRA_CA_CERTS): read on the first HTTPS connection, not at every start.
 */
function extraCaCertificates(): string[] {
  if (extraCas !== undefined) return extraCas;
  extraCas = [];
  const file = process.env.SLIPWAY_EXTRA_CA_CERTS;
  if (!file) return extraCas;
  try {
    extraCas =
      readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  } catch {
    // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS.
  }
  return extraCas;
}

// Parsing a CA list costs milliseconds per certificate: once per CA set (an endpoint's certs.d
// files are one array shared by its requests), not once per connection.
const NO_FILES: string[] = [];
const secureContexts = new WeakMap<string[], SecureContext>();

let unverified: SecureContext | undefined;

/** The TLS context for a request, or undefined for Node's default one. */
function secureContextFor(files: TlsFiles & { verify: boolean }): SecureContext | undefined {
  if (!files.verify && !files.cert) {
    // No certificate is checked (an insecure registry's HTTPS probe): skip loading any root store,
    // which is milliseconds per certificate the first time.
    unverified ??= createSecureContext({ ca: [] });
    return unverified;
  }
  const extra = files.verify ? extraCaCertificates() : NO_FILES;
  if (!files.ca && !files.cert && extra.length === 0) return undefined;
  const key = files.cert ? undefined : (files.ca ?? NO_FILES);
  const cached = key && secureContexts.get(key);
  if (cached) return cached;
  // A certs.d `ca` list already starts with Node's roots (it replaces them).
  const ca = files.ca
    ? [...files.ca, ...extra]
    : extra.length > 0
      ? [...rootCertificates, ...extra]
      : undefined;
  const ctx = createSecureContext({
    ...(ca ? { ca } : {}),
    ...(files.cert ? { cert: files.cert } : {}),
    ...(files.key ? { key: files.key } : {}),
  });
  if (key) secureContexts.set(key, ctx);
  return ctx;
}

/** A connection-level failure (reset, refused, timeout, TLS): another attempt may succeed. */
export class NetworkError extends SlipwayError {
  readonly errno: string | undefined;
  constructor(message: string, errno: string | undefined, cause?: unknown) {
    super('REGISTRY', message, cause === undefined ? {} : { cause });
    this.errno = errno;
  }
}

const TLS_CODES = /^(EPROTO|ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/;

export function isTlsError(e: unknown): boolean {
  const code = e instanceof NetworkError ? e.errno : (e as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && TLS_CODES.test(code);
}

/** Send one request; resolves when response headers arrive (the body is the caller's to consume). */
export function send(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    if (req.signal?.aborted) {
      reject(new SlipwayError('INTERRUPTED', 'operation cancelled'));
      return;
    }
    const isHttps = req.url.protocol === 'https:';
    const headers: Record<string, string> = { 'User-Agent': 'slipway/0.1', ...req.headers };
    let body: Buffer | undefined;
    let stream: Readable | undefined;
    if (typeof req.body === 'function') {
      stream = req.body();
      if (req.bodyLength !== undefined) headers['Content-Length'] = String(req.bodyLength);
    } else if (req.body) {
      body = req.body;
      headers['Content-Length'] = String(req.body.length);
    } else if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') {
      headers['Content-Length'] = '0';
    }
    const options: https.RequestOptions & { secureContext?: SecureContext } = {
      method: req.method,
      headers,
      agent: isHttps ? agents.https : agents.http,
      timeout: req.timeoutMs ?? 60_000,
    };
    if (isHttps && req.tls) {
      options.rejectUnauthorized = req.tls.verify;
      const context = secureContextFor(req.tls);
      if (context) options.secureContext = context;
    }
    const onAbort = () => r.destroy(new SlipwayError('INTERRUPTED', 'operation cancelled'));
    const r = (isHttps ? https : http).request(req.url, options, (res) => {
      req.signal?.removeEventListener('abort', onAbort);
      if (req.signal) {
        const abortBody = () => res.destroy(new SlipwayError('INTERRUPTED', 'operation cancelled'));
        req.signal.addEventListener('abort', abortBody, { once: true });
        res.once('close', () => req.signal?.removeEventListener('abort', abortBody));
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: req.url });
    });
    req.signal?.addEventListener('abort', onAbort, { once: true });
    r.on('timeout', () => r.destroy(Object.assign(new Error('i/o timeout'), { code: 'ETIMEDOUT' })));
    r.on('error', (e: NodeJS.ErrnoException) => {
      req.signal?.removeEventListener('abort', onAbort);
      if (e instanceof SlipwayError) reject(e);
      else
        reject(
          new NetworkError(`${goMethod(req.method)} "${redactUrl(req.url)}": ${goNetText(e)}`, e.code, e),
        );
    });
    if (body) r.end(body);
    else if (stream) {
      stream.on('error', (e) => r.destroy(e));
      stream.pipe(r);
    } else r.end();
  });
}

/** Go's *url.Error names the method as net/http's client functions do: `Get`, `Head`, `Put`. */
function goMethod(method: string): string {
  return method.charAt(0) + method.slice(1).toLowerCase();
}

const GO_CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
};

/**
 * Go's *net.OpError text for the dial failures Docker users see (`dial tcp 127.0.0.1:5000: connect:
 * connection refused`, `dial tcp: lookup x: no such host`); other errors keep Node's words.
 */
function goNetText(
  e: NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string },
): string {
  const connect = e.code === undefined ? undefined : GO_CONNECT_ERRORS[e.code];
  if (connect && e.syscall === 'connect' && e.address !== undefined && e.port !== undefined) {
    const host = e.address.includes(':') ? `[${e.address}]` : e.address;
    return `dial tcp ${host}:${e.port}: connect: ${connect}`;
  }
  if (e.code === 'ENOTFOUND' && e.hostname !== undefined)
    return `dial tcp: lookup ${e.hostname}: no such host`;
  return e.message;
}

/** Read a whole (small) response body; refuses more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit = 4 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) {
        res.body.destroy();
        throw new SlipwayError(
          'REGISTRY',
          `response from ${redactUrl(res.url)} is larger than ${limit} bytes`,
        );
      }
      chunks.push(c);
    }
  } catch (e) {
    if (e instanceof SlipwayError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new NetworkError(`reading ${redactUrl(res.url)}: ${err.message}`, err.code ?? 'ECONNRESET', e);
  }
  return Buffer.concat(chunks);
}

/** Discard a body we do not need, so the socket can be reused. */
export function drain(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => {});
}

/** URLs in messages lose any userinfo and the upload `_state` token. */
export function redactUrl(u: URL): string {
  const c = new URL(u.href);
  c.username = '';
  c.password = '';
  if (c.searchParams.has('_state')) c.searchParams.set('_state', '…');
  return c.href;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SlipwayError('INTERRUPTED', 'operation cancelled'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new SlipwayError('INTERRUPTED', 'operation cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

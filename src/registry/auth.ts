import { type Challenge, parseChallenges } from './challenge.js';
import type { Credentials } from './credentials.js';
import { errorFromResponse, RegistryError } from './errors.js';
import { readBody, redactUrl, send } from './http.js';
import { type RetryOptions, withRetry } from './retry.js';

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens are refreshed this long before the registry says they expire. */
const EXPIRY_MARGIN_MS = 10_000;
/** Docker's default when the token server names no lifetime. */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * Authorization for one registry endpoint: anonymous until the registry challenges, then Basic (the
 * stored credentials on every request) or Bearer (a token from the challenge's realm per scope set,
 * cached until it expires). Credentials are fetched lazily and never leave this object except in
 * Authorization headers.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private creds: Credentials | undefined | null = null;

  constructor(
    /** Looks credentials up on first need (null = not looked up yet). */
    private readonly lookup: () => Promise<Credentials | undefined>,
    private readonly retry: RetryOptions = {},
    private readonly realmTlsVerify = true,
  ) {}

  private async credentials(): Promise<Credentials | undefined> {
    if (this.creds === null) this.creds = await this.lookup();
    return this.creds;
  }

  /** Use these credentials instead of stored ones (login). */
  setCredentials(c: Credentials | undefined): void {
    this.creds = c;
    this.tokens.clear();
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  /** Record the challenge of a 401 response. True when a retry with (new) authorization makes sense. */
  async onUnauthorized(
    header: string | undefined,
    scopes: string[],
    hadAuthorization: boolean,
  ): Promise<boolean> {
    const challenges = parseChallenges(header ?? '');
    const c = challenges.find((x) => x.scheme === 'bearer') ?? challenges.find((x) => x.scheme === 'basic');
    if (!c) return false;
    const fresh = this.challenge?.scheme !== c.scheme || this.challenge.params.realm !== c.params.realm;
    this.challenge = c;
    if (c.scheme === 'basic') return fresh && (await this.credentials()) !== undefined;
    // A Bearer challenge may name a scope we did not ask for (e.g. a mount's source repository).
    const wanted = mergeScopes(scopes, c.params.scope ? c.params.scope.split(' ') : []);
    const key = wanted.join(' ');
    if (hadAuthorization && !fresh && this.tokens.has(key) && wanted.length === scopes.length) {
      // We sent a token for exactly these scopes and it was refused: asking again gives the same answer.
      this.tokens.delete(key);
      return false;
    }
    this.tokens.delete(key);
    return true;
  }

  /** Set from a ping's 401. */
  setChallenge(header: string | undefined): void {
    const challenges = parseChallenges(header ?? '');
    this.challenge =
      challenges.find((x) => x.scheme === 'bearer') ?? challenges.find((x) => x.scheme === 'basic');
  }

  /** The Authorization header value for a request needing `scopes`, or undefined (anonymous). */
  async header(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      const creds = await this.credentials();
      return creds
        ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
        : undefined;
    }
    if (c.scheme !== 'bearer') return undefined;
    const token = await this.token(scopes, signal);
    return `Bearer ${token}`;
  }

  /** A token for `scopes` (cached per scope set until expiry). */
  async token(scopes: string[], signal?: AbortSignal): Promise<string> {
    const c = this.challenge;
    if (c?.scheme !== 'bearer') throw new RegistryError('registry did not ask for a bearer token');
    const all = mergeScopes(scopes, []);
    const key = all.join(' ');
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    const t = await this.fetchToken(c, all, signal);
    this.tokens.set(key, t);
    return t.token;
  }

  private async fetchToken(c: Challenge, scopes: string[], signal?: AbortSignal): Promise<CachedToken> {
    const realm = c.params.realm;
    if (!realm) throw new RegistryError('bearer challenge without realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`invalid token realm "${realm}"`);
    }
    const creds = await this.credentials();
    const started = Date.now();
    const res = await withRetry(
      async () => {
        let r: Awaited<ReturnType<typeof send>>;
        if (creds?.identityToken) {
          // OAuth2 refresh-token grant, as Docker does for identity tokens.
          const form = new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: creds.identityToken,
            client_id: 'slipway',
          });
          if (c.params.service) form.set('service', c.params.service);
          if (scopes.length > 0) form.set('scope', scopes.join(' '));
          r = await send({
            method: 'POST',
            url,
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: Buffer.from(form.toString()),
            tls: { verify: this.realmTlsVerify },
            ...(signal ? { signal } : {}),
          });
        } else {
          const u = new URL(url.href);
          if (c.params.service) u.searchParams.set('service', c.params.service);
          for (const s of scopes) u.searchParams.append('scope', s);
          const headers: Record<string, string> = {};
          if (creds)
            headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
          r = await send({
            method: 'GET',
            url: u,
            headers,
            tls: { verify: this.realmTlsVerify },
            ...(signal ? { signal } : {}),
          });
        }
        const body = await readBody(r, 1 << 20);
        if (r.status !== 200) throw tokenError(r.status, r.headers, body, url);
        return body;
      },
      { ...this.retry, signal },
    );
    let doc: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      doc = JSON.parse(res.toString('utf8')) as typeof doc;
    } catch {
      throw new RegistryError(`unable to decode token response from ${redactUrl(url)}`);
    }
    const token = doc.token || doc.access_token;
    if (!token) throw new RegistryError(`token server ${redactUrl(url)} returned no token`);
    const seconds =
      typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    const issued = doc.issued_at ? Date.parse(doc.issued_at) : Number.NaN;
    const from = Number.isNaN(issued) ? started : Math.min(issued, started);
    return { token, expiresAt: from + seconds * 1000 - EXPIRY_MARGIN_MS };
  }
}

function tokenError(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  url: URL,
): RegistryError {
  // Docker Hub's token server answers `{"details":"incorrect username or password"}`.
  try {
    const doc = JSON.parse(body.toString('utf8')) as { details?: unknown; errors?: unknown };
    if (typeof doc.details === 'string' && doc.details !== '') {
      return new RegistryError(
        `${status === 401 ? 'unauthorized' : `token server ${status}`}: ${doc.details}`,
        { status },
      );
    }
  } catch {
    // not JSON: fall through
  }
  const e = errorFromResponse(status, headers, body, `token server ${url.host}`);
  if (status === 401 && !e.registryCode)
    return new RegistryError('unauthorized: authentication required', { status });
  return e;
}

/** Union of scopes, actions merged per resource, in a stable order (the cache key). */
export function mergeScopes(a: string[], b: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of [...a, ...b]) {
    const i = s.lastIndexOf(':');
    if (i < 0) continue;
    const res = s.slice(0, i);
    const set = byResource.get(res) ?? new Set<string>();
    for (const act of s.slice(i + 1).split(',')) if (act !== '') set.add(act);
    byResource.set(res, set);
  }
  return [...byResource.entries()]
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([res, acts]) => `${res}:${[...acts].sort().join(',')}`);
}

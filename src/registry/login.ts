import { EndpointSession } from './client.js';
import { CredentialStore, type Credentials, credentialKey, serverDomain } from './credentials.js';
import { errorFromResponse, RegistryError } from './errors.js';
import { originEndpoint } from './hosts.js';
import { readBody, send } from './http.js';
import { makeContext, type RegistryOptions } from './options.js';

export interface LoginOptions extends Omit<RegistryOptions, 'onProgress'> {
  /** Registry (`host[:port]`, a URL, or undefined for Docker Hub). */
  server?: string;
  username: string;
  password: string;
}

export interface LoginResult {
  /** The key the credentials are stored under (`https://index.docker.io/v1/`, `host:port`). */
  serverAddress: string;
  /** Credential helper that stored them, if any (else they are in `file`). */
  helper?: string;
  file: string;
}

/**
 * Check credentials against the registry's `/v2/` (Basic: the request itself; Bearer: a token from the
 * challenge's realm, then `/v2/` with it), and store them as Docker does. Throws RegistryError with the
 * registry's answer on failure; the password never appears in it.
 */
export async function login(opts: LoginOptions): Promise<LoginResult> {
  const creds: Credentials = { username: opts.username, password: opts.password };
  await checkCredentials(opts.server, creds, opts);
  const store = opts.credentials ?? new CredentialStore();
  const saved = await store.store(opts.server, creds);
  return { serverAddress: saved.key, file: saved.file, ...(saved.helper ? { helper: saved.helper } : {}) };
}

export async function checkCredentials(
  server: string | undefined,
  creds: Credentials,
  opts: Omit<RegistryOptions, 'onProgress'> = {},
): Promise<void> {
  const ctx = makeContext(opts);
  const ep = originEndpoint(serverDomain(server), {
    config: ctx.config,
    ...(opts.tlsVerify === undefined ? {} : { tlsVerify: opts.tlsVerify }),
  });
  const session = new EndpointSession(ep, ctx);
  session.auth.setCredentials(creds);
  const base = await session.ready();
  const url = new URL('/v2/', base);
  if (session.auth.scheme === undefined) return; // the registry wants no authentication
  const header = await session.auth.header([], ctx.signal);
  const res = await send({
    method: 'GET',
    url,
    headers: header ? { Authorization: header } : {},
    tls: session.tls,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const body = await readBody(res, 1 << 20);
  if (res.status === 200) return;
  if (res.status === 401 && session.auth.scheme === 'basic') {
    throw new RegistryError(`login attempt to ${url.href} failed with status: 401 Unauthorized`, {
      status: 401,
      registryCode: 'UNAUTHORIZED',
    });
  }
  const e = errorFromResponse(res.status, res.headers, body, `GET ${url.href}`);
  throw new RegistryError(`Get "${url.href}": ${e.message}`, {
    status: res.status,
    ...(e.registryCode ? { registryCode: e.registryCode } : {}),
  });
}

export interface LogoutResult {
  serverAddress: string;
  removed: boolean;
}

/** Forget stored credentials (config.json entry and/or credential helper). */
export async function logout(
  server?: string,
  opts: { credentials?: CredentialStore } = {},
): Promise<LogoutResult> {
  const store = opts.credentials ?? new CredentialStore();
  const removed = await store.erase(server);
  return { serverAddress: credentialKey(server), removed };
}

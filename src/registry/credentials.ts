import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, open, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { DOCKER_HUB_AUTH_KEY, DOCKER_HUB_DOMAIN, DOCKER_HUB_HOST } from './hosts.js';

/** What a registry login needs. `identityToken` is an OAuth refresh token (helpers' `<token>` user). */
export interface Credentials {
  username: string;
  password: string;
  identityToken?: string;
}

/** `$DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * The key config.json uses for a registry: Docker Hub's is its legacy v1 URL, others are `host[:port]`
 * (a scheme or path typed on the command line is dropped, as `registry.ConvertToHostname` does).
 */
export function credentialKey(server: string | undefined): string {
  if (server === undefined || server === '') return DOCKER_HUB_AUTH_KEY;
  const host = convertToHostname(server);
  if (host === DOCKER_HUB_DOMAIN || host === 'index.docker.io' || host === DOCKER_HUB_HOST)
    return DOCKER_HUB_AUTH_KEY;
  return host;
}

export function convertToHostname(server: string): string {
  const s = server.replace(/^https?:\/\//, '');
  return s.split('/')[0]!;
}

/** Registry domain (reference form) for a login server argument. */
export function serverDomain(server: string | undefined): string {
  const key = credentialKey(server);
  return key === DOCKER_HUB_AUTH_KEY ? DOCKER_HUB_DOMAIN : key;
}

/**
 * Docker's credential storage: `config.json` `auths` (base64 user:password) or a credential helper
 * (`credsStore` / `credHelpers` → `docker-credential-<name> get|store|erase`). Secrets are only ever
 * passed on a helper's stdin, never in argv or messages.
 */
export class CredentialStore {
  readonly file: string;

  constructor(readonly dir: string = dockerConfigDir()) {
    this.file = join(dir, 'config.json');
  }

  private read(): DockerConfigFile {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new SlipwayError('REGISTRY', `cannot read ${this.file}: ${(e as Error).message}`);
    }
    if (text.trim() === '') return {};
    try {
      const doc = JSON.parse(text) as unknown;
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
      return doc as DockerConfigFile;
    } catch (e) {
      throw new SlipwayError('REGISTRY', `${this.file}: invalid JSON: ${(e as Error).message}`);
    }
  }

  private async write(doc: DockerConfigFile): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(doc, null, '\t')}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }

  /** The helper configured for this key (credHelpers by hostname wins over credsStore). */
  helperFor(key: string): string | undefined {
    const doc = this.read();
    const host = convertToHostname(key);
    return doc.credHelpers?.[host] ?? doc.credHelpers?.[key] ?? (doc.credsStore || undefined);
  }

  /** Stored credentials for a registry domain or server address, or undefined. */
  async get(server: string): Promise<Credentials | undefined> {
    const key = credentialKey(server);
    const helper = this.helperFor(key);
    if (helper) {
      const fromHelper = await helperGet(helper, key);
      if (fromHelper) return fromHelper;
    }
    const doc = this.read();
    const auths = doc.auths ?? {};
    let entry: AuthEntry | undefined = auths[key];
    if (!entry) {
      for (const [k, v] of Object.entries(auths)) {
        if (credentialKey(k) === key) {
          entry = v;
          break;
        }
      }
    }
    return entry ? decodeEntry(entry) : undefined;
  }

  /** Save credentials the way Docker does; returns the helper name when one stored them. */
  async store(
    server: string | undefined,
    creds: Credentials,
  ): Promise<{ key: string; helper?: string; file: string }> {
    const key = credentialKey(server);
    const helper = this.helperFor(key);
    const doc = this.read();
    doc.auths ??= {};
    if (helper) {
      await helperRun(
        helper,
        'store',
        JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }),
      );
      doc.auths[key] = {};
      await this.write(doc);
      return { key, helper, file: this.file };
    }
    const entry: AuthEntry = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
    if (creds.identityToken) entry.identitytoken = creds.identityToken;
    doc.auths[key] = entry;
    await this.write(doc);
    return { key, file: this.file };
  }

  /** Remove credentials; true when something was removed. */
  async erase(server: string | undefined): Promise<boolean> {
    const key = credentialKey(server);
    const doc = this.read();
    let removed = false;
    const helper = this.helperFor(key);
    if (helper) {
      try {
        await helperRun(helper, 'erase', key);
        removed = true;
      } catch {
        // not stored in the helper: the auths entry below may still exist
      }
    }
    if (doc.auths) {
      for (const k of Object.keys(doc.auths)) {
        if (credentialKey(k) === key) {
          delete doc.auths[k];
          removed = true;
        }
      }
      await this.write(doc);
    }
    return removed;
  }
}

function decodeEntry(e: AuthEntry): Credentials | undefined {
  let username = e.username ?? '';
  let password = e.password ?? '';
  if (typeof e.auth === 'string' && e.auth !== '') {
    const text = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) throw new SlipwayError('REGISTRY', 'invalid auth configuration file');
    username = text.slice(0, colon);
    password = text.slice(colon + 1);
  }
  const out: Credentials = { username, password };
  if (typeof e.identitytoken === 'string' && e.identitytoken !== '') out.identityToken = e.identitytoken;
  if (out.username === '' && out.password === '' && out.identityToken === undefined) return undefined;
  return out;
}

async function helperGet(helper: string, key: string): Promise<Credentials | undefined> {
  let out: string;
  try {
    out = await helperRun(helper, 'get', key);
  } catch (e) {
    if (e instanceof HelperNotFound) return undefined;
    throw e;
  }
  let doc: { Username?: string; Secret?: string };
  try {
    doc = JSON.parse(out) as typeof doc;
  } catch {
    throw new SlipwayError('REGISTRY', `docker-credential-${helper}: invalid output`);
  }
  if (!doc.Secret) return undefined;
  if (doc.Username === '<token>') return { username: '', password: '', identityToken: doc.Secret };
  return { username: doc.Username ?? '', password: doc.Secret };
}

class HelperNotFound extends Error {}

/** Run `docker-credential-<helper> <action>` with `input` on stdin; its stdout on success. */
function helperRun(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(
          new SlipwayError(
            'REGISTRY',
            `error getting credentials - err: exec: "${program}": executable file not found in $PATH`,
          ),
        );
      } else reject(new SlipwayError('REGISTRY', `${program}: ${e.message}`));
    });
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) {
        resolve(stdout);
        return;
      }
      // Helpers report errors on stdout; "credentials not found" is not an error for `get`.
      const msg = (stdout.trim() || Buffer.concat(err).toString('utf8').trim()).split('\n')[0] ?? '';
      if (/credentials not found/i.test(msg)) reject(new HelperNotFound(msg));
      else reject(new SlipwayError('REGISTRY', `${program} ${action}: ${msg || `exit status ${code}`}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

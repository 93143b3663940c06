import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../helpers/paths.js';

const execFileP = promisify(execFile);

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `slipway-reg-${prefix}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function hasTool(cmd: string, args: string[] = ['--version']): Promise<boolean> {
  try {
    await execFileP(cmd, args);
    return true;
  } catch {
    return false;
  }
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** The bundled CLI, asynchronously: the test process also serves the token server and fault proxy. */
export function slipway(
  root: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/slipway.js'), '--root', root, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.stdin.end(opts.input ?? '');
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

export async function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const r = await execFileP(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      status: typeof err.code === 'number' ? err.code : 1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    };
  }
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; file: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; certFile: string };

export interface RegistryServer {
  port: number;
  /** `127.0.0.1:PORT` */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

/** A real distribution registry (Debian docker-registry) on 127.0.0.1, stopped by PID. */
export async function startRegistry(
  auth: RegistryAuth = { kind: 'none' },
  tls?: { cert: string; key: string },
): Promise<RegistryServer> {
  const dir = tmp('registry');
  const port = await freePort();
  let authYaml = '';
  if (auth.kind === 'htpasswd')
    authYaml = `auth:\n  htpasswd:\n    realm: slipway-test\n    path: ${auth.file}\n`;
  if (auth.kind === 'token') {
    authYaml = `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${auth.certFile}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${tls ? `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n` : ''}${authYaml}`;
  writeFileSync(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log}`);
    const ok = await new Promise<boolean>((resolve) => {
      const done = (res: http.IncomingMessage) => {
        res.resume();
        resolve(true);
      };
      const req = tls
        ? https.get(`https://127.0.0.1:${port}/v2/`, { rejectUnauthorized: false }, done)
        : http.get(`http://127.0.0.1:${port}/v2/`, done);
      req.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    host: `127.0.0.1:${port}`,
    dir,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      }),
  };
}

/** bcrypt htpasswd with apache2-utils' htpasswd, else python3's crypt; undefined when neither works. */
export async function makeHtpasswd(dir: string, users: Record<string, string>): Promise<string | undefined> {
  const lines: string[] = [];
  for (const [u, p] of Object.entries(users)) {
    let r = await run('htpasswd', ['-Bbn', u, p]);
    if (r.status !== 0) {
      r = await run('python3', [
        '-c',
        'import crypt,sys; print(sys.argv[1]+":"+crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
        u,
        p,
      ]);
      if (r.status !== 0 || !r.stdout.includes(':$2')) return undefined;
    }
    lines.push(r.stdout.trim());
  }
  const file = join(dir, 'htpasswd');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Scopes requested, in order (for assertions). */
  requests: { user: string | undefined; scopes: string[] }[];
  stop(): Promise<void>;
}

/**
 * A token server like Docker Hub's auth: Basic credentials in, an RS256 JWT out (x5c header with the
 * signing certificate, which the registry trusts through `rootcertbundle`). `grant` decides which
 * actions each user gets per repository; wrong passwords get 401.
 */
export async function startTokenServer(
  users: Record<string, string>,
  grant: (user: string | undefined, repo: string, actions: string[]) => string[],
): Promise<TokenServer> {
  const dir = tmp('token');
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await opensslSelfSigned(certFile, keyFile, ['-subj', '/CN=slipway-test-token']);
  const key = readFileSync(keyFile, 'utf8');
  const certDer = Buffer.from(
    readFileSync(certFile, 'utf8')
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
      .replace(/\s+/g, ''),
    'base64',
  );
  const service = 'slipway-test-registry';
  const issuer = 'slipway-test-issuer';
  const requests: TokenServer['requests'] = [];
  const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let user: string | undefined;
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const text = Buffer.from(authz.slice(6), 'base64').toString();
      const i = text.indexOf(':');
      const u = text.slice(0, i);
      if (users[u] === undefined || users[u] !== text.slice(i + 1)) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    requests.push({ user, scopes });
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = (rest.pop() ?? '').split(',');
      const name = rest.join(':');
      if (type !== 'repository') return [];
      const granted = grant(user, name, actions);
      return granted.length > 0 ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(key);
    const token = `${input}.${b64url(sig)}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Decide per request what to do; `count` is this request's number among those with the same method and path. */
export type FaultPlan = (req: {
  method: string;
  path: string;
  range: string | undefined;
  count: number;
}) =>
  | { kind: 'pass' }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'drop-after'; bytes: number }
  | { kind: 'corrupt'; at: number };

export interface FaultProxy {
  host: string;
  log: { method: string; path: string; range: string | undefined }[];
  stop(): Promise<void>;
}

/** An HTTP proxy in front of the registry that injects faults into chosen responses. */
export async function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const log: FaultProxy['log'] = [];
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const key = `${req.method} ${path}`;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    const range = req.headers.range;
    log.push({ method: req.method ?? '', path, range });
    const action = plan({ method: req.method ?? '', path, range, count });
    if (action.kind === 'status') {
      req.resume();
      res.writeHead(action.status, { 'Content-Type': 'application/json', ...action.headers });
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'injected failure' }] }));
      return;
    }
    const up = http.request(
      {
        host: '127.0.0.1',
        port: Number(target.split(':')[1]),
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        const headers = { ...upRes.headers };
        // Keep redirects and upload Locations pointing through the proxy.
        if (typeof headers.location === 'string')
          headers.location = headers.location.replace(
            `//${target}`,
            `//${server.address() && `127.0.0.1:${(server.address() as AddressInfo).port}`}`,
          );
        res.writeHead(upRes.statusCode ?? 502, headers);
        let sent = 0;
        upRes.on('data', (chunk: Buffer) => {
          let c = chunk;
          if (action.kind === 'corrupt' && sent <= action.at && action.at < sent + c.length) {
            c = Buffer.from(c);
            c[action.at - sent] = (c[action.at - sent]! ^ 0xff) & 0xff;
          }
          if (action.kind === 'drop-after' && sent + c.length > action.bytes) {
            res.write(c.subarray(0, Math.max(0, action.bytes - sent)));
            upRes.destroy();
            res.socket?.destroy();
            return;
          }
          sent += c.length;
          res.write(c);
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    log,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A tar with the given files (some random bytes make layers that do not compress away). */
export function makeTar(dir: string, name: string, files: Record<string, string | Buffer>): Promise<string> {
  const root = join(dir, `${name}-rootfs`);
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
  }
  const out = join(dir, `${name}.tar`);
  return run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', out, '.']).then((r) => {
    if (r.status !== 0) throw new Error(r.stderr);
    return out;
  });
}

/** A self-signed certificate for 127.0.0.1 (openssl CLI). */
export async function selfSignedCert(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  await opensslSelfSigned(cert, key, ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { cert, key };
}

/** `openssl req -x509`: a new RSA key and a two-day self-signed certificate with `subject` args. */
async function opensslSelfSigned(cert: string, key: string, subject: string[]): Promise<void> {
  const r = await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    ...subject,
  ]);
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
}

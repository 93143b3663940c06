import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { SlipwayError } from '../errors.js';
import { execCapture } from '../runtime/exec.js';
import { isMounted, unmount } from '../runtime/overlay.js';
import type { PortBinding } from './record.js';

/** slirp4netns' fixed addressing inside the namespace. */
export const SLIRP_GUEST_IP = '10.0.2.100';
export const SLIRP_DNS = '10.0.2.3';

/**
 * A network namespace kept alive by a bind mount on `path` (like `ip netns add`), with only lo. One
 * already bound there (the CLI makes it while the supervisor starts) is kept.
 */
export async function createNetns(path: string): Promise<void> {
  if (isMounted(path)) return;
  closeSync(openSync(path, 'a'));
  const r = await execCapture('unshare', [`--net=${path}`, 'true']);
  if (r.code !== 0) {
    rmSync(path, { force: true });
    throw new SlipwayError(
      'RUNTIME',
      `cannot create network namespace: ${r.stderr.trim() || `exit ${r.code}`}`,
    );
  }
}

export async function removeNetns(path: string): Promise<void> {
  if (isMounted(path)) await unmount(path);
  rmSync(path, { force: true });
}

export interface Slirp {
  child: ChildProcess;
  pid: number;
}

/**
 * Starts slirp4netns on the namespace at `netnsPath` and waits until tap0 is configured. It exits on
 * its own when we die: its exit fd is a pipe only we hold.
 */
export async function startSlirp(
  binary: string,
  netnsPath: string,
  apiSocket: string,
  logFile: string,
): Promise<Slirp> {
  mkdirSync(dirname(apiSocket), { recursive: true });
  rmSync(apiSocket, { force: true });
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      binary,
      [
        '--netns-type=path',
        '--configure',
        '--mtu=65520',
        '--disable-host-loopback',
        '--api-socket',
        apiSocket,
        '--ready-fd=3',
        '--exit-fd=4',
        netnsPath,
        'tap0',
      ],
      { stdio: ['ignore', logFd, logFd, 'pipe', 'pipe'] },
    );
  } finally {
    closeSync(logFd);
  }
  await new Promise<void>((resolve, reject) => {
    const ready = child.stdio[3];
    const fail = (why: string) => reject(new SlipwayError('RUNTIME', `slirp4netns failed to start: ${why}`));
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code) => fail(`exit ${code}`));
    ready?.once('data', () => resolve());
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  child.on('error', () => {});
  return { child, pid: child.pid ?? 0 };
}

/** One request on slirp4netns' API socket (one JSON object per connection). */
async function slirpRequest(apiSocket: string, request: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(apiSocket);
    let data = '';
    sock.on('error', reject);
    sock.on('data', (b) => {
      data += b.toString('utf8');
      try {
        resolve(JSON.parse(data));
        sock.end();
      } catch {
        // wait for the rest of the reply
      }
    });
    sock.on('close', () => {
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(new SlipwayError('RUNTIME', `slirp4netns API: unreadable reply ${JSON.stringify(data)}`));
      }
    });
    sock.on('connect', () => sock.write(JSON.stringify(request)));
  });
}

/** Publishes one port: slirp4netns listens on the host and forwards into the namespace. */
export async function addHostForward(apiSocket: string, b: PortBinding): Promise<void> {
  const reply = (await slirpRequest(apiSocket, {
    execute: 'add_hostfwd',
    arguments: { proto: b.proto, host_addr: b.hostIp, host_port: b.hostPort, guest_port: b.containerPort },
  })) as { error?: { desc?: string } };
  if (reply.error) {
    throw new SlipwayError(
      'CONFLICT',
      `Bind for ${b.hostIp}:${b.hostPort} failed: ${reply.error.desc ?? 'port is already allocated'}`,
    );
  }
}

/** /etc/hosts, /etc/hostname and /etc/resolv.conf for the container (Docker writes these per container). */
export function writeEtcFiles(
  files: { hosts: string; hostname: string; resolvConf: string },
  hostname: string,
  mode: 'bridge' | 'host' | 'none',
  hostResolvConf: string,
): void {
  const self = mode === 'bridge' ? `${SLIRP_GUEST_IP}\t${hostname}\n` : mode === 'none' ? '' : '';
  writeFileSync(
    files.hosts,
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n${self}`,
  );
  writeFileSync(files.hostname, `${hostname}\n`);
  let resolv: string;
  if (mode === 'bridge') resolv = `nameserver ${SLIRP_DNS}\n`;
  else if (mode === 'none') resolv = '';
  else resolv = hostResolvConf;
  writeFileSync(files.resolvConf, resolv);
}

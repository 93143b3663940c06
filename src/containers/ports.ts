import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { SlipwayError } from '../errors.js';
import { type PublishSpec, portKey } from './options.js';
import type { PortBinding } from './record.js';

/** Bind (and release) one host port: throws Docker's "port is already allocated" when taken. Returns the port bound. */
export async function probePort(hostIp: string, port: number, proto: 'tcp' | 'udp'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (proto === 'udp') {
      const sock = createSocket(hostIp.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', (e) => {
        sock.close();
        reject(e);
      });
      sock.bind({ address: hostIp, port, exclusive: true }, () => {
        const got = sock.address().port;
        sock.close(() => resolve(got));
      });
      return;
    }
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: hostIp, port, exclusive: true }, () => {
      const addr = server.address();
      const got = typeof addr === 'object' && addr ? addr.port : port;
      server.close(() => resolve(got));
    });
  });
}

/**
 * Turns requested publications into concrete bindings: ephemeral host ports are chosen, fixed ones
 * are checked free, so a busy port fails before the container starts.
 */
export async function allocatePorts(
  requests: readonly PublishSpec[],
  endpoint: string,
): Promise<PortBinding[]> {
  const out: PortBinding[] = [];
  for (const r of requests) {
    let port: number;
    try {
      port = await probePort(r.hostIp, r.hostPort, r.proto);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const where = `${r.hostIp.includes(':') ? `[${r.hostIp}]` : r.hostIp}:${r.hostPort}`;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new SlipwayError(
          'CONFLICT',
          `driver failed programming external connectivity on endpoint ${endpoint}: Bind for ${where} failed: port is already allocated`,
        );
      }
      throw new SlipwayError('RUNTIME', `cannot publish ${where}: ${(e as Error).message}`);
    }
    out.push({ hostIp: r.hostIp, hostPort: port, containerPort: r.containerPort, proto: r.proto });
  }
  return out;
}

/** Docker's PORTS column: published ports `0.0.0.0:5000->5000/tcp`, exposed-only ones `5000/tcp`. */
export function formatPorts(bindings: readonly PortBinding[], exposed: readonly string[]): string {
  const parts: Array<{ sortKey: [number, string, string]; text: string }> = [];
  const published = new Set(bindings.map((b) => portKey(b.containerPort, b.proto)));
  for (const b of bindings) {
    const ip = b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp;
    parts.push({
      sortKey: [b.containerPort, b.proto, b.hostIp],
      text: `${ip}:${b.hostPort}->${b.containerPort}/${b.proto}`,
    });
  }
  for (const key of exposed) {
    if (published.has(key)) continue;
    const [p = '0', proto = 'tcp'] = key.split('/');
    parts.push({ sortKey: [Number(p), proto, ''], text: key });
  }
  parts.sort(
    (a, b) =>
      a.sortKey[0] - b.sortKey[0] ||
      a.sortKey[1].localeCompare(b.sortKey[1]) ||
      a.sortKey[2].localeCompare(b.sortKey[2]),
  );
  return parts.map((p) => p.text).join(', ');
}

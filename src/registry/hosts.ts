import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { RegistryConfig } from './config.js';

/** Where to talk to one registry: `https://registry-1.docker.io` or a mirror URL. */
export interface Endpoint {
  /** `https://host[:port]` or `http://host[:port]` (no path). */
  url: string;
  /** The registry's name as references spell it (`docker.io`, `127.0.0.1:5000`). */
  domain: string;
  /** host[:port] this endpoint connects to. */
  host: string;
  mirror: boolean;
  /** Verify the server certificate. */
  tlsVerify: boolean;
  /** After an HTTPS failure at the TLS/connection level, retry over plain HTTP (insecure registries). */
  httpFallback: boolean;
  tls: TlsFiles;
}

export interface TlsFiles {
  ca?: string[];
  cert?: string;
  key?: string;
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
export const DOCKER_HUB_HOST = 'registry-1.docker.io';
/** The key Docker's config.json uses for Docker Hub credentials. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** `host[:port]` → hostname without brackets. */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon > -1 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

/** Docker allows plain HTTP to loopback registries without configuration. */
export function isLoopback(host: string): boolean {
  const name = hostnameOf(host).toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '::1') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, p) => (acc << 8) + Number(p), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (
    net === undefined ||
    isIP(net) !== 4 ||
    isIP(ip) !== 4 ||
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > 32
  )
    return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) === (ipv4ToInt(net) & mask);
}

export function isInsecureRegistry(
  host: string,
  config: Pick<RegistryConfig, 'insecureRegistries'>,
): boolean {
  if (isLoopback(host)) return true;
  const name = hostnameOf(host);
  for (const entry of config.insecureRegistries) {
    const e = entry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (e === host || e === name) return true;
    if (e.includes('/') && inCidr(name, e)) return true;
  }
  return false;
}

/** CA and client certificate files from `certs.d/<host>/` (Docker's layout: *.crt CAs, *.cert + *.key pairs). */
export function tlsFilesFor(host: string, certsDirs: readonly string[]): TlsFiles {
  const ca: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  for (const base of certsDirs) {
    const dir = join(base, host);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      if (n.endsWith('.crt')) ca.push(readFileSync(join(dir, n), 'utf8'));
      else if (n.endsWith('.cert') && cert === undefined) {
        const keyName = `${n.slice(0, -'.cert'.length)}.key`;
        if (names.includes(keyName)) {
          cert = readFileSync(join(dir, n), 'utf8');
          key = readFileSync(join(dir, keyName), 'utf8');
        }
      }
    }
  }
  const out: TlsFiles = {};
  // Node's `ca` replaces the default roots; a registry CA adds to them, as in Docker.
  if (ca.length > 0) out.ca = [...rootCertificates, ...ca];
  if (cert !== undefined && key !== undefined) {
    out.cert = cert;
    out.key = key;
  }
  return out;
}

export interface EndpointOptions {
  config: RegistryConfig;
  /** false: skip certificate checks and allow plain HTTP (skopeo's --tls-verify=false). */
  tlsVerify?: boolean;
  /** Include docker.io mirrors (pull only). */
  mirrors?: boolean;
}

/** The host a reference domain connects to: docker.io → registry-1.docker.io. */
export function registryHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_HOST : domain;
}

export function originEndpoint(domain: string, opts: EndpointOptions): Endpoint {
  const host = registryHost(domain);
  const insecure = opts.tlsVerify === false || isInsecureRegistry(host, opts.config);
  return {
    url: `https://${host}`,
    domain,
    host,
    mirror: false,
    tlsVerify: !insecure,
    httpFallback: insecure,
    tls: tlsFilesFor(host, opts.config.certsDirs),
  };
}

/** Mirrors first (docker.io pulls only), then the origin. */
export function endpointsFor(domain: string, opts: EndpointOptions): Endpoint[] {
  const out: Endpoint[] = [];
  if (opts.mirrors && domain === DOCKER_HUB_DOMAIN) {
    for (const m of opts.config.registryMirrors) {
      const u = new URL(m);
      const host = u.host;
      const insecure = opts.tlsVerify === false || isInsecureRegistry(host, opts.config);
      out.push({
        url: `${u.protocol}//${host}`,
        domain,
        host,
        mirror: true,
        tlsVerify: u.protocol === 'https:' && !insecure,
        httpFallback: u.protocol === 'https:' && insecure,
        tls: tlsFilesFor(host, opts.config.certsDirs),
      });
    }
  }
  out.push(originEndpoint(domain, opts));
  return out;
}

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';

/** The registry part of slipway's config file (Docker daemon.json's names). */
export interface RegistryConfig {
  /** Pull-through mirrors for docker.io, tried in order before the origin: `https://mirror.example`, `http://127.0.0.1:5000`. */
  registryMirrors: string[];
  /** Hosts (`host`, `host:port`) or IPv4 CIDRs where plain HTTP and unverified TLS are allowed. */
  insecureRegistries: string[];
  /** Directories holding `<host[:port]>/ca.crt` (and `*.cert`/`*.key` client pairs), searched in order. */
  certsDirs: string[];
  /** The file the config was read from, if any. */
  file?: string;
}

function userConfigDir(env: NodeJS.ProcessEnv): string {
  return env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, 'slipway') : join(homedir(), '.config', 'slipway');
}

/** `$SLIPWAY_CONFIG`, else `~/.config/slipway/config.json`, else (root) `/etc/slipway/config.json`. */
export function configFileCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.SLIPWAY_CONFIG) return [env.SLIPWAY_CONFIG];
  const out = [join(userConfigDir(env), 'config.json')];
  if (process.getuid?.() === 0) out.push('/etc/slipway/config.json');
  return out;
}

export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const certsDirs = [join(userConfigDir(env), 'certs.d'), '/etc/slipway/certs.d', '/etc/docker/certs.d'];
  for (const file of configFileCandidates(env)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new SlipwayError('USAGE', `cannot read config file ${file}: ${(e as Error).message}`);
    }
    return { ...parseRegistryConfig(text, file), certsDirs };
  }
  return { registryMirrors: [], insecureRegistries: [], certsDirs };
}

export function parseRegistryConfig(text: string, file = 'config.json'): Omit<RegistryConfig, 'certsDirs'> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SlipwayError('USAGE', `invalid config file ${file}: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SlipwayError('USAGE', `invalid config file ${file}: want a JSON object`);
  }
  const o = doc as Record<string, unknown>;
  const list = (key: string): string[] => {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new SlipwayError('USAGE', `invalid config file ${file}: "${key}" must be a list of strings`);
    }
    return v as string[];
  };
  const mirrors = list('registryMirrors').map((m) => {
    const url = m.includes('://') ? m : `https://${m}`;
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new SlipwayError('USAGE', `invalid config file ${file}: invalid mirror "${m}"`);
    }
    return url.replace(/\/+$/, '');
  });
  return { registryMirrors: mirrors, insecureRegistries: list('insecureRegistries'), file };
}

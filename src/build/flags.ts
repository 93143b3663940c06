/** The build's own flags that need parsing (`--output`, `--secret`): pure, so the CLI loads nothing else. */
import { isIP } from 'node:net';
import { SlipwayError } from '../errors.js';
import type { Compression } from '../layer/types.js';

/**
 * `--output` as docker buildx parses it: `type=local,dest=out`, or a bare path meaning type=local.
 * `names` (`name=`, several as `"name=a,b"`) tag the image as `-t` does.
 */
export type OutputSpec =
  | { type: 'image'; compression?: Compression; names?: string[] }
  | { type: 'oci' | 'docker'; dest: string; compression?: Compression; names?: string[] }
  | { type: 'local' | 'tar'; dest: string };

/** BuildKit's `compression=` values for image outputs. */
function parseCompression(value: string | undefined): Compression | undefined {
  if (value === undefined) return undefined;
  if (value === 'gzip' || value === 'zstd') return value;
  if (value === 'uncompressed') return 'none';
  throw new SlipwayError('USAGE', `unsupported compression "${value}" (gzip, zstd, uncompressed)`);
}

/** One CSV record, as buildx reads the flag: commas split fields unless inside double quotes. */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) throw new SlipwayError('USAGE', `unterminated quote in --output ${text}`);
  fields.push(field);
  return fields;
}

/** The keys each exporter takes here; BuildKit's others (push, annotations, …) are refused, not ignored. */
const OUTPUT_KEYS: Record<string, readonly string[]> = {
  image: ['type', 'name', 'compression'],
  moby: ['type', 'name', 'compression'],
  oci: ['type', 'dest', 'name', 'compression'],
  docker: ['type', 'dest', 'name', 'compression'],
  local: ['type', 'dest'],
  tar: ['type', 'dest'],
};

export function parseOutputFlag(text: string): OutputSpec {
  if (!text.includes('=')) return text === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: text };
  const fields = new Map<string, string>();
  for (const part of csvFields(text)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new SlipwayError('USAGE', `invalid value "${part}" in --output ${text}`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'local';
  if (type === 'registry')
    throw new SlipwayError(
      'UNSUPPORTED',
      '--output type=registry is not supported yet: build, then slipway push',
    );
  const keys = OUTPUT_KEYS[type];
  if (keys === undefined) {
    throw new SlipwayError('USAGE', `unsupported output type "${type}" (local, tar, oci, docker, image)`);
  }
  for (const key of fields.keys()) {
    if (!keys.includes(key)) {
      throw new SlipwayError(
        'UNSUPPORTED',
        `--output type=${type}: option "${key}" is not supported yet (supported: ${keys.filter((k) => k !== 'type').join(', ')})`,
      );
    }
  }
  const compression = parseCompression(fields.get('compression'));
  const nameList = fields.get('name');
  const names = nameList === undefined ? [] : nameList.split(',').filter((n) => n !== '');
  const extras = { ...(compression ? { compression } : {}), ...(names.length ? { names } : {}) };
  if (type === 'image' || type === 'moby') return { type: 'image', ...extras };
  const dest = fields.get('dest');
  if (!dest) throw new SlipwayError('USAGE', `--output type=${type} needs dest=…`);
  if (type === 'oci' || type === 'docker') return { type, dest, ...extras };
  return { type: type as 'local' | 'tar', dest };
}

/** `build --secret id=…,src=…|env=…`: where a secret's bytes come from. Never in a key, layer or log. */
export interface SecretSource {
  id: string;
  src?: string;
  env?: string;
}

/** Parses `--secret` values as docker buildx does: `id=x,src=path`, `id=x,env=VAR`, `type=file|env`. */
export function parseSecretFlag(spec: string): SecretSource {
  const out: { id?: string; src?: string; env?: string; type?: string } = {};
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1);
    if (key === 'id') out.id = value;
    else if (key === 'src' || key === 'source') out.src = value;
    else if (key === 'env') out.env = value;
    else if (key === 'type') out.type = value;
    else throw new SlipwayError('USAGE', `unexpected key '${key}' in '${spec}'`);
  }
  if (!out.id) throw new SlipwayError('USAGE', `secret "${spec}": an id is required`);
  if (out.type === 'env' && !out.env) out.env = out.src ?? out.id;
  if (!out.src && !out.env) {
    if (process.env[out.id] !== undefined) out.env = out.id;
    else out.src = out.id;
  }
  return { id: out.id, ...(out.src ? { src: out.src } : {}), ...(out.env ? { env: out.env } : {}) };
}

/** `build --add-host host:ip`: one more line in every RUN's /etc/hosts. */
export interface ExtraHost {
  host: string;
  ip: string;
}

/**
 * Parses `--add-host` as docker/cli's ValidateExtraHost: split at the first colon (so
 * `h:::1` is IPv6), the name non-empty, the address a literal IP. The CLI wraps the message.
 */
export function parseAddHostFlag(text: string): ExtraHost {
  const colon = text.indexOf(':');
  const host = colon < 0 ? '' : text.slice(0, colon);
  if (colon < 0 || host === '') throw new SlipwayError('USAGE', `bad format for add-host: "${text}"`);
  const ip = text.slice(colon + 1);
  if (isIP(ip) === 0) throw new SlipwayError('USAGE', `invalid IP address in add-host: "${ip}"`);
  return { host, ip };
}

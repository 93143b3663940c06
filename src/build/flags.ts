/** The build's own flags that need parsing (`--output`, `--secret`): pure, so the CLI loads nothing else. */
import { SlipwayError } from '../errors.js';
import type { Compression } from '../layer/types.js';

/** `--output` as docker buildx parses it: `type=local,dest=out`, or a bare path meaning type=local. */
export type OutputSpec =
  | { type: 'image'; compression?: Compression }
  | { type: 'oci' | 'docker'; dest: string; compression?: Compression }
  | { type: 'local' | 'tar'; dest: string };

/** BuildKit's `compression=` values for image outputs. */
function parseCompression(value: string | undefined): Compression | undefined {
  if (value === undefined) return undefined;
  if (value === 'gzip' || value === 'zstd') return value;
  if (value === 'uncompressed') return 'none';
  throw new SlipwayError('USAGE', `unsupported compression "${value}" (gzip, zstd, uncompressed)`);
}

export function parseOutputFlag(text: string): OutputSpec {
  if (!text.includes('=')) return text === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: text };
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new SlipwayError('USAGE', `invalid value "${part}" in --output ${text}`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'local';
  const compression = parseCompression(fields.get('compression'));
  if (type === 'image' || type === 'moby')
    return compression ? { type: 'image', compression } : { type: 'image' };
  if (type === 'registry')
    throw new SlipwayError(
      'UNSUPPORTED',
      '--output type=registry is not supported yet: build, then slipway push',
    );
  if (type !== 'local' && type !== 'tar' && type !== 'oci' && type !== 'docker') {
    throw new SlipwayError('USAGE', `unsupported output type "${type}" (local, tar, oci, docker, image)`);
  }
  const dest = fields.get('dest');
  if (!dest) throw new SlipwayError('USAGE', `--output type=${type} needs dest=…`);
  if (type === 'oci' || type === 'docker') return compression ? { type, dest, compression } : { type, dest };
  return { type, dest };
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

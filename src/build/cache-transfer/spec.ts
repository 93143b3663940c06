import { csvFields, MountError } from '../../dockerfile/instructions/mount.js';
import { SlipwayError } from '../../errors.js';
import { isDigest } from '../../image/digest.js';
import { isValidTag, parseReference } from '../../image/reference.js';

export type CacheSpec =
  | {
      type: 'local';
      dir: string;
      /** Name of the manifest in the layout's index.json (BuildKit's `tag=`, default `latest`). */
      tag?: string;
      /** Import only: take this manifest instead of the tagged one (BuildKit's `digest=`). */
      digest?: string;
      /** Export only: a failed export is a warning, not a build failure (`ignore-error=true`). */
      ignoreError?: boolean;
    }
  | { type: 'registry'; ref: string; ignoreError?: boolean };

/** Backends BuildKit has that slipway does not (yet). */
const KNOWN_UNSUPPORTED = new Set(['inline', 'gha', 's3', 'azblob']);

/**
 * `--cache-to` / `--cache-from` as buildx parses them (util/buildflags ParseCacheEntry): CSV
 * `key=value` fields with `type=` required, or a bare reference as shorthand for
 * `type=registry,ref=<reference>`. Attributes BuildKit knows but slipway has no use for
 * (`compression`, `oci-mediatypes`, `image-manifest`, …) are accepted and ignored; `mode` is checked
 * but slipway always exports every step record of the build (BuildKit's `mode=max`).
 */
export function parseCacheFlag(text: string, direction: 'to' | 'from'): CacheSpec {
  const flag = direction === 'to' ? '--cache-to' : '--cache-from';
  let fields: string[];
  try {
    fields = csvFields(text.trim());
  } catch (e) {
    if (e instanceof MountError)
      throw new SlipwayError('USAGE', `invalid ${flag} value "${text}": ${e.message}`);
    throw e;
  }
  fields = fields.filter((f) => f !== '');
  if (fields.length === 0) throw new SlipwayError('USAGE', `${flag} requires a value`);
  if (fields.every((f) => !f.includes('='))) {
    if (fields.length > 1) {
      throw new SlipwayError('USAGE', `${flag} takes one cache reference; repeat the flag for more`);
    }
    return { type: 'registry', ref: checkRef(fields[0]!, flag) };
  }
  let type: string | undefined;
  const attrs = new Map<string, string>();
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new SlipwayError('USAGE', `invalid value ${field}`);
    const key = field.slice(0, eq).toLowerCase();
    const value = field.slice(eq + 1);
    if (key === 'type') type = value;
    else attrs.set(key, value);
  }
  if (type === undefined || type === '') {
    throw new SlipwayError('USAGE', `type required form> "${text}"`);
  }
  const mode = attrs.get('mode');
  if (mode !== undefined && mode !== 'min' && mode !== 'max') {
    throw new SlipwayError('USAGE', `invalid mode ${mode} in ${flag}: want min or max`);
  }
  const ignoreError = parseBool(attrs.get('ignore-error'), 'ignore-error', flag);
  const extra = ignoreError === undefined || direction === 'from' ? {} : { ignoreError };
  switch (type) {
    case 'local': {
      const attr = direction === 'to' ? 'dest' : 'src';
      const dir = attrs.get(attr);
      if (dir === undefined || dir === '') {
        throw new SlipwayError('USAGE', `${flag} type=local requires ${attr}=<directory>`, {
          hint:
            direction === 'to'
              ? '--cache-to type=local,dest=path/to/dir'
              : '--cache-from type=local,src=path/to/dir',
        });
      }
      const spec: CacheSpec = { type: 'local', dir, ...extra };
      const tag = attrs.get('tag');
      if (tag !== undefined) {
        if (!isValidTag(tag)) throw new SlipwayError('USAGE', `invalid tag "${tag}" in ${flag}`);
        spec.tag = tag;
      }
      const digest = attrs.get('digest');
      if (digest !== undefined && direction === 'from') {
        if (!isDigest(digest)) throw new SlipwayError('USAGE', `invalid digest "${digest}" in ${flag}`);
        spec.digest = digest;
      }
      return spec;
    }
    case 'registry': {
      const ref = attrs.get('ref');
      if (ref === undefined || ref === '') {
        throw new SlipwayError('USAGE', `${flag} type=registry requires ref=<image reference>`);
      }
      return { type: 'registry', ref: checkRef(ref, flag), ...extra };
    }
    default:
      throw new SlipwayError(
        'UNSUPPORTED',
        KNOWN_UNSUPPORTED.has(type)
          ? `${flag} type=${type} is not supported by slipway; use type=registry or type=local`
          : `unknown cache ${direction === 'to' ? 'exporter' : 'importer'}: "${type}"`,
      );
  }
}

function checkRef(ref: string, flag: string): string {
  try {
    const r = parseReference(ref);
    if (flag === '--cache-to' && r.digest !== undefined) {
      throw new SlipwayError('USAGE', `${flag}: cannot export cache to a digest reference ${ref}`);
    }
  } catch (e) {
    if (e instanceof SlipwayError && e.code === 'USAGE') throw e;
    throw new SlipwayError('USAGE', `invalid ${flag} reference "${ref}": ${(e as Error).message}`);
  }
  return ref;
}

function parseBool(v: string | undefined, name: string, flag: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new SlipwayError('USAGE', `invalid ${name} value "${v}" in ${flag}: want true or false`);
}

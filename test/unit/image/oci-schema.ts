/**
 * A small JSON Schema draft-04 validator covering the keywords the OCI image-spec schemas use (type,
 * properties, patternProperties, additionalProperties, required, $ref, oneOf/anyOf/allOf/not, enum, pattern,
 * minimum/maximum, minItems/maxItems, items, format uri/date-time), plus the upstream Go validator's extra
 * checks (conformance/oci-image-spec/README.md → extraChecks). Test-only: slipway itself never validates.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../../helpers/paths.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

export const ociSpecDir = join(conformanceDir, 'oci-image-spec');

interface CasesFile {
  validators: Record<string, string>;
  schemaAliases: Record<string, string[]>;
  dockerMediaTypeConversion: { map: Record<string, string> };
}

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: Json, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function formatOk(format: string, v: string): boolean {
  if (format === 'date-time') return RFC3339.test(v) && !Number.isNaN(Date.parse(v));
  if (format === 'uri') {
    // gojsonschema: url.Parse succeeds, scheme present, no backslash.
    return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(v) && !v.includes('\\') && !/\s/.test(v);
  }
  return true;
}

export class SchemaValidator {
  /** Documents by every URL they are known under. */
  private readonly docs = new Map<string, Schema>();
  readonly cases: CasesFile;

  constructor() {
    this.cases = JSON.parse(readFileSync(join(ociSpecDir, 'validation-cases.json'), 'utf8')) as CasesFile;
    const dir = join(ociSpecDir, 'schema');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const s = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Schema;
      this.docs.set(`file:///schema/${f}`, s);
      this.docs.set(f, s);
      if (typeof s.id === 'string') this.docs.set(s.id, s);
      for (const alias of this.cases.schemaAliases[f] ?? []) this.docs.set(alias, s);
    }
  }

  private lookup(url: string): Schema | undefined {
    const exact = this.docs.get(url);
    if (exact) return exact;
    // Relative refs resolved against nested ids land on URLs upstream registers as aliases; fall back to
    // the file name, which is what every ref in these schemas names.
    return this.docs.get(url.slice(url.lastIndexOf('/') + 1));
  }

  private resolveRef(ref: string, base: string): { schema: Schema; base: string } {
    const abs = new URL(ref, base).toString();
    const [docUrl, pointer = ''] = abs.split('#') as [string, string?];
    const doc = this.lookup(docUrl);
    if (!doc) throw new Error(`unresolvable $ref ${ref} (base ${base})`);
    let node: Json = doc;
    for (const raw of pointer.split('/').filter((p) => p !== '')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node)) {
        throw new Error(`bad $ref pointer ${ref}`);
      }
      node = (node as { [k: string]: Json })[key]!;
    }
    return { schema: node as Schema, base: docUrl };
  }

  /** Errors (JSON-pointer-ish path + message); empty = valid. */
  validate(value: Json, schema: Schema, base: string, path = ''): string[] {
    if (typeof schema.id === 'string') base = new URL(schema.id, base).toString();
    if (typeof schema.$ref === 'string') {
      const r = this.resolveRef(schema.$ref, base);
      return this.validate(value, r.schema, r.base, path);
    }
    const errs: string[] = [];
    const err = (m: string) => errs.push(`${path || '/'}: ${m}`);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
      if (!types.some((t) => typeMatches(value, t))) {
        err(`want type ${types.join('|')}, got ${typeOf(value)}`);
        return errs;
      }
    }
    if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
      err('not in enum');
    }
    for (const [kw, combine] of [
      ['oneOf', (n: number) => n === 1],
      ['anyOf', (n: number) => n >= 1],
    ] as const) {
      const subs = schema[kw];
      if (Array.isArray(subs)) {
        const ok = subs.filter((s) => this.validate(value, s as Schema, base, path).length === 0).length;
        if (!combine(ok)) err(`${kw}: ${ok} of ${subs.length} subschemas match`);
      }
    }
    if (Array.isArray(schema.allOf))
      for (const s of schema.allOf) errs.push(...this.validate(value, s as Schema, base, path));
    if (schema.not !== undefined && this.validate(value, schema.not as Schema, base, path).length === 0)
      err('not');
    if (typeof value === 'string') {
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) err('pattern');
      if (typeof schema.format === 'string' && !formatOk(schema.format, value))
        err(`format ${schema.format}`);
    }
    if (typeof value === 'number') {
      if (typeof schema.minimum === 'number' && value < schema.minimum) err('below minimum');
      if (typeof schema.maximum === 'number' && value > schema.maximum) err('above maximum');
    }
    if (Array.isArray(value)) {
      if (typeof schema.minItems === 'number' && value.length < schema.minItems) err('too few items');
      if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) err('too many items');
      if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) {
        for (const [i, v] of value.entries())
          errs.push(...this.validate(v, schema.items as Schema, base, `${path}/${i}`));
      }
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (Array.isArray(schema.required)) {
        for (const k of schema.required as string[]) if (!(k in value)) err(`missing required ${k}`);
      }
      const props = (schema.properties ?? {}) as { [k: string]: Schema };
      const pats = Object.entries((schema.patternProperties ?? {}) as { [k: string]: Schema });
      for (const [k, v] of Object.entries(value)) {
        let matched = false;
        if (k in props) {
          matched = true;
          errs.push(...this.validate(v, props[k]!, base, `${path}/${k}`));
        }
        for (const [p, s] of pats) {
          if (new RegExp(p, 'u').test(k)) {
            matched = true;
            errs.push(...this.validate(v, s, base, `${path}/${k}`));
          }
        }
        if (!matched && schema.additionalProperties === false) err(`unexpected property ${k}`);
        if (
          !matched &&
          typeof schema.additionalProperties === 'object' &&
          schema.additionalProperties !== null
        ) {
          errs.push(...this.validate(v, schema.additionalProperties as Schema, base, `${path}/${k}`));
        }
      }
    }
    return errs;
  }

  /** Validate a document (text) as the given OCI media type: JSON parse, schema, extra checks. */
  validateDocument(mediaType: string, text: string): string[] {
    const file = this.cases.validators[mediaType];
    if (!file) return [`no validator for ${mediaType}`];
    let doc: Json;
    try {
      doc = JSON.parse(text) as Json;
    } catch (e) {
      return [`invalid JSON: ${(e as Error).message}`];
    }
    const name = file.replace(/^schema\//, '');
    const root = this.docs.get(name)!;
    const errs = this.validate(doc, root, typeof root.id === 'string' ? root.id : `file:///schema/${name}`);
    errs.push(...extraChecks(mediaType, doc));
    return errs;
  }
}

const REGISTERED_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest v1.0.0 Digest.Validate. */
export function goDigestValid(d: string): boolean {
  const i = d.indexOf(':');
  if (i <= 0 || i + 1 === d.length) return false;
  const alg = d.slice(0, i);
  const enc = d.slice(i + 1);
  const n = REGISTERED_HEX[alg];
  if (n !== undefined) return enc.length === n && /^[a-f0-9]+$/.test(enc);
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(d);
}

function paddedBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

function isObj(v: Json | undefined): v is { [k: string]: Json } {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

function extraChecks(mediaType: string, doc: Json): string[] {
  const errs: string[] = [];
  if (!isObj(doc)) return errs;
  if (mediaType === 'application/vnd.oci.descriptor.v1+json') {
    if (typeof doc.digest === 'string' && !goDigestValid(doc.digest))
      errs.push('digest does not parse (go-digest)');
    if (typeof doc.data === 'string' && !paddedBase64(doc.data)) errs.push('data is not padded base64');
  }
  if (mediaType === 'application/vnd.oci.image.config.v1+json') {
    const env = isObj(doc.config) ? doc.config.Env : undefined;
    if (Array.isArray(env)) {
      for (const e of env)
        if (typeof e === 'string' && !/^[^=]+=.*$/.test(e)) errs.push(`bad Env entry ${e}`);
    }
    const times = [
      doc.created,
      ...(Array.isArray(doc.history) ? doc.history.map((h) => (isObj(h) ? h.created : undefined)) : []),
    ];
    for (const t of times)
      if (typeof t === 'string' && !formatOk('date-time', t)) errs.push(`created ${t} is not RFC 3339`);
  }
  return errs;
}

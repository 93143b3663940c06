import { SlipwayError } from '../errors.js';

/** `--filter key=value` values grouped by key, as docker/cli's filters.Args holds them. */
export type FilterArgs = Map<string, string[]>;

/**
 * docker/cli's filter flag parsing: `name=value`, name lowercased, both sides trimmed. A malformed
 * value is a flag error of command `verb` (`images`, `ps`, …), as pflag reports it.
 */
export function parseFilterFlags(values: readonly string[], verb: string, flag = '-f, --filter'): FilterArgs {
  const out: FilterArgs = new Map();
  for (const raw of values) {
    const eq = raw.indexOf('=');
    if (eq < 0) {
      throw new SlipwayError(
        'USAGE',
        `invalid argument "${raw}" for "${flag}" flag: bad format of filter (expected name=value)`,
        { hint: `See 'slipway ${verb} --help'.` },
      );
    }
    const name = raw.slice(0, eq).trim().toLowerCase();
    const value = raw.slice(eq + 1).trim();
    const list = out.get(name) ?? [];
    if (!list.includes(value)) list.push(value);
    out.set(name, list);
  }
  return out;
}

/** The daemon's "Invalid filter" errors (NOT a usage error: Docker exits 1 for these). */
export class InvalidFilterError extends SlipwayError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Reject filter names the daemon does not know. */
export function validateFilterKeys(args: FilterArgs, accepted: readonly string[]): void {
  for (const key of args.keys()) {
    if (!accepted.includes(key)) throw new InvalidFilterError(`Invalid filter '${key}'`);
  }
}

/** filters.Args.GetBoolOrDefault. */
export function filterBool(args: FilterArgs, key: string, def: boolean): boolean {
  const values = args.get(key);
  if (values === undefined) return def;
  const isFalse = values.includes('0') || values.includes('false');
  const isTrue = values.includes('1') || values.includes('true');
  if (isFalse === isTrue) throw new InvalidFilterError(`Invalid filter '${key}=[${values.join(' ')}]'`);
  return isTrue;
}

/** Label filters (`label=key` or `label=key=value`): every one must hold. */
export function matchLabels(
  filters: readonly string[],
  labels: Record<string, string> | null | undefined,
): boolean {
  return filters.every((f) => {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (!labels || !Object.hasOwn(labels, key)) return false;
    return eq < 0 || labels[key] === f.slice(eq + 1);
  });
}

class BadPattern extends Error {}

/** Go's `path.Match` (used by Docker's reference filter). Throws SlipwayError on a malformed pattern. */
export function goPathMatch(pattern: string, name: string): boolean {
  try {
    return match(Array.from(pattern), Array.from(name));
  } catch (e) {
    if (e instanceof BadPattern) throw new SlipwayError('USAGE', 'syntax error in pattern');
    throw e;
  }
}

function scanChunk(p: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let i = 0;
  let star = false;
  while (i < p.length && p[i] === '*') {
    i++;
    star = true;
  }
  const start = i;
  let inRange = false;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (i + 1 < p.length) i++;
    } else if (c === '[') inRange = true;
    else if (c === ']') inRange = false;
    else if (c === '*' && !inRange) break;
  }
  return { star, chunk: p.slice(start, i), rest: p.slice(i) };
}

function getEsc(chunk: string[], i: number): { r: string; next: number } {
  if (i >= chunk.length || chunk[i] === '-' || chunk[i] === ']') throw new BadPattern();
  let j = i;
  if (chunk[j] === '\\') {
    j++;
    if (j >= chunk.length) throw new BadPattern();
  }
  const r = chunk[j]!;
  if (j + 1 >= chunk.length) throw new BadPattern();
  return { r, next: j + 1 };
}

function matchChunk(chunk: string[], s: string[]): string[] | undefined {
  let failed = false;
  let si = 0;
  let i = 0;
  while (i < chunk.length) {
    if (!failed && si >= s.length) failed = true;
    const c = chunk[i]!;
    if (c === '[') {
      let r = '';
      if (!failed) r = s[si++]!;
      i++;
      let negated = false;
      if (i < chunk.length && chunk[i] === '^') {
        negated = true;
        i++;
      }
      let matched = false;
      let nrange = 0;
      for (;;) {
        if (i < chunk.length && chunk[i] === ']' && nrange > 0) {
          i++;
          break;
        }
        const lo = getEsc(chunk, i);
        i = lo.next;
        let hi = lo.r;
        if (chunk[i] === '-') {
          const h = getEsc(chunk, i + 1);
          hi = h.r;
          i = h.next;
        }
        const cp = r.codePointAt(0) ?? -1;
        if (lo.r.codePointAt(0)! <= cp && cp <= hi.codePointAt(0)!) matched = true;
        nrange++;
      }
      if (matched === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[si] === '/') failed = true;
        si++;
      }
      i++;
    } else {
      let ch = c;
      if (c === '\\') {
        i++;
        if (i >= chunk.length) throw new BadPattern();
        ch = chunk[i]!;
      }
      if (!failed) {
        if (ch !== s[si]) failed = true;
        si++;
      }
      i++;
    }
  }
  return failed ? undefined : s.slice(si);
}

function match(patternIn: string[], nameIn: string[]): boolean {
  let pattern = patternIn;
  let name = nameIn;
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    if (star && chunk.length === 0) return !name.includes('/');
    const t = matchChunk(chunk, name);
    if (t !== undefined && (t.length === 0 || pattern.length > 0)) {
      name = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, name.slice(i + 1));
        if (t2 !== undefined) {
          if (pattern.length === 0 && t2.length > 0) continue;
          name = t2;
          continue outer;
        }
      }
    }
    while (pattern.length > 0) {
      const next = scanChunk(pattern);
      pattern = next.rest;
      matchChunk(next.chunk, []);
    }
    return false;
  }
  return name.length === 0;
}

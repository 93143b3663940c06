/**
 * One .dockerignore pattern compiled the way moby/patternmatcher v0.6.1 does it: classified as exact,
 * prefix (`dir/**`), suffix (`**` + literal) or regexp, where the regexp is built by substituting `*`, `?`
 * and `**` and passing everything else (notably `[...]` and `\x`) straight to Go's RE2. To reproduce
 * Docker's answers, including its quirks, the Go regexp text is built exactly as upstream builds it and then
 * translated to an equivalent JavaScript RegExp (see re2.ts).
 */
import { translateGoRegexp } from './re2.js';

export type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

export interface CompiledPattern {
  readonly matchType: MatchType;
  /** The Go regexp upstream would compile (only for `regexp`), kept for conformance checks. */
  readonly goRegexp: string | undefined;
  /** Tests one cleaned, slash-separated path. Throws nothing. */
  readonly test: (path: string) => boolean;
  /** Set when upstream's regexp compile fails: every match call must then report a bad pattern. */
  readonly compileError: string | undefined;
}

// Characters that are regexp metacharacters but carry no meaning in filepath.Match.
const ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** Compiles a cleaned pattern (no leading `!`). The pattern must already have passed the glob syntax check. */
export function compilePattern(cleaned: string): CompiledPattern {
  const cps = Array.from(cleaned);
  let re = '^';
  let type: MatchType = 'exact';
  let i = 0;
  for (let n = 0; i < cps.length; n++) {
    const ch = cps[i++] as string;
    if (ch === '*') {
      if (cps[i] === '*') {
        i++;
        // `**/` is treated as `**`.
        if (cps[i] === '/') i++;
        if (i >= cps.length) {
          // Trailing `**` accepts everything, like .gitignore.
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (n === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (ESCAPE.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      if (i < cps.length) {
        re += `\\${cps[i++] as string}`;
        type = 'regexp';
      } else {
        re += '\\';
      }
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }

  switch (type) {
    case 'exact':
      return { matchType: type, goRegexp: undefined, compileError: undefined, test: (p) => p === cleaned };
    case 'prefix': {
      const prefix = cleaned.slice(0, -2);
      return {
        matchType: type,
        goRegexp: undefined,
        compileError: undefined,
        test: (p) => p.startsWith(prefix),
      };
    }
    case 'suffix': {
      const suffix = cleaned.slice(2);
      const bare = suffix.startsWith('/') ? suffix.slice(1) : undefined;
      return {
        matchType: type,
        goRegexp: undefined,
        compileError: undefined,
        // `**/foo` also matches `foo` itself.
        test: (p) => p.endsWith(suffix) || p === bare,
      };
    }
    case 'regexp': {
      re += '$';
      const translated = translateGoRegexp(re);
      if (typeof translated === 'string') {
        return { matchType: type, goRegexp: re, compileError: translated, test: () => false };
      }
      const head = literalPrefix(cps);
      const tail = literalSuffix(cps);
      const rx = translated;
      // The literal head/tail checks are only fast rejects (the regexp is anchored at both ends); it decides.
      let test: (p: string) => boolean;
      if (head === '' && tail === '') test = (p) => rx.test(p);
      else if (tail === '') test = (p) => p.startsWith(head) && rx.test(p);
      else if (head === '') test = (p) => p.endsWith(tail) && rx.test(p);
      else test = (p) => p.startsWith(head) && p.endsWith(tail) && rx.test(p);
      return { matchType: type, goRegexp: re, compileError: undefined, test };
    }
  }
}

function isMeta(c: string): boolean {
  return c === '*' || c === '?' || c === '[' || c === ']' || c === '\\' || c === '^';
}

/** The pattern's trailing run of characters that can only match themselves, at the end of the path. */
function literalSuffix(cps: string[]): string {
  let i = cps.length;
  while (i > 0 && !isMeta(cps[i - 1] as string)) i--;
  // After a backslash RE2 may read the character as a class (`\d`): leave it to the regexp.
  if (i > 0 && cps[i - 1] === '\\') i++;
  return cps.slice(i).join('');
}

/** The pattern's leading run of characters that can only match themselves. */
function literalPrefix(cps: string[]): string {
  let out = '';
  for (const c of cps) {
    if (isMeta(c)) break;
    out += c;
  }
  return out;
}

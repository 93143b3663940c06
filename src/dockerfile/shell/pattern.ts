/**
 * Shell patterns for `${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}`, with
 * BuildKit's semantics: `*` is any run and `?` any one character (neither
 * crosses a newline, like Go's `.`), `\*` `\?` `\\` are literals, `\}` `\/`
 * drop the backslash, any other escape is an error, `[...]` is literal.
 *
 * BuildKit turns the pattern into a Go (RE2) regexp; we match it with a
 * table instead, so the cost is O(pattern × value) with no backtracking
 * blow-up, while choosing exactly the match Go's leftmost-first
 * (Perl-order) semantics choose.
 */
import { SlipwayError } from '../../errors.js';

/** Atoms: a code point ≥ 0 is a literal. */
const ANY = -1;
const STAR = -2;
const NO_MATCH = -1;
const NEWLINE = 0x0a;
const BOM = 0xfeff;
const BACKSLASH = 0x5c;

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

function fromCodePoints(cps: readonly number[], start = 0, end = cps.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCodePoint(cps[i]!);
  return s;
}

function fail(pattern: string, why: string): never {
  throw new SlipwayError('EXPAND', `invalid pattern (${pattern}) in substitution: ${why}`);
}

/** Mirrors convertShellPatternToRegex (a Go text/scanner, so a leading BOM is skipped). */
function compile(pattern: string): number[] {
  const cps = codePoints(pattern);
  let i = cps[0] === BOM ? 1 : 0;
  const atoms: number[] = [];
  while (i < cps.length) {
    const tok = cps[i++]!;
    if (tok === 0x2a) atoms.push(STAR);
    else if (tok === 0x3f) atoms.push(ANY);
    else if (tok === BACKSLASH) {
      const nextCp = cps[i];
      if (nextCp === 0x7d || nextCp === 0x2f) continue;
      i++;
      if (nextCp !== 0x2a && nextCp !== 0x3f && nextCp !== BACKSLASH) {
        // Go prints %c of EOF (-1) as U+FFFD.
        fail(pattern, `invalid escape '\\${nextCp === undefined ? '\ufffd' : String.fromCodePoint(nextCp)}'`);
      }
      atoms.push(nextCp);
    } else atoms.push(tok);
  }
  return atoms;
}

/**
 * For every start index s, the end of the match the regexp engine would pick
 * for a match starting exactly at s (or NO_MATCH). Built from the last atom
 * backwards: a star's first choice (consume for greedy, skip for lazy) wins
 * whenever it leads to any match, which is precisely backtracking order.
 */
function matchEnds(atoms: readonly number[], value: readonly number[], greedy: boolean): Int32Array {
  const n = value.length;
  let next = new Int32Array(n + 1);
  for (let s = 0; s <= n; s++) next[s] = s;
  let cur = new Int32Array(n + 1);
  for (let p = atoms.length - 1; p >= 0; p--) {
    const atom = atoms[p]!;
    if (atom === STAR) {
      cur[n] = next[n]!;
      for (let s = n - 1; s >= 0; s--) {
        const consume = value[s] !== NEWLINE ? cur[s + 1]! : NO_MATCH;
        const skip = next[s]!;
        if (greedy) cur[s] = consume !== NO_MATCH ? consume : skip;
        else cur[s] = skip !== NO_MATCH ? skip : consume;
      }
    } else {
      cur[n] = NO_MATCH;
      for (let s = n - 1; s >= 0; s--) {
        const c = value[s]!;
        const ok = atom === ANY ? c !== NEWLINE : c === atom;
        cur[s] = ok ? next[s + 1]! : NO_MATCH;
      }
    }
    const t = next;
    next = cur;
    cur = t;
  }
  return next;
}

/** Go's reversePattern: reverse runes but keep each `\x` escape pair in order. */
function reversePattern(pattern: string): string {
  const cps = codePoints(pattern);
  const last = cps.length - 1;
  const out = new Array<number>(cps.length);
  for (let i = 0; i <= last; ) {
    const tok = cps[i]!;
    const outIdx = last - i;
    if (tok === BACKSLASH && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = cps[i + 1]!;
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return fromCodePoints(out);
}

/** `${v#p}` (greedy=false) and `${v##p}` (greedy=true). */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const atoms = compile(pattern);
  if (atoms.length === 0) return value;
  const cps = codePoints(value);
  const end = matchEnds(atoms, cps, greedy)[0]!;
  return end === NO_MATCH ? value : fromCodePoints(cps, end);
}

/**
 * `${v%p}` and `${v%%p}`. Like BuildKit, searches the reversed value with the
 * reversed pattern, so errors name the reversed pattern as BuildKit's do.
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversedValue = codePoints(value).reverse();
  const rest = trimPrefix(reversePattern(pattern), fromCodePoints(reversedValue), greedy);
  return fromCodePoints(codePoints(rest).reverse());
}

/**
 * Go regexp.Expand on a template for a pattern without groups: `$$` is `$`,
 * `$0`/`${0}` the whole match, any other well-formed reference is empty, and a
 * malformed `$` stays literal.
 */
function expandTemplate(template: string, match: string): string {
  if (!template.includes('$')) return template;
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = extractReference(rest);
    if (ref === undefined) {
      out += '$';
      continue;
    }
    rest = ref.rest;
    if (ref.num === 0) out += match;
  }
  return out + rest;
}

/** Go regexp's extract(): a `name` or `{name}` of letters, digits and `_`. */
function extractReference(str: string): { num: number; rest: string } | undefined {
  const cps = codePoints(str);
  let i = 0;
  const brace = cps[0] === 0x7b;
  if (brace) i = 1;
  const nameStart = i;
  while (i < cps.length) {
    const cp = cps[i]!;
    if (!(isNameChar(cp) || cp === 0x5f)) break;
    i++;
  }
  if (i === nameStart) return undefined;
  const name = cps.slice(nameStart, i);
  if (brace) {
    if (cps[i] !== 0x7d) return undefined;
    i++;
  }
  let num = 0;
  for (const cp of name) {
    if (cp < 0x30 || cp > 0x39 || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (cp - 0x30);
  }
  if (name[0] === 0x30 && name.length > 1) num = -1;
  return { num, rest: fromCodePoints(cps, i) };
}

const NAME_CHAR = /^[\p{L}\p{Nd}]$/u;
function isNameChar(cp: number): boolean {
  if (cp < 0x80)
    return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return NAME_CHAR.test(String.fromCodePoint(cp));
}

/**
 * `${v/p/r}` (all=false: the first match, replacement inserted verbatim) and
 * `${v//p/r}` (all=true: Go ReplaceAllString, which expands `$` references in
 * the replacement and skips an empty match right after a previous match).
 */
export function replacePattern(pattern: string, value: string, replacement: string, all: boolean): string {
  const atoms = compile(pattern);
  const cps = codePoints(value);
  const ends = matchEnds(atoms, cps, true);
  const n = cps.length;
  const findFrom = (from: number): number => {
    for (let s = from; s <= n; s++) if (ends[s] !== NO_MATCH) return s;
    return NO_MATCH;
  };
  if (!all) {
    const start = findFrom(0);
    if (start === NO_MATCH) return value;
    return fromCodePoints(cps, 0, start) + replacement + fromCodePoints(cps, ends[start]!);
  }
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= n) {
    const start = findFrom(searchPos);
    if (start === NO_MATCH) break;
    const end = ends[start]!;
    out += fromCodePoints(cps, lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0)
      out += expandTemplate(replacement, fromCodePoints(cps, start, end));
    lastMatchEnd = end;
    // Always advance at least one character past the search position.
    searchPos = Math.max(searchPos + 1, end);
  }
  return out + fromCodePoints(cps, lastMatchEnd);
}

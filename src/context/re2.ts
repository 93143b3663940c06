/**
 * Translates the Go (RE2) regexps that pattern.ts builds into JavaScript RegExps with the same meaning.
 * The input is not arbitrary RE2: operators only come from pattern.ts (anchors, `[^/]` with a star, the optional any-dirs group);
 * what users control is literals, `\x` escapes and bracket expressions, which RE2 and JavaScript read
 * differently (`]` as first class member, `[:alpha:]`, `\a`, octal/hex escapes, `\Q...\E`, `.` and `\n`).
 * Returns the RegExp, or an error message where Go's regexp.Compile would fail.
 */

const PERL_CLASSES: Record<string, string> = {
  d: '0-9',
  w: '0-9A-Za-z_',
  s: '\\t\\n\\f\\r ',
};

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u{0}-\\u{7f}',
  blank: '\\t ',
  cntrl: '\\u{0}-\\u{1f}\\u{7f}',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\u{b}\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

class Re2Error extends Error {}

function lit(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function isAsciiAlnum(c: string): boolean {
  return /^[0-9A-Za-z]$/.test(c);
}

/** Reads one escape (after the backslash) that denotes a single character, per Go's parseEscape. */
function escapeChar(cps: string[], i: number): { cp: number; next: number } {
  const c = cps[i];
  if (c === undefined) throw new Re2Error('trailing backslash at end of expression');
  const code = c.codePointAt(0) as number;
  if (code < 0x80 && !isAsciiAlnum(c)) return { cp: code, next: i + 1 };
  const simple = SIMPLE_ESCAPES[c];
  if (simple !== undefined) return { cp: simple, next: i + 1 };
  if (c >= '0' && c <= '7') {
    // A lone non-zero digit would be a backreference, which RE2 does not support.
    if (
      c !== '0' &&
      !(cps[i + 1] !== undefined && (cps[i + 1] as string) >= '0' && (cps[i + 1] as string) <= '7')
    ) {
      throw new Re2Error(`invalid escape sequence: \\${c}`);
    }
    let j = i;
    let digits = '';
    while (j < cps.length && digits.length < 3 && (cps[j] as string) >= '0' && (cps[j] as string) <= '7') {
      digits += cps[j];
      j++;
    }
    return { cp: Number.parseInt(digits, 8), next: j };
  }
  if (c === 'x') {
    if (cps[i + 1] === '{') {
      let j = i + 2;
      let hex = '';
      while (j < cps.length && cps[j] !== '}') hex += cps[j++];
      if (cps[j] !== '}' || !/^[0-9A-Fa-f]+$/.test(hex)) throw new Re2Error('invalid escape sequence: \\x');
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff) throw new Re2Error('invalid escape sequence: \\x');
      return { cp, next: j + 1 };
    }
    const hex = `${cps[i + 1] ?? ''}${cps[i + 2] ?? ''}`;
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Re2Error('invalid escape sequence: \\x');
    return { cp: Number.parseInt(hex, 16), next: i + 3 };
  }
  throw new Re2Error(`invalid escape sequence: \\${c}`);
}

/** `\pL`, `\p{Greek}`, `\PL`: JavaScript spells scripts as `Script=...`; probe which form it accepts. */
function unicodeClass(cps: string[], i: number): { js: string; next: number } {
  const neg = cps[i] === 'P';
  let name: string;
  let next: number;
  if (cps[i + 1] === '{') {
    let j = i + 2;
    name = '';
    while (j < cps.length && cps[j] !== '}') name += cps[j++];
    if (cps[j] !== '}') throw new Re2Error('invalid character class range');
    next = j + 1;
  } else {
    name = cps[i + 1] ?? '';
    next = i + 2;
  }
  let negated = neg;
  if (name.startsWith('^')) {
    negated = !negated;
    name = name.slice(1);
  }
  const p = negated ? 'P' : 'p';
  const candidates =
    name === 'Any' ? [`[\\u{0}-\\u{10ffff}]`] : [`\\${p}{${name}}`, `\\${p}{Script=${name}}`];
  for (const c of candidates) {
    try {
      new RegExp(c, 'u');
      return { js: name === 'Any' && negated ? '[^\\u{0}-\\u{10ffff}]' : c, next };
    } catch {
      // try the next spelling
    }
  }
  throw new Re2Error(`invalid character class range: \\p{${name}}`);
}

/** Parses a bracket expression starting after `[`; returns the JS class text and the index after `]`. */
function parseClass(cps: string[], start: number): { js: string; next: number } {
  let i = start;
  let negated = false;
  if (cps[i] === '^') {
    negated = true;
    i++;
  }
  const parts: string[] = [];
  let first = true;
  for (;;) {
    const c = cps[i];
    if (c === undefined) throw new Re2Error('missing closing ]');
    if (c === ']' && !first) {
      i++;
      break;
    }
    first = false;
    if (c === '[' && cps[i + 1] === ':') {
      let j = i + 2;
      let name = '';
      while (j < cps.length && !(cps[j] === ':' && cps[j + 1] === ']')) name += cps[j++];
      if (j < cps.length) {
        const neg = name.startsWith('^');
        const body = POSIX_CLASSES[neg ? name.slice(1) : name];
        if (body === undefined) throw new Re2Error(`invalid character class range: [:${name}:]`);
        // A negated POSIX class cannot be nested in a v-less JS class; no real .dockerignore needs it.
        if (neg) throw new Re2Error(`unsupported negated POSIX class [:${name}:]`);
        parts.push(body);
        i = j + 2;
        continue;
      }
    }
    if (c === '\\') {
      const e = cps[i + 1];
      if (e === 'd' || e === 'w' || e === 's') {
        parts.push(PERL_CLASSES[e] as string);
        i += 2;
        continue;
      }
      if (e === 'D' || e === 'W' || e === 'S') {
        throw new Re2Error(`unsupported negated class \\${e} inside brackets`);
      }
      if (e === 'p' || e === 'P') {
        const u = unicodeClass(cps, i + 1);
        if (u.js.startsWith('[')) throw new Re2Error('unsupported \\p{Any} inside brackets');
        parts.push(u.js);
        i = u.next;
        continue;
      }
    }
    const lo = classChar(cps, i);
    i = lo.next;
    let hi = lo.cp;
    if (cps[i] === '-' && cps[i + 1] !== undefined && cps[i + 1] !== ']') {
      const h = classChar(cps, i + 1);
      hi = h.cp;
      i = h.next;
      if (hi < lo.cp) throw new Re2Error('invalid character class range');
    }
    parts.push(hi === lo.cp ? lit(lo.cp) : `${lit(lo.cp)}-${lit(hi)}`);
  }
  return { js: `[${negated ? '^' : ''}${parts.join('')}]`, next: i };
}

function classChar(cps: string[], i: number): { cp: number; next: number } {
  const c = cps[i];
  if (c === undefined) throw new Re2Error('missing closing ]');
  if (c === '\\') return escapeChar(cps, i + 1);
  return { cp: c.codePointAt(0) as number, next: i + 1 };
}

/** Translates a Go regexp produced by pattern.ts; returns an error message instead when Go would reject it. */
export function translateGoRegexp(goRe: string): RegExp | string {
  const cps = Array.from(goRe);
  let out = '';
  try {
    let i = 0;
    while (i < cps.length) {
      const c = cps[i] as string;
      if (c === '\\') {
        const e = cps[i + 1];
        if (e === 'Q') {
          // \Q...\E quotes everything up to \E (or the end).
          let j = i + 2;
          while (j < cps.length && !(cps[j] === '\\' && cps[j + 1] === 'E')) {
            out += lit((cps[j] as string).codePointAt(0) as number);
            j++;
          }
          i = j < cps.length ? j + 2 : j;
          continue;
        }
        if (e === 'b' || e === 'B') {
          out += `\\${e}`;
          i += 2;
          continue;
        }
        if (e === 'A') {
          out += '^';
          i += 2;
          continue;
        }
        if (e === 'z') {
          out += '$';
          i += 2;
          continue;
        }
        if (e === 'd' || e === 'w' || e === 's') {
          out += `[${PERL_CLASSES[e] as string}]`;
          i += 2;
          continue;
        }
        if (e === 'D' || e === 'W' || e === 'S') {
          out += `[^${PERL_CLASSES[e.toLowerCase()] as string}]`;
          i += 2;
          continue;
        }
        if (e === 'p' || e === 'P') {
          const u = unicodeClass(cps, i + 1);
          out += u.js;
          i = u.next;
          continue;
        }
        const esc = escapeChar(cps, i + 1);
        out += lit(esc.cp);
        i = esc.next;
        continue;
      }
      if (c === '[') {
        const cls = parseClass(cps, i + 1);
        out += cls.js;
        i = cls.next;
        continue;
      }
      if (c === '.') out += '[^\\n]';
      else if (c === '^' || c === '$' || c === '(' || c === ')' || c === '?' || c === '*') out += c;
      else out += lit(c.codePointAt(0) as number);
      i++;
    }
    return new RegExp(out, 'u');
  } catch (e) {
    if (e instanceof Re2Error) return e.message;
    // A translation this module produced but JavaScript rejects is a bug here, not bad user input.
    return `unsupported pattern construct (${(e as Error).message})`;
  }
}

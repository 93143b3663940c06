/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`): BuildKit's DirectiveParser,
 * and DetectSyntax / ParseDirective, which also look past a shebang and accept `//`
 * comments or a whole-file JSON object.
 */
import { SlipwayError } from '../../errors.js';
import { decodeGoBytes, isGoSpace } from './gostr.js';
import { parseGoJson } from './json.js';

export const KNOWN_DIRECTIVES: ReadonlySet<string> = new Set(['syntax', 'escape', 'check']);

export interface DirectiveMatch {
  name: string;
  value: string;
}

function isReSpace(c: number): boolean {
  // RE2's \s: [\t\n\f\r ]
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAlnum(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39);
}

/** `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` without a regex engine. */
export function matchDirective(text: string): DirectiveMatch | undefined {
  const n = text.length;
  if (n === 0 || !isAlpha(text.charCodeAt(0))) return undefined;
  let i = 1;
  while (i < n && isAlnum(text.charCodeAt(i))) i++;
  const name = text.slice(0, i);
  while (i < n && isReSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== 0x3d) return undefined;
  i++;
  const afterEq = i;
  if (afterEq >= n) return undefined;
  // `.` does not match a newline.
  if (text.indexOf('\n', afterEq) >= 0) return undefined;
  while (i < n && isReSpace(text.charCodeAt(i))) i++;
  if (i === n) {
    // All whitespace after `=`: the lazy group backtracks to take the last character.
    return { name, value: text.slice(n - 1) };
  }
  let j = n;
  while (j > i && isReSpace(text.charCodeAt(j - 1))) j--;
  return { name, value: text.slice(i, j) };
}

export class DirectiveError extends SlipwayError {
  constructor(message: string) {
    super('PARSE', message);
  }
}

/** State of the leading directive block; one instance per parse. */
export class DirectiveParser {
  /** 1-based number of the last line handed to parseLine. */
  line: number;
  done = false;
  private readonly seen = new Set<string>();

  constructor(
    private readonly comment = '#',
    startLine = 0,
  ) {
    this.line = startLine;
  }

  /** A recognised directive, or undefined; throws DirectiveError on a repeated one. */
  parseLine(text: string): DirectiveMatch | undefined {
    this.line++;
    if (this.done) return undefined;
    if (!text.startsWith(this.comment)) {
      this.done = true;
      return undefined;
    }
    let i = this.comment.length;
    while (i < text.length && isGoSpace(text.charCodeAt(i))) i++;
    const m = matchDirective(text.slice(i));
    if (!m) {
      this.done = true;
      return undefined;
    }
    const name = m.name.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new DirectiveError(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    return { name, value: m.value };
  }
}

export interface DetectedDirective {
  /** The value up to the first space (`docker/dockerfile:1`). */
  ref: string;
  /** The whole value. */
  cmdline: string;
  /** 1-based line of the directive (0 for the JSON form without a shebang, as upstream). */
  line: number;
}

/** DetectSyntax: `# syntax=`, then `// syntax=`, then `{"syntax": "..."}`. */
export function detectSyntax(source: string | Uint8Array): DetectedDirective | undefined {
  return detectDirective('syntax', source, true);
}

/** ParseDirective: only `# key=` comments. */
export function detectDirective(
  key: string,
  source: string | Uint8Array,
  anyFormat = false,
): DetectedDirective | undefined {
  let text = typeof source === 'string' ? source : decodeGoBytes(source);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let line = 0;
  if (text.startsWith('#!')) {
    const nl = text.indexOf('\n');
    text = nl < 0 ? '' : text.slice(nl + 1);
    line = 1;
  }
  const hashed = fromParser(key, text, new DirectiveParser('#', line));
  if (hashed || !anyFormat) return hashed;
  const slashed = fromParser(key, text, new DirectiveParser('//', line));
  if (slashed) return slashed;
  const json = parseGoJson(text);
  if (json.ok && !json.overflow && typeof json.value !== 'string' && json.value.kind === 'object') {
    const v = json.value.entries.get(key);
    if (typeof v === 'string') return { ref: v, cmdline: v, line };
  }
  return undefined;
}

function fromParser(key: string, text: string, parser: DirectiveParser): DetectedDirective | undefined {
  if (text === '') return undefined;
  // bufio.ScanLines: split on \n, drop one trailing \r, no empty final token.
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    if (parser.done) break;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let d: DirectiveMatch | undefined;
    try {
      d = parser.parseLine(l);
    } catch {
      // ParseAll stops at an error and keeps what it found.
      break;
    }
    if (d && d.name === key) {
      const sp = d.value.indexOf(' ');
      return { ref: sp < 0 ? d.value : d.value.slice(0, sp), cmdline: d.value, line: parser.line };
    }
  }
  return undefined;
}

/** DirectiveParser.ParseAll: the leading `#` directive block of a file. Throws DirectiveError. */
export function parseAllDirectives(source: string): DirectiveMatch[] {
  const parser = new DirectiveParser();
  const out: DirectiveMatch[] = [];
  const lines = source.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    if (parser.done) break;
    const d = parser.parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    if (d) out.push(d);
  }
  return out;
}

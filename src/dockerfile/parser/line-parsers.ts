/**
 * One logical line to one instruction node: BuildKit's splitCommand, extractBuilderFlags
 * and dispatch table of line parsers (line_parsers.go). Positions are filled in by the
 * caller; these functions only know the text.
 */
import { SlipwayError } from '../../errors.js';
import type { InstructionNode } from '../ast.js';
import {
  decodeGoBytes,
  encodeGoBytes,
  goQuote,
  goToLower,
  isAscii,
  isGoSpace,
  isGoSpaceByte,
  runeAt,
  runeText,
  trimGoSpace,
  trimLeftGoSpace,
} from './gostr.js';
import { parseGoJson } from './json.js';

/** A parse failure with BuildKit's message; the caller adds the location. */
export class LineError extends SlipwayError {
  constructor(message: string) {
    super('PARSE', message);
  }
}

/** Instruction arguments as the Next chain of BuildKit's node holds them. */
export interface LineArgs {
  args: string[];
  json: boolean;
  child?: InstructionNode;
}

type LineParser = (rest: string, escapeToken: string) => LineArgs;

const NONE: LineArgs = { args: [], json: false };

function isTokenWhitespace(c: number): boolean {
  // tokenWhitespace / reWhitespace: [\t\v\f\r ]
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** reWhitespace.Split(s, -1). */
function splitWhitespace(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    if (isTokenWhitespace(s.charCodeAt(i))) {
      out.push(s.slice(start, i));
      while (i < n && isTokenWhitespace(s.charCodeAt(i))) i++;
      start = i;
    } else i++;
  }
  out.push(s.slice(start));
  return out;
}

/** reWhitespace.Split(s, 2). */
function splitWhitespaceOnce(s: string): string[] {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (isTokenWhitespace(s.charCodeAt(i))) {
      let j = i;
      while (j < n && isTokenWhitespace(s.charCodeAt(j))) j++;
      return [s.slice(0, i), s.slice(j)];
    }
  }
  return [s];
}

export interface SplitCommand {
  keyword: string;
  keywordAsWritten: string;
  flags: string[];
  rest: string;
}

export function splitCommand(line: string): SplitCommand {
  const parts = splitWhitespaceOnce(trimGoSpace(line));
  const written = parts[0]!;
  let flags: string[] = [];
  let rest = '';
  if (parts.length === 2) [rest, flags] = extractBuilderFlags(parts[1]!);
  return { keyword: goToLower(written), keywordAsWritten: written, flags, rest: trimGoSpace(rest) };
}

/**
 * Leading `--flag` words. Upstream walks bytes, not runes: `unicode.IsSpace(rune(b))` and
 * `string(rune(b))`, so a non-ASCII byte inside a flag is kept as its Latin-1 character and
 * bytes 0x85/0xA0 count as spaces. The escape character is always `\` here, whatever
 * `# escape=` says.
 */
export function extractBuilderFlags(line: string): [string, string[]] {
  if (isAscii(line)) {
    return extractFlagsFrom(
      line.length,
      (i) => line.charCodeAt(i),
      (i) => line.slice(i),
    );
  }
  const bytes = encodeGoBytes(line);
  return extractFlagsFrom(
    bytes.length,
    (i) => bytes[i]!,
    (i) => decodeGoBytes(bytes.subarray(i)),
  );
}

function extractFlagsFrom(
  len: number,
  at: (i: number) => number,
  from: (i: number) => string,
): [string, string[]] {
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = 0;
  let blankOK = false;
  let ch = 0;
  for (let pos = 0; pos <= len; pos++) {
    if (pos !== len) ch = at(pos);
    if (phase === IN_SPACES) {
      if (pos === len) break;
      if (isGoSpaceByte(ch)) continue;
      if (ch !== 0x2d || pos + 1 === len || at(pos + 1) !== 0x2d) return [from(pos), words];
      phase = IN_WORD;
    }
    if (pos === len) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isGoSpaceByte(ch)) {
        phase = IN_SPACES;
        if (word === '--') return [from(pos), words];
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === 0x27 || ch === 0x22) {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch === 0x5c) {
        if (pos + 1 === len) continue;
        pos++;
        ch = at(pos);
      }
      word += String.fromCharCode(ch);
      continue;
    }
    // IN_QUOTE
    if (ch === quote) {
      phase = IN_WORD;
      continue;
    }
    if (ch === 0x5c) {
      if (pos + 1 === len) {
        phase = IN_WORD;
        continue;
      }
      pos++;
      ch = at(pos);
    }
    word += String.fromCharCode(ch);
  }
  return ['', words];
}

/**
 * parseWords: quote-aware split for ENV/LABEL/ARG. Quotes and escapes stay in the words
 * (they are removed at expansion time); invalid bytes become U+FFFD as Go's WriteRune does.
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const esc = escapeToken.charCodeAt(0);
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  const words: string[] = [];
  let phase = IN_SPACES;
  let quote = 0;
  let blankOK = false;
  let sb = '';
  const n = rest.length;
  let ch = 0;
  let width = 0;
  for (let pos = 0; pos <= n; pos += width) {
    if (pos !== n) [ch, width] = runeAt(rest, pos);
    if (phase === IN_SPACES) {
      if (pos === n) break;
      if (isGoSpace(ch)) continue;
      phase = IN_WORD;
    }
    if (pos === n) {
      if (blankOK || sb.length > 0) words.push(sb);
      break;
    }
    if (phase === IN_WORD) {
      if (isGoSpace(ch)) {
        phase = IN_SPACES;
        if (blankOK || sb.length > 0) words.push(sb);
        sb = '';
        blankOK = false;
        continue;
      }
      if (ch === 0x27 || ch === 0x22) {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
      }
      if (ch === esc) {
        if (pos + width === n) continue;
        sb += runeText(ch);
        pos += width;
        [ch, width] = runeAt(rest, pos);
      }
      sb += runeText(ch);
      continue;
    }
    // IN_QUOTE
    if (ch === quote) phase = IN_WORD;
    if (ch === esc && quote !== 0x27) {
      if (pos + width === n) {
        phase = IN_WORD;
        continue;
      }
      pos += width;
      sb += runeText(ch);
      [ch, width] = runeAt(rest, pos);
    }
    sb += runeText(ch);
  }
  return words;
}

function parseNameVal(rest: string, key: string, escapeToken: string): LineArgs {
  const words = parseWords(rest, escapeToken);
  if (words.length === 0) return NONE;
  if (!words[0]!.includes('=')) {
    const parts = splitWhitespaceOnce(rest);
    if (parts.length < 2) throw new LineError(`${key} must have two arguments`);
    return { args: [parts[0]!, parts[1]!, ''], json: false };
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw new LineError(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
    }
    args.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return { args, json: false };
}

const parseEnv: LineParser = (rest, esc) => parseNameVal(rest, 'ENV', esc);
const parseLabel: LineParser = (rest, esc) => parseNameVal(rest, 'LABEL', esc);

const parseNameOrNameVal: LineParser = (rest, esc) => {
  const words = parseWords(rest, esc);
  return words.length === 0 ? NONE : { args: words, json: false };
};

const parseStringsWhitespaceDelimited: LineParser = (rest) =>
  rest === '' ? NONE : { args: splitWhitespace(rest), json: false };

const parseString: LineParser = (rest) => (rest === '' ? NONE : { args: [rest], json: false });

const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/** parseJSON: the strings of a JSON array, 'not-json' to fall back, or a hard error. */
export function parseJsonArray(rest: string): string[] | 'not-json' {
  const text = trimLeftGoSpace(rest);
  if (!text.startsWith('[')) return 'not-json';
  const res = parseGoJson(text);
  if (!res.ok || res.overflow || typeof res.value === 'string' || res.value.kind !== 'array')
    return 'not-json';
  const out: string[] = [];
  for (const item of res.value.items) {
    if (typeof item !== 'string') throw new LineError(NOT_STRING_ARRAY);
    out.push(item);
  }
  return out;
}

const parseMaybeJSON: LineParser = (rest) => {
  if (rest === '') return NONE;
  const arr = parseJsonArray(rest);
  if (arr !== 'not-json') return { args: arr, json: true };
  return { args: [rest], json: false };
};

const parseMaybeJSONToList: LineParser = (rest, esc) => {
  const arr = parseJsonArray(rest);
  if (arr !== 'not-json') return { args: arr, json: true };
  return parseStringsWhitespaceDelimited(rest, esc);
};

/** HEALTHCHECK: a type word, then CMD-style arguments. Upstream scans bytes here too. */
const parseHealthConfig: LineParser = (rest, esc) => {
  let typ: string;
  let after: string;
  if (isAscii(rest)) {
    let sep = 0;
    while (sep < rest.length && !isGoSpaceByte(rest.charCodeAt(sep))) sep++;
    let next = sep;
    while (next < rest.length && isGoSpaceByte(rest.charCodeAt(next))) next++;
    if (sep === 0) return NONE;
    typ = rest.slice(0, sep);
    after = rest.slice(next);
  } else {
    const b = encodeGoBytes(rest);
    let sep = 0;
    while (sep < b.length && !isGoSpaceByte(b[sep]!)) sep++;
    let next = sep;
    while (next < b.length && isGoSpaceByte(b[next]!)) next++;
    if (sep === 0) return NONE;
    typ = decodeGoBytes(b.subarray(0, sep));
    after = decodeGoBytes(b.subarray(next));
  }
  const cmd = parseMaybeJSON(after, esc);
  return { args: [typ, ...cmd.args], json: cmd.json };
};

const parseSubCommand: LineParser = (rest, esc) => {
  if (rest === '') return NONE;
  return { args: [], json: false, child: newNodeFromLine(rest, esc, []) };
};

const parseIgnore: LineParser = () => ({ args: [''], json: false });

const DISPATCH: ReadonlyMap<string, LineParser> = new Map([
  ['add', parseMaybeJSONToList],
  ['arg', parseNameOrNameVal],
  ['cmd', parseMaybeJSON],
  ['copy', parseMaybeJSONToList],
  ['entrypoint', parseMaybeJSON],
  ['env', parseEnv],
  ['expose', parseStringsWhitespaceDelimited],
  ['from', parseStringsWhitespaceDelimited],
  ['healthcheck', parseHealthConfig],
  ['label', parseLabel],
  ['maintainer', parseString],
  ['onbuild', parseSubCommand],
  ['run', parseMaybeJSON],
  ['shell', parseMaybeJSON],
  ['stopsignal', parseString],
  ['user', parseString],
  ['volume', parseMaybeJSONToList],
  ['workdir', parseString],
]);

const NO_RANGE = { start: { line: 0, column: 0 }, end: { line: 0, column: 0 } };

/** newNodeFromLine. Throws LineError. The range is a placeholder for the caller to set. */
export function newNodeFromLine(line: string, escapeToken: string, comments: string[]): InstructionNode {
  const cmd = splitCommand(line);
  const fn = DISPATCH.get(cmd.keyword) ?? parseIgnore;
  const parsed = fn(cmd.rest, escapeToken);
  const node: InstructionNode = {
    keyword: cmd.keyword,
    keywordAsWritten: cmd.keywordAsWritten,
    flags: cmd.flags,
    args: parsed.args,
    json: parsed.json,
    heredocs: [],
    original: line,
    comments,
    range: NO_RANGE,
  };
  if (parsed.child) node.child = parsed.child;
  return node;
}

const HEREDOC_KEYWORDS: ReadonlySet<string> = new Set(['add', 'copy', 'run']);

/** canContainHeredoc: RUN/COPY/ADD in shell form, also as an ONBUILD trigger. */
export function canContainHeredoc(node: InstructionNode): boolean {
  const target = node.keyword === 'onbuild' && node.child ? node.child : node;
  return HEREDOC_KEYWORDS.has(target.keyword) && !target.json;
}

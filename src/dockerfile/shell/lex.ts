/**
 * BuildKit-compatible word expansion: a port of moby/buildkit
 * frontend/dockerfile/shell/lex.go. It is not a shell: quotes, escapes and
 * `$` parameter expansion only — no command substitution, globbing or
 * arithmetic. Every branch below mirrors one in lex.go, including its error
 * texts, because users compare our messages with `docker build`'s.
 *
 * Lookups are recorded like lex.go's matches/nonmatches: `used` lists every
 * name looked up (first lookup first; a modifier's word is expanded before
 * its own variable is looked up, as in lex.go), `unset` the ones not found.
 * A name looked up through `${v:-w}`, `${v-w}`, `${v:+w}` or `${v+w}` is
 * included in `unset` when v is not set, exactly as lex.go's Unmatched does
 * (the conformance tables pin this: `${BAZ:-ccc}` leaves BAZ unmatched).
 * BuildKit's UndefinedVar check reports every Unmatched name except declared
 * build args and the predefined proxy args, so a consumer that wants its
 * exact warnings should use `unset` as is.
 */
import { SlipwayError } from '../../errors.js';
import { goQuote, isDigit, isLetter, isSpace } from './chars.js';
import { replacePattern, trimPrefix, trimSuffix } from './pattern.js';
import type { ExpandResult, ExpandWordsResult, ExpansionEnv } from './types.js';

export type { ExpandResult, ExpandWordsResult, ExpansionEnv } from './types.js';

export type EscapeToken = '\\' | '`';

/** lex.go's optional switches; all off for ordinary Dockerfile expansion. */
export interface ShellLexOptions {
  /** Keep quote characters in the result (lex.go RawQuotes). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the result (lex.go RawEscapes). */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (lex.go SkipProcessQuotes). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset names unexpanded (lex.go SkipUnsetEnv). */
  skipUnsetEnv?: boolean;
}

const EOF = -1;
const BOM = 0xfeff;
const DOLLAR = 0x24;
const SQUOTE = 0x27;
const DQUOTE = 0x22;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COLON = 0x3a;
const SLASH = 0x2f;

/**
 * Longest text one word may expand to. BuildKit has no limit of its own, so `ENV A=$A$A` repeated
 * grows until memory runs out; Linux passes no environment string over 128 KiB to a RUN anyway.
 */
const MAX_EXPANDED_CHARS = 1 << 20;

/**
 * Deepest `${...}` nesting one word may have. Go's growable stack lets BuildKit go on for
 * millions; this recursive lexer runs out of stack near 3000 and reported a RangeError. Real
 * Dockerfiles nest a handful.
 */
const MAX_NESTING = 1000;

/** Inner failure; processWord/processWords wrap it the way lex.go does. */
class LexFailure {
  constructor(readonly message: string) {}
}

/** Go prints string(rune(-1)) as U+FFFD; this keeps modifier texts byte-identical. */
function runeText(cp: number): string {
  return cp === EOF ? '\ufffd' : String.fromCodePoint(cp);
}

function isSpecialParam(cp: number): boolean {
  // @ * # ? - $ ! 0
  return (
    cp === 0x40 ||
    cp === 0x2a ||
    cp === 0x23 ||
    cp === 0x3f ||
    cp === 0x2d ||
    cp === 0x24 ||
    cp === 0x21 ||
    cp === 0x30
  );
}

/** lex.go's wordsStruct: splits on unquoted whitespace that expansion produced. */
class Words {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(cp: number): void {
    if (isSpace(cp)) {
      // An empty quoted string ("") sets inWord without text; like lex.go it is dropped.
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(cp);
    }
  }

  addRawChar(cp: number): void {
    this.word += String.fromCodePoint(cp);
    this.inWord = true;
  }

  /** addChar for each character, appending runs of non-space text in one slice. */
  addString(s: string): void {
    let runStart = 0;
    for (let i = 0; i < s.length; ) {
      const cp = s.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      if (isSpace(cp)) {
        if (i > runStart) this.addRawString(s.slice(runStart, i));
        this.addChar(cp);
        runStart = i + width;
      }
      i += width;
    }
    if (s.length > runStart) this.addRawString(s.slice(runStart));
  }

  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** One expansion run over one word (lex.go shellWord with its text/scanner). */
class WordRun {
  private pos = 0;
  private rawEscapes: boolean;
  readonly used: string[] = [];
  readonly unset: string[] = [];
  private readonly seen = new Set<string>();
  /** `${...}` bodies being read (processStopOn calls with a stop character). */
  private depth = 0;

  constructor(
    private readonly src: string,
    private readonly env: ExpansionEnv,
    private readonly escapeToken: number,
    private readonly opts: Required<ShellLexOptions>,
  ) {
    this.rawEscapes = opts.rawEscapes;
    // Go's text/scanner skips a byte-order mark at the very start.
    if (src.codePointAt(0) === BOM) this.pos = 1;
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : EOF;
  }

  private next(): number {
    if (this.pos >= this.src.length) return EOF;
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private getEnv(name: string): string | undefined {
    const value = this.env.get(name);
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.used.push(name);
      if (value === undefined) this.unset.push(name);
    }
    return value;
  }

  /**
   * lex.go processStopOn. `words` is only wanted at the top level; nested
   * calls (inside `${...}`) pass null and skip the splitting work.
   */
  processStopOn(stop: number, rawEscapes: boolean, words: Words | null): string {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    const nested = stop !== EOF;
    if (nested) this.depth++;
    try {
      if (this.depth > MAX_NESTING) {
        throw new LexFailure(`variable expansions are nested more than ${MAX_NESTING} deep`);
      }
      let result = '';
      const quotes = !this.opts.skipProcessQuotes;
      while (this.pos < this.src.length) {
        let ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return result;
        }
        if (ch === DOLLAR || (quotes && (ch === SQUOTE || ch === DQUOTE))) {
          const part =
            ch === DOLLAR
              ? this.processDollar()
              : ch === SQUOTE
                ? this.processSingleQuote()
                : this.processDoubleQuote();
          result += part;
          if (result.length > MAX_EXPANDED_CHARS) {
            throw new LexFailure(`the expanded text is longer than ${MAX_EXPANDED_CHARS} characters`);
          }
          if (words) {
            if (ch === DOLLAR) words.addString(part);
            else words.addRawString(part);
          }
          continue;
        }
        if (ch !== this.escapeToken) {
          // A run of ordinary characters is copied in one slice; the special
          // characters are all BMP, so scanning UTF-16 units is safe.
          const start = this.pos;
          let end = start + 1;
          for (; end < this.src.length; end++) {
            const c = this.src.charCodeAt(end);
            if (
              c === stop ||
              c === DOLLAR ||
              c === this.escapeToken ||
              (quotes && (c === SQUOTE || c === DQUOTE))
            )
              break;
          }
          const run = this.src.slice(start, end);
          this.pos = end;
          result += run;
          words?.addString(run);
          continue;
        }
        this.next();
        if (this.rawEscapes) {
          words?.addRawChar(ch);
          result += String.fromCodePoint(ch);
        }
        // The escape token escapes the next character; at the end it is dropped.
        ch = this.next();
        if (ch === EOF) break;
        words?.addRawChar(ch);
        result += String.fromCodePoint(ch);
      }
      if (stop !== EOF) {
        throw new LexFailure(`unexpected end of statement while looking for matching ${runeText(stop)}`);
      }
      return result;
    } finally {
      if (nested) this.depth--;
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += String.fromCodePoint(open);
    for (;;) {
      const ch = this.next();
      if (ch === EOF)
        throw new LexFailure('unexpected end of statement while looking for matching single-quote');
      if (ch === SQUOTE) {
        if (this.opts.rawQuotes) result += "'";
        return result;
      }
      result += String.fromCodePoint(ch);
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += String.fromCodePoint(open);
    for (;;) {
      const peeked = this.peek();
      if (peeked === EOF) {
        throw new LexFailure('unexpected end of statement while looking for matching double-quote');
      }
      if (peeked === DQUOTE) {
        this.next();
        if (this.opts.rawQuotes) result += '"';
        return result;
      }
      if (peeked === DOLLAR) {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += String.fromCodePoint(ch);
        const after = this.peek();
        // A trailing escape is dropped; only `"`, `$` and the escape token itself can be escaped.
        if (after === EOF) continue;
        if (after === DQUOTE || after === DOLLAR || after === this.escapeToken) ch = this.next();
      }
      result += String.fromCodePoint(ch);
    }
  }

  private processName(): string {
    let name = '';
    while (this.pos < this.src.length) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        // Positional parameters: all the digits, never letters after them.
        while (this.pos < this.src.length && isDigit(this.peek())) name += String.fromCodePoint(this.next());
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return String.fromCodePoint(this.next());
      if (!isLetter(ch) && !isDigit(ch) && ch !== 0x5f) break;
      name += String.fromCodePoint(this.next());
    }
    return name;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== LBRACE) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `$${name}`;
      return value ?? '';
    }

    this.next();
    const first = this.peek();
    if (first === EOF) throw new LexFailure("syntax error: missing '}'");
    if (first === LBRACE || first === RBRACE || first === COLON) {
      throw new LexFailure('syntax error: bad substitution');
    }
    const name = this.processName();
    let ch = this.next();
    let modifier = runeText(ch);

    if (ch === RBRACE) {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }

    if (ch === SLASH) return this.processReplace(name);

    let nullIsUnset = false;
    if (ch === COLON) {
      nullIsUnset = true;
      ch = this.next();
      modifier += runeText(ch);
    } else if (ch !== 0x2b && ch !== 0x2d && ch !== 0x3f && ch !== 0x23 && ch !== 0x25) {
      throw new LexFailure(`unsupported modifier (${modifier}) in substitution`);
    }

    // After `:` lex.go falls through with whatever character came next.
    const isTrim = ch === 0x23 || ch === 0x25;
    if (nullIsUnset && isTrim) throw new LexFailure(`unsupported modifier (${modifier}) in substitution`);
    let word: string;
    try {
      word = this.processStopOn(RBRACE, isTrim, null);
    } catch (e) {
      if (e instanceof LexFailure && this.peek() === EOF) throw new LexFailure("syntax error: missing '}'");
      throw e;
    }

    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}${modifier}${word}}`;
    const emptyCountsAsUnset = value === undefined || (nullIsUnset && value === '');

    switch (ch) {
      case 0x2d: // -
        return emptyCountsAsUnset ? word : value!;
      case 0x2b: // +
        return emptyCountsAsUnset ? '' : word;
      case 0x3f: // ?
        if (value === undefined)
          throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') {
          throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        }
        return value;
      case 0x23: // #
      case 0x25: {
        // %: a doubled operator asks for the longest match.
        const greedy = word.length > 0 && word.codePointAt(0) === ch;
        const pattern = greedy ? word.slice(1) : word;
        const v = value ?? '';
        return ch === 0x25 ? trimSuffix(pattern, v, greedy) : trimPrefix(pattern, v, greedy);
      }
      default:
        throw new LexFailure(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`. */
  private processReplace(name: string): string {
    const all = this.peek() === SLASH;
    if (all) this.next();
    let pattern: string;
    try {
      pattern = this.processStopOn(SLASH, true, null);
    } catch (e) {
      if (e instanceof LexFailure && this.peek() === EOF)
        // biome-ignore lint/suspicious/noTemplateCurlyInString: BuildKit's message quotes the syntax.
        throw new LexFailure("syntax error: missing '/' in ${}");
      throw e;
    }
    let replacement: string;
    try {
      replacement = this.processStopOn(RBRACE, true, null);
    } catch (e) {
      if (e instanceof LexFailure && this.peek() === EOF) throw new LexFailure("syntax error: missing '}'");
      throw e;
    }
    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    return replacePattern(pattern, value ?? '', replacement, all);
  }
}

export class ShellLex {
  private readonly escapeTokenCp: number;
  private readonly opts: Required<ShellLexOptions>;

  constructor(escapeToken: EscapeToken, options: ShellLexOptions = {}) {
    this.escapeTokenCp = escapeToken.codePointAt(0)!;
    this.opts = {
      rawQuotes: options.rawQuotes ?? false,
      rawEscapes: options.rawEscapes ?? false,
      skipProcessQuotes: options.skipProcessQuotes ?? false,
      skipUnsetEnv: options.skipUnsetEnv ?? false,
    };
  }

  /** lex.go ProcessWord: one string, quotes removed, no word splitting. */
  processWord(word: string, env: ExpansionEnv): ExpandResult {
    const run = new WordRun(word, env, this.escapeTokenCp, this.opts);
    const value = this.run(word, () => run.processStopOn(EOF, this.opts.rawEscapes, null));
    return { value, used: run.used, unset: run.unset };
  }

  /**
   * lex.go ProcessWords: split on whitespace that is literal or produced by an
   * unquoted expansion; quoted text never splits, and empty quoted strings vanish.
   */
  processWords(word: string, env: ExpansionEnv): ExpandWordsResult {
    const run = new WordRun(word, env, this.escapeTokenCp, this.opts);
    const words = new Words();
    this.run(word, () => run.processStopOn(EOF, this.opts.rawEscapes, words));
    return { values: words.finish(), used: run.used, unset: run.unset };
  }

  private run(word: string, body: () => string): string {
    try {
      return body();
    } catch (e) {
      const inner = e instanceof LexFailure || e instanceof SlipwayError ? e.message : String(e);
      throw new SlipwayError('EXPAND', `failed to process ${goQuote(word)}: ${inner}`);
    }
  }
}

/** An environment where every name is set (possibly to ""); names are case-sensitive, as on Linux. */
class MapEnv implements ExpansionEnv {
  constructor(private readonly map: ReadonlyMap<string, string>) {}
  get(name: string): string | undefined {
    return this.map.get(name);
  }
}

/**
 * Build an ExpansionEnv. A `K=V` list follows BuildKit's EnvsFromSlice: the
 * text before the first `=` is the name, an entry without `=` sets the name to
 * "", and a repeated name takes its last value.
 */
export function mapEnv(
  source: Record<string, string> | ReadonlyMap<string, string> | readonly string[],
): ExpansionEnv {
  if (source instanceof Map) return new MapEnv(new Map(source));
  const map = new Map<string, string>();
  if (Array.isArray(source)) {
    for (const entry of source as readonly string[]) {
      const eq = entry.indexOf('=');
      if (eq < 0) map.set(entry, '');
      else map.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return new MapEnv(map);
  }
  for (const [k, v] of Object.entries(source as Record<string, string>)) map.set(k, v);
  return new MapEnv(map);
}

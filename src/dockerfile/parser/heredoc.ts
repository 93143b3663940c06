/**
 * Heredoc detection, as BuildKit does it: split the instruction line with the shell lexer
 * (raw quotes, raw escapes, unset variables left as written), then match each word against
 * `^(\d*)<<(-?)\s*([^<]*)$`, then lex the terminator word twice (with and without quote
 * removal) to learn whether any part of it was quoted. Only the parts of shell.Lex that
 * this path reaches are reproduced here; variable expansion proper lives in ../shell.
 */
import { SlipwayError } from '../../errors.js';
import { goQuote, isGoSpace, isRawByteUnit, runeAt } from './gostr.js';

export interface HeredocMarker {
  name: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number;
}

/** A lexing failure; BuildKit wraps it as `failed to process "<source>": <reason>`. */
export class LexError extends SlipwayError {
  constructor(message: string) {
    super('PARSE', message);
  }
}

interface LexOptions {
  rawQuotes: boolean;
  rawEscapes: boolean;
}

const EOF = -1;
const ESCAPE = 0x5c;

class WordsBuilder {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: number): void {
    if (isGoSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else this.addRawChar(ch);
  }

  addRawChar(ch: number): void {
    this.word += String.fromCodePoint(ch);
    this.inWord = true;
  }

  addString(str: string): void {
    for (const c of str) this.addChar(c.codePointAt(0)!);
  }

  addRawString(str: string): void {
    this.word += str;
    this.inWord = true;
  }

  getWords(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class ShellWords {
  private pos = 0;
  private rawEscapes: boolean;
  private readonly rawQuotes: boolean;

  constructor(
    private readonly src: string,
    opts: LexOptions,
  ) {
    this.rawQuotes = opts.rawQuotes;
    this.rawEscapes = opts.rawEscapes;
    // text/scanner skips a byte-order mark at the very start.
    if (src.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  private peek(): number {
    if (this.pos >= this.src.length) return EOF;
    const [cp] = runeAt(this.src, this.pos);
    return isRawByteUnit(cp) ? 0xfffd : cp;
  }

  private next(): number {
    if (this.pos >= this.src.length) return EOF;
    const [cp, width] = runeAt(this.src, this.pos);
    this.pos += width;
    return isRawByteUnit(cp) ? 0xfffd : cp;
  }

  run(): string[] {
    return this.processStopOn(EOF, this.rawEscapes).words;
  }

  private processStopOn(stopChar: number, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new WordsBuilder();
      for (;;) {
        let ch = this.peek();
        if (ch === EOF) break;
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return { result, words: words.getWords() };
        }
        let special: string | undefined;
        if (ch === 0x24) special = this.processDollar();
        else if (ch === 0x3c) special = this.processPossibleHeredoc();
        else if (ch === 0x27) special = this.processSingleQuote();
        else if (ch === 0x22) special = this.processDoubleQuote();
        if (special !== undefined) {
          result += special;
          if (ch === 0x24) words.addString(special);
          else words.addRawString(special);
          continue;
        }
        ch = this.next();
        if (ch === ESCAPE) {
          if (this.rawEscapes) {
            words.addRawChar(ch);
            result += '\\';
          }
          ch = this.next();
          if (ch === EOF) break;
          words.addRawChar(ch);
        } else words.addChar(ch);
        result += String.fromCodePoint(ch);
      }
      if (stopChar !== EOF) {
        throw new LexError(
          `unexpected end of statement while looking for matching ${String.fromCodePoint(stopChar)}`,
        );
      }
      return { result, words: words.getWords() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = '';
    this.next();
    if (this.rawQuotes) result += "'";
    for (;;) {
      const ch = this.next();
      if (ch === EOF)
        throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === 0x27) {
        if (this.rawQuotes) result += "'";
        return result;
      }
      result += String.fromCodePoint(ch);
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    this.next();
    if (this.rawQuotes) result += '"';
    for (;;) {
      const p = this.peek();
      if (p === EOF)
        throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === 0x22) {
        this.next();
        if (this.rawQuotes) result += '"';
        return result;
      }
      if (p === 0x24) {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === ESCAPE) {
        if (this.rawEscapes) result += '\\';
        const q = this.peek();
        if (q === EOF) continue;
        if (q === 0x22 || q === 0x24 || q === ESCAPE) ch = this.next();
      }
      result += String.fromCodePoint(ch);
    }
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== 0x3c) return '<';
    this.next();
    let space = '';
    for (let c = this.peek(); c === 0x20 || c === 0x09; c = this.peek()) {
      space += String.fromCodePoint(c);
      this.next();
    }
    return `<<${space}`;
  }

  // Every variable is unset here and unset ones are kept as written (SkipUnsetEnv).
  private processDollar(): string {
    this.next();
    if (this.peek() !== 0x7b) {
      const name = this.processName();
      return name === '' ? '$' : `$${name}`;
    }
    this.next();
    const p = this.peek();
    if (p === EOF) throw new LexError("syntax error: missing '}'");
    if (p === 0x7b || p === 0x7d || p === 0x3a) throw new LexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch === EOF ? '\ufffd' : String.fromCodePoint(ch);
    if (ch === 0x7d) return `\${${name}}`;
    if (ch === 0x3a || ch === 0x2b || ch === 0x2d || ch === 0x3f || ch === 0x23 || ch === 0x25) {
      const nullIsUnset = ch === 0x3a;
      if (nullIsUnset) {
        ch = this.next();
        chs += ch === EOF ? '\ufffd' : String.fromCodePoint(ch);
      }
      const raw = ch === 0x23 || ch === 0x25;
      if (nullIsUnset && raw) throw new LexError(`unsupported modifier (${chs}) in substitution`);
      const word = this.stopOnBrace('}', raw, "syntax error: missing '}'");
      return `\${${name}${chs}${word}}`;
    }
    if (ch === 0x2f) {
      if (this.peek() === 0x2f) this.next();
      // biome-ignore lint/suspicious/noTemplateCurlyInString: BuildKit's message names `${}` literally
      const pattern = this.stopOnBrace('/', true, "syntax error: missing '/' in ${}");
      const replacement = this.stopOnBrace('}', true, "syntax error: missing '}'");
      return `\${${name}/${pattern}/${replacement}}`;
    }
    throw new LexError(`unsupported modifier (${chs}) in substitution`);
  }

  private stopOnBrace(stop: string, raw: boolean, atEof: string): string {
    try {
      return this.processStopOn(stop.charCodeAt(0), raw).result;
    } catch (e) {
      if (e instanceof LexError && this.peek() === EOF) throw new LexError(atEof);
      throw e;
    }
  }

  private processName(): string {
    let name = '';
    for (;;) {
      let ch = this.peek();
      if (ch === EOF) break;
      if (name.length === 0 && isUnicodeDigit(ch)) {
        while (this.peek() !== EOF && isUnicodeDigit(this.peek())) {
          ch = this.next();
          name += String.fromCodePoint(ch);
        }
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) {
        this.next();
        return String.fromCodePoint(ch);
      }
      if (!isUnicodeLetter(ch) && !isUnicodeDigit(ch) && ch !== 0x5f) break;
      this.next();
      name += String.fromCodePoint(ch);
    }
    return name;
  }
}

const DIGIT = /^\p{Nd}$/u;
const LETTER = /^\p{L}$/u;

function isUnicodeDigit(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return DIGIT.test(String.fromCodePoint(cp));
}

function isUnicodeLetter(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return LETTER.test(String.fromCodePoint(cp));
}

function isSpecialParam(cp: number): boolean {
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

/** shell.Lex('\\').ProcessWords with an empty environment and SkipUnsetEnv. */
export function lexWords(src: string, opts: LexOptions): string[] {
  try {
    return new ShellWords(src, opts).run();
  } catch (e) {
    if (e instanceof LexError) throw new LexError(`failed to process ${goQuote(src)}: ${e.message}`);
    throw e;
  }
}

function isGoRegexSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/** ParseHeredoc: one word to a heredoc marker, or undefined when it is not one. Throws LexError. */
export function parseHeredocWord(word: string): HeredocMarker | undefined {
  let i = 0;
  while (i < word.length && word.charCodeAt(i) >= 0x30 && word.charCodeAt(i) <= 0x39) i++;
  const digits = word.slice(0, i);
  if (!word.startsWith('<<', i)) return undefined;
  i += 2;
  let chomp = false;
  if (word.charCodeAt(i) === 0x2d) {
    chomp = true;
    i++;
  }
  while (i < word.length && isGoRegexSpace(word.charCodeAt(i))) i++;
  const rest = word.slice(i);
  if (rest.includes('<')) return undefined;
  if (rest.length === 0) return undefined;

  const words = lexWords(rest, { rawQuotes: false, rawEscapes: false });
  if (words.length !== 1) return undefined;
  const wordsRaw = lexWords(rest, { rawQuotes: true, rawEscapes: false });
  if (wordsRaw.length !== words.length) {
    throw new LexError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  const name = words[0]!;
  const expand = countQuotes(name) === countQuotes(wordsRaw[0]!);
  return { name, expand, chomp, fileDescriptor: parseFd(digits) };
}

function parseFd(digits: string): number {
  if (digits === '') return 0;
  const n = Number(digits);
  // strconv.ParseUint saturates on overflow; the error is ignored upstream.
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
}

function countQuotes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x27 || c === 0x22) n++;
  }
  return n;
}

/** heredocsFromLine: markers in an instruction line, in order. Throws LexError. */
export function heredocsFromLine(line: string): HeredocMarker[] {
  let words: string[];
  try {
    words = lexWords(line, { rawQuotes: true, rawEscapes: true });
  } catch (e) {
    if (e instanceof LexError) return [];
    throw e;
  }
  const docs: HeredocMarker[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) docs.push(h);
  }
  return docs;
}

/** ChompHeredocContent: strip leading tabs from every line. */
export function chompHeredocContent(src: string): string {
  if (!src.includes('\t')) return src;
  let out = '';
  let start = 0;
  while (start <= src.length) {
    const nl = src.indexOf('\n', start);
    const end = nl < 0 ? src.length : nl + 1;
    let k = start;
    while (k < end && src.charCodeAt(k) === 0x09) k++;
    out += src.slice(k, end);
    if (nl < 0) break;
    start = end;
  }
  return out;
}

/**
 * The lossless Dockerfile parser: BuildKit's frontend/dockerfile/parser semantics
 * (parser.go, directives.go, line_parsers.go, split_command.go), producing the shared AST.
 * Byte-level quirks are kept: input bytes are decoded so invalid UTF-8 survives (see
 * parser/gostr.ts), and every rule below mirrors an upstream function of the same name.
 */
import { SlipwayError } from '../errors.js';
import type { Directive, DockerfileAST, Heredoc, InstructionNode, ParseWarning, Range } from './ast.js';
import { DirectiveError, DirectiveParser } from './parser/directives.js';
import {
  charCount,
  decodeGoBytes,
  dropFirstByte,
  goByteLength,
  leadingGoSpace,
  toWellFormed,
  trimGoSpace,
} from './parser/gostr.js';
import { chompHeredocContent, heredocsFromLine, LexError } from './parser/heredoc.js';
import { canContainHeredoc, LineError, newNodeFromLine } from './parser/line-parsers.js';

export { detectDirective, detectSyntax, parseAllDirectives } from './parser/directives.js';
export { chompHeredocContent, heredocsFromLine, parseHeredocWord } from './parser/heredoc.js';
export { parseJsonArray, parseWords } from './parser/line-parsers.js';

export interface ParseOptions {
  /** Shown in error positions (`Dockerfile:3:1: ...`). */
  file?: string;
}

/** ParseWarning plus BuildKit's detail and documentation link (extra fields, same shape). */
export interface BuildkitParseWarning extends ParseWarning {
  detail: string;
  url: string;
}

/** Heredoc plus what the contract has no field for. */
export interface ParsedHeredoc extends Heredoc {
  /** The number before `<<` (`3<<EOF`), 0 by default. */
  fileDescriptor: number;
  /** The body exactly as read, before `<<-` tab stripping. */
  rawContent: string;
}

const MAX_LINE_BYTES = 65536;
/** Below this many UTF-16 units a line cannot reach MAX_LINE_BYTES bytes. */
const MAX_SAFE_UNITS = Math.ceil(MAX_LINE_BYTES / 3);

/** bufio.Scanner with BuildKit's scanLines: `\n`-separated, a too-long line ends the input. */
class LineScanner {
  private readonly lines: string[];
  private readonly count: number;
  private idx = -1;
  /** 1-based line that exceeded the size limit, once hit. */
  tooLongLine = 0;

  constructor(text: string) {
    this.lines = text.split('\n');
    this.count = text === '' ? 0 : text.endsWith('\n') ? this.lines.length - 1 : this.lines.length;
  }

  scan(): boolean {
    if (this.tooLongLine !== 0 || this.idx + 1 >= this.count) return false;
    const next = this.lines[this.idx + 1]!;
    if (next.length >= MAX_SAFE_UNITS && goByteLength(next) >= MAX_LINE_BYTES) {
      this.tooLongLine = this.idx + 2;
      return false;
    }
    this.idx++;
    return true;
  }

  /** The current line without its `\n`. */
  get text(): string {
    return this.lines[this.idx]!;
  }

  /** The current line as the scanner hands it on (with its `\n`, if it had one). */
  get token(): string {
    return this.idx < this.lines.length - 1 ? `${this.lines[this.idx]}\n` : this.lines[this.idx]!;
  }
}

function trimNewline(s: string): string {
  let j = s.length;
  while (j > 0) {
    const c = s.charCodeAt(j - 1);
    if (c !== 0x0d && c !== 0x0a) break;
    j--;
  }
  return j === s.length ? s : s.slice(0, j);
}

function isComment(s: string): boolean {
  const t = trimNewline(s);
  return t.charCodeAt(leadingGoSpace(t)) === 0x23;
}

function isEmptyContinuationLine(s: string): boolean {
  const t = trimNewline(s);
  return leadingGoSpace(t) === t.length;
}

function trimLeadingTabs(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 0x09) i++;
  return i === 0 ? s : s.slice(i);
}

/**
 * The escape token ends a line (optionally followed by spaces/tabs) and is not itself
 * escaped: BuildKit's `([^\\])\\[ \t]*$|^\\[ \t]*$`. Returns the line without it.
 */
function trimContinuationCharacter(line: string, escapeToken: string): [string, boolean] {
  let end = line.length;
  while (end > 0) {
    const c = line.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0x09) break;
    end--;
  }
  if (end === 0 || line[end - 1] !== escapeToken) return [line, true];
  if (end === 1) return ['', false];
  if (line[end - 2] === escapeToken) return [line, true];
  return [line.slice(0, end - 1), false];
}

function lineRange(startLine: number, startColumn: number, endLine: number, endText: string): Range {
  return {
    start: { line: startLine, column: startColumn },
    end: { line: endLine, column: charCount(trimNewline(endText)) + 1 },
  };
}

function setRange(node: InstructionNode, range: Range): void {
  node.range = range;
  if (node.child) setRange(node.child, range);
}

const EMPTY_CONTINUATION_DETAIL = 'Empty continuation lines will become errors in a future release';
const EMPTY_CONTINUATION_URL = 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/';

function toText(source: string | Uint8Array): string {
  if (typeof source !== 'string') return decodeGoBytes(source);
  return toWellFormed(source);
}

/** Parses a Dockerfile. Throws SlipwayError('PARSE') with BuildKit's message and a position. */
export function parseDockerfile(source: string | Uint8Array, opts: ParseOptions = {}): DockerfileAST {
  const file = opts.file;
  const fail = (message: string, line: number, column = 1, cause?: unknown): never => {
    throw new SlipwayError('PARSE', message, { file, line: Math.max(line, 1), column, cause });
  };

  const scanner = new LineScanner(toText(source));
  const directiveParser = new DirectiveParser();
  let escapeToken = '\\';
  const directives: Directive[] = [];
  const instructions: InstructionNode[] = [];
  const warnings: BuildkitParseWarning[] = [];
  let comments: string[] = [];
  let currentLine = 0;

  while (scanner.scan()) {
    let raw = scanner.text;
    if (currentLine === 0 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    const trimmed = trimNewline(raw);
    const lead = leadingGoSpace(trimmed);
    const commentLine = trimmed.charCodeAt(lead) === 0x23;
    if (commentLine) {
      const comment = trimGoSpace(dropFirstByte(raw));
      if (comment === '') comments = [];
      else comments.push(comment);
    }

    // processLine(stripLeftWhitespace = true), including the directive check.
    const token = lead === 0 ? trimmed : trimmed.slice(lead);
    if (!directiveParser.done) {
      let found: { name: string; value: string } | undefined;
      try {
        found = directiveParser.parseLine(token);
      } catch (e) {
        if (e instanceof DirectiveError) fail(e.message, currentLine + 1, lead + 1, e);
        throw e;
      }
      if (found) {
        if (found.name === 'escape') {
          if (found.value !== '`' && found.value !== '\\') {
            fail(`invalid escape token '${found.value}' does not match \` or \\`, currentLine + 1, lead + 1);
          }
          escapeToken = found.value;
        }
        directives.push({ ...found, range: lineRange(currentLine + 1, lead + 1, currentLine + 1, raw) });
      }
    }
    const processed = commentLine ? '' : token;
    currentLine++;

    const startLine = currentLine;
    const startColumn = lead + 1;
    let [first, isEndOfLine] = trimContinuationCharacter(processed, escapeToken);
    if (isEndOfLine && first === '') continue;
    const parts = [first];

    let hasEmptyContinuationLine = false;
    while (!isEndOfLine && scanner.scan()) {
      const rawNext = scanner.text;
      currentLine++;
      if (isComment(rawNext)) continue;
      const cont = trimNewline(rawNext);
      if (isEmptyContinuationLine(cont)) {
        hasEmptyContinuationLine = true;
        continue;
      }
      let piece: string;
      [piece, isEndOfLine] = trimContinuationCharacter(cont, escapeToken);
      parts.push(piece);
    }
    const line = parts.length === 1 ? first : parts.join('');
    let endText = scanner.text;

    let node: InstructionNode;
    try {
      node = newNodeFromLine(line, escapeToken, comments);
    } catch (e) {
      if (e instanceof LineError) fail(e.message, startLine, startColumn, e);
      throw e;
    }
    if (hasEmptyContinuationLine) {
      warnings.push({
        message: `Empty continuation line found in: ${line}`,
        detail: EMPTY_CONTINUATION_DETAIL,
        url: EMPTY_CONTINUATION_URL,
        range: lineRange(startLine, startColumn, currentLine, endText),
      });
    }

    if (canContainHeredoc(node) && line.includes('<<')) {
      let markers: ReturnType<typeof heredocsFromLine>;
      try {
        markers = heredocsFromLine(line);
      } catch (e) {
        if (e instanceof LexError) fail(e.message, startLine, startColumn, e);
        throw e;
      }
      const heredocs: ParsedHeredoc[] = [];
      for (const marker of markers) {
        const bodyStart = currentLine + 1;
        const body: string[] = [];
        let terminated = false;
        while (scanner.scan()) {
          currentLine++;
          let candidate = trimNewline(scanner.text);
          if (marker.chomp) candidate = trimLeadingTabs(candidate);
          if (candidate === marker.name) {
            terminated = true;
            break;
          }
          body.push(scanner.token);
        }
        if (!terminated) fail('unterminated heredoc', startLine, startColumn);
        const rawContent = body.join('');
        endText = scanner.text;
        heredocs.push({
          name: marker.name,
          content: marker.chomp ? chompHeredocContent(rawContent) : rawContent,
          rawContent,
          expand: marker.expand,
          chomp: marker.chomp,
          fileDescriptor: marker.fileDescriptor,
          range: lineRange(Math.min(bodyStart, currentLine), 1, currentLine, endText),
        });
      }
      node.heredocs = heredocs;
    }

    setRange(node, lineRange(startLine, startColumn, currentLine, endText));
    instructions.push(node);
    comments = [];
  }

  if (instructions.length === 0) fail('file with no instructions', currentLine);
  if (scanner.tooLongLine !== 0) {
    fail(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES - 1}`, scanner.tooLongLine);
  }
  return { directives, escapeToken, instructions, warnings };
}

/** Exposed for callers that print BuildKit-style warnings. */
export function isBuildkitWarning(w: ParseWarning): w is BuildkitParseWarning {
  return typeof (w as Partial<BuildkitParseWarning>).detail === 'string';
}

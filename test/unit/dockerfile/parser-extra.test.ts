import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DockerfileAST } from '../../../src/dockerfile/ast.js';
import {
  type BuildkitParseWarning,
  chompHeredocContent,
  detectDirective,
  detectSyntax,
  heredocsFromLine,
  type ParsedHeredoc,
  parseAllDirectives,
  parseDockerfile,
  parseHeredocWord,
  parseWords,
} from '../../../src/dockerfile/parser.js';
import { SlipwayError } from '../../../src/errors.js';
import { conformanceDir } from '../../helpers/paths.js';

const extraDir = join(conformanceDir, 'buildkit-parser-extra');
interface HeredocCase {
  name: string;
  content: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number;
}
interface HeredocTables {
  extractHeredocs: {
    dockerfile: string;
    instructions: { index: number; line: string; heredocs: HeredocCase[] | null }[];
  };
  jsonFormHasNoHeredocs: { dockerfile: string; indexesWithoutHeredocs: number[] };
  chomp: { input: string; expected: string };
  heredocWord: { valid: string[]; invalid: string[]; notHeredoc: string[]; expectedName: string };
  heredocsFromLine: { cases: { line: string; names: string[] }[] };
}
interface DetectCase {
  input: string;
  ok: boolean;
  ref?: string;
  cmdline?: string;
  startLine?: number;
  endLine?: number;
}
interface DirectiveTables {
  parseAll: { input: string; expect: { name: string; value: string }[] }[];
  detectSyntax: { cases: DetectCase[] };
  parseDirective: { key: string; cases: DetectCase[] };
}
interface ParserTables {
  parseWords: { cases: { input: string; expect: string[] }[] };
  lineNumbers: { file: string; rootStartLine: number; rootEndLine: number; instructions: [number, number][] };
  emptyContinuationWarnings: {
    dockerfile: string;
    count: number;
    warning0Contains: string[];
    warning1Contains: string[];
    detailContains: string;
  };
  lineTooLong: { dockerfileTemplate: string; fill: string; fillCount: number; expectedError: string };
  jsonArrays: { valid: { input: string; expect: string[] }[]; invalidNotStringArray: string[] };
  nameVal: {
    cases: {
      instruction: string;
      args: string;
      expect?: string[];
      error?: boolean;
      errorContains?: string;
    }[];
  };
}
function load<T>(name: string): T {
  return JSON.parse(readFileSync(join(extraDir, name), 'utf8')) as T;
}

function parseError(source: string): SlipwayError {
  try {
    parseDockerfile(source);
  } catch (e) {
    assert.ok(e instanceof SlipwayError, `expected SlipwayError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a parse error');
}

describe('heredoc.json', () => {
  const data = load<HeredocTables>('heredoc.json');

  it('extractHeredocs', () => {
    const table = data.extractHeredocs;
    const ast = parseDockerfile(table.dockerfile);
    assert.equal(ast.instructions.length, table.instructions.length);
    for (const want of table.instructions) {
      const node = ast.instructions[want.index]!;
      const got = node.heredocs as ParsedHeredoc[];
      if (want.heredocs === null) {
        assert.deepEqual(got, [], `instruction ${want.index} (${want.line}) has no heredocs`);
        continue;
      }
      assert.equal(got.length, want.heredocs.length, `instruction ${want.index}`);
      want.heredocs.forEach((h, i) => {
        const g = got[i]!;
        assert.equal(g.name, h.name);
        assert.equal(g.rawContent, h.content, `raw content of ${h.name}`);
        // The shared contract hands the body on with `<<-` tabs already stripped.
        assert.equal(g.content, h.chomp ? chompHeredocContent(h.content) : h.content);
        assert.equal(g.expand, h.expand, `expand of ${h.name}`);
        assert.equal(g.chomp, h.chomp);
        assert.equal(g.fileDescriptor, h.fileDescriptor);
      });
    }
  });

  it('jsonFormHasNoHeredocs', () => {
    const ast = parseDockerfile(data.jsonFormHasNoHeredocs.dockerfile);
    for (const i of data.jsonFormHasNoHeredocs.indexesWithoutHeredocs) {
      assert.deepEqual(ast.instructions[i]!.heredocs, []);
      assert.equal(ast.instructions[i]!.json, true);
    }
  });

  it('chomp', () => {
    assert.equal(chompHeredocContent(data.chomp.input), data.chomp.expected);
  });

  it('heredocWord', () => {
    const t = data.heredocWord;
    for (const w of t.valid) assert.equal(parseHeredocWord(w)?.name, t.expectedName, w);
    for (const w of t.invalid) assert.throws(() => parseHeredocWord(w), Error, w);
    for (const w of t.notHeredoc) assert.equal(parseHeredocWord(w), undefined, w);
  });

  it('heredocsFromLine', () => {
    for (const c of data.heredocsFromLine.cases) {
      const got = heredocsFromLine(c.line).map((h) => h.name);
      if (c.names.length === 0) assert.deepEqual(got, [], c.line);
      // Upstream checks names positionally for the heredocs it finds.
      for (const [i, name] of got.entries()) assert.equal(name, c.names[i], c.line);
    }
  });
});

describe('directives.json', () => {
  const data = load<DirectiveTables>('directives.json');

  it('parseAll', () => {
    for (const c of data.parseAll) {
      assert.deepEqual(parseAllDirectives(c.input), c.expect);
      const ast = parseDockerfile(`${c.input}FROM scratch\n`);
      assert.deepEqual(
        ast.directives.map((d) => ({ name: d.name, value: d.value })),
        c.expect,
      );
      assert.equal(ast.escapeToken, '\\');
    }
  });

  const check = (c: DetectCase, got: ReturnType<typeof detectSyntax>): void => {
    assert.equal(got !== undefined, c.ok, JSON.stringify(c.input));
    if (c.ref !== undefined) assert.equal(got?.ref ?? '', c.ref);
    if (c.cmdline !== undefined) assert.equal(got?.cmdline ?? '', c.cmdline);
    if (c.startLine !== undefined) assert.equal(got?.line, c.startLine);
    if (c.endLine !== undefined) assert.equal(got?.line, c.endLine);
  };

  it('detectSyntax', () => {
    for (const c of data.detectSyntax.cases) {
      check(c, detectSyntax(c.input));
      check(c, detectSyntax(Buffer.from(c.input, 'utf8')));
    }
  });

  it('parseDirective (check)', () => {
    for (const c of data.parseDirective.cases) check(c, detectDirective(data.parseDirective.key, c.input));
  });
});

describe('parser-tables.json', () => {
  const data = load<ParserTables>('parser-tables.json');

  it('parseWords', () => {
    for (const c of data.parseWords.cases) assert.deepEqual(parseWords(c.input, '\\'), c.expect, c.input);
  });

  it('lineNumbers', () => {
    const t = data.lineNumbers;
    const ast: DockerfileAST = parseDockerfile(readFileSync(join(extraDir, t.file)));
    const first = ast.instructions[0]!;
    const last = ast.instructions[ast.instructions.length - 1]!;
    assert.equal(first.range.start.line, t.rootStartLine);
    assert.equal(last.range.end.line, t.rootEndLine);
    assert.deepEqual(
      ast.instructions.map((n) => [n.range.start.line, n.range.end.line]),
      t.instructions,
    );
    assert.deepEqual(
      ast.directives.map((d) => [d.name, d.value, d.range.start.line]),
      [['escape', '\\', 1]],
    );
  });

  it('emptyContinuationWarnings', () => {
    const t = data.emptyContinuationWarnings;
    const ast = parseDockerfile(t.dockerfile);
    assert.equal(ast.warnings.length, t.count);
    const [w0, w1] = ast.warnings as BuildkitParseWarning[];
    for (const s of t.warning0Contains) assert.ok(w0!.message.includes(s), `${w0!.message} ∌ ${s}`);
    for (const s of t.warning1Contains) assert.ok(w1!.message.includes(s), `${w1!.message} ∌ ${s}`);
    for (const w of [w0!, w1!]) assert.ok(w.detail.includes(t.detailContains));
    assert.deepEqual(
      ast.warnings.map((w) => [w.range.start.line, w.range.end.line]),
      [
        [7, 11],
        [13, 15],
      ],
    );
  });

  it('lineTooLong', () => {
    const t = data.lineTooLong;
    const source = t.dockerfileTemplate.replace('%s', t.fill.repeat(t.fillCount));
    const e = parseError(source);
    assert.equal(e.message, t.expectedError);
    assert.equal(e.line, 3);
    // One byte less fits.
    const ok = parseDockerfile(`FROM image\n${'a'.repeat(65535)}`);
    assert.equal(ok.instructions.length, 2);
    assert.equal(parseError(`FROM image\n${'a'.repeat(65536)}`).message, t.expectedError);
  });

  it('jsonArrays', () => {
    for (const c of data.jsonArrays.valid) {
      const node = parseDockerfile(`CMD ${c.input}`).instructions[0]!;
      assert.deepEqual(node.args, c.expect, c.input);
      assert.equal(node.json, true);
    }
    for (const input of data.jsonArrays.invalidNotStringArray) {
      assert.equal(
        parseError(`CMD ${input}`).message,
        'when using JSON array syntax, arrays must be comprised of strings only',
      );
    }
  });

  it('nameVal', () => {
    for (const c of data.nameVal.cases) {
      const src = `${c.instruction} ${c.args}`;
      if (c.error) assert.ok(parseError(src).message.includes(c.errorContains ?? ''));
      else assert.deepEqual(parseDockerfile(src).instructions[0]!.args, c.expect);
    }
  });
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseIgnoreFile, readIgnoreFile } from '../../../src/context/ignoreFile.js';
import { IgnoreMatcher } from '../../../src/context/matcher.js';
import { isSlipwayError } from '../../../src/errors.js';
import { loadCases } from './cases.js';

const data = loadCases();

describe('ignore file reading (ignorefile.ReadAll)', () => {
  for (const [i, c] of data.ignorefile.entries()) {
    test(`ignorefile-${i + 1}`, () => {
      const got = c.input === null ? [] : parseIgnoreFile(c.input).map((p) => p.pattern);
      assert.deepEqual(got, c.expected);
    });
  }

  test('BOM, CRLF, indented comments and line numbers', () => {
    const got = parseIgnoreFile(
      '\ufeff# comment\r\n  # not a comment\r\n\r\n./a/../b/\r\n!  ./c\n',
      '/x/.dockerignore',
    );
    assert.deepEqual(
      got.map((p) => [p.pattern, p.line]),
      [
        ['# not a comment', 2],
        ['b', 4],
        ['!c', 5],
      ],
    );
    assert.equal(got[0]?.file, '/x/.dockerignore');
  });

  test('Go whitespace rules: NEL is trimmed, U+FEFF inside the text is not', () => {
    assert.deepEqual(
      parseIgnoreFile('\u0085foo\u00a0\nbar\ufeff\n').map((p) => p.pattern),
      ['foo', 'bar\ufeff'],
    );
  });

  test('a lone "/" survives reading', () => {
    assert.deepEqual(
      parseIgnoreFile('/\n//x\n').map((p) => p.pattern),
      ['/', 'x'],
    );
  });
});

describe('readIgnoreFile', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function ctx(files: Record<string, string>): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'slipway-ign-'));
    dirs.push(d);
    for (const [p, t] of Object.entries(files)) {
      await mkdir(join(d, p, '..'), { recursive: true });
      await writeFile(join(d, p), t);
    }
    return d;
  }

  test('no file: no patterns', async () => {
    const d = await ctx({ Dockerfile: 'FROM scratch' });
    assert.deepEqual(await readIgnoreFile(d, 'Dockerfile'), { patterns: [], file: undefined });
  });

  test('<Dockerfile>.dockerignore wins, even when empty', async () => {
    const d = await ctx({ '.dockerignore': '*\n', 'Dockerfile.dockerignore': '', Dockerfile2: '' });
    const specific = await readIgnoreFile(d, 'Dockerfile');
    assert.equal(specific.file, join(d, 'Dockerfile.dockerignore'));
    assert.deepEqual(specific.patterns, []);
    const fallback = await readIgnoreFile(d, 'Dockerfile2');
    assert.equal(fallback.file, join(d, '.dockerignore'));
    assert.deepEqual(
      fallback.patterns.map((p) => p.pattern),
      ['*'],
    );
  });

  test('the specific file sits next to the Dockerfile, not in the context root', async () => {
    const d = await ctx({ 'build/prod.Dockerfile': '', 'build/prod.Dockerfile.dockerignore': 'secret\n' });
    const r = await readIgnoreFile(d, join(d, 'build/prod.Dockerfile'));
    assert.equal(r.file, join(d, 'build/prod.Dockerfile.dockerignore'));
    assert.equal(r.patterns[0]?.line, 1);
  });

  test('an unreadable ignore file is an error, not "absent"', async () => {
    const d = await ctx({ Dockerfile: '' });
    await mkdir(join(d, 'Dockerfile.dockerignore'));
    await assert.rejects(
      readIgnoreFile(d, 'Dockerfile'),
      (e: unknown) => isSlipwayError(e) && e.code === 'DOCKERIGNORE',
    );
  });

  test('bad patterns report the ignore file and line through the matcher', async () => {
    const d = await ctx({ '.dockerignore': 'ok\n\n# c\nsrc/[\n' });
    const r = await readIgnoreFile(d);
    assert.throws(
      () => new IgnoreMatcher(r.patterns),
      (e: unknown) => isSlipwayError(e) && e.file === join(d, '.dockerignore') && e.line === 4,
    );
  });
});

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the shell words under test contain ${...}.
/**
 * BuildKit's own shell-lexer vectors (frontend/dockerfile/shell), read in place
 * from the shared conformance tree. Formats: buildkit-shell/README.md.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mapEnv, ShellLex } from '../../../src/dockerfile/shell/lex.js';
import { SlipwayError } from '../../../src/errors.js';
import { conformanceDir } from '../../helpers/paths.js';

const dir = join(conformanceDir, 'buildkit-shell');
const lex = new ShellLex('\\');

function isExpandError(e: unknown): boolean {
  return e instanceof SlipwayError && e.code === 'EXPAND';
}

describe('envVarTest (ProcessWord)', () => {
  const env = mapEnv({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });
  const lines = readFileSync(join(dir, 'envVarTest'), 'utf8').split('\n');
  let cases = 0;
  for (const [i, line] of lines.entries()) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split('|');
    assert.equal(fields.length, 3, `envVarTest:${i + 1} must have three fields`);
    const [platform, input, expected] = fields.map((f) => f.trim()) as [string, string, string];
    // `W` rows test Windows' case-insensitive names ($pwd finds PWD); slipway expands as on Linux.
    if (platform === 'W') continue;
    assert.ok(platform === 'A' || platform === 'U', `envVarTest:${i + 1} platform ${platform}`);
    cases++;
    test(`line ${i + 1}: ${input}`, () => {
      if (expected === 'error') {
        assert.throws(() => lex.processWord(input, env), isExpandError);
      } else {
        assert.equal(lex.processWord(input, env).value, expected);
      }
    });
  }
  test('covers every Linux row', () => assert.equal(cases, 228));
});

describe('wordsTest (ProcessWords)', () => {
  const lines = readFileSync(join(dir, 'wordsTest'), 'utf8').split('\n');
  const envList: string[] = [];
  let cases = 0;
  for (const [i, line] of lines.entries()) {
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('ENV ')) {
      envList.push(line.slice(3).replace(/^ +/, ''));
      continue;
    }
    const fields = line.split('|');
    assert.equal(fields.length, 2, `wordsTest:${i + 1} must have one |`);
    const input = fields[0]!.trim();
    const expected = fields[1]!.replace(/^ +/, '').split(',');
    const env = mapEnv([...envList]);
    cases++;
    test(`line ${i + 1}: ${input}`, () => {
      let got: string[];
      try {
        got = lex.processWords(input, env).values;
      } catch (e) {
        assert.ok(isExpandError(e));
        got = ['error'];
      }
      assert.deepEqual(got, expected);
    });
  }
  test('covers every case', () => assert.equal(cases, 24));
});

interface MatchCase {
  input: string;
  envs: Record<string, string>;
  expected?: string;
  matched?: string[];
  unmatched?: string[];
  error?: boolean;
}
interface Tables {
  processWordWithMatches: { cases: MatchCase[] };
  mandatoryVars: { cases: { input: string; envs: string[]; expected?: string; errorContains?: string }[] };
  platformWord: { input: string; cases: { envs: Record<string, string>; expected: string }[] };
  envLookup: { cases: { envs: string[]; name: string; expected: string }[] };
}

const tables = JSON.parse(readFileSync(join(dir, 'lex-tables.json'), 'utf8')) as Tables;

describe('lex-tables: processWordWithMatches', () => {
  for (const [i, c] of tables.processWordWithMatches.cases.entries()) {
    test(`#${i}: ${c.input} ${JSON.stringify(c.envs)}`, () => {
      const env = mapEnv(c.envs);
      if (c.error) {
        assert.throws(() => lex.processWord(c.input, env), isExpandError);
        return;
      }
      const r = lex.processWord(c.input, env);
      assert.equal(r.value, c.expected);
      const unset = new Set(r.unset);
      const matched = r.used.filter((n) => !unset.has(n));
      assert.deepEqual([...matched].sort(), [...(c.matched ?? [])].sort());
      assert.deepEqual([...r.unset].sort(), [...(c.unmatched ?? [])].sort());
    });
  }
  test('covers every case', () => assert.equal(tables.processWordWithMatches.cases.length, 47));
});

describe('lex-tables: mandatoryVars', () => {
  for (const [i, c] of tables.mandatoryVars.cases.entries()) {
    test(`#${i}: ${c.input} ${JSON.stringify(c.envs)}`, () => {
      const env = mapEnv(c.envs);
      if (c.errorContains !== undefined) {
        const needle = c.errorContains;
        assert.throws(
          () => lex.processWord(c.input, env),
          (e: unknown) => isExpandError(e) && (e as Error).message.includes(needle),
        );
      } else {
        assert.equal(lex.processWord(c.input, env).value, c.expected);
      }
    });
  }
});

describe('lex-tables: platformWord', () => {
  for (const [i, c] of tables.platformWord.cases.entries()) {
    test(`#${i}: ${JSON.stringify(c.envs)}`, () => {
      assert.equal(lex.processWord(tables.platformWord.input, mapEnv(c.envs)).value, c.expected);
    });
  }
});

describe('lex-tables: envLookup', () => {
  for (const [i, c] of tables.envLookup.cases.entries()) {
    test(`#${i}: ${c.name} in ${JSON.stringify(c.envs)}`, () => {
      assert.equal(mapEnv(c.envs).get(c.name) ?? '', c.expected);
    });
  }
});

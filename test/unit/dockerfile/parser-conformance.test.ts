import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dumpBuildkit } from '../../../src/dockerfile/dump.js';
import { parseDockerfile } from '../../../src/dockerfile/parser.js';
import { SlipwayError } from '../../../src/errors.js';
import { conformanceDir } from '../../helpers/paths.js';

function caseDirs(set: string): string[] {
  const dir = join(conformanceDir, set);
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'Dockerfile')))
    .sort();
}

describe('buildkit-parser golden files', () => {
  const cases = caseDirs('buildkit-parser');
  it('has all 33 cases', () => assert.equal(cases.length, 33));
  for (const name of cases) {
    it(name, () => {
      const dir = join(conformanceDir, 'buildkit-parser', name);
      const source = readFileSync(join(dir, 'Dockerfile'));
      const expected = readFileSync(join(dir, 'result'));
      const got = Buffer.from(`${dumpBuildkit(parseDockerfile(source, { file: 'Dockerfile' }))}\n`, 'utf8');
      assert.equal(got.toString('utf8'), expected.toString('utf8'));
      assert.ok(got.equals(expected), 'byte-exact');
    });
  }
});

describe('buildkit-parser-negative', () => {
  const cases = caseDirs('buildkit-parser-negative');
  it('has all 4 cases', () => assert.equal(cases.length, 4));
  for (const name of cases) {
    it(`${name} fails with a positioned SlipwayError`, () => {
      const source = readFileSync(join(conformanceDir, 'buildkit-parser-negative', name, 'Dockerfile'));
      assert.throws(
        () => parseDockerfile(source, { file: 'Dockerfile' }),
        (e: unknown) =>
          e instanceof SlipwayError &&
          e.code === 'PARSE' &&
          e.file === 'Dockerfile' &&
          typeof e.line === 'number' &&
          e.line >= 1,
      );
    });
  }

  it('reports BuildKit messages', () => {
    const message = (name: string): string => {
      try {
        parseDockerfile(readFileSync(join(conformanceDir, 'buildkit-parser-negative', name, 'Dockerfile')));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    assert.equal(message('empty_dockerfile'), 'file with no instructions');
    assert.equal(message('only_comments'), 'file with no instructions');
    assert.equal(message('env_no_value'), 'ENV must have two arguments');
    assert.equal(
      message('shykes-nested-json'),
      'when using JSON array syntax, arrays must be comprised of strings only',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IgnoreMatcher } from '../../../src/context/matcher.js';
import { isSlipwayError } from '../../../src/errors.js';
import { loadCases } from './cases.js';

const data = loadCases();

function isBadPattern(e: unknown): boolean {
  return isSlipwayError(e) && e.code === 'DOCKERIGNORE';
}

describe('dockerignore pattern cases (moby/patternmatcher)', () => {
  for (const c of data.cases) {
    test(`${c.id} ${JSON.stringify(c.patterns)} ${JSON.stringify(c.path)}`, () => {
      if (c.error === undefined) {
        const m = new IgnoreMatcher(c.patterns);
        assert.equal(m.matches(c.path), c.expected);
        return;
      }
      if (c.errorAt === 'match') {
        const m = new IgnoreMatcher(c.patterns);
        // Every call fails, not just the first (moby/moby#52203 crashed on the second).
        assert.throws(() => m.matches(c.path), isBadPattern);
        assert.throws(() => m.matches(c.path), isBadPattern);
        return;
      }
      assert.throws(() => new IgnoreMatcher(c.patterns).matches(c.path), isBadPattern);
      if (c.errorAt === 'new') assert.throws(() => new IgnoreMatcher(c.patterns), isBadPattern);
    });
  }
});

describe('matcher construction (cleanPatterns)', () => {
  for (const [i, c] of data.cleanPatterns.entries()) {
    test(`cleanPatterns-${i + 1} ${JSON.stringify(c.patterns)}`, () => {
      if (c.error !== undefined) {
        assert.throws(() => new IgnoreMatcher(c.patterns), isBadPattern);
        return;
      }
      const m = new IgnoreMatcher(c.patterns);
      if (c.patternCount !== undefined) assert.equal(m.patternCount, c.patternCount);
      if (c.exclusions !== undefined) assert.equal(m.hasExclusions, c.exclusions);
    });
  }
});

describe('pattern classification (compile, optional upstream detail)', () => {
  for (const c of data.compile) {
    test(`compile ${JSON.stringify(c.pattern)}`, () => {
      const [d] = new IgnoreMatcher([c.pattern]).describe();
      assert.ok(d);
      assert.equal(d.matchType, c.matchType);
      assert.equal(d.goRegexp ?? null, c.regexp);
    });
  }
});

describe('walk-style matching agrees with whole-path matching', () => {
  // matchInWalk carries parent results; for every pattern case path, feeding it the chain of parents
  // must give the same answer as matches() unless the pattern list exercises the documented difference.
  for (const c of data.cases) {
    if (c.error !== undefined || c.path.startsWith('/') || c.path.endsWith('/')) continue;
    test(`${c.id} via parent chain`, () => {
      const m = new IgnoreMatcher(c.patterns);
      const parts = c.path.split('/');
      let state: Uint8Array | undefined;
      let excluded = false;
      for (let i = 0; i < parts.length; i++) {
        const r = m.matchInWalk(parts.slice(0, i + 1).join('/'), state);
        state = r.state;
        excluded = r.excluded;
      }
      assert.equal(excluded, c.expected);
    });
  }
});

describe('matcher details', () => {
  test('bad pattern errors name the file and line', () => {
    try {
      new IgnoreMatcher([{ pattern: 'ok' }, { pattern: 'a[', file: '/ctx/.dockerignore', line: 7 }]);
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(isSlipwayError(e));
      assert.equal(e.code, 'DOCKERIGNORE');
      assert.equal(e.file, '/ctx/.dockerignore');
      assert.equal(e.line, 7);
      assert.match(e.format(), /^\/ctx\/\.dockerignore:7: syntax error in pattern: "a\["/);
    }
  });

  test('a lone "!" is rejected with its position', () => {
    assert.throws(
      () => new IgnoreMatcher([{ pattern: '!', file: 'x/.dockerignore', line: 2 }]),
      (e: unknown) => isSlipwayError(e) && e.line === 2 && /illegal exclusion pattern/.test(e.message),
    );
  });

  test('the parent-results walk differs from whole-path matching where upstream does', () => {
    // "!a" is skipped for directory a (nothing matched yet), so it cannot re-include a/c later.
    const m = new IgnoreMatcher(['a/*', '!a']);
    assert.equal(m.matches('a/c'), false);
    const dir = m.matchInWalk('a', undefined);
    assert.equal(dir.excluded, false);
    assert.equal(m.matchInWalk('a/c', dir.state).excluded, true);
  });

  test('mayIncludeBelow follows fsutil prefix rules', () => {
    const literal = new IgnoreMatcher(['foo*', '!foo/bar2']);
    assert.equal(literal.mayIncludeBelow('foo'), true);
    assert.equal(literal.mayIncludeBelow('foo2'), false);
    // The exception's own directory is walked too (everything inside it is re-included).
    assert.equal(literal.mayIncludeBelow('foo/bar2'), true);
    assert.equal(new IgnoreMatcher(['node_modules']).mayIncludeBelow('node_modules'), false);
    // A wildcard exception could match anywhere: every excluded directory must be walked.
    assert.equal(new IgnoreMatcher(['*', '!**/*.go']).mayIncludeBelow('vendor'), true);
    // Trailing /** or /* of an exception does not count as a wildcard.
    assert.equal(new IgnoreMatcher(['src', '!src/keep/**']).mayIncludeBelow('src'), true);
    assert.equal(new IgnoreMatcher(['src', '!src/keep/**']).mayIncludeBelow('other'), false);
  });

  test('regexp metacharacters and RE2 quirks', () => {
    assert.equal(new IgnoreMatcher(['a+b*']).matches('a+bc'), true);
    assert.equal(new IgnoreMatcher(['a{1}']).matches('a{1}'), true);
    assert.equal(new IgnoreMatcher(['x?.$']).matches('xy.$'), true);
    // A `*` inside brackets is still substituted before RE2 sees the class (upstream quirk).
    assert.equal(new IgnoreMatcher(['[*]']).matches('*'), false);
    // Go RE2 reads \d as a digit class.
    assert.equal(new IgnoreMatcher(['v\\d']).matches('v1'), true);
    assert.equal(new IgnoreMatcher(['v\\d']).matches('vd'), false);
    // Unicode in classes and names.
    assert.equal(new IgnoreMatcher(['[α-ω]*.txt']).matches('βeta.txt'), true);
    assert.equal(new IgnoreMatcher(['*.txt']).matches('dir/ünï.txt'), false);
    assert.equal(new IgnoreMatcher(['**/*.txt']).matches('dir/ünï.txt'), true);
  });

  test('paths are cleaned; the root never matches', () => {
    const m = new IgnoreMatcher(['**']);
    assert.equal(m.matches('.'), false);
    assert.equal(m.matches('./'), false);
    assert.equal(new IgnoreMatcher(['docs']).matches('./docs//README.md'), true);
  });
});

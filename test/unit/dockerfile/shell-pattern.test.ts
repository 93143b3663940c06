// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the shell words under test contain ${...}.
/**
 * Differential test of the table-driven pattern matcher against the regexp
 * BuildKit builds (convertShellPatternToRegex), run by JavaScript's engine,
 * which shares Go's leftmost-first match choice for these patterns. `.` is
 * written `[^\n]` because Go's `.` excludes only `\n`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapEnv, ShellLex } from '../../../src/dockerfile/shell/lex.js';

type Token = 'a' | 'b' | '*' | '?' | '\\*' | '.';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function toRegexSource(tokens: readonly Token[], greedy: boolean): string {
  return tokens
    .map((t) => {
      if (t === '*') return greedy ? '[^\\n]*' : '[^\\n]*?';
      if (t === '?') return '[^\\n]';
      if (t === '\\*') return '\\*';
      if (t === '.') return '\\.';
      return t;
    })
    .join('');
}

function goTrimPrefix(tokens: readonly Token[], value: string, greedy: boolean): string {
  const m = new RegExp(`^${toRegexSource(tokens, greedy)}`).exec(value);
  return m ? value.slice(m[0].length) : value;
}

function goTrimSuffix(tokens: readonly Token[], value: string, greedy: boolean): string {
  const reversed = [...value].reverse().join('');
  return [...goTrimPrefix([...tokens].reverse(), reversed, greedy)].reverse().join('');
}

function goReplace(tokens: readonly Token[], value: string, repl: string, all: boolean): string {
  const re = new RegExp(toRegexSource(tokens, true), 'g');
  if (!all) {
    re.lastIndex = 0;
    const m = re.exec(value);
    return m ? value.slice(0, m.index) + repl + value.slice(m.index + m[0].length) : value;
  }
  // Go's Regexp.replaceAll loop.
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    re.lastIndex = searchPos;
    const m = re.exec(value);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += value.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += repl;
    lastMatchEnd = end;
    searchPos = Math.max(searchPos + 1, end);
  }
  return out + value.slice(lastMatchEnd);
}

test('pattern operators agree with the Go regexp BuildKit would build (4000 random cases)', () => {
  const lex = new ShellLex('\\');
  const rand = rng(20240611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const tokenSet: Token[] = ['a', 'b', '*', '?', '\\*', '.', 'a', '*'];
  const valueChars = ['a', 'b', '\n', '*', '.', 'a'];
  for (let i = 0; i < 4000; i++) {
    const tokens = Array.from({ length: Math.floor(rand() * 5) }, () => pick(tokenSet));
    const value = Array.from({ length: Math.floor(rand() * 9) }, () => pick(valueChars)).join('');
    const pattern = tokens.join('');
    const env = mapEnv({ V: value, P: pattern, R: '<>' });
    const check = (word: string, expected: string): void => {
      assert.equal(
        lex.processWord(word, env).value,
        expected,
        `${word} with V=${JSON.stringify(value)} P=${pattern}`,
      );
    };
    check('${V#$P}', goTrimPrefix(tokens, value, false));
    check('${V##$P}', goTrimPrefix(tokens, value, true));
    check('${V%$P}', goTrimSuffix(tokens, value, false));
    check('${V%%$P}', goTrimSuffix(tokens, value, true));
    check('${V/$P/$R}', goReplace(tokens, value, '<>', false));
    check('${V//$P/$R}', goReplace(tokens, value, '<>', true));
  }
});

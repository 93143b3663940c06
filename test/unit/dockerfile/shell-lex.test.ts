// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the shell words under test contain ${...}.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapEnv, ShellLex } from '../../../src/dockerfile/shell/lex.js';
import { SlipwayError } from '../../../src/errors.js';

const lex = new ShellLex('\\');

function errorOf(fn: () => unknown): SlipwayError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SlipwayError, `expected SlipwayError, got ${String(e)}`);
    assert.equal(e.code, 'EXPAND');
    return e;
  }
  assert.fail('expected an expansion error');
}

describe('used / unset', () => {
  const env = mapEnv({ A: 'a', B: '', C: 'c' });

  test('first-use order, each name once', () => {
    const r = lex.processWord('$C-$A-${C}-$A-$X-${X}', env);
    assert.equal(r.value, 'c-a-c-a--');
    assert.deepEqual(r.used, ['C', 'A', 'X']);
    assert.deepEqual(r.unset, ['X']);
  });

  test('set-but-empty is used, not unset', () => {
    const r = lex.processWord('[$B]', env);
    assert.equal(r.value, '[]');
    assert.deepEqual(r.used, ['B']);
    assert.deepEqual(r.unset, []);
  });

  test("a modifier's word is expanded before its variable is looked up (lex.go order)", () => {
    const r = lex.processWord('${X:-$A}', env);
    assert.equal(r.value, 'a');
    assert.deepEqual(r.used, ['A', 'X']);
  });

  test('defaulted and alternative forms still report the unset name, as lex.go Unmatched does', () => {
    for (const word of ['${X:-d}', '${X-d}', '${X:+d}', '${X+d}', '${X#p}', '${X%%p}', '${X/a/b}']) {
      const r = lex.processWord(word, env);
      assert.deepEqual(r.unset, ['X'], word);
      assert.deepEqual(r.used, ['X'], word);
    }
  });

  test("the unused branch's variables are still looked up (the word is always expanded)", () => {
    const r = lex.processWord('${A:-$Y}', env);
    assert.equal(r.value, 'a');
    assert.deepEqual(r.used, ['Y', 'A']);
    assert.deepEqual(r.unset, ['Y']);
  });

  test('quoted and escaped references', () => {
    assert.deepEqual(lex.processWord(`"$A" '$Z' \\$W`, env).used, ['A']);
  });

  test('positional and special parameters are looked up by their names', () => {
    const r = lex.processWord('$1$@${#}$$', env);
    assert.equal(r.value, '');
    assert.deepEqual(r.unset, ['1', '@', '#', '$']);
  });

  test('processWords reports the same', () => {
    const r = lex.processWords('$A ${X:-x y}', env);
    assert.deepEqual(r.values, ['a', 'x', 'y']);
    assert.deepEqual(r.used, ['A', 'X']);
    assert.deepEqual(r.unset, ['X']);
  });

  test('names are case-sensitive (Linux)', () => {
    const r = lex.processWord('$a', env);
    assert.equal(r.value, '');
    assert.deepEqual(r.unset, ['a']);
  });
});

describe('error texts (BuildKit wording)', () => {
  const env = mapEnv({ E: '', S: 'set', BAD: 'a\\' });
  const cases: [string, string][] = [
    ['${U:?}', 'failed to process "${U:?}": U: is not allowed to be unset'],
    ['${U?}', 'failed to process "${U?}": U: is not allowed to be unset'],
    ['${E:?}', 'failed to process "${E:?}": E: is not allowed to be empty'],
    ['${E:?need $S}', 'failed to process "${E:?need $S}": E: need set'],
    ["'abc", `failed to process "'abc": unexpected end of statement while looking for matching single-quote`],
    [
      '"abc',
      'failed to process "\\"abc": unexpected end of statement while looking for matching double-quote',
    ],
    ['${}', 'failed to process "${}": syntax error: bad substitution'],
    ['${:-x}', 'failed to process "${:-x}": syntax error: bad substitution'],
    ['${', `failed to process "\${": syntax error: missing '}'`],
    ['${S:-abc', `failed to process "\${S:-abc": syntax error: missing '}'`],
    ['${S:=x}', 'failed to process "${S:=x}": unsupported modifier (:=) in substitution'],
    ['${S=x}', 'failed to process "${S=x}": unsupported modifier (=) in substitution'],
    ['${S:x}', 'failed to process "${S:x}": unsupported modifier (:x) in substitution'],
    ['${S:#x}', 'failed to process "${S:#x}": unsupported modifier (:#) in substitution'],
    ['${.}', 'failed to process "${.}": unsupported modifier (.) in substitution'],
    // Go prints string(EOF) as U+FFFD.
    ['${S', 'failed to process "${S": unsupported modifier (\ufffd) in substitution'],
    ['${S/a', `failed to process "\${S/a": syntax error: missing '/' in \${}`],
    ['${S/a/b', `failed to process "\${S/a/b": syntax error: missing '}'`],
    [
      '${S#\\a}',
      'failed to process "${S#\\\\a}": invalid pattern (\\a) in substitution: invalid escape \'\\a\'',
    ],
    [
      '${S#$BAD}',
      'failed to process "${S#$BAD}": invalid pattern (a\\) in substitution: invalid escape \'\\\ufffd\'',
    ],
    // `%` searches reversed text with the reversed pattern, and BuildKit's message shows that.
    [
      '${S%\\ab}',
      'failed to process "${S%\\\\ab}": invalid pattern (b\\a) in substitution: invalid escape \'\\a\'',
    ],
    [
      'a\tb"',
      'failed to process "a\\tb\\"": unexpected end of statement while looking for matching double-quote',
    ],
  ];
  for (const [word, message] of cases) {
    test(word, () => assert.equal(errorOf(() => lex.processWord(word, env)).message, message));
  }
});

describe('quoting and escapes', () => {
  const env = mapEnv({ V: 'x y' });

  test('double quotes only unescape ", $ and the escape token', () => {
    assert.equal(lex.processWord('"\\"\\$V\\\\\\a\\n"', env).value, '"$V\\\\a\\n');
  });

  test('a trailing escape is dropped, inside quotes too', () => {
    assert.equal(lex.processWord('ab\\', env).value, 'ab');
    assert.equal(errorOf(() => lex.processWord('"ab\\', env)).message.includes('double-quote'), true);
  });

  test('backtick escape token: backslash is literal', () => {
    const tick = new ShellLex('`');
    assert.equal(tick.processWord('C:\\$V', env).value, 'C:\\x y');
    assert.equal(tick.processWord('a`$V', env).value, 'a$V');
    assert.equal(tick.processWord('"a`"b`$V\\"', env).value, 'a"b$V\\');
    assert.deepEqual(tick.processWords('a` b c', env).values, ['a b', 'c']);
  });

  test('$ not followed by a name stays literal', () => {
    assert.equal(lex.processWord('$ $. $/ a$', env).value, '$ $. $/ a$');
  });

  test('a leading byte-order mark is skipped, as Go text/scanner does', () => {
    assert.equal(lex.processWord('\ufeffa', env).value, 'a');
  });

  test('non-BMP characters pass through and count as one character for ?', () => {
    const r = lex.processWord('😀${P#?}', mapEnv({ P: '😀b' }));
    assert.equal(r.value, '😀b');
  });
});

describe('word splitting', () => {
  const env = mapEnv({ SP: ' a  b ', E: '', TAB: 'x\ty' });

  test('unquoted expansion splits, quoted does not', () => {
    assert.deepEqual(lex.processWords('[$SP]', env).values, ['[', 'a', 'b', ']']);
    assert.deepEqual(lex.processWords('["$SP"]', env).values, ['[ a  b ]']);
    assert.deepEqual(lex.processWords('$TAB', env).values, ['x', 'y']);
  });

  test('empty quoted strings and empty expansions vanish, as in lex.go', () => {
    assert.deepEqual(lex.processWords('"" a \'\' $E "$E"', env).values, ['a']);
    assert.deepEqual(lex.processWords('""', env).values, []);
  });

  test('processWord keeps whitespace', () => {
    assert.equal(lex.processWord(' a  $SP ', env).value, ' a   a  b  ');
  });

  test('non-breaking space splits (Go unicode.IsSpace) but BOM inside does not', () => {
    assert.deepEqual(lex.processWords('a\u00a0b c\ufeffd', env).values, ['a', 'b', 'c\ufeffd']);
  });
});

describe('patterns', () => {
  const env = mapEnv({
    F: 'foo.tar.gz',
    P: '/usr/local/bin',
    NL: 'a\nb',
    STAR: 'a*b',
    ABC: 'abc',
  });
  const cases: [string, string][] = [
    ['${F#*.}', 'tar.gz'],
    ['${F##*.}', 'gz'],
    ['${F%.*}', 'foo.tar'],
    ['${F%%.*}', 'foo'],
    ['${F#nomatch}', 'foo.tar.gz'],
    ['${F%%}', 'foo.tar.gz'],
    ['${P//\\//:}', ':usr:local:bin'],
    ['${P/\\/usr/}', '/local/bin'],
    ['${F/o/0}', 'f0o.tar.gz'],
    ['${F//o/0}', 'f00.tar.gz'],
    ['${F//[.]/-}', 'foo.tar.gz'],
    // * and ? do not cross newlines (Go's `.`).
    ['${NL#*b}', 'a\nb'],
    ['${NL#?}', '\nb'],
    ['${NL//?/x}', 'x\nx'],
    // Go ReplaceAllString: an empty match right after a match is skipped.
    ['${F//*/x}', 'x'],
    ['${ABC///-}', '-a-b-c-'],
    ['${STAR/\\*/+}', 'a+b'],
    // ReplaceAllString expands $0/${0} (the match) and drops other references; $$ is $.
    ["${F//o/'<$0${0}$1$$>'}", 'f<oo$><oo$>.tar.gz'],
    // The first-match form inserts the replacement verbatim.
    ["${F/o/'<$0>'}", 'f<$0>o.tar.gz'],
  ];
  for (const [word, expected] of cases) {
    test(word, () => assert.equal(lex.processWord(word, env).value, expected));
  }
});

describe('options (lex.go switches)', () => {
  const env = mapEnv({ A: 'a' });

  test('skipUnsetEnv keeps unset references as written', () => {
    const l = new ShellLex('\\', { skipUnsetEnv: true });
    assert.equal(l.processWord('$A $U ${U} ${U:-x} ${U//p/r}', env).value, 'a $U ${U} ${U:-x} ${U/p/r}');
  });

  test('rawQuotes keeps the quotes', () => {
    const l = new ShellLex('\\', { rawQuotes: true });
    assert.equal(l.processWord(`'a' "$A"`, env).value, `'a' "a"`);
  });

  test('rawEscapes keeps the escape tokens', () => {
    const l = new ShellLex('\\', { rawEscapes: true });
    assert.equal(l.processWord('\\$A "\\$A"', env).value, '\\$A \\$A');
  });

  test('skipProcessQuotes treats quotes as text', () => {
    const l = new ShellLex('\\', { skipProcessQuotes: true });
    assert.equal(l.processWord(`'$A' "x`, env).value, `'a' "x`);
  });
});

describe('mapEnv', () => {
  test('K=V list: first = splits, no = means empty, last duplicate wins', () => {
    const env = mapEnv(['A=1=2', 'B', 'C=x', 'C=y']);
    assert.equal(env.get('A'), '1=2');
    assert.equal(env.get('B'), '');
    assert.equal(env.get('C'), 'y');
    assert.equal(env.get('D'), undefined);
  });

  test('records do not leak prototype names', () => {
    const env = mapEnv({ A: '1' });
    assert.equal(env.get('constructor'), undefined);
    assert.equal(env.get('__proto__'), undefined);
  });

  test('maps are copied', () => {
    const m = new Map([['A', '1']]);
    const env = mapEnv(m);
    m.set('A', '2');
    assert.equal(env.get('A'), '1');
  });
});

describe('performance', () => {
  test('10,000 typical words expand in a few milliseconds', () => {
    const env = mapEnv({
      HOME: '/root',
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    });
    const run = (): number => {
      const t0 = performance.now();
      for (let i = 0; i < 10_000; i++) lex.processWord('$HOME/bin:${PATH}', env);
      return performance.now() - t0;
    };
    run(); // warm up the JIT
    const best = Math.min(run(), run(), run());
    // A few ms on an idle machine; the bound leaves room for a busy CI box.
    assert.ok(best < 50, `took ${best.toFixed(1)} ms`);
  });

  test('patterns have no backtracking blow-up', () => {
    const env = mapEnv({ V: 'a'.repeat(20_000) });
    const t0 = performance.now();
    assert.equal(lex.processWord('${V%%*a*a*a*b}', env).value.length, 20_000);
    assert.equal(lex.processWord('${V//*a*a*b/x}', env).value.length, 20_000);
    assert.ok(performance.now() - t0 < 2000);
  });
});

describe('expansion size', () => {
  const half = mapEnv({ A: 'x'.repeat(1 << 19) });

  test('a word may expand to 1 MiB of text', () => {
    assert.equal(lex.processWord('$A$A', half).value.length, 1 << 20);
  });

  test('a word that doubles past 1 MiB (the ENV A=$A$A bomb) fails at once, naming the word', () => {
    const e = errorOf(() => lex.processWords('$A$A$A', half));
    assert.equal(
      e.message,
      'failed to process "$A$A$A": the expanded text is longer than 1048576 characters',
    );
  });
});

describe('expansion nesting', () => {
  const nest = (depth: number) => `${'${a:-'.repeat(depth)}z${'}'.repeat(depth)}`;

  test('a thousand nested defaults expand', () => {
    assert.equal(lex.processWord(nest(1000), mapEnv({})).value, 'z');
  });

  test('deeper nesting fails with a sentence, not a RangeError from the stack', () => {
    const e = errorOf(() => lex.processWords(nest(10_000), mapEnv({})));
    assert.match(e.message, /^failed to process ".*": variable expansions are nested more than 1000 deep$/);
  });

  test('the depth is per word: siblings do not add up', () => {
    assert.equal(lex.processWord(nest(600).repeat(3), mapEnv({})).value, 'zzz');
  });
});

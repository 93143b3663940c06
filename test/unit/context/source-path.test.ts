import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LinkLookup, resolveSourcePath } from '../../../src/context/source-path.js';

/** A tree as path -> link target (string) or a plain node (null). */
function tree(nodes: Record<string, string | null>): LinkLookup {
  return (rel) => {
    if (!(rel in nodes)) return undefined;
    const target = nodes[rel];
    return target === null || target === undefined ? { isLink: false } : { isLink: true, linkTarget: target };
  };
}

test('source paths resolve through links inside the tree, never out of it', () => {
  const t = tree({
    d: null,
    'd/b': null,
    ld: 'd',
    abs: '/d',
    up: '../../../d',
    l: 'd/b',
    dang: 'nothere',
    host: '/etc/passwd',
    'd/back': '../ld/b',
  });
  assert.equal(resolveSourcePath(t, 'd/b', true), 'd/b');
  assert.equal(resolveSourcePath(t, 'ld/b', false), 'd/b');
  assert.equal(resolveSourcePath(t, 'abs/b', false), 'd/b', 'an absolute target starts at the tree root');
  assert.equal(resolveSourcePath(t, 'up/b', false), 'd/b', '`..` stops at the tree root');
  assert.equal(resolveSourcePath(t, 'l', true), 'd/b');
  assert.equal(resolveSourcePath(t, 'l', false), 'l', 'the last link is followed only when asked');
  assert.equal(resolveSourcePath(t, 'd/back', true), 'd/b', 'links through links');
  assert.equal(resolveSourcePath(t, 'dang', true), 'dang', 'a last link to nothing stays a link');
  assert.equal(resolveSourcePath(t, 'host', true), 'host', 'a link to the host stays a link');
  assert.equal(resolveSourcePath(t, 'dang/x', false), undefined, 'a link in the path must lead somewhere');
  assert.equal(resolveSourcePath(t, 'missing', true), undefined);
  assert.equal(resolveSourcePath(t, '.', true), '.');
});

test('link loops and link fans end after 40 links in all', () => {
  assert.equal(resolveSourcePath(tree({ a: 'b', b: 'a' }), 'a', true), 'a');
  // Each link's target passes through the next one several times: without one budget for the
  // whole resolution this would take 4^40 steps.
  const nodes: Record<string, string | null> = { l40: null };
  for (let i = 0; i < 40; i++) nodes[`l${i}`] = [1, 2, 3, 4].map(() => `l${i + 1}`).join('/../');
  const lookup = tree(nodes);
  let asked = 0;
  resolveSourcePath(
    (rel) => {
      asked++;
      return lookup(rel);
    },
    'l0',
    true,
  );
  assert.ok(asked < 1000, `${asked} lookups`);
});

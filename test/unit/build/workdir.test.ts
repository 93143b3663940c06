import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveWorkdir } from '../../../src/build/config-apply.js';

test('WORKDIR: a relative path joins the current one as Go path.Join does; an absolute one is cleaned', () => {
  assert.equal(resolveWorkdir(undefined, 'app'), '/app');
  assert.equal(resolveWorkdir('/c/e', 'sub/'), '/c/e/sub');
  assert.equal(resolveWorkdir('/c/e/sub', '../x//y'), '/c/e/x/y');
  assert.equal(resolveWorkdir('/app', '..'), '/');
  assert.equal(resolveWorkdir('/app', '.'), '/app');
  assert.equal(resolveWorkdir('/a', '/c/./d/../e'), '/c/e');
  // BuildKit 20.10 keeps an absolute WORKDIR's trailing slash in the config, and so does slipway.
  assert.equal(resolveWorkdir('/a', '/app/'), '/app/');
});

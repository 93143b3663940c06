import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSlipwayError } from '../../../src/errors.js';
import {
  familiarName,
  familiarString,
  formatReference,
  normalizeReference,
  parseDockerRef,
  parseReference,
  type Reference,
} from '../../../src/image/reference.js';

const H = 'a'.repeat(64);

/** input → normalized {domain, path, tag?, digest?} (ParseNormalizedNamed: no default tag). */
const good: [string, Reference][] = [
  ['python', { domain: 'docker.io', path: 'library/python' }],
  ['python:3.11-slim', { domain: 'docker.io', path: 'library/python', tag: '3.11-slim' }],
  ['user/app', { domain: 'docker.io', path: 'user/app' }],
  ['user/app:v1.0', { domain: 'docker.io', path: 'user/app', tag: 'v1.0' }],
  ['docker.io/python', { domain: 'docker.io', path: 'library/python' }],
  ['docker.io/library/python:3', { domain: 'docker.io', path: 'library/python', tag: '3' }],
  ['index.docker.io/user/app', { domain: 'docker.io', path: 'user/app' }],
  ['localhost/x', { domain: 'localhost', path: 'x' }],
  ['localhost:5000/x', { domain: 'localhost:5000', path: 'x' }],
  ['localhost:5000/x/y:tag', { domain: 'localhost:5000', path: 'x/y', tag: 'tag' }],
  ['127.0.0.1:5000/app', { domain: '127.0.0.1:5000', path: 'app' }],
  ['[::1]:5000/app', { domain: '[::1]:5000', path: 'app' }],
  ['ghcr.io/owner/repo:v1', { domain: 'ghcr.io', path: 'owner/repo', tag: 'v1' }],
  ['example.com/a/b/c', { domain: 'example.com', path: 'a/b/c' }],
  ['myhost:80/a', { domain: 'myhost:80', path: 'a' }],
  // An uppercase first component can only be a host name.
  ['Registry/app', { domain: 'Registry', path: 'app' }],
  [`python@sha256:${H}`, { domain: 'docker.io', path: 'library/python', digest: `sha256:${H}` }],
  [`python:3@sha256:${H}`, { domain: 'docker.io', path: 'library/python', tag: '3', digest: `sha256:${H}` }],
  ['a__b/c-d--e.f_g', { domain: 'docker.io', path: 'a__b/c-d--e.f_g' }],
  ['app:A_b.c-D', { domain: 'docker.io', path: 'library/app', tag: 'A_b.c-D' }],
  [`app:${'t'.repeat(128)}`, { domain: 'docker.io', path: 'library/app', tag: 't'.repeat(128) }],
];

const bad: [string, string][] = [
  ['', 'invalid reference format'],
  ['Foo', 'invalid reference format: repository name (library/Foo) must be lowercase'],
  ['user/App', 'invalid reference format: repository name (user/App) must be lowercase'],
  ['python:', 'invalid reference format'],
  ['a:b:c', 'invalid reference format'],
  ['-app', 'invalid reference format'],
  ['app-', 'invalid reference format'],
  ['a___b', 'invalid reference format'],
  ['a..b', 'invalid reference format'],
  ['user//app', 'invalid reference format'],
  ['app:-tag', 'invalid reference format'],
  [`app:${'t'.repeat(129)}`, 'invalid reference format'],
  ['app@sha256:abc', 'invalid reference format'],
  ['app name', 'invalid reference format'],
  [H, `invalid repository name (${H}), cannot specify 64-byte hexadecimal strings`],
  [`app@sha256:${'a'.repeat(40)}`, 'invalid checksum digest length'],
  [`app@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
  [`app@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
  [`${'a'.repeat(250)}`, 'repository name must not be more than 255 characters'],
  ['Registry/App', 'invalid reference format: repository name (App) must be lowercase'],
];

test('parseReference: valid references normalize like distribution/reference', () => {
  for (const [input, want] of good) assert.deepEqual(parseReference(input), want, input);
});

test('parseReference: invalid references fail with Docker messages', () => {
  for (const [input, msg] of bad) {
    assert.throws(
      () => parseReference(input),
      (e: unknown) => isSlipwayError(e) && e.code === 'INVALID_REFERENCE' && e.message === msg,
      `${JSON.stringify(input)} should fail with ${msg}`,
    );
  }
});

test('parseDockerRef adds :latest, and keeps only the digest when both are given', () => {
  assert.deepEqual(parseDockerRef('python'), { domain: 'docker.io', path: 'library/python', tag: 'latest' });
  assert.deepEqual(parseDockerRef(`python:3@sha256:${H}`), {
    domain: 'docker.io',
    path: 'library/python',
    digest: `sha256:${H}`,
  });
  assert.equal(normalizeReference('python'), 'docker.io/library/python:latest');
  assert.equal(normalizeReference('python:3.11-slim'), 'docker.io/library/python:3.11-slim');
  assert.equal(normalizeReference('user/app'), 'docker.io/user/app:latest');
  assert.equal(normalizeReference('localhost:5000/x'), 'localhost:5000/x:latest');
  assert.equal(normalizeReference(`user/app@sha256:${H}`), `docker.io/user/app@sha256:${H}`);
});

test('familiarName / familiarString print what docker images shows', () => {
  const table: [string, string, string][] = [
    ['python', 'python', 'python:latest'],
    ['docker.io/library/python:3.11', 'python', 'python:3.11'],
    ['user/app:v1', 'user/app', 'user/app:v1'],
    ['docker.io/library/a/b', 'library/a/b', 'library/a/b:latest'],
    ['localhost:5000/x', 'localhost:5000/x', 'localhost:5000/x:latest'],
    ['ghcr.io/o/r:1', 'ghcr.io/o/r', 'ghcr.io/o/r:1'],
  ];
  for (const [input, name, str] of table) {
    const r = parseDockerRef(input);
    assert.equal(familiarName(r), name, input);
    assert.equal(familiarString(r), str, input);
  }
  assert.equal(formatReference(parseReference('python')), 'docker.io/library/python');
});

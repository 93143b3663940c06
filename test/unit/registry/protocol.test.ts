import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeScopes } from '../../../src/registry/auth.js';
import { parseChallenges } from '../../../src/registry/challenge.js';
import { parseRegistryConfig } from '../../../src/registry/config.js';
import { credentialKey } from '../../../src/registry/credentials.js';
import { errorFromResponse, parseRetryAfter, RegistryError } from '../../../src/registry/errors.js';
import { endpointsFor, isInsecureRegistry, isLoopback, originEndpoint } from '../../../src/registry/hosts.js';
import { NetworkError } from '../../../src/registry/http.js';
import { parseManifestBytes } from '../../../src/registry/manifest.js';
import { parsePlatform, selectManifest } from '../../../src/registry/platform.js';
import { isRetryable } from '../../../src/registry/retry.js';

test('WWW-Authenticate challenges: quoted params, several challenges in one header', () => {
  const c = parseChallenges(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull,push",error="insufficient_scope"',
  );
  assert.equal(c.length, 1);
  assert.equal(c[0]!.scheme, 'bearer');
  assert.deepEqual(c[0]!.params, {
    realm: 'https://auth.docker.io/token',
    service: 'registry.docker.io',
    scope: 'repository:library/python:pull,push',
    error: 'insufficient_scope',
  });
  const two = parseChallenges('Basic realm="reg", Bearer realm="http://t/token",service=x');
  assert.deepEqual(
    two.map((x) => x.scheme),
    ['basic', 'bearer'],
  );
  assert.equal(two[1]!.params.service, 'x');
});

test('registry errors keep the registry words; insufficient_scope is DENIED', () => {
  const body = Buffer.from(
    JSON.stringify({
      errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }],
    }),
  );
  const e = errorFromResponse(404, {}, body, 'GET');
  assert.equal(e.message, 'manifest unknown: manifest unknown');
  assert.equal(e.registryCode, 'MANIFEST_UNKNOWN');
  assert.equal(e.retryable, false);
  const denied = errorFromResponse(
    401,
    {
      'www-authenticate':
        'Bearer realm="r",service="s",scope="repository:a:pull,push",error="insufficient_scope"',
    },
    Buffer.from(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] })),
    'POST',
  );
  assert.equal(denied.message, 'denied: requested access to the resource is denied');
  const unauth = errorFromResponse(
    401,
    {},
    Buffer.from(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] })),
    'GET',
  );
  assert.equal(unauth.message, 'unauthorized: authentication required');
  const busy = errorFromResponse(429, { 'retry-after': '3' }, Buffer.alloc(0), 'GET');
  assert.equal(busy.retryAfter, 3);
  assert.equal(busy.retryable, true);
  assert.equal(errorFromResponse(503, {}, Buffer.from('oops'), 'GET /v2/x').retryable, true);
});

test('retry policy: 5xx, 429 and resets retry; 4xx and TLS errors do not', () => {
  assert.equal(isRetryable(new RegistryError('x', { status: 500 })), true);
  assert.equal(isRetryable(new RegistryError('x', { status: 429 })), true);
  assert.equal(isRetryable(new RegistryError('x', { status: 404 })), false);
  assert.equal(isRetryable(new RegistryError('x', { status: 401 })), false);
  assert.equal(isRetryable(new NetworkError('reset', 'ECONNRESET')), true);
  assert.equal(isRetryable(new NetworkError('tls', 'ERR_TLS_CERT_ALTNAME_INVALID')), false);
  assert.equal(isRetryable(new Error('plain')), false);
  assert.equal(parseRetryAfter('120'), 120);
  assert.equal(parseRetryAfter(new Date(Date.now() + 5000).toUTCString()) !== undefined, true);
});

test('token scopes merge actions per repository in a stable order', () => {
  assert.deepEqual(mergeScopes(['repository:a/b:pull'], ['repository:a/b:push', 'repository:c:pull']), [
    'repository:a/b:pull,push',
    'repository:c:pull',
  ]);
});

test('hosts: docker.io goes to registry-1, loopback is insecure by default, mirrors first', () => {
  const config = {
    registryMirrors: ['http://127.0.0.1:5000'],
    insecureRegistries: ['10.1.0.0/16', 'reg.lan:5000'],
    certsDirs: [],
  };
  assert.equal(originEndpoint('docker.io', { config }).url, 'https://registry-1.docker.io');
  assert.equal(originEndpoint('docker.io', { config }).tlsVerify, true);
  for (const h of ['127.0.0.1:5000', 'localhost:5000', '[::1]:5000', '127.3.4.5'])
    assert.equal(isLoopback(h), true, h);
  assert.equal(isLoopback('10.0.0.1:5000'), false);
  assert.equal(isInsecureRegistry('10.1.2.3:5000', config), true);
  assert.equal(isInsecureRegistry('reg.lan:5000', config), true);
  assert.equal(isInsecureRegistry('ghcr.io', config), false);
  const eps = endpointsFor('docker.io', { config, mirrors: true });
  assert.deepEqual(
    eps.map((e) => [e.url, e.mirror]),
    [
      ['http://127.0.0.1:5000', true],
      ['https://registry-1.docker.io', false],
    ],
  );
  assert.equal(endpointsFor('ghcr.io', { config, mirrors: true }).length, 1);
  const local = originEndpoint('127.0.0.1:5000', { config });
  assert.equal(local.httpFallback, true);
  assert.equal(originEndpoint('ghcr.io', { config, tlsVerify: false }).tlsVerify, false);
});

test('config file: mirrors normalized, bad shapes rejected', () => {
  const c = parseRegistryConfig('{"registryMirrors":["mirror.example/"],"insecureRegistries":["a:1"]}');
  assert.deepEqual(c.registryMirrors, ['https://mirror.example']);
  assert.throws(() => parseRegistryConfig('{"registryMirrors":"x"}'), /must be a list/);
  assert.throws(() => parseRegistryConfig('{'), /invalid config file/);
});

test('credential keys as Docker stores them', () => {
  assert.equal(credentialKey(undefined), 'https://index.docker.io/v1/');
  assert.equal(credentialKey('docker.io'), 'https://index.docker.io/v1/');
  assert.equal(credentialKey('https://index.docker.io/v1/'), 'https://index.docker.io/v1/');
  assert.equal(credentialKey('registry-1.docker.io'), 'https://index.docker.io/v1/');
  assert.equal(credentialKey('http://localhost:5000/v2/'), 'localhost:5000');
  assert.equal(credentialKey('ghcr.io'), 'ghcr.io');
});

test('platform selection skips attestations and normalizes variants', () => {
  const d = (digit: string, os: string, architecture: string, variant?: string, att = false) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${digit.repeat(64)}`,
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
    ...(att ? { annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } } : {}),
  });
  const list = [
    d('0', 'unknown', 'unknown', undefined, true),
    d('1', 'linux', 'amd64'),
    d('2', 'linux', 'arm64', 'v8'),
    d('3', 'linux', 'arm', 'v6'),
  ];
  assert.equal(selectManifest(list, parsePlatform('linux/amd64'))?.digest, list[1]!.digest);
  assert.equal(selectManifest(list, parsePlatform('linux/arm64'))?.digest, list[2]!.digest);
  assert.equal(selectManifest(list, parsePlatform('linux/arm/v7'))?.digest, list[3]!.digest);
  assert.equal(selectManifest(list, parsePlatform('linux/s390x')), undefined);
  assert.equal(
    selectManifest([d('0', 'unknown', 'unknown')], { os: 'unknown', architecture: 'unknown' }),
    undefined,
  );
  assert.throws(() => parsePlatform('linux//x'), /unknown operating system/);
});

test('manifests: schema 1 refused clearly, OCI/Docker/index classified', () => {
  assert.throws(
    () =>
      parseManifestBytes(
        Buffer.from('{"schemaVersion":1,"name":"x","fsLayers":[]}'),
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
        'docker.io/library/x:1',
      ),
    /schema 1 support has been removed/,
  );
  const idx = parseManifestBytes(
    Buffer.from('{"schemaVersion":2,"manifests":[]}'),
    'application/vnd.oci.image.index.v1+json',
    'x',
  );
  assert.equal(idx.kind, 'index');
  const m = parseManifestBytes(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: 'sha256:x', size: 1 },
        layers: [],
      }),
    ),
    undefined,
    'x',
  );
  assert.equal(m.kind, 'manifest');
  assert.equal(m.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.throws(
    () =>
      parseManifestBytes(Buffer.from('{"schemaVersion":2,"mediaType":"application/x-foo"}'), undefined, 'x'),
    /unsupported manifest media type/,
  );
});

test('certs.d: *.crt are CAs added to the default roots, *.cert/*.key a client pair', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { tlsFilesFor } = await import('../../../src/registry/hosts.js');
  const base = mkdtempSync(join(tmpdir(), 'slipway-certs-'));
  mkdirSync(join(base, 'reg.example:5000'));
  writeFileSync(join(base, 'reg.example:5000', 'ca.crt'), 'CA-PEM');
  writeFileSync(join(base, 'reg.example:5000', 'client.cert'), 'CERT-PEM');
  writeFileSync(join(base, 'reg.example:5000', 'client.key'), 'KEY-PEM');
  const files = tlsFilesFor('reg.example:5000', [join(base, 'missing'), base]);
  assert.equal(files.ca?.at(-1), 'CA-PEM');
  assert.ok((files.ca?.length ?? 0) > 1, 'default roots kept');
  assert.equal(files.cert, 'CERT-PEM');
  assert.equal(files.key, 'KEY-PEM');
  assert.deepEqual(tlsFilesFor('other.example', [base]), {});
});

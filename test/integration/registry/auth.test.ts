import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  hasTool,
  makeHtpasswd,
  makeTar,
  type RegistryServer,
  slipway,
  startRegistry,
  startTokenServer,
  type TokenServer,
  tmp,
} from './harness.js';

const haveRegistry = await hasTool('docker-registry', ['--version']);
const haveOpenssl = await hasTool('openssl', ['version']);

function noSecret(out: { stdout: string; stderr: string }, secret: string): void {
  assert.ok(
    !out.stdout.includes(secret) && !out.stderr.includes(secret),
    'a password leaked into the output',
  );
}

describe('registry with htpasswd Basic auth', {
  skip: !haveRegistry && 'docker-registry not installed',
}, () => {
  let reg: RegistryServer | undefined;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let skip: string | undefined;
  const password = 'basic-Secret-1';

  before(async () => {
    work = tmp('basic');
    const file = await makeHtpasswd(work, { alice: password });
    if (!file) {
      skip = 'no bcrypt htpasswd generator (apache2-utils or python3 crypt)';
      return;
    }
    reg = await startRegistry({ kind: 'htpasswd', file });
    env = { DOCKER_CONFIG: join(work, 'docker'), SLIPWAY_CONFIG: join(work, 'slipway.json') };
    const tar = await makeTar(work, 'img', { 'etc/basic': 'basic\n' });
    const imp = await slipway(join(work, 'src'), ['import', tar, `${reg.host}/team/app:v1`], { env });
    assert.equal(imp.status, 0, imp.stderr);
  });
  after(async () => {
    await reg?.stop();
  });

  test('anonymous push is refused with the registry words', async (t) => {
    if (skip || !reg) return t.skip(skip);
    const push = await slipway(join(work, 'src'), ['push', `${reg.host}/team/app:v1`], { env });
    assert.equal(push.status, 1);
    assert.match(push.stderr, /^unauthorized: authentication required$/m);
  });

  test('login: wrong password fails and stores nothing; right one is stored 0600 as base64', async (t) => {
    if (skip || !reg) return t.skip(skip);
    const bad = await slipway(join(work, 'src'), ['login', '-u', 'alice', '--password-stdin', reg.host], {
      env,
      input: 'wrong\n',
    });
    assert.equal(bad.status, 1);
    assert.equal(
      bad.stderr.trim(),
      `Error response from daemon: login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`,
    );
    noSecret(bad, 'wrong');
    assert.ok(!existsSync(join(work, 'docker', 'config.json')));

    const ok = await slipway(join(work, 'src'), ['login', '-u', 'alice', '--password-stdin', reg.host], {
      env,
      input: `${password}\n`,
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, 'Login Succeeded\n');
    // docker/cli 20.10's unencryptedWarning, word for word (stderr).
    assert.equal(
      ok.stderr,
      `WARNING! Your password will be stored unencrypted in ${join(work, 'docker', 'config.json')}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n`,
    );
    noSecret(ok, password);
    const file = join(work, 'docker', 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(doc.auths[reg.host].auth, Buffer.from(`alice:${password}`).toString('base64'));
  });

  test('push and pull with stored credentials, then logout', async (t) => {
    if (skip || !reg) return t.skip(skip);
    const push = await slipway(join(work, 'src'), ['push', `${reg.host}/team/app:v1`], { env });
    assert.equal(push.status, 0, push.stderr);
    noSecret(push, password);
    const pull = await slipway(join(work, 'dst'), ['pull', `${reg.host}/team/app:v1`], { env });
    assert.equal(pull.status, 0, pull.stderr);
    const out = await slipway(join(work, 'dst'), ['logout', reg.host], { env });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout, `Removing login credentials for ${reg.host}\n`);
    const doc = JSON.parse(readFileSync(join(work, 'docker', 'config.json'), 'utf8'));
    assert.equal(doc.auths[reg.host], undefined);
    // Logging out again is not an error and, as in docker, says nothing more.
    const twice = await slipway(join(work, 'dst'), ['logout', reg.host], { env });
    assert.deepEqual(
      [twice.status, twice.stdout, twice.stderr],
      [0, `Removing login credentials for ${reg.host}\n`, ''],
    );
    const again = await slipway(join(work, 'dst2'), ['pull', `${reg.host}/team/app:v1`], { env });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /unauthorized: authentication required/);
  });
});

describe('registry with token auth', {
  skip: (!haveRegistry || !haveOpenssl) && 'docker-registry or openssl missing',
}, () => {
  let reg: RegistryServer;
  let tokens: TokenServer;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const users = { alice: 'tok-Secret-A', bob: 'tok-Secret-B' };

  before(async () => {
    // alice may push everywhere but readonly/*; bob only pulls; anonymous pulls public/*.
    tokens = await startTokenServer(users, (user, repo, actions) => {
      if (user === 'alice')
        return repo.startsWith('readonly/') ? actions.filter((a) => a === 'pull') : actions;
      if (user === 'bob') return actions.filter((a) => a === 'pull');
      return repo.startsWith('public/') ? actions.filter((a) => a === 'pull') : [];
    });
    reg = await startRegistry({
      kind: 'token',
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      certFile: tokens.certFile,
    });
    work = tmp('token');
    env = { DOCKER_CONFIG: join(work, 'docker'), SLIPWAY_CONFIG: join(work, 'slipway.json') };
    const tar = await makeTar(work, 'img', { 'etc/token': 'token\n' });
    for (const name of ['team/app:v1', 'readonly/app:v1', 'public/app:v1']) {
      const imp = await slipway(join(work, 'src'), ['import', tar, `${reg.host}/${name}`], { env });
      assert.equal(imp.status, 0, imp.stderr);
    }
  });
  after(async () => {
    await reg?.stop();
    await tokens?.stop();
  });

  test('login: wrong password → token server words; right one → Login Succeeded', async () => {
    const bad = await slipway(join(work, 'src'), ['login', '-u', 'alice', '-p', 'nope', reg.host], { env });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /unauthorized: incorrect username or password/);
    assert.match(bad.stderr, /WARNING! Using --password via the CLI is insecure/);
    const ok = await slipway(join(work, 'src'), ['login', '-u', 'alice', '--password-stdin', reg.host], {
      env,
      input: users.alice,
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Login Succeeded/);
    noSecret(ok, users.alice);
  });

  test('push with a pull,push token; pull back; tokens asked per repository scope', async () => {
    const push = await slipway(join(work, 'src'), ['push', `${reg.host}/team/app:v1`], { env });
    assert.equal(push.status, 0, push.stderr);
    assert.ok(
      tokens.requests.some((r) => r.user === 'alice' && r.scopes.includes('repository:team/app:pull,push')),
    );
    noSecret(push, users.alice);
    const pull = await slipway(join(work, 'dst'), ['pull', `${reg.host}/team/app:v1`], { env });
    assert.equal(pull.status, 0, pull.stderr);
  });

  test('push without push scope → denied: requested access to the resource is denied', async () => {
    const push = await slipway(join(work, 'src'), ['push', `${reg.host}/readonly/app:v1`], { env });
    assert.equal(push.status, 1);
    assert.equal(push.stderr.trim(), 'denied: requested access to the resource is denied');
  });

  test('anonymous pull of a public repository, denied elsewhere', async () => {
    const alice = await slipway(join(work, 'src'), ['push', `${reg.host}/public/app:v1`], { env });
    assert.equal(alice.status, 0, alice.stderr);
    const anonEnv = { ...env, DOCKER_CONFIG: join(work, 'anon-docker') };
    const pub = await slipway(join(work, 'anon'), ['pull', `${reg.host}/public/app:v1`], { env: anonEnv });
    assert.equal(pub.status, 0, pub.stderr);
    const priv = await slipway(join(work, 'anon'), ['pull', `${reg.host}/team/app:v1`], { env: anonEnv });
    assert.equal(priv.status, 1);
    assert.match(
      priv.stderr,
      /pull access denied for 127\.0\.0\.1:\d+\/team\/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied/,
    );
  });

  test('credentials through a credential helper (credsStore)', async () => {
    const dir = join(work, 'helper');
    const bin = join(dir, 'bin');
    const db = join(dir, 'db');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'docker-credential-slipwaytest'),
      `#!/bin/sh
mkdir -p "${db}"
case "$1" in
  store) in=$(cat); key=$(printf '%s' "$in" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p' | tr '/:' '__'); printf '%s' "$in" > "${db}/$key" ;;
  get) key=$(cat | tr '/:' '__'); if [ -f "${db}/$key" ]; then cat "${db}/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) key=$(cat | tr '/:' '__'); rm -f "${db}/$key" ;;
esac
`,
    );
    chmodSync(join(bin, 'docker-credential-slipwaytest'), 0o755);
    const cfgDir = join(dir, 'docker');
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ credsStore: 'slipwaytest' }));
    const henv = { ...env, DOCKER_CONFIG: cfgDir, PATH: `${bin}:${process.env.PATH}` };
    const login = await slipway(join(work, 'src'), ['login', '-u', 'alice', '--password-stdin', reg.host], {
      env: henv,
      input: users.alice,
    });
    assert.equal(login.status, 0, login.stderr);
    assert.ok(!login.stderr.includes('stored unencrypted'));
    const cfg = readFileSync(join(cfgDir, 'config.json'), 'utf8');
    assert.ok(
      !cfg.includes(Buffer.from(`alice:${users.alice}`).toString('base64')) && !cfg.includes(users.alice),
    );
    assert.deepEqual(JSON.parse(cfg).auths[reg.host], {});
    const push = await slipway(join(work, 'src'), ['push', `${reg.host}/team/app:v1`], { env: henv });
    assert.equal(push.status, 0, push.stderr);
    const out = await slipway(join(work, 'src'), ['logout', reg.host], { env: henv });
    assert.equal(out.status, 0, out.stderr);
    const denied = await slipway(join(work, 'src'), ['push', `${reg.host}/team/app:v1`], { env: henv });
    assert.equal(denied.status, 1);
  });
});

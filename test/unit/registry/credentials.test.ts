import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CredentialStore } from '../../../src/registry/credentials.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'slipway-creds-'));

test('auths entries: base64 user:pass, mode 0600, other keys kept, erase', async () => {
  const dir = tmp();
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      psFormat: 'table',
      auths: { 'other.io': { auth: Buffer.from('a:b').toString('base64') } },
    }),
  );
  const store = new CredentialStore(dir);
  await store.store('localhost:5000', { username: 'alice', password: 'p:w' });
  const doc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(doc.psFormat, 'table');
  assert.equal(doc.auths['localhost:5000'].auth, Buffer.from('alice:p:w').toString('base64'));
  assert.equal(statSync(join(dir, 'config.json')).mode & 0o777, 0o600);
  assert.deepEqual(await store.get('localhost:5000'), { username: 'alice', password: 'p:w' });
  assert.deepEqual(await store.get('http://other.io/'), { username: 'a', password: 'b' });
  assert.equal(await store.get('nothere.io'), undefined);
  assert.equal(await store.erase('localhost:5000'), true);
  assert.equal(await store.get('localhost:5000'), undefined);
  assert.equal(await store.erase('localhost:5000'), false);
});

test('credential helpers: docker-credential-<name> get/store/erase protocol', async () => {
  const dir = tmp();
  const bin = join(dir, 'bin');
  const db = join(dir, 'db');
  mkdirSync(bin, { recursive: true });
  // A real helper process speaking Docker's protocol, storing one JSON document per server.
  const script = `#!/bin/sh
set -e
db="${db}"
mkdir -p "$db"
case "$1" in
  store) in=$(cat); key=$(printf '%s' "$in" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p' | tr '/:' '__'); printf '%s' "$in" > "$db/$key" ;;
  get) key=$(cat | tr '/:' '__'); if [ -f "$db/$key" ]; then cat "$db/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) key=$(cat | tr '/:' '__'); rm -f "$db/$key" ;;
esac
`;
  writeFileSync(join(bin, 'docker-credential-slipwaytest'), script);
  chmodSync(join(bin, 'docker-credential-slipwaytest'), 0o755);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'slipwaytest' }));
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  try {
    const store = new CredentialStore(dir);
    const saved = await store.store('reg.example:5000', { username: 'bob', password: 's3cret' });
    assert.equal(saved.helper, 'slipwaytest');
    const doc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(doc.auths['reg.example:5000'], {});
    assert.ok(!readFileSync(join(dir, 'config.json'), 'utf8').includes('s3cret'));
    assert.deepEqual(await store.get('reg.example:5000'), { username: 'bob', password: 's3cret' });
    assert.equal(await store.get('unknown.example'), undefined);
    assert.equal(await store.erase('reg.example:5000'), true);
    assert.equal(await store.get('reg.example:5000'), undefined);
  } finally {
    process.env.PATH = oldPath;
  }
});

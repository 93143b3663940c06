import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { selfSignedCert } from './harness.js';

test('bin/slipway.js starts Node without NODE_EXTRA_CA_CERTS and hands it on for TLS and children', async (t) => {
  const work = tempDir('extra-ca');
  const { cert, key } = await selfSignedCert(work);

  // Run as an installed `slipway` runs (through the shebang): Node warns about an unreadable
  // NODE_EXTRA_CA_CERTS at start-up, so silence proves it was not loaded.
  const missing = join(work, 'missing.pem');
  const shim = spawnSync(join(repoRoot, 'bin/slipway.js'), ['--version'], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: missing },
    encoding: 'utf8',
  });
  assert.equal(shim.status, 0, shim.stderr);
  assert.doesNotMatch(shim.stderr, /extra certs/i);

  // A server whose CA only the extra file holds is trusted by the registry HTTP client.
  process.env.SLIPWAY_EXTRA_CA_CERTS = cert;
  const { send } = await import('../../../src/registry/http.js');
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (_q, r) => r.end('ok'));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => server.close());
  const url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const res = await send({ method: 'GET', url, tls: { verify: true } });
  assert.equal(res.status, 200);
  res.body.resume();
});

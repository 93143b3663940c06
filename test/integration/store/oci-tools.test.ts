import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { Store } from '../../../src/store/store.js';
import { putFixtureImage, tempRoot } from '../../unit/store/fixtures.js';

const run = promisify(execFile);

function mkTar(files: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = tar.pack();
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
    for (const [name, content] of Object.entries(files)) p.entry({ name, mode: 0o644 }, content);
    p.finalize();
  });
}

async function have(tool: string): Promise<boolean> {
  try {
    await run(tool, ['--version']);
    return true;
  } catch {
    return false;
  }
}

const tools = { skopeo: await have('skopeo'), umoci: await have('umoci') };

test('skopeo and umoci read the store in place, names with / and : included', async (t) => {
  if (!tools.skopeo || !tools.umoci) return t.skip('skopeo/umoci not installed');
  const root = await tempRoot('ocitools');
  try {
    const s = await Store.open(root);
    const img = await putFixtureImage(s, {
      layers: [await mkTar({ 'etc/hello': 'hi\n' }), await mkTar({ 'app/main': 'main' })],
    });
    await s.tag('python:3.11-slim', img.manifestDigest);
    await s.tag('localhost:5000/team/x', img.manifestDigest);
    const dock = await putFixtureImage(s, { layers: [await mkTar({ d: 'd' })], mediaTypes: 'docker' });
    await s.tag('user/app:v1', dock.manifestDigest);
    await putFixtureImage(s, { layers: [await mkTar({ e: 'e' })] }); // dangling: no ref.name
    const oci = join(root, 'oci');

    for (const name of ['docker.io/library/python:3.11-slim', 'localhost:5000/team/x:latest']) {
      const { stdout } = await run('skopeo', ['inspect', `oci:${oci}:${name}`]);
      const info = JSON.parse(stdout) as {
        Digest: string;
        Layers: string[];
        Architecture: string;
        Created: string;
      };
      assert.equal(info.Digest, img.manifestDigest, name);
      assert.deepEqual(
        info.Layers,
        img.layers.map((l) => l.digest),
      );
      assert.equal(info.Architecture, 'amd64');
      const cfg = JSON.parse((await run('skopeo', ['inspect', '--config', `oci:${oci}:${name}`])).stdout);
      assert.deepEqual(cfg.rootfs.diff_ids, img.diffIds);
    }
    // skopeo copy re-reads and verifies every blob's digest.
    const out = join(root, 'copy');
    await run('skopeo', ['copy', `oci:${oci}:docker.io/library/python:3.11-slim`, `dir:${out}`]);
    assert.ok((await readdir(out)).includes('manifest.json'));

    const ls = (await run('umoci', ['ls', '--layout', oci])).stdout.trim().split('\n').sort();
    assert.deepEqual(ls, [
      'docker.io/library/python:3.11-slim',
      'docker.io/user/app:v1',
      'localhost:5000/team/x:latest',
    ]);
    const stat = (await run('umoci', ['stat', '--image', `${oci}:docker.io/library/python:3.11-slim`]))
      .stdout;
    assert.match(stat, /RUN step 1/);
    // umoci unpack checks layer digests and diff_ids while extracting.
    const bundle = join(root, 'bundle');
    await run('umoci', ['unpack', '--image', `${oci}:docker.io/library/python:3.11-slim`, bundle]);
    assert.equal(await readFile(join(bundle, 'rootfs/etc/hello'), 'utf8'), 'hi\n');
    assert.equal(await readFile(join(bundle, 'rootfs/app/main'), 'utf8'), 'main');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('an image skopeo copies into the layout is visible to the store', async (t) => {
  if (!tools.skopeo) return t.skip('skopeo not installed');
  const root = await tempRoot('ocitools2');
  try {
    const s = await Store.open(root);
    const img = await putFixtureImage(s, { layers: [await mkTar({ f: 'f' })] });
    await s.tag('src', img.manifestDigest);
    const oci = join(root, 'oci');
    // skopeo writes its own index entry (no io.slipway.* annotations) under the name we give it.
    await run('skopeo', [
      'copy',
      `oci:${oci}:docker.io/library/src:latest`,
      `oci:${oci}:docker.io/library/copied:1`,
    ]);
    const rec = await s.resolve('copied:1');
    assert.equal(rec.id, img.configDigest);
    assert.deepEqual(rec.config.rootfs.diff_ids, img.diffIds);
    await s.tag('copied:2', rec.manifestDigest);
    assert.deepEqual((await s.resolve('copied:2')).names.sort(), [
      'docker.io/library/copied:1',
      'docker.io/library/copied:2',
      'docker.io/library/src:latest',
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

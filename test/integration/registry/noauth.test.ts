import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256Digest } from '../../../src/image/digest.js';
import { pullImage } from '../../../src/registry/pull.js';
import { pushImage } from '../../../src/registry/push.js';
import { Store } from '../../../src/store/store.js';
import {
  freePort,
  hasTool,
  makeTar,
  type RegistryServer,
  run,
  selfSignedCert,
  slipway,
  startFaultProxy,
  startRegistry,
  tmp,
} from './harness.js';

const haveRegistry = await hasTool('docker-registry', ['--version']);
const haveSkopeo = await hasTool('skopeo');

/** GET a manifest straight from the registry (no slipway involved). */
function rawManifest(host: string, repo: string, ref: string): Promise<{ body: Buffer; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(
        `http://${host}/v2/${repo}/manifests/${ref}`,
        {
          headers: {
            Accept:
              'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ body: Buffer.concat(chunks), type: String(res.headers['content-type']) }),
          );
        },
      )
      .on('error', reject);
  });
}

function rawPut(host: string, path: string, type: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `http://${host}${path}`,
      { method: 'PUT', headers: { 'Content-Type': type, 'Content-Length': body.length } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function blobFiles(root: string): string[] {
  const dir = join(root, 'oci', 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe('registry without auth', { skip: !haveRegistry && 'docker-registry not installed' }, () => {
  let reg: RegistryServer;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let smallTar: string;
  let bigTar: string;
  const srcRoot = () => join(work, 'src-root');

  before(async () => {
    reg = await startRegistry();
    work = tmp('noauth');
    env = { DOCKER_CONFIG: join(work, 'docker'), SLIPWAY_CONFIG: join(work, 'slipway.json') };
    smallTar = await makeTar(work, 'small', { 'etc/hello': 'hello\n', 'bin/tool': 'x'.repeat(2000) });
    bigTar = await makeTar(work, 'big', { 'data/random.bin': randomBytes(1 << 20) });
    const imp = await slipway(srcRoot(), ['import', smallTar, `${reg.host}/test/app:v1`], { env });
    assert.equal(imp.status, 0, imp.stderr);
    const big = await slipway(srcRoot(), ['import', bigTar, `${reg.host}/faults/big:v1`], { env });
    assert.equal(big.status, 0, big.stderr);
  });
  after(async () => {
    await reg?.stop();
  });

  test('push prints Docker lines; a second push finds the layers; pull into a fresh root', async () => {
    const push = await slipway(srcRoot(), ['push', `${reg.host}/test/app:v1`], { env });
    assert.equal(push.status, 0, push.stderr);
    const lines = push.stdout.trim().split('\n');
    assert.equal(lines[0], `The push refers to repository [${reg.host}/test/app]`);
    assert.match(push.stdout, /^[0-9a-f]{12}: Preparing$/m);
    // Docker names a pushed layer by its diff ID, not by the compressed blob's digest.
    const srcStore = await Store.open(srcRoot());
    const srcImage = await srcStore.resolve(`${reg.host}/test/app:v1`);
    const diffId = srcImage.config.rootfs.diff_ids[0]!.slice(7, 19);
    assert.match(push.stdout, new RegExp(`^${diffId}: Preparing$`, 'm'));
    assert.match(push.stdout, new RegExp(`^${diffId}: Pushed$`, 'm'));
    await srcStore.close();
    assert.match(lines.at(-1)!, /^v1: digest: sha256:[0-9a-f]{64} size: \d+$/);
    const pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(lines.at(-1)!)![1]!;
    const again = await slipway(srcRoot(), ['push', `${reg.host}/test/app:v1`], { env });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^[0-9a-f]{12}: Layer already exists$/m);

    const root = join(work, 'pull-root');
    const pull = await slipway(root, ['pull', `${reg.host}/test/app:v1`], { env });
    assert.equal(pull.status, 0, pull.stderr);
    const out = pull.stdout.trim().split('\n');
    assert.equal(out[0], 'v1: Pulling from test/app');
    assert.match(pull.stdout, /^[0-9a-f]{12}: Pull complete$/m);
    assert.ok(out.includes(`Digest: ${pushedDigest}`), pull.stdout);
    assert.ok(out.includes(`Status: Downloaded newer image for ${reg.host}/test/app:v1`));
    assert.equal(out.at(-1), `${reg.host}/test/app:v1`);
    const store = await Store.open(root);
    const img = await store.resolve(`${reg.host}/test/app:v1`);
    assert.equal(img.manifestDigest, pushedDigest);
    const src = await (await Store.open(srcRoot())).resolve(`${reg.host}/test/app:v1`);
    assert.equal(img.id, src.id);

    const second = await slipway(root, ['pull', `${reg.host}/test/app:v1`], { env });
    assert.equal(second.status, 0, second.stderr);
    assert.match(
      second.stdout,
      new RegExp(`Status: Image is up to date for ${reg.host.replace(/\./g, '\\.')}/test/app:v1`),
    );

    const q = await slipway(join(work, 'quiet-root'), ['pull', '-q', `${reg.host}/test/app:v1`], { env });
    assert.equal(q.stdout, `${reg.host}/test/app:v1\n`);
    const byDigest = await slipway(
      join(work, 'digest-root'),
      ['pull', `${reg.host}/test/app@${pushedDigest}`],
      { env },
    );
    assert.equal(byDigest.status, 0, byDigest.stderr);
    assert.equal(
      byDigest.stdout.split('\n')[0],
      `${reg.host}/test/app@${pushedDigest}: Pulling from test/app`,
    );
  });

  test('unknown tag and unknown image give the registry words', async () => {
    const r = await slipway(join(work, 'missing-root'), ['pull', `${reg.host}/test/app:nope`], { env });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr.trim(),
      `Error response from daemon: manifest for ${reg.host}/test/app:nope not found: manifest unknown: manifest unknown`,
    );
    // moby prints "Pulling from" only once it has the manifest.
    assert.equal(r.stdout, '');
    const p = await slipway(srcRoot(), ['push', `${reg.host}/test/none:v1`], { env });
    assert.equal(p.status, 1);
    assert.match(p.stderr, /An image does not exist locally with the tag: 127\.0\.0\.1:\d+\/test\/none/);
    assert.equal(p.stdout, `The push refers to repository [${reg.host}/test/none]\n`);
  });

  test("unreachable registry and malformed names fail at once in Docker's words", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const dial = `Get "http://${host}/v2/": dial tcp ${host}: connect: connection refused`;
    const started = Date.now();
    const pull = await slipway(join(work, 'refused-root'), ['pull', `${host}/x/y:1`], { env });
    assert.equal(pull.status, 1);
    assert.equal(pull.stdout, '');
    assert.equal(pull.stderr, `Error response from daemon: ${dial}\n`);
    const tag = await slipway(srcRoot(), ['tag', `${reg.host}/test/app:v1`, `${host}/x/y:1`], { env });
    assert.equal(tag.status, 0, tag.stderr);
    const push = await slipway(srcRoot(), ['push', `${host}/x/y:1`], { env });
    assert.equal(push.status, 1);
    assert.equal(push.stdout, `The push refers to repository [${host}/x/y]\n`);
    assert.equal(push.stderr, `${dial}\n`);
    // A refused first contact is not retried (Docker gives up at once).
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
    for (const verb of ['pull', 'push']) {
      const bad = await slipway(srcRoot(), [verb, 'a::b'], { env });
      assert.equal(bad.status, 1);
      assert.equal(bad.stderr, 'invalid reference format\n');
    }
  });

  test("skopeo reads what slipway pushed; slipway pulls what skopeo pushed from slipway's layout", {
    skip: !haveSkopeo && 'skopeo not installed',
  }, async () => {
    const push = await slipway(srcRoot(), ['push', `${reg.host}/test/app:v1`], { env });
    assert.equal(push.status, 0, push.stderr);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)![1];
    const inspect = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://${reg.host}/test/app:v1`,
    ]);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout).Digest, digest);
    const ociDir = join(work, 'skopeo-oci');
    const copy = await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${reg.host}/test/app:v1`,
      `oci:${ociDir}:app`,
    ]);
    assert.equal(copy.status, 0, copy.stderr);

    const up = await run('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${join(srcRoot(), 'oci')}:${reg.host}/test/app:v1`,
      `docker://${reg.host}/from-skopeo/app:v2`,
    ]);
    assert.equal(up.status, 0, up.stderr);
    const root = join(work, 'skopeo-pull-root');
    const pull = await slipway(root, ['pull', `${reg.host}/from-skopeo/app:v2`], { env });
    assert.equal(pull.status, 0, pull.stderr);
    const img = await (await Store.open(root)).resolve(`${reg.host}/from-skopeo/app:v2`);
    const src = await (await Store.open(srcRoot())).resolve(`${reg.host}/test/app:v1`);
    assert.equal(img.id, src.id);
  });

  test('pull --all-tags: each tag in the registry order, one status line, the repository last', async () => {
    for (const t of ['b', 'a']) {
      const tag = await slipway(
        srcRoot(),
        ['tag', `${reg.host}/test/app:v1`, `${reg.host}/alltags/app:${t}`],
        {
          env,
        },
      );
      assert.equal(tag.status, 0, tag.stderr);
    }
    const push = await slipway(srcRoot(), ['push', '-a', `${reg.host}/alltags/app`], { env });
    assert.equal(push.status, 0, push.stderr);
    const listed = JSON.parse(
      await new Promise<string>((resolve, reject) => {
        http
          .get(`http://${reg.host}/v2/alltags/app/tags/list`, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      }),
    ).tags as string[];
    const root = join(work, 'alltags-root');
    const pull = await slipway(root, ['pull', '-a', `${reg.host}/alltags/app`], { env });
    assert.equal(pull.status, 0, pull.stderr);
    const lines = pull.stdout.trim().split('\n');
    assert.deepEqual(
      lines.filter((l) => l.includes('Pulling from')),
      listed.map((t) => `${t}: Pulling from alltags/app`),
    );
    // The second tag names an image pulled a moment ago: moby prints no layer lines for it.
    const second = lines.indexOf(`${listed[1]}: Pulling from alltags/app`);
    assert.match(lines[second + 1]!, /^Digest: sha256:/);
    assert.deepEqual(lines.slice(-2), [
      `Status: Downloaded newer image for ${reg.host}/alltags/app`,
      `${reg.host}/alltags/app`,
    ]);
    const again = await slipway(root, ['pull', '-a', `${reg.host}/alltags/app`], { env });
    assert.match(again.stdout, new RegExp(`^Status: Image is up to date for ${reg.host}/alltags/app$`, 'm'));
    const images = await slipway(root, ['images', '--format', '{{.Tag}}'], { env });
    assert.deepEqual(images.stdout.trim().split('\n').sort(), ['a', 'b']);
    for (const verb of ['pull', 'push']) {
      const r = await slipway(root, [verb, '-a', `${reg.host}/alltags/app:a`], { env });
      assert.deepEqual([r.status, r.stderr], [1, "tag can't be used with --all-tags/-a\n"]);
    }
  });

  test('cross-repository mount for blobs pushed to another repository', async () => {
    const first = await slipway(srcRoot(), ['push', `${reg.host}/test/app:v1`], { env });
    assert.equal(first.status, 0, first.stderr);
    const tag = await slipway(srcRoot(), ['tag', `${reg.host}/test/app:v1`, `${reg.host}/other/app:v1`], {
      env,
    });
    assert.equal(tag.status, 0, tag.stderr);
    const push = await slipway(srcRoot(), ['push', `${reg.host}/other/app:v1`], { env });
    assert.equal(push.status, 0, push.stderr);
    assert.match(push.stdout, /^[0-9a-f]{12}: Mounted from test\/app$/m);
  });

  test('chunked upload of a large blob (library API), pulled back intact', async () => {
    const store = await Store.open(srcRoot());
    const lines: string[] = [];
    const res = await pushImage(store, `${reg.host}/faults/big:v1`, {
      chunkThreshold: 64 << 10,
      chunkSize: 256 << 10,
      onProgress: (l) => lines.push(l),
      config: { registryMirrors: [], insecureRegistries: [], certsDirs: [] },
    });
    assert.equal(res.layers[0]?.status, 'pushed');
    const m = await rawManifest(reg.host, 'faults/big', 'v1');
    assert.equal(sha256Digest(m.body), res.digest);
    const root = join(work, 'big-root');
    const pulled = await pullImage(await Store.open(root), `${reg.host}/faults/big:v1`, {
      config: { registryMirrors: [], insecureRegistries: [], certsDirs: [] },
    });
    assert.equal(pulled.manifestDigest, res.digest);
    assert.ok(pulled.record.names.includes(`${reg.host}/faults/big:v1`));
  });

  test('image index: host platform by default, --platform picks another, attestations skipped', async () => {
    const store = await Store.open(srcRoot());
    const base = await store.resolve(`${reg.host}/test/app:v1`);
    const layers = (await store.readManifest(base.manifestDigest)).layers;
    const arm = await store.putImage({
      config: { ...base.config, architecture: 'arm64', variant: 'v8' },
      layers,
    });
    await store.tag(`${reg.host}/multi/app:arm64`, arm.manifestDigest);
    await store.tag(`${reg.host}/multi/app:amd64`, base.manifestDigest);
    for (const t of ['arm64', 'amd64']) {
      const p = await slipway(srcRoot(), ['push', `${reg.host}/multi/app:${t}`], { env });
      assert.equal(p.status, 0, p.stderr);
    }
    const desc = async (d: string) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: d,
      size: (await store.readBlob(d)).length,
    });
    const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const hostDigest = hostArch === 'arm64' ? arm.manifestDigest : base.manifestDigest;
    const otherDigest = hostArch === 'arm64' ? base.manifestDigest : arm.manifestDigest;
    const otherArch = hostArch === 'arm64' ? 'amd64' : 'arm64';
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          ...(await desc(otherDigest)),
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
        },
        { ...(await desc(base.manifestDigest)), platform: { os: 'linux', architecture: 'amd64' } },
        {
          ...(await desc(arm.manifestDigest)),
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
      ],
    };
    const bytes = Buffer.from(JSON.stringify(index));
    assert.equal(
      await rawPut(
        reg.host,
        '/v2/multi/app/manifests/latest',
        'application/vnd.oci.image.index.v1+json',
        bytes,
      ),
      201,
    );
    const root = join(work, 'index-root');
    const pull = await slipway(root, ['pull', `${reg.host}/multi/app`], { env });
    assert.equal(pull.status, 0, pull.stderr);
    assert.match(pull.stdout, /^Using default tag: latest$/m);
    assert.ok(pull.stdout.includes(`Digest: ${sha256Digest(bytes)}`), pull.stdout);
    assert.equal(
      (await (await Store.open(root)).resolve(`${reg.host}/multi/app`)).manifestDigest,
      hostDigest,
    );
    const root2 = join(work, 'index-root2');
    const other = await slipway(
      root2,
      ['pull', '--platform', `linux/${otherArch}`, `${reg.host}/multi/app:latest`],
      { env },
    );
    assert.equal(other.status, 0, other.stderr);
    const rec = await (await Store.open(root2)).resolve(`${reg.host}/multi/app`);
    assert.equal(rec.manifestDigest, otherDigest);
    assert.equal(rec.config.architecture, otherArch);
    const none = await slipway(
      join(work, 'index-root3'),
      ['pull', '--platform', 'linux/s390x', `${reg.host}/multi/app`],
      { env },
    );
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
  });

  test('docker.io mirror from SLIPWAY_CONFIG serves `pull busybox`', async () => {
    const tag = await slipway(
      srcRoot(),
      ['tag', `${reg.host}/test/app:v1`, `${reg.host}/library/busybox:latest`],
      { env },
    );
    assert.equal(tag.status, 0, tag.stderr);
    const push = await slipway(srcRoot(), ['push', `${reg.host}/library/busybox:latest`], { env });
    assert.equal(push.status, 0, push.stderr);
    const cfg = join(work, 'mirror.json');
    writeFileSync(cfg, JSON.stringify({ registryMirrors: [`http://${reg.host}`] }));
    const root = join(work, 'mirror-root');
    const pull = await slipway(root, ['pull', 'busybox'], { env: { ...env, SLIPWAY_CONFIG: cfg } });
    assert.equal(pull.status, 0, pull.stderr);
    assert.match(pull.stdout, /^latest: Pulling from library\/busybox$/m);
    assert.match(pull.stdout, /^Status: Downloaded newer image for busybox:latest$/m);
    assert.equal(pull.stdout.trim().split('\n').at(-1), 'docker.io/library/busybox:latest');
    const images = await slipway(root, ['images'], { env });
    assert.match(images.stdout, /^busybox\s+latest\s/m);
  });

  describe('faults between slipway and the registry', () => {
    let layerDigest: string;
    before(async () => {
      const push = await slipway(srcRoot(), ['push', `${reg.host}/faults/big:v1`], { env });
      assert.equal(push.status, 0, push.stderr);
      const m = JSON.parse((await rawManifest(reg.host, 'faults/big', 'v1')).body.toString());
      layerDigest = m.layers[0].digest;
    });

    test('a connection dropped mid-blob resumes with Range', async () => {
      const proxy = await startFaultProxy(reg.host, (r) =>
        r.method === 'GET' && r.path.endsWith(`/blobs/${layerDigest}`) && r.count === 1
          ? { kind: 'drop-after', bytes: 300_000 }
          : { kind: 'pass' },
      );
      try {
        const root = join(work, 'drop-root');
        const pull = await slipway(root, ['pull', `${proxy.host}/faults/big:v1`], { env });
        assert.equal(pull.status, 0, pull.stderr);
        const gets = proxy.log.filter((l) => l.method === 'GET' && l.path.endsWith(layerDigest));
        assert.equal(gets.length, 2, JSON.stringify(proxy.log));
        assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
        assert.ok(blobFiles(root).includes(layerDigest.slice(7)));
      } finally {
        await proxy.stop();
      }
    });

    test('500s and a 503 with Retry-After are retried', async () => {
      const proxy = await startFaultProxy(reg.host, (r) => {
        if (r.method === 'GET' && r.path.includes('/manifests/') && r.count <= 2)
          return { kind: 'status', status: 500 };
        if (r.method === 'GET' && r.path.endsWith(`/blobs/${layerDigest}`) && r.count === 1)
          return { kind: 'status', status: 503, headers: { 'Retry-After': '1' } };
        return { kind: 'pass' };
      });
      try {
        const started = Date.now();
        const pull = await slipway(join(work, 'retry-root'), ['pull', `${proxy.host}/faults/big:v1`], {
          env,
        });
        assert.equal(pull.status, 0, pull.stderr);
        assert.ok(Date.now() - started >= 1000, 'Retry-After honoured');
        assert.equal(proxy.log.filter((l) => l.path.endsWith(`/blobs/${layerDigest}`)).length, 2);
      } finally {
        await proxy.stop();
      }
    });

    test('a corrupted byte fails with a digest error and stores nothing', async () => {
      const proxy = await startFaultProxy(reg.host, (r) =>
        r.method === 'GET' && r.path.endsWith(`/blobs/${layerDigest}`)
          ? { kind: 'corrupt', at: 4242 }
          : { kind: 'pass' },
      );
      try {
        const root = join(work, 'corrupt-root');
        const pull = await slipway(root, ['pull', `${proxy.host}/faults/big:v1`], { env });
        assert.equal(pull.status, 1);
        assert.match(
          pull.stderr,
          new RegExp(`filesystem layer verification failed for digest ${layerDigest}`),
        );
        assert.match(pull.stderr, /digest mismatch/);
        const images = await slipway(root, ['images', '-q'], { env });
        assert.equal(images.stdout.trim(), '');
        const files = blobFiles(root);
        assert.ok(!files.includes(layerDigest.slice(7)));
        // Whatever did land is content addressed correctly.
        const { readFileSync } = await import('node:fs');
        for (const f of files)
          assert.equal(sha256Digest(readFileSync(join(root, 'oci', 'blobs', 'sha256', f))), `sha256:${f}`);
        assert.deepEqual(readdirSync(join(root, 'tmp')), []);
      } finally {
        await proxy.stop();
      }
    });
  });
});

describe('registry over HTTPS', { skip: !haveRegistry && 'docker-registry not installed' }, () => {
  test('loopback HTTPS registry with a self-signed certificate: push and pull over TLS', async () => {
    const work = tmp('tls');
    const reg = await startRegistry({ kind: 'none' }, await selfSignedCert(work));
    try {
      const env = { DOCKER_CONFIG: join(work, 'docker'), SLIPWAY_CONFIG: join(work, 'slipway.json') };
      const tar = await makeTar(work, 'img', { 'etc/tls': 'tls\n' });
      assert.equal(
        (await slipway(join(work, 'src'), ['import', tar, `${reg.host}/tls/app:v1`], { env })).status,
        0,
      );
      const push = await slipway(join(work, 'src'), ['push', `${reg.host}/tls/app:v1`], { env });
      assert.equal(push.status, 0, push.stderr);
      const pull = await slipway(join(work, 'dst'), ['pull', `${reg.host}/tls/app:v1`], { env });
      assert.equal(pull.status, 0, pull.stderr);
    } finally {
      await reg.stop();
    }
  });
});

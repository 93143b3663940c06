import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { sha256Digest } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import type { Descriptor, HistoryEntry, ImageConfig } from '../../../src/image/types.js';
import { Store } from '../../../src/store/store.js';
import { hasCommand, slipway, tempDir } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';

function mkTar(files: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = tar.pack();
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
    for (const [name, content] of Object.entries(files))
      p.entry({ name, mode: 0o644, mtime: new Date(0) }, content);
    p.finalize();
  });
}

interface Fixture {
  id: string;
  manifestDigest: string;
  layerSizes: number[];
  layerBlobs: string[];
}

/** A BuildKit-shaped image: base layer, an ENV (empty layer), a COPY layer, CMD. */
async function putImage(
  root: string,
  name: string | undefined,
  files: Record<string, string>[],
  created: string,
): Promise<Fixture> {
  const store = await Store.open(root);
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  const sizes: number[] = [];
  for (const f of files) {
    const raw = await mkTar(f);
    const gz = gzipSync(raw);
    const info = await store.writeBlob(gz);
    layers.push({ mediaType: MediaType.ociLayerGzip, digest: info.digest, size: info.size });
    diffIds.push(sha256Digest(raw));
    // Docker's SIZE of a layer is its files' bytes, not its tar's length.
    sizes.push(Object.values(f).reduce((n, c) => n + Buffer.byteLength(c), 0));
  }
  const history: HistoryEntry[] = [
    {
      created,
      created_by:
        '/bin/sh -c #(nop) ADD file:5edbc94adb41222297cf27743627bb315ab68b0e5e6c2297999014f414500bc1 in / ',
    },
    { created, created_by: 'ENV LANG=C.UTF-8', comment: 'buildkit.dockerfile.v0', empty_layer: true },
  ];
  for (let i = 1; i < files.length; i++) {
    history.push({ created, created_by: 'COPY . . # buildkit', comment: 'buildkit.dockerfile.v0' });
  }
  history.push({
    created,
    created_by: 'CMD ["python3" "-m" "flask" "run" "--host=0.0.0.0"]',
    comment: 'buildkit.dockerfile.v0',
    empty_layer: true,
  });
  const config: ImageConfig = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'],
      Cmd: ['python3', '-m', 'flask', 'run', '--host=0.0.0.0'],
      WorkingDir: '/app',
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history,
  };
  const put = await store.putImage({ config, layers, uncompressedSizes: sizes });
  if (name) await store.tag(name, put.manifestDigest);
  await store.close();
  return {
    id: put.configDigest,
    manifestDigest: put.manifestDigest,
    layerSizes: sizes,
    layerBlobs: layers.map((l) => l.digest),
  };
}

const recent = () => new Date(Date.now() - 3 * 60_000 - 5000).toISOString();
const BASE = { 'etc/os-release': 'ID=debian\n', 'usr/bin/python3': 'x'.repeat(5000) };
const APP = { 'app/app.py': 'from flask import Flask\n' };

function ok(root: string, args: string[], input?: string): string {
  const r = slipway(root, args, input === undefined ? {} : { input });
  assert.equal(r.status, 0, `slipway ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const short = (id: string) => id.slice(7, 19);

test('tutorial flow: images, tag, images with one IMAGE ID, rmi untags', async () => {
  const root = tempDir('images-tut');
  const img = await putImage(root, 'python-docker', [BASE, APP], recent());
  const size = img.layerSizes.reduce((a, b) => a + b, 0);
  const human = `${(size / 1000).toPrecision(3).replace(/\.?0+$/, '')}kB`;
  assert.equal(
    ok(root, ['images']),
    'REPOSITORY      TAG       IMAGE ID       CREATED         SIZE\n' +
      `python-docker   latest    ${short(img.id)}   3 minutes ago   ${human}\n`,
  );
  assert.equal(ok(root, ['tag', 'python-docker', 'python-docker:v1.0.0']), '');
  assert.equal(
    ok(root, ['images']),
    'REPOSITORY      TAG       IMAGE ID       CREATED         SIZE\n' +
      `python-docker   latest    ${short(img.id)}   3 minutes ago   ${human}\n` +
      `python-docker   v1.0.0    ${short(img.id)}   3 minutes ago   ${human}\n`,
  );
  assert.equal(ok(root, ['rmi', 'python-docker:v1.0.0']), 'Untagged: python-docker:v1.0.0\n');
  assert.equal(ok(root, ['image', 'ls', '-q']), `${short(img.id)}\n`);
  assert.equal(
    ok(root, ['images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']),
    `${img.id} python-docker:latest\n`,
  );
});

test('rmi: conflicts, -f, missing names, Deleted lines, gc keeps shared and build-cache blobs', async () => {
  const root = tempDir('images-rmi');
  const a = await putImage(root, 'app', [BASE, APP], recent());
  const b = await putImage(root, 'other', [BASE, { 'b.txt': 'b' }], recent());
  const c = await putImage(root, 'cached', [{ 'c.txt': 'c' }], recent());
  ok(root, ['tag', 'app', 'app:v2']);

  let r = slipway(root, ['rmi', short(a.id)]);
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    `Error response from daemon: conflict: unable to delete ${short(a.id)} (must be forced) - image is referenced in multiple repositories\n`,
  );
  r = slipway(root, ['rmi', 'nosuch']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'Error response from daemon: No such image: nosuch:latest\n');
  r = slipway(root, ['rmi', '-f', 'nosuch']);
  assert.equal(r.status, 0);
  assert.equal(r.stderr, 'Error response from daemon: No such image: nosuch:latest\n');

  // A build-cache step record pins its layer blob.
  mkdirSync(join(root, 'cache', 'steps'), { recursive: true });
  writeFileSync(
    join(root, 'cache', 'steps', 'k.json'),
    JSON.stringify({
      key: 'sha256:k',
      layer: { descriptor: { digest: c.layerBlobs[0] }, chainId: `sha256:${'1'.repeat(64)}` },
    }),
  );

  assert.equal(
    ok(root, ['rmi', '-f', short(a.id)]),
    `Untagged: app:latest\nUntagged: app:v2\nDeleted: ${a.id}\n`,
  );
  assert.equal(ok(root, ['image', 'rm', 'cached']), `Untagged: cached:latest\nDeleted: ${c.id}\n`);
  const blobs = new Set(readdirSync(join(root, 'oci', 'blobs', 'sha256')));
  const hex = (d: string) => d.slice(7);
  assert.ok(blobs.has(hex(a.layerBlobs[0]!)), 'base layer shared with "other" is kept');
  assert.ok(!blobs.has(hex(a.layerBlobs[1]!)), 'app-only layer is collected');
  assert.ok(!blobs.has(hex(a.id)), 'config is collected');
  assert.ok(blobs.has(hex(c.layerBlobs[0]!)), 'build-cache layer is kept');
  assert.equal(ok(root, ['images', '--format', '{{.Repository}}']), 'other\n');
  assert.equal(ok(root, ['rmi', 'other']), `Untagged: other:latest\nDeleted: ${b.id}\n`);
});

test('usage errors: pflag and cobra words, 125 for a bad flag, 1 for a wrong argument count', () => {
  const root = tempDir('images-usage');
  const cases: Array<[string[], number, string]> = [
    [['images', '--foo'], 125, "unknown flag: --foo\nSee 'slipway images --help'.\n"],
    [['image', 'ls', '--foo=1'], 125, "unknown flag: --foo\nSee 'slipway image ls --help'.\n"],
    [['images', '-z'], 125, "unknown shorthand flag: 'z' in -z\nSee 'slipway images --help'.\n"],
    [['images', '-f'], 125, "flag needs an argument: 'f' in -f\nSee 'slipway images --help'.\n"],
    [['images', '--filter'], 125, "flag needs an argument: --filter\nSee 'slipway images --help'.\n"],
    [['rmi', '--forc', 'x'], 125, "unknown flag: --forc\nSee 'slipway rmi --help'.\n"],
    [
      ['tag', 'a'],
      1,
      '"slipway tag" requires exactly 2 arguments.\nSee \'slipway tag --help\'.\n\n' +
        'Usage:  slipway tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n' +
        'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n',
    ],
    [
      ['image', 'prune', 'x'],
      1,
      '"slipway image prune" accepts no arguments.\nSee \'slipway image prune --help\'.\n\n' +
        'Usage:  slipway image prune [OPTIONS]\n\nRemove unused images\n',
    ],
    [
      ['image', 'inspect'],
      1,
      '"slipway image inspect" requires at least 1 argument.\nSee \'slipway image inspect --help\'.\n\n' +
        'Usage:  slipway image inspect [OPTIONS] IMAGE [IMAGE...]\n\n' +
        'Display detailed information on one or more images\n',
    ],
    [['port', 'a', 'b', 'c'], 1, '"slipway port" requires at least 1 and at most 2 arguments.\n'],
    [['ps', 'a'], 1, '"slipway ps" accepts no arguments.\n'],
    [['stop'], 1, '"slipway stop" requires at least 1 argument.\n'],
    [
      ['ps', '-f', 'foo'],
      125,
      'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)\n' +
        "See 'slipway ps --help'.\n",
    ],
    [['ps', '-f', 'bogus=1'], 1, "Error response from daemon: Invalid filter 'bogus'\n"],
    [['ps', '--format', '{{.ID'], 1, 'failed to parse template: template: :1: unclosed action\n'],
    [['nosuchverb'], 1, "slipway: 'nosuchverb' is not a slipway command.\nSee 'slipway --help'\n"],
    // A management command's help goes to stderr for an unknown subcommand, as cobra does for docker.
    [['image', 'nosuch'], 1, '\nUsage:  slipway image COMMAND\n\nManage images\n'],
    [['container', 'nosuch'], 1, '\nUsage:  slipway container COMMAND\n\nManage containers\n'],
    [['container', 'wait', 'x'], 1, "ERROR: 'slipway container wait' is not supported yet\n"],
  ];
  for (const [args, status, stderr] of cases) {
    const r = slipway(root, args);
    assert.equal(r.status, status, args.join(' '));
    assert.ok(r.stderr.startsWith(stderr), `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
});

test('tag validates names like Docker', async () => {
  const root = tempDir('images-tag');
  await putImage(root, 'app', [BASE], recent());
  let r = slipway(root, ['tag', 'nosuch', 'x']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'Error response from daemon: No such image: nosuch:latest\n');
  r = slipway(root, ['tag', 'app', 'Bad']);
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    'Error parsing reference: "Bad" is not a valid repository/tag: invalid reference format: repository name (library/Bad) must be lowercase\n',
  );
  r = slipway(root, ['tag', 'app', 'a::b']);
  assert.equal(
    r.stderr,
    'Error parsing reference: "a::b" is not a valid repository/tag: invalid reference format\n',
  );
  r = slipway(root, ['tag', 'app']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^"slipway tag" requires exactly 2 arguments\.\n/);
  ok(root, ['image', 'tag', 'app', 'localhost:5000/team/app:1.0']);
  assert.equal(
    ok(root, ['images', '--format', '{{.Repository}} {{.Tag}}', 'localhost:5000/*/*']),
    'localhost:5000/team/app 1.0\n',
  );
});

test('images filters: dangling, reference, bad and unsupported filters', async () => {
  const root = tempDir('images-filter');
  const a = await putImage(root, 'app', [BASE], new Date(Date.now() - 7200_000).toISOString());
  const d = await putImage(root, undefined, [APP], recent());
  assert.equal(
    ok(root, ['images', '-f', 'dangling=true', '--format', '{{.ID}} {{.Repository}} {{.Tag}}']),
    `${short(d.id)} <none> <none>\n`,
  );
  assert.equal(ok(root, ['images', '--filter', 'dangling=false', '-q']), `${short(a.id)}\n`);
  assert.equal(ok(root, ['images', '-q']), `${short(d.id)}\n${short(a.id)}\n`, 'newest first');
  assert.equal(ok(root, ['images', '-f', 'reference=ap*', '-q']), `${short(a.id)}\n`);
  let r = slipway(root, ['images', '-f', 'foo=bar']);
  assert.deepEqual([r.status, r.stderr], [1, "Error response from daemon: Invalid filter 'foo'\n"]);
  r = slipway(root, ['images', '-f', 'dangling=maybe']);
  assert.deepEqual(
    [r.status, r.stderr],
    [1, "Error response from daemon: Invalid filter 'dangling=[maybe]'\n"],
  );
  r = slipway(root, ['images', '-f', 'until=1h']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not supported yet/);
  r = slipway(root, ['images', '--format', '{{.Nope}}']);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /^template parsing error: template: :1:2: executing "" at <\.Nope>: can't evaluate field Nope in type \*formatter\.imageContext\n$/,
  );
});

test('history: newest first, top row has the ID, per-layer uncompressed sizes', async () => {
  const root = tempDir('images-hist');
  const img = await putImage(root, 'app', [BASE, APP], recent());
  const out = ok(root, ['history', 'app']);
  const lines = out.trimEnd().split('\n');
  assert.equal(
    lines[0],
    'IMAGE          CREATED         CREATED BY                                      SIZE      COMMENT',
  );
  assert.equal(lines.length, 5);
  assert.ok(
    lines[1]!.startsWith(
      `${short(img.id)}   3 minutes ago   CMD ["python3" "-m" "flask" "run" "--host=0.…   0B        buildkit.dockerfile.v0`,
    ),
  );
  assert.ok(lines[2]!.startsWith('<missing>      3 minutes ago   COPY . . # buildkit '));
  const sizes = ok(root, ['history', '-H=false', '--format', '{{.Size}}', 'app']);
  assert.equal(sizes, `0\n${img.layerSizes[1]}\n0\n${img.layerSizes[0]}\n`);
  assert.equal(
    ok(root, ['image', 'history', '-q', 'app']),
    `${short(img.id)}\n<missing>\n<missing>\n<missing>\n`,
  );
  const full = ok(root, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'app']).split('\n');
  assert.equal(
    full[3],
    '/bin/sh -c #(nop) ADD file:5edbc94adb41222297cf27743627bb315ab68b0e5e6c2297999014f414500bc1 in / ',
  );
  const r = slipway(root, ['history', 'nosuch']);
  assert.deepEqual([r.status, r.stderr], [1, 'Error response from daemon: No such image: nosuch:latest\n']);
});

test('inspect: Docker shape, --format, unknown names', async () => {
  const root = tempDir('images-inspect');
  const img = await putImage(root, 'python-docker', [BASE, APP], recent());
  const arr = JSON.parse(ok(root, ['inspect', 'python-docker'])) as Array<Record<string, unknown>>;
  assert.equal(arr.length, 1);
  const o = arr[0]!;
  assert.deepEqual(Object.keys(o), [
    'Id',
    'RepoTags',
    'RepoDigests',
    'Parent',
    'Comment',
    'Created',
    'DockerVersion',
    'Author',
    'Config',
    'Architecture',
    'Os',
    'Size',
    'GraphDriver',
    'RootFS',
    'Metadata',
  ]);
  assert.equal(o.Id, img.id);
  assert.deepEqual(o.RepoTags, ['python-docker:latest']);
  assert.deepEqual(o.RepoDigests, [`python-docker@${img.manifestDigest}`]);
  const cfg = o.Config as Record<string, unknown>;
  assert.deepEqual(Object.keys(cfg), [
    'Hostname',
    'Domainname',
    'User',
    'AttachStdin',
    'AttachStdout',
    'AttachStderr',
    'Tty',
    'OpenStdin',
    'StdinOnce',
    'Env',
    'Cmd',
    'Image',
    'Volumes',
    'WorkingDir',
    'Entrypoint',
    'OnBuild',
    'Labels',
  ]);
  assert.equal(cfg.Entrypoint, null);
  assert.equal(
    ok(root, [
      'image',
      'inspect',
      '--format',
      '{{.Id}} {{.Config.Cmd}} {{.Config.Entrypoint}} {{json .Config.WorkingDir}}',
      'python-docker',
    ]),
    `${img.id} [python3 -m flask run --host=0.0.0.0] [] "/app"\n`,
  );
  let r = slipway(root, ['inspect', 'nosuch']);
  assert.deepEqual([r.status, r.stdout, r.stderr], [1, '[]\n', 'Error: No such object: nosuch\n']);
  r = slipway(root, ['image', 'inspect', 'python-docker', 'nosuch']);
  assert.equal(r.status, 1);
  assert.equal((JSON.parse(r.stdout) as unknown[]).length, 1);
  assert.equal(r.stderr, 'Error response from daemon: No such image: nosuch:latest\n');
  // A key neither the typed nor the raw JSON form has fails that object only, as docker/cli's
  // TemplateInspector does; nothing printed at all still prints one empty line.
  r = slipway(root, ['inspect', '-f', '{{.Nope}}', 'python-docker', 'nosuch']);
  assert.deepEqual(
    [r.status, r.stdout, r.stderr],
    [
      1,
      '\n',
      'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n' +
        'Error: No such object: nosuch\n',
    ],
  );
  r = slipway(root, ['inspect', '-f', '{{.Config.Labels.x}}', 'python-docker']);
  assert.deepEqual([r.status, r.stdout], [0, '<no value>\n']);
});

const skopeo = hasCommand('skopeo');
const podman = hasCommand('podman');

test('save: Docker 25+ archive members; skopeo and podman read it; load round trip keeps the image ID', async (t) => {
  const root = tempDir('images-save');
  const img = await putImage(root, 'python-docker', [BASE, APP], recent());
  const dir = tempDir('images-save-out');
  const file = join(dir, 'img.tar');
  assert.equal(ok(root, ['save', '-o', file, 'python-docker']), '');
  const hex = (d: string) => `blobs/sha256/${d.slice(7)}`;
  // Docker media types on save: the same config and layer blobs under a schema 2 manifest.
  const index = JSON.parse(execFileSync('tar', ['-xOf', file, 'index.json'], { encoding: 'utf8' }));
  const saved0 = index.manifests[0] as { mediaType: string; digest: string };
  assert.equal(saved0.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const dockerManifest = JSON.parse(
    execFileSync('tar', ['-xOf', file, hex(saved0.digest)], { encoding: 'utf8' }),
  );
  assert.equal(dockerManifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
  assert.equal(dockerManifest.config.digest, img.id);
  assert.deepEqual(
    dockerManifest.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest]),
    img.layerBlobs.map((d) => ['application/vnd.docker.image.rootfs.diff.tar.gzip', d]),
  );
  const members = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(members, [
    'blobs/',
    'blobs/sha256/',
    ...[img.id, saved0.digest, ...img.layerBlobs].map(hex).sort(),
    'index.json',
    'manifest.json',
    'oci-layout',
    'repositories',
  ]);
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' }));
  assert.deepEqual(manifest, [
    { Config: hex(img.id), RepoTags: ['python-docker:latest'], Layers: img.layerBlobs.map(hex) },
  ]);

  // Deterministic: saving again gives the same bytes.
  const again = join(dir, 'again.tar');
  ok(root, ['image', 'save', '-o', again, 'python-docker']);
  assert.equal(
    execFileSync('sha256sum', [file]).toString().split(' ')[0],
    execFileSync('sha256sum', [again]).toString().split(' ')[0],
  );

  const fresh = tempDir('images-load');
  assert.equal(ok(fresh, ['load', '-i', file]), 'Loaded image: python-docker:latest\n');
  assert.equal(ok(fresh, ['images', '--no-trunc', '-q']), `${img.id}\n`);
  assert.equal(
    ok(fresh, ['inspect', '--format', '{{index .RepoDigests 0}}', 'python-docker']),
    `python-docker@${saved0.digest}\n`,
  );
  // stdin, quiet, and an ID-only save.
  const viaStdin = tempDir('images-load2');
  const saved = spawnSync(
    process.execPath,
    [join(process.cwd(), 'bin/slipway.js'), '--root', root, 'save', short(img.id)],
    { maxBuffer: 64 << 20 },
  );
  assert.equal(saved.status, 0);
  const loaded = spawnSync(
    process.execPath,
    [join(process.cwd(), 'bin/slipway.js'), '--root', viaStdin, 'load', '-q'],
    { input: saved.stdout, encoding: 'utf8' },
  );
  assert.equal(loaded.stdout, `Loaded image ID: ${img.id}\n`);

  // OCI layout format.
  const oci = join(dir, 'oci.tar');
  ok(root, ['save', '--format', 'oci', '-o', oci, 'python-docker']);
  const ociMembers = execFileSync('tar', ['-tf', oci], { encoding: 'utf8' }).trim().split('\n');
  assert.ok(
    !ociMembers.includes('manifest.json') &&
      ociMembers.includes('index.json') &&
      ociMembers.includes('oci-layout'),
  );
  const fresh3 = tempDir('images-load3');
  assert.equal(ok(fresh3, ['load', '-i', oci]), 'Loaded image: python-docker:latest\n');
  assert.equal(ok(fresh3, ['images', '--no-trunc', '-q']), `${img.id}\n`);

  if (!skopeo) t.diagnostic('skopeo not installed: skipped skopeo checks');
  else {
    const info = JSON.parse(
      execFileSync('skopeo', ['inspect', `docker-archive:${file}`], { encoding: 'utf8' }),
    );
    assert.equal(info.Layers.length, 2);
    const ociInfo = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci-archive:${oci}:python-docker:latest`], { encoding: 'utf8' }),
    );
    assert.equal(ociInfo.Digest, img.manifestDigest);
  }
  if (!podman) t.diagnostic('podman not installed: skipped podman load');
  else {
    const p = tempDir('images-podman');
    const args = ['--root', join(p, 'root'), '--runroot', join(p, 'run'), '--storage-driver', 'vfs'];
    const out = execFileSync('podman', [...args, 'load', '-i', file], { encoding: 'utf8' });
    assert.match(out, /Loaded image: (localhost|docker\.io\/library)\/python-docker:latest/);
    const id = execFileSync('podman', [...args, 'images', '--no-trunc', '--format', '{{.ID}}'], {
      encoding: 'utf8',
    }).trim();
    assert.equal(id, img.id);
  }
});

test('save -o: a missing or unwritable directory is a sentence, checked before the images', async () => {
  const root = tempDir('images-saveout');
  await putImage(root, 'app:1', [BASE], recent());
  let r = slipway(root, ['save', '-o', '/nonexistent/dir/x.tar', 'nosuch']);
  assert.deepEqual(
    [r.status, r.stdout, r.stderr],
    [1, '', 'failed to save image: invalid output path: directory "/nonexistent/dir" does not exist\n'],
  );
  r = slipway(root, ['save', '-o', '/proc/x.tar', 'app:1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^open \/proc\/\.x\.tar\.\d+\.tmp: no such file or directory\n$/);
  const dir = tempDir('images-saveout-dir');
  // dockerd 20.10's parseNames: a bare name is searched as given, a name:tag misses in the reference store.
  r = slipway(root, ['save', '-o', join(dir, 'x.tar'), 'nosuch']);
  assert.deepEqual([r.status, r.stderr], [1, 'Error response from daemon: No such image: nosuch\n']);
  r = slipway(root, ['save', '-o', join(dir, 'x.tar'), 'app:1', 'nosuch:2']);
  assert.deepEqual([r.status, r.stderr], [1, 'Error response from daemon: reference does not exist\n']);
  assert.deepEqual(readdirSync(dir), []);
});

test('save -o removes the temp files saves killed mid-write left beside the target, and only those', async () => {
  const root = tempDir('images-savetemp');
  await putImage(root, 'app:1', [BASE], recent());
  const dir = tempDir('images-savetemp-out');
  const dead = spawnSync('true').pid!;
  // What `kill -9` of `save -o x.tar` leaves: a partial temp named by its PID; the target is untouched.
  writeFileSync(join(dir, `.x.tar.${dead}.tmp`), 'partial');
  writeFileSync(join(dir, `.x.tar.${process.pid}.tmp`), 'a live writer');
  writeFileSync(join(dir, `.y.tar.${dead}.tmp`), 'another target');
  ok(root, ['save', '-o', join(dir, 'x.tar'), 'app:1']);
  assert.deepEqual(readdirSync(dir).sort(), [`.x.tar.${process.pid}.tmp`, `.y.tar.${dead}.tmp`, 'x.tar']);
});

test('load errors: missing file, digest mismatch', async () => {
  const root = tempDir('images-loaderr');
  let r = slipway(root, ['load', '-i', '/nonexistent.tar']);
  assert.deepEqual([r.status, r.stderr], [1, 'open /nonexistent.tar: no such file or directory\n']);
  const dir = tempDir('images-loaderr2');
  const layer = await mkTar({ a: 'a' });
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [sha256Digest('other')] },
  });
  const p = tar.pack();
  p.entry({ name: 'cfg.json' }, config);
  p.entry({ name: 'l/layer.tar' }, layer);
  p.entry(
    { name: 'manifest.json' },
    JSON.stringify([{ Config: 'cfg.json', RepoTags: ['x:1'], Layers: ['l/layer.tar'] }]),
  );
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  writeFileSync(join(dir, 'bad.tar'), Buffer.concat(chunks));
  r = slipway(root, ['load', '-i', join(dir, 'bad.tar')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /invalid diffID for layer 0/);
  // Malformed archives get a sentence, not a JavaScript error, and load nothing.
  const malformed: Array<[Record<string, string>, RegExp]> = [
    [{ 'manifest.json': '[null]' }, /manifest\.json entry lacks Config or Layers/],
    [{ 'index.json': '{"schemaVersion":2}' }, /index\.json has no list of manifests/],
    [{ 'index.json': '{"schemaVersion":2,"manifests":"x"}' }, /index\.json has no list of manifests/],
    [
      { 'index.json': '{"schemaVersion":2,"manifests":[{"digest":"sha256:../..","size":1}]}' },
      /index\.json names no image manifest/,
    ],
    // Past 1 MiB a member is stored as a layer, and said to be missing: say what is wrong with it.
    [
      { 'manifest.json': `[${'{"Config":"c","Layers":[]},'.repeat(60_000)}null]` },
      /load: manifest\.json is too large \(\d+ bytes\) to be image metadata/,
    ],
  ];
  for (const [files, message] of malformed) {
    writeFileSync(join(dir, 'malformed.tar'), await mkTar(files));
    r = slipway(root, ['load', '-i', join(dir, 'malformed.tar')]);
    assert.equal(r.status, 1, JSON.stringify(files));
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /Cannot read properties/);
  }
  assert.equal(ok(root, ['images', '-q']), '');
});

test('image prune and system df', async () => {
  const root = tempDir('images-prune');
  const kept = await putImage(root, 'app', [BASE], recent());
  const dangling = await putImage(root, undefined, [APP], recent());
  const df = ok(root, ['system', 'df']).split('\n');
  assert.equal(df[0], 'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE');
  assert.match(df[1]!, /^Images {10}2 {9}0 {9}\S+ +\S+ \(100%\)$/);
  assert.equal(df[2], 'Containers      0         0         0B        0B');
  assert.equal(df[3], 'Local Volumes   0         0         0B        0B');
  assert.match(df[4]!, /^Build Cache {5}0 {9}0 {9}0B {8}0B$/);

  const declined = slipway(root, ['image', 'prune'], { input: 'n\n' });
  assert.equal(
    declined.stdout,
    'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] Total reclaimed space: 0B\n',
  );
  const out = ok(root, ['image', 'prune', '-f']);
  assert.match(
    out,
    new RegExp(
      `^Deleted Images:\\ndeleted: ${dangling.id}\\n\\nTotal reclaimed space: \\d+(\\.\\d+)?k?B\\n$`,
    ),
  );
  assert.equal(ok(root, ['images', '-q', '--no-trunc']), `${kept.id}\n`);
  assert.equal(ok(root, ['image', 'prune', '-f']), 'Total reclaimed space: 0B\n');
  const all = ok(root, ['image', 'prune', '-a'], 'y\n');
  assert.ok(
    all.startsWith(
      'WARNING! This will remove all images without at least one container associated to them.\n',
    ),
  );
  assert.match(all, /untagged: app:latest\ndeleted: sha256:/);
  assert.equal(ok(root, ['images', '-q']), '');
  assert.ok(!existsSync(join(root, 'oci', 'blobs', 'sha256', kept.layerBlobs[0]!.slice(7))));
});

test('image import delegates to the import command', async () => {
  const root = tempDir('images-import');
  const dir = tempDir('images-import-src');
  writeFileSync(join(dir, 'rootfs.tar'), await mkTar({ 'bin/hello': 'hi' }));
  const id = ok(root, ['image', 'import', join(dir, 'rootfs.tar'), 'imported:1']).trim();
  assert.equal(
    ok(root, ['image', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']),
    `${id} imported:1\n`,
  );
  // --change applies as docker import applies it: no default PATH added, no ArgsEscaped.
  ok(root, ['import', '-c', 'CMD ["python3"]', '-c', 'ENV A=1', join(dir, 'rootfs.tar'), 'imported:2']);
  const config = JSON.parse(ok(root, ['image', 'inspect', '--format', '{{json .Config}}', 'imported:2'])) as {
    Env: string[];
    Cmd: string[];
    ArgsEscaped?: boolean;
  };
  assert.deepEqual([config.Env, config.Cmd, config.ArgsEscaped], [['A=1'], ['python3'], undefined]);
  // Docker's inspect shows the last history comment when the config has none.
  assert.equal(
    ok(root, ['image', 'inspect', '--format', '{{.Comment}}', 'imported:2']),
    `Imported from ${join(dir, 'rootfs.tar')}\n`,
  );
});

test('import sizes a layer as Docker does: file bytes plus each symlink target length', async () => {
  const root = tempDir('images-import-size');
  const src = join(tempDir('images-import-size-src'), 'rootfs');
  mkdirSync(join(src, 'bin'), { recursive: true });
  writeFileSync(join(src, 'bin/busybox'), 'x'.repeat(1000));
  symlinkSync('busybox', join(src, 'bin/sh'));
  symlinkSync('/bin/busybox', join(src, 'bin/ls'));
  const tarFile = join(src, '..', 'rootfs.tar');
  execFileSync('tar', ['-C', src, '-cf', tarFile, '.']);
  ok(root, ['import', tarFile, 'sized:1']);
  assert.equal(ok(root, ['image', 'inspect', '--format', '{{.Size}}', 'sized:1']), `${1000 + 7 + 12}\n`);
});

test('import refuses a truncated tarball or one with a path out of its root, and stores nothing', async () => {
  const root = tempDir('images-import-bad');
  const dir = tempDir('images-import-bad-src');
  const good = await mkTar({ 'bin/hello': 'hi', 'etc/motd': 'x'.repeat(2000) });
  writeFileSync(join(dir, 'truncated.tar'), good.subarray(0, 700));
  writeFileSync(join(dir, 'escape.tar'), await mkTar({ '../escape': 'x' }));
  const truncated = slipway(root, ['import', join(dir, 'truncated.tar'), 'bad:1']);
  assert.notEqual(truncated.status, 0);
  assert.match(truncated.stderr, /truncated/);
  const escaping = slipway(root, ['import', join(dir, 'escape.tar'), 'bad:2']);
  assert.notEqual(escaping.status, 0);
  assert.match(escaping.stderr, /a path that leaves its root: "\.\.\/escape"/);
  assert.equal(ok(root, ['images', '-q']), '');
});

test('a reader that closes the pipe early ends the command quietly, as SIGPIPE ends docker', async () => {
  const root = tempDir('epipe');
  // Incompressible, so `save` has megabytes to write after `head -c 1` has gone.
  await putImage(root, 'busy:1', [{ 'a.txt': randomBytes(4 << 20).toString('base64') }], recent());
  const piped = spawnSync(
    'bash',
    ['-c', `node bin/slipway.js --root ${root} save busy:1 | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  assert.equal(piped.stderr, '', 'no stack trace, no ERROR line');
  assert.equal(piped.stdout.trim(), '141');
  assert.match(ok(root, ['images']), /busy\s+1 /);
});

test('load sizes a layer as dockerd does: file bytes once per hard link, plus symlink targets', async () => {
  const root = tempDir('images-load-size');
  const dir = tempDir('images-load-size-src');
  const src = join(dir, 'rootfs');
  mkdirSync(join(src, 'bin'), { recursive: true });
  writeFileSync(join(src, 'bin/busybox'), 'x'.repeat(1000));
  symlinkSync('busybox', join(src, 'bin/sh'));
  execFileSync('ln', [join(src, 'bin/busybox'), join(src, 'bin/ls')]);
  const layer = execFileSync('tar', ['-C', src, '-cf', '-', '.']);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] },
  });
  const p = tar.pack();
  p.entry({ name: 'cfg.json' }, config);
  p.entry({ name: 'l/layer.tar' }, gzipSync(layer));
  p.entry(
    { name: 'manifest.json' },
    JSON.stringify([{ Config: 'cfg.json', RepoTags: ['sized:1'], Layers: ['l/layer.tar'] }]),
  );
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  writeFileSync(join(dir, 'img.tar'), Buffer.concat(chunks));
  assert.equal(ok(root, ['load', '-i', join(dir, 'img.tar')]), 'Loaded image: sized:1\n');
  // Not the tar's length (headers and padding): dockerd walks the unpacked tree.
  assert.equal(ok(root, ['image', 'inspect', '--format', '{{.Size}}', 'sized:1']), `${1000 + 7}\n`);
});

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  lutimesSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { busyboxTarball, hasCommand, slipway, tempDir, writeTree } from '../../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
const root = tempDir('build-root');
let busybox: string | undefined;

function steps(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^#\d+ (\[|CACHED|DONE)/.test(l));
}

function cachedNames(stderr: string): string[] {
  const lines = stderr.split('\n');
  const names = new Map<string, string>();
  const out: string[] = [];
  for (const l of lines) {
    const m = /^#(\d+) (\[.*)$/.exec(l);
    if (m) names.set(m[1]!, m[2]!);
    const c = /^#(\d+) CACHED$/.exec(l);
    if (c) out.push(names.get(c[1]!)!);
  }
  return out;
}

/** The image manifest of `tag` in the store, as skopeo reads it from the OCI layout. */
function storedManifest(tag: string): { layers: Array<{ digest: string; mediaType: string }> } {
  const raw = spawnSync(
    'skopeo',
    ['inspect', '--raw', `oci:${join(root, 'oci')}:docker.io/library/${tag}:latest`],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(raw.stdout) as { layers: Array<{ digest: string; mediaType: string }> };
}

describe('slipway build', { skip: isRoot ? false : 'needs root for overlayfs and runc' }, () => {
  before(() => {
    busybox = busyboxTarball();
    assert.ok(busybox, 'busybox-static is installed');
    const r = slipway(root, ['import', busybox, 'busybox']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('FROM scratch with COPY writes a layered image that skopeo and umoci read', () => {
    const ctx = tempDir('ctx-scratch');
    writeTree(ctx, {
      Dockerfile: 'FROM scratch\nCOPY hello.txt /\nCOPY dir /data/\nLABEL a=b\nCMD ["/hello"]\n',
      'hello.txt': 'hi\n',
      'dir/x': 'x',
    });
    const r = slipway(root, ['build', '--progress=plain', '-t', 'scratch-test', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const inspect = spawnSync(
      'skopeo',
      ['inspect', '--config', `oci:${join(root, 'oci')}:docker.io/library/scratch-test:latest`],
      {
        encoding: 'utf8',
      },
    );
    if (hasCommand('skopeo')) {
      assert.equal(inspect.status, 0, inspect.stderr);
      const config = JSON.parse(inspect.stdout) as {
        config: { Cmd: string[]; Labels: Record<string, string> };
        rootfs: { diff_ids: string[] };
      };
      assert.deepEqual(config.config.Cmd, ['/hello']);
      assert.equal(config.config.Labels.a, 'b');
      assert.equal(config.rootfs.diff_ids.length, 2);
    }
    if (hasCommand('umoci')) {
      const ls = spawnSync('umoci', ['ls', '--layout', join(root, 'oci')], { encoding: 'utf8' });
      assert.equal(ls.status, 0, ls.stderr);
      assert.match(ls.stdout, /scratch-test/);
    }
  });

  test('RUN executes in a container and its changes become a layer; rebuilds are CACHED', () => {
    const ctx = tempDir('ctx-run');
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox\nWORKDIR /app\nENV GREETING=hello\nCOPY a.txt .\nRUN echo "$GREETING from $(id -u)" > /app/out.txt\nCOPY b.txt .\nCMD ["cat", "/app/out.txt"]\n',
      'a.txt': 'a',
      'b.txt': 'b',
    });
    const first = slipway(root, ['build', '--progress=plain', '-t', 'run-test', ctx]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /\[3\/5\] COPY a\.txt \./);

    const second = slipway(root, ['build', '--progress=plain', '-t', 'run-test', ctx]);
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(cachedNames(second.stderr), [
      '[2/5] WORKDIR /app',
      '[3/5] COPY a.txt .',
      '[4/5] RUN echo "$GREETING from $(id -u)" > /app/out.txt',
      '[5/5] COPY b.txt .',
    ]);

    // Touching a file's mtime keeps every step cached; changing b.txt rebuilds only its COPY.
    utimesSync(join(ctx, 'a.txt'), new Date(), new Date(2001, 1, 1));
    writeFileSync(join(ctx, 'b.txt'), 'changed');
    const third = slipway(root, ['build', '--progress=plain', '-t', 'run-test', ctx]);
    assert.equal(third.status, 0, third.stderr);
    assert.deepEqual(cachedNames(third.stderr), [
      '[2/5] WORKDIR /app',
      '[3/5] COPY a.txt .',
      '[4/5] RUN echo "$GREETING from $(id -u)" > /app/out.txt',
    ]);
    assert.ok(steps(third.stderr).length > 0);
  });

  test("a file a RUN deletes becomes a 0600 whiteout, as dockerd's overlay differ writes it", () => {
    const ctx = tempDir('ctx-whiteout');
    writeTree(ctx, { Dockerfile: 'FROM busybox\nRUN echo x > /gone\nRUN rm /gone\n' });
    const r = slipway(root, ['build', '-q', '-t', 'whiteout-test', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const blob = join(
      root,
      'oci/blobs/sha256',
      storedManifest('whiteout-test').layers.at(-1)!.digest.slice('sha256:'.length),
    );
    const listing = spawnSync('tar', ['-tvzf', blob], { encoding: 'utf8' }).stdout;
    assert.match(listing, /^-rw------- 0\/0 +0 .* \.wh\.gone$/m);
  });

  test("a failing RUN fails the build with BuildKit's message and keeps no image", () => {
    const ctx = tempDir('ctx-fail');
    writeTree(ctx, { Dockerfile: 'FROM busybox\nRUN echo about to fail && false\n' });
    const r = slipway(root, ['build', '--progress=plain', '-t', 'fail-test', ctx]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /process "\/bin\/sh -c echo about to fail && false" did not complete successfully: exit code: 1/,
    );
    assert.match(r.stderr, /about to fail/);
    const images = readFileSync(join(root, 'oci', 'index.json'), 'utf8');
    assert.doesNotMatch(images, /fail-test/);
  });

  test('a failing stage cancels the stages running beside it; the error is the last thing printed', () => {
    const ctx = tempDir('ctx-fail-parallel');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox AS slow',
        'RUN sleep 30 && echo done > /s',
        'FROM busybox AS broken',
        'RUN exit 3',
        'FROM busybox',
        'COPY --from=slow /s /',
        'COPY --from=broken /bin/busybox /b',
        '',
      ].join('\n'),
    });
    const began = Date.now();
    const r = slipway(root, ['build', '--no-cache', '--progress=plain', ctx]);
    assert.equal(r.status, 1);
    assert.ok(Date.now() - began < 20_000, 'the sleeping stage was not waited for');
    // As dockerd 20.10 prints it: the other stage's RUN is CANCELED, and the failure is reported.
    assert.match(r.stderr, /^#(\d+) \[slow 2\/2\] RUN sleep 30[^\n]*\n(?:[^\n]*\n)*?#\1 CANCELED$/m);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines.at(-1)!,
      /^ERROR: process "\/bin\/sh -c exit 3" did not complete successfully: exit code: 3$/,
    );
  });

  test('a bad image name in FROM or COPY --from fails before any step runs', () => {
    const ctx = tempDir('ctx-bad-ref');
    for (const [dockerfile, where] of [
      ['FROM busybox AS a\nRUN echo ran\nFROM BAD\nCOPY --from=a /bin/sh /\n', '3:1'],
      ['FROM busybox AS a\nRUN echo ran\nFROM a\nCOPY --from=Bad:x /etc /x\n', '4:1'],
    ] as const) {
      writeTree(ctx, { Dockerfile: dockerfile });
      const r = slipway(root, ['build', '--no-cache', '--progress=plain', ctx]);
      assert.equal(r.status, 1);
      // dockerd 20.10: 'failed to parse stage name "BAD": invalid reference format: repository
      // name must be lowercase', from making the LLB definition, with no step started.
      assert.match(
        r.stderr,
        new RegExp(`^ERROR: Dockerfile:${where}: invalid reference format: .*must be lowercase$`, 'm'),
      );
      assert.doesNotMatch(r.stderr, /RUN echo ran/);
    }
  });

  test('RUN --mount from=0 names an image, as in BuildKit: inside stage 0 it fails, never waits on itself', () => {
    const ctx = tempDir('ctx-mount-index');
    // dockerd 20.10 looks mount sources up by stage name only and tries to pull docker.io/library/0.
    // slipway took the 0 for stage 0, which then waited for itself; Node ran out of work and the
    // build "succeeded" with exit 0 and no image.
    // A root of its own, holding no image: a local image ID starting with 0 would be taken for the
    // "0" (as `docker image inspect 0` takes a unique ID prefix), and the shared root has dozens.
    writeTree(ctx, { Dockerfile: 'FROM scratch\nRUN --mount=from=0,target=/x ["/x/true"]\n' });
    const r = slipway(tempDir('mount-index-root'), ['build', '--no-cache', '-q', ctx]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^ERROR: Dockerfile:2:1: RUN --mount from=0: no stage or image named "0"/m);
  });

  test('an instruction that cannot be expanded or applied fails the build before any step runs', () => {
    const ctx = tempDir('ctx-precheck');
    // dockerd 20.10 fails each of these while making the LLB definition ("failed to create LLB
    // definition: failed to process ..."), after loading the base's metadata and before any RUN.
    for (const [dockerfile, message] of [
      [
        'FROM busybox\nRUN echo ran\nENV A="unterminated\n',
        '3:1: failed to process "\\\\"unterminated": unexpected end',
      ],
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile variable syntax
        'FROM busybox\nARG A\nRUN echo ran\nWORKDIR /x/${A:?missing}\n',
        '4:1: failed to process "/x/\\$\\{A:\\?missing\\}": A: missing',
      ],
      ['FROM busybox\nRUN echo ran\nEXPOSE 99999999\n', '3:1: invalid containerPort: 99999999'],
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile variable syntax
        'FROM busybox AS a\nRUN echo ran\nFROM a\nRUN echo ran\nUSER ${U:?no user}\n',
        '5:1: failed to process',
      ],
      [
        'FROM scratch AS s\nLABEL x="a\nFROM busybox\nRUN echo ran\nCOPY --from=s / /\n',
        '2:1: failed to process',
      ],
    ] as const) {
      writeTree(ctx, { Dockerfile: dockerfile });
      const r = slipway(root, ['build', '--no-cache', '--progress=plain', ctx]);
      assert.equal(r.status, 1, dockerfile);
      assert.match(r.stderr, new RegExp(`^ERROR: Dockerfile:${message}`, 'm'), dockerfile);
      assert.doesNotMatch(r.stderr, /RUN echo ran/, dockerfile);
    }
  });

  test('a missing base image is named in the error, with the Dockerfile position', () => {
    const ctx = tempDir('ctx-missing');
    writeTree(ctx, { Dockerfile: '# comment\nFROM nosuch/image:1.0\nRUN true\n' });
    const r = slipway(root, ['build', '-q', ctx]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ERROR: Dockerfile:2:\d+: .*docker\.io\/nosuch\/image:1\.0/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  test('SOURCE_DATE_EPOCH makes two builds of the same input give the same image id', () => {
    const ctx = tempDir('ctx-epoch');
    writeTree(ctx, { Dockerfile: 'FROM busybox\nCOPY f /f\nRUN echo x > /y\n', f: 'content' });
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const a = slipway(root, ['build', '-q', '--no-cache', ctx], { env });
    assert.equal(a.status, 0, a.stderr);
    utimesSync(join(ctx, 'f'), new Date(), new Date());
    const b = slipway(root, ['build', '-q', '--no-cache', ctx], { env });
    assert.equal(b.status, 0, b.stderr);
    assert.equal(a.stdout.trim(), b.stdout.trim());
    assert.match(a.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  });

  test('--no-cache starts cache mounts empty and leaves the kept cache as it was', () => {
    const ctx = tempDir('ctx-nocache-mount');
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox\nARG BUST\nRUN --mount=type=cache,target=/c,id=nocache-test sh -c "echo run >> /c/log; wc -l < /c/log > /count"\n',
    });
    const count = (...flags: string[]) => {
      const out = tempDir('nocache-out');
      const r = slipway(root, ['build', '-q', ...flags, '--output', `type=local,dest=${out}`, ctx]);
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(join(out, 'count'), 'utf8').trim();
    };
    assert.deepEqual(
      [
        count('--build-arg', 'BUST=1'),
        count('--build-arg', 'BUST=2'),
        count('--no-cache', '--build-arg', 'BUST=3'),
        count('--build-arg', 'BUST=4'),
      ],
      ['1', '2', '1', '3'],
    );
  });

  test('stages the target does not need are not built', () => {
    const ctx = tempDir('ctx-stages');
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox AS unused\nRUN false\n\nFROM busybox AS build\nRUN echo built > /artifact\n\nFROM scratch\nCOPY --from=build /artifact /artifact\n',
    });
    const r = slipway(root, ['build', '--progress=plain', '-t', 'stages-test', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /RUN false/);
  });

  test('RUN heredocs, cache/secret/bind/tmpfs mounts work and secrets stay out of the image', () => {
    const ctx = tempDir('ctx-mounts');
    const secretFile = join(tempDir('secret'), 'token');
    writeFileSync(secretFile, 's3cret-value');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox',
        'RUN <<EOF',
        'echo one > /one',
        'echo two > /two',
        'EOF',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo shebang > /three',
        'EOF',
        'RUN --mount=type=cache,target=/cache echo cached >> /cache/log && cat /cache/log | wc -l > /cache-count',
        'RUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /secret-len',
        'RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/x > /from-bind',
        'RUN --mount=type=tmpfs,target=/scratch touch /scratch/t && ls /scratch > /tmpfs-ls',
        '',
      ].join('\n'),
      'data/x': 'bound',
    });
    const r = slipway(root, [
      'build',
      '--progress=plain',
      '--secret',
      `id=token,src=${secretFile}`,
      '-t',
      'mounts-test',
      ctx,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /s3cret-value/);
    const out = spawnSync(
      'sh',
      [
        '-c',
        `cat ${join(root, 'oci/blobs/sha256')}/* | gzip -dc 2>/dev/null | strings | grep -c s3cret-value || true`,
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(out.stdout.trim(), '0', 'the secret is in no blob');
    const files = spawnSync(
      'sh',
      [
        '-c',
        `cd ${root}/snapshots && cat */one */two */three */from-bind */secret-len */tmpfs-ls 2>/dev/null`,
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(files.stdout, 'one\ntwo\nshebang\nbound12\nt\n');
  });

  test('RUN --mount=type=secret takes its id from source= and sets the file to uid, gid and mode', () => {
    const ctx = tempDir('ctx-secret-owner');
    const secretFile = join(tempDir('secret-owner'), 'token');
    writeFileSync(secretFile, 'tok');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,source=token cat /run/secrets/token > /by-source',
        'RUN --mount=type=secret,id=token,target=/etc/tok,mode=0777,uid=1000,gid=7 stat -c "%a %u %g" /etc/tok > /owner',
        '',
      ].join('\n'),
    });
    const r = slipway(root, ['build', '--secret', `id=token,src=${secretFile}`, '-t', 'secret-owner', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const out = slipway(root, ['run', '--rm', 'secret-owner', 'cat', '/by-source', '/owner']);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout, 'tok777 1000 7\n');
  });

  test('RUN --mount with a relative target mounts inside the WORKDIR (the docker init Python template)', () => {
    const ctx = tempDir('ctx-relmount');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox',
        'WORKDIR /relmount',
        'RUN --mount=type=cache,target=cache --mount=type=bind,source=requirements.txt,target=requirements.txt \\',
        '    cat /relmount/requirements.txt > /copied && echo kept >> /relmount/cache/log',
        'RUN --mount=type=cache,target=cache cat /relmount/cache/log > /cache-seen',
        '',
      ].join('\n'),
      'requirements.txt': 'flask\n',
    });
    const r = slipway(root, ['build', '-t', 'relmount-test', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const files = spawnSync('sh', ['-c', `cd ${root}/snapshots && cat */copied */cache-seen`], {
      encoding: 'utf8',
    });
    assert.equal(files.stdout, 'flask\nkept\n');
    // The mount points runc made in the WORKDIR are not part of any layer.
    const stubs = spawnSync('sh', ['-c', `ls -d ${root}/snapshots/*/relmount/* 2>/dev/null | wc -l`], {
      encoding: 'utf8',
    });
    assert.equal(stubs.stdout.trim(), '0');

    writeTree(ctx, { Dockerfile: 'FROM busybox\nRUN --mount=type=tmpfs,target=. true\n' });
    const slash = slipway(root, ['build', ctx]);
    assert.equal(slash.status, 1);
    assert.match(slash.stderr, /ERROR: Dockerfile:2:1: invalid mount target "\/"\n$/);
  });

  test('ADD unpacks local archives and fetches URLs, verifying --checksum', async () => {
    const ctx = tempDir('ctx-add');
    const payload = tempDir('payload');
    writeTree(payload, { 'pkg/inside.txt': 'from the archive', 'pkg/sub/deep.txt': 'deep' });
    assert.equal(spawnSync('tar', ['-C', payload, '-czf', join(ctx, 'pkg.tar.gz'), 'pkg']).status, 0);
    assert.equal(
      spawnSync('sh', ['-c', `tar -C ${payload} -cf - pkg | xz > ${join(ctx, 'pkg.tar.xz')}`]).status,
      0,
    );
    // gzip of something that is not a tar: copied as it is, as BuildKit does.
    writeFileSync(join(ctx, 'note.gz'), gzipSync('just text\n'));
    // The server runs in its own process: the CLI runs under spawnSync, which blocks this one.
    const body = 'downloaded content\n';
    const server = spawn(
      process.execPath,
      [
        '-e',
        `require('node:http').createServer((q, r) => { r.writeHead(200, { 'Last-Modified': new Date(1600000000000).toUTCString() }); r.end(${JSON.stringify(body)}); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = await new Promise<number>((ok) =>
      server.stdout!.once('data', (d: Buffer) => ok(Number(d.toString().trim()))),
    );
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(body).digest('hex')}`;
    try {
      writeTree(ctx, {
        Dockerfile: [
          'FROM busybox',
          'ADD pkg.tar.gz /gz/',
          'ADD pkg.tar.xz /xz/',
          'ADD --unpack=false pkg.tar.gz /packed/',
          'ADD note.gz /packed/',
          `ADD --checksum=${digest} http://127.0.0.1:${port}/files/note.txt /web/`,
          'RUN cat /gz/pkg/inside.txt /xz/pkg/sub/deep.txt /web/note.txt > /summary && ls /packed >> /summary && stat -c %a /web/note.txt >> /summary',
          '',
        ].join('\n'),
      });
      const r = slipway(root, [
        'build',
        '--progress=plain',
        '-o',
        `type=local,dest=${join(ctx, 'out')}`,
        ctx,
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(
        readFileSync(join(ctx, 'out/summary'), 'utf8'),
        `from the archivedeep${body}note.gz\npkg.tar.gz\n600\n`,
      );

      writeFileSync(
        join(ctx, 'Dockerfile'),
        `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/x /x\n`,
      );
      const bad = slipway(root, ['build', '-q', ctx]);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /digest mismatch/);
    } finally {
      if (server.pid) process.kill(server.pid, 'SIGTERM');
    }
  });

  test('--output type=tar writes the flattened filesystem; a layer archive reads back with tar', () => {
    const ctx = tempDir('ctx-output');
    writeTree(ctx, { Dockerfile: 'FROM scratch\nCOPY a /a\nCOPY b /b\n', a: 'A', b: 'B' });
    const tarPath = join(ctx, 'fs.tar');
    const r = slipway(root, ['build', '-q', '--output', `type=tar,dest=${tarPath}`, ctx]);
    assert.equal(r.status, 0, r.stderr);
    const listing = spawnSync('tar', ['-tf', tarPath], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .sort();
    assert.deepEqual(listing, ['a', 'b']);
  });

  test('build - reads a Dockerfile or a (compressed) context archive from stdin; -f - reads the Dockerfile', () => {
    const files = (tarPath: string) =>
      spawnSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
    const dockerfileOnly = slipway(root, ['build', '-q', '-t', 'stdin-df', '-'], {
      input: 'FROM busybox\nRUN echo from-stdin > /marker\n',
    });
    assert.equal(dockerfileOnly.status, 0, dockerfileOnly.stderr);
    const marker = slipway(root, ['run', '--rm', 'stdin-df', 'cat', '/marker']);
    assert.equal(marker.stdout, 'from-stdin\n', marker.stderr);

    const ctx = tempDir('ctx-stdin');
    writeTree(ctx, { 'sub/Build.df': 'FROM scratch\nCOPY a /a\n', a: 'A', '.dockerignore': 'b\n', b: 'B' });
    const archive = join(ctx, '..', `${ctx.split('/').pop()}.tgz`);
    assert.equal(spawnSync('tar', ['-czf', archive, '-C', ctx, '.']).status, 0);
    const out = join(tempDir('stdin-out'), 'fs.tar');
    const fromTar = slipway(
      root,
      ['build', '-q', '-f', 'sub/Build.df', '--output', `type=tar,dest=${out}`, '-'],
      {
        input: readFileSync(archive),
      },
    );
    assert.equal(fromTar.status, 0, fromTar.stderr);
    assert.deepEqual(files(out), ['a']);

    const missing = slipway(root, ['build', '-q', '-f', 'nope/Dockerfile', '-'], {
      input: readFileSync(archive),
    });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /open nope\/Dockerfile: no such file or directory/);

    const dashF = slipway(root, ['build', '-q', '-f', '-', '--output', `type=tar,dest=${out}`, ctx], {
      input: 'FROM scratch\nCOPY a /from-dash-f\n',
    });
    assert.equal(dashF.status, 0, dashF.stderr);
    assert.deepEqual(files(out), ['from-dash-f']);
    const badLine = slipway(root, ['build', '-q', '-f', '-', ctx], { input: 'FROM scratch\nFOO bar\n' });
    assert.match(badLine.stderr, /Dockerfile:2:1: unknown instruction: FOO/);

    const both = slipway(root, ['build', '-f', '-', '-'], { input: 'FROM scratch\n' });
    assert.equal(both.status, 125);
    assert.match(both.stderr, /can't use stdin for both build context and dockerfile/);
  });

  test('ONBUILD triggers of a base image run first in the child and are not inherited', () => {
    const ctx = tempDir('ctx-onbuild');
    writeTree(ctx, {
      'Dockerfile.parent':
        'FROM busybox\nONBUILD COPY trigger.txt /trigger.txt\nONBUILD RUN echo ran > /ran\n',
      Dockerfile: 'FROM onbuild-parent\nRUN cat /trigger.txt /ran\n',
      'trigger.txt': 'from the trigger',
    });
    assert.equal(
      slipway(root, ['build', '-q', '-f', join(ctx, 'Dockerfile.parent'), '-t', 'onbuild-parent', ctx])
        .status,
      0,
    );
    const child = slipway(root, ['build', '--progress=plain', '-t', 'onbuild-child', ctx]);
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stderr, /\[2\/4\] COPY trigger\.txt \/trigger\.txt/);
    assert.match(child.stderr, /from the trigger/);
    const onbuild = slipway(root, ['inspect', '--format', '{{json .Config.OnBuild}}', 'onbuild-child']);
    assert.equal(onbuild.stdout.trim(), 'null');
  });

  test('--cache-to type=local and --cache-from give a clean store CACHED steps', () => {
    const ctx = tempDir('ctx-cache');
    const cacheDir = join(tempDir('cache-export'), 'cache');
    writeTree(ctx, { Dockerfile: 'FROM busybox\nCOPY f /f\nRUN cat /f > /g\n', f: 'cache me' });
    const first = slipway(root, ['build', '-q', '--cache-to', `type=local,dest=${cacheDir}`, ctx]);
    assert.equal(first.status, 0, first.stderr);
    // A second machine: a fresh store holding the same busybox image (save/load keeps its id).
    const other = tempDir('cache-root');
    const archive = join(tempDir('busybox-archive'), 'busybox.tar');
    assert.equal(slipway(root, ['save', '-o', archive, 'busybox']).status, 0);
    assert.equal(slipway(other, ['load', '-i', archive]).status, 0);
    const second = slipway(other, [
      'build',
      '--progress=plain',
      '--cache-from',
      `type=local,src=${cacheDir}`,
      ctx,
    ]);
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(cachedNames(second.stderr), ['[2/3] COPY f /f', '[3/3] RUN cat /f > /g']);
    rmSync(other, { recursive: true, force: true });
  });

  test('COPY of a directory copies its contents: the destination keeps its metadata, a new one is 0755', () => {
    const ctx = tempDir('ctx-dirmeta');
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox\nRUN mkdir /keep && chmod 1777 /keep\nCOPY d700 /keep\nCOPY d700 /made\nCOPY d700 /\n',
      'd700/f': 'f',
      'd700/sub/g': 'g',
    });
    chmodSync(join(ctx, 'd700'), 0o700);
    chmodSync(join(ctx, 'd700/sub'), 0o700);
    symlinkSync('f', join(ctx, 'd700/ln'));
    lutimesSync(join(ctx, 'd700/ln'), 1600000000, 1600000000);
    const out = join(tempDir('dirmeta-out'), 'fs.tar');
    const r = slipway(root, ['build', '-q', '--output', `type=tar,dest=${out}`, ctx]);
    assert.equal(r.status, 0, r.stderr);
    const modes = new Map(
      spawnSync('tar', ['-tvf', out], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean)
        .map((l) => {
          const f = l.replace(/ -> .*$/, '').split(/\s+/);
          return [
            f
              .at(-1)!
              .replace(/^\.?\/?/, '')
              .replace(/\/$/, ''),
            f[0]!,
          ] as const;
        }),
    );
    assert.equal(modes.get('keep'), 'drwxrwxrwt', 'an existing destination keeps its mode');
    assert.equal(modes.get('made'), 'drwxr-xr-x', 'a new destination is 0755');
    assert.equal(modes.get('made/sub'), 'drwx------', 'directories inside are copied with their mode');
    assert.equal(modes.get('f'), '-rw-r--r--', 'COPY to / works');
    const link = spawnSync('tar', ['-tvf', out, '--full-time'], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    })
      .stdout.split('\n')
      .find((l) => / made\/ln -> f$/.test(l));
    assert.match(link ?? '', /2020-09-13 12:26:40/, 'a symlink keeps its mtime');
  });

  test('WORKDIR and COPY move only the directories that gain a child to the build time', () => {
    const ctx = tempDir('ctx-parent-mtime');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox',
        'RUN mkdir -p /a/b/c /k/l && touch -d @1500000000 /a /a/b /a/b/c /k /k/l',
        'WORKDIR /a/b/new',
        'COPY f /k/l/m/',
        '',
      ].join('\n'),
      f: 'f',
    });
    const r = slipway(root, ['build', '-q', '-t', 'parent-mtime', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const times = storedManifest('parent-mtime')
      .layers.slice(-2)
      .map((l) => {
        const blob = join(root, 'oci/blobs/sha256', l.digest.slice('sha256:'.length));
        return spawnSync('tar', ['-tvzf', blob, '--full-time'], {
          encoding: 'utf8',
          env: { ...process.env, TZ: 'UTC' },
        })
          .stdout.split('\n')
          .filter(Boolean)
          .map((line) => {
            const f = line.split(/\s+/);
            return `${f[5]} ${f[3] === '2017-07-14' ? 'kept' : 'now'}`;
          });
      });
    // Observed on dockerd 20.10: a parent copied up unchanged keeps its mtime (`a`, `k`); one
    // that gains a new entry (`a/b`, `k/l`) takes the build's time, as the new directories do.
    assert.deepEqual(times, [
      ['a/ kept', 'a/b/ now', 'a/b/new/ now'],
      ['k/ kept', 'k/l/ now', 'k/l/m/ now', 'k/l/m/f now'],
    ]);
  });

  test("COPY and WORKDIR go through the image's symlinks (merged /usr), as BuildKit does", () => {
    const ctx = tempDir('ctx-symdest');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox',
        'RUN mkdir -p /usr/lib2 && ln -s usr/lib2 /lib2 && ln -s /etc/real /etc/link',
        'COPY f /lib2/foo',
        'COPY f /etc/link',
        'WORKDIR /lib2/wd',
        'RUN test -L /lib2 && test -f /usr/lib2/foo && test -d /usr/lib2/wd && test -L /etc/link && cat /etc/real',
        '',
      ].join('\n'),
      f: 'through the link\n',
    });
    const r = slipway(root, ['build', '--progress=plain', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /through the link/);
  });

  test("a heredoc RUN's history is the argv BuildKit runs: the script, the shell's text, the shebang file", () => {
    const ctx = tempDir('ctx-heredoc-history');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox',
        'RUN <<EOT',
        'echo one > /one',
        'EOT',
        'RUN <<EOT sh',
        'echo two > /two',
        'EOT',
        'SHELL ["/bin/sh", "-ec"]',
        'RUN <<EOT',
        '#!/bin/sh',
        'echo three > /three',
        'EOT',
        '',
      ].join('\n'),
    });
    const r = slipway(root, ['build', '-q', '-t', 'heredoc-history', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const createdBy = slipway(root, [
      'history',
      '--no-trunc',
      '--format',
      '{{json .CreatedBy}}',
      'heredoc-history',
    ])
      .stdout.trim()
      .split('\n')
      .slice(0, 4)
      .reverse()
      .map((l) => JSON.parse(l) as string);
    assert.deepEqual(createdBy, [
      'RUN /bin/sh -c echo one > /one\n # buildkit',
      'RUN /bin/sh -c <<EOT sh\necho two > /two\nEOT # buildkit',
      'SHELL [/bin/sh -ec]',
      'RUN /bin/sh -ec /dev/pipes/EOT # buildkit',
    ]);
    const out = slipway(root, ['run', '--rm', 'heredoc-history', 'cat', '/one', '/two', '/three']);
    assert.equal(out.stdout, 'one\ntwo\nthree\n', out.stderr);
  });

  test('history and config text match BuildKit: ARG values, EXPOSE sets, a bare ENTRYPOINT', () => {
    const ctx = tempDir('ctx-history');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox',
        'ARG C=c',
        'ENV C=envC',
        'ARG A=defA',
        'ARG D=$A-d',
        'ARG U',
        'RUN true',
        'ARG C=again',
        'RUN echo $C > /c',
        'EXPOSE 1/udp 1/tcp 1',
        'ENTRYPOINT',
        '',
      ].join('\n'),
    });
    const r = slipway(root, ['build', '-q', '--build-arg', 'A=cliA', '-t', 'history-text', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const createdBy = slipway(root, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'history-text'])
      .stdout.trim()
      .split('\n')
      .slice(0, 10)
      .reverse();
    assert.deepEqual(createdBy, [
      'ARG C=c',
      'ENV C=envC',
      'ARG A=defA',
      'ARG D=cliA-d',
      'ARG U',
      'RUN |4 C=envC A=cliA D=cliA-d U= /bin/sh -c true # buildkit',
      'ARG C=again',
      // BuildKit lists the re-declared ARG twice, both with the value the RUN sees.
      'RUN |5 C=again A=cliA D=cliA-d U= C=again /bin/sh -c echo $C > /c # buildkit',
      'EXPOSE map[1/tcp:{} 1/udp:{}]',
      'ENTRYPOINT ["/bin/sh" "-c" ""]',
    ]);
    const config = (
      JSON.parse(slipway(root, ['image', 'inspect', 'history-text']).stdout) as Array<{
        Config: { Entrypoint: string[] };
      }>
    )[0]!.Config;
    assert.deepEqual(config.Entrypoint, ['/bin/sh', '-c', '']);
  });

  test('ARG scoping matches BuildKit: one-pass defaults, a child stage, proxy args in both cases', () => {
    const ctx = tempDir('ctx-arg-scope');
    writeTree(ctx, {
      Dockerfile: [
        'FROM busybox AS parent',
        'ARG A=1 B=x$A C="q  $A"',
        'ARG GIVEN="de  fault"',
        'RUN echo "B=$B C=$C GIVEN=$GIVEN" > /o',
        'FROM parent',
        'RUN echo "child A=$A" >> /o && env | grep -i _proxy= | sort >> /o',
        '',
      ].join('\n'),
    });
    const r = slipway(root, [
      'build',
      '-q',
      '--build-arg',
      'GIVEN=cli',
      '--build-arg',
      'ftp_proxy=f',
      '-t',
      'arg-scope',
      ctx,
    ]);
    assert.equal(r.status, 0, r.stderr);
    // Not trimmed: the first ARG's text ends in spaces (and busybox's own row is empty).
    const createdBy = slipway(root, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'arg-scope'])
      .stdout.split('\n')
      .slice(0, 4)
      .reverse();
    // Observed on dockerd 20.10 (BuildKit): defaults expand against the env from before the
    // ARG, history shows them unquoted and not overridden, and the child stage's RUN sees the
    // parent's ARG values but lists none of them.
    assert.deepEqual(createdBy, [
      'ARG A=1 B=x C=q  ',
      'ARG GIVEN=de  fault',
      'RUN |4 A=1 B=x C=q   GIVEN=cli /bin/sh -c echo "B=$B C=$C GIVEN=$GIVEN" > /o # buildkit',
      'RUN /bin/sh -c echo "child A=$A" >> /o && env | grep -i _proxy= | sort >> /o # buildkit',
    ]);
    const out = slipway(root, ['run', '--rm', 'arg-scope', 'cat', '/o']);
    assert.equal(out.stdout, 'B=x C=q   GIVEN=cli\nchild A=1\nFTP_PROXY=f\nftp_proxy=f\n', out.stderr);
  });

  test('a RUN that changes nothing still adds its (empty) layer, as BuildKit exports it', () => {
    const ctx = tempDir('ctx-noop-run');
    // With /etc/hosts and /etc/resolv.conf in the image and /dev, /proc, /sys made by the first
    // RUN, the second RUN changes nothing at all.
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox\nCOPY hosts resolv.conf /etc/\nRUN true\nRUN --mount=type=tmpfs,target=/tmp true\n',
      hosts: '',
      'resolv.conf': '',
    });
    const r = slipway(root, ['build', '-q', '-t', 'noop-run', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const layers = (ref: string) =>
      (
        JSON.parse(slipway(root, ['image', 'inspect', ref]).stdout) as Array<{ RootFS: { Layers: string[] } }>
      )[0]!.RootFS.Layers;
    const added = layers('noop-run').slice(layers('busybox').length);
    assert.equal(added.length, 3);
    // The diff ID of an empty tar, as BuildKit's layer for a step that changed nothing has.
    assert.equal(added[2], 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef');
  });

  test('config-only steps keep the previous time: rebuilding them gives the same image ID', () => {
    const ctx = tempDir('ctx-config-only');
    writeTree(ctx, { Dockerfile: 'FROM busybox\nENV X=1\nWORKDIR /\nLABEL a=b\n' });
    const ids = [1, 2].map(() => {
      const r = slipway(root, ['build', '-q', '--no-cache', ctx]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    });
    assert.equal(ids[0], ids[1]);
    const layers = (id: string) =>
      (
        JSON.parse(slipway(root, ['image', 'inspect', id]).stdout) as Array<{ RootFS: { Layers: string[] } }>
      )[0]!.RootFS.Layers.length;
    assert.equal(layers(ids[0]!), layers('busybox'), 'WORKDIR / adds no layer');

    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nSTOPSIGNAL FOO\n');
    const bad = slipway(root, ['build', '-q', ctx]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^ERROR: Dockerfile:2:1: Invalid signal: FOO$/m);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY --from=nowhere /a /a\n');
    assert.match(slipway(root, ['build', '-q', ctx]).stderr, /^ERROR: Dockerfile:2:1: COPY --from=nowhere/m);
  });

  test('an empty wildcard copies nothing; WORKDIR under a numeric USER; bad -t, a file context, a missing -f', () => {
    const ctx = tempDir('ctx-edges');
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox\nCOPY *.nomatch /dest/\nUSER 4242\nWORKDIR /made\nUSER root\nRUN stat -c %u:%g /made\n',
    });
    const r = slipway(root, ['build', '--progress=plain', '-t', 'edges', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^#\d+ [\d.]+ 4242:4242$/m, "WORKDIR is owned as BuildKit's mkdir chowns");

    const badTag = slipway(root, ['build', '--progress=plain', '-t', 'Bad:Name', ctx]);
    assert.equal(badTag.status, 125);
    assert.match(badTag.stderr, /invalid argument "Bad:Name" for "-t, --tag" flag: invalid reference format/);
    assert.doesNotMatch(badTag.stderr, /load build definition/, 'nothing is built before the tag is checked');

    const file = join(ctx, 'Dockerfile');
    assert.match(
      slipway(root, ['build', '-q', file]).stderr,
      /unable to prepare context: context must be a directory/,
    );
    const missing = join(tempDir('edges-missing'), 'Dockerfile');
    assert.match(
      slipway(root, ['build', '-q', '-f', missing, ctx]).stderr,
      new RegExp(`failed to read dockerfile: open ${missing}: no such file or directory`),
    );
  });

  test("FROM scratch gets BuildKit's default PATH and WorkingDir; a stage's ONBUILD fires once", () => {
    const ctx = tempDir('ctx-defaults');
    writeTree(ctx, {
      Dockerfile:
        'FROM scratch AS empty\nCOPY f /f\nFROM busybox AS a\nONBUILD RUN echo fired > /fired\nFROM a\nRUN cat /fired\n',
      f: 'f',
    });
    const config = (tag: string) =>
      (
        JSON.parse(slipway(root, ['image', 'inspect', tag]).stdout) as Array<{
          Config: Record<string, unknown>;
        }>
      )[0]!.Config;
    assert.equal(
      slipway(root, ['build', '-q', '--target', 'empty', '-t', 'defaults-scratch', ctx]).status,
      0,
    );
    assert.equal(config('defaults-scratch').WorkingDir, '/');
    assert.deepEqual(config('defaults-scratch').Env, [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    const r = slipway(root, ['build', '-q', '-t', 'defaults-onbuild', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(config('defaults-onbuild').OnBuild ?? null, null);
  });

  test('a COPY rebuilt after a file changed is the layer a clean build makes, with the new content', () => {
    const ctx = tempDir('ctx-template');
    const files: Record<string, string> = { Dockerfile: 'FROM scratch\nCOPY . /ctx\n' };
    for (let i = 0; i < 80; i++) files[`d${i % 4}/f${i}.txt`] = `file ${i} `.repeat(20);
    // One file keeps its size across the edit; one is large enough to be streamed from disk.
    files['same-size.txt'] = 'aaaa';
    files['big.bin'] = 'b'.repeat(3 << 20);
    writeTree(ctx, files);
    // Old enough that the digest cache trusts the files' stat (a file changed within 2 s is rehashed).
    const age = (p: string, seconds = 60) => {
      const t = (Date.now() - seconds * 1000) / 1000;
      utimesSync(join(ctx, p), t, t);
    };
    for (const p of Object.keys(files)) age(p);
    const diffIds = (r: string, tag: string): string[] =>
      (
        JSON.parse(slipway(r, ['image', 'inspect', tag]).stdout) as Array<{ RootFS: { Layers: string[] } }>
      )[0]!.RootFS.Layers;
    // Directories COPY creates get the build's time: pin it so two builds can give one layer.
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    assert.equal(slipway(root, ['build', '-q', '-t', 'template-a', ctx], { env }).status, 0);
    writeFileSync(join(ctx, 'same-size.txt'), 'bbbb');
    writeFileSync(join(ctx, 'd1/f1.txt'), 'changed');
    age('same-size.txt', 30);
    age('d1/f1.txt', 30);
    const rebuilt = slipway(root, ['build', '-q', '-t', 'template-b', ctx], { env });
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    const clean = tempDir('template-clean-root');
    assert.equal(slipway(clean, ['build', '-q', '-t', 'template-b', ctx], { env }).status, 0);
    assert.deepEqual(diffIds(root, 'template-b'), diffIds(clean, 'template-b'));
    assert.notDeepEqual(diffIds(root, 'template-b'), diffIds(root, 'template-a'));
    // A damaged record of the previous layer costs the shortcut, never the build or its bytes.
    const indexDir = join(root, 'cache', 'layer-index');
    for (const f of readdirSync(indexDir)) writeFileSync(join(indexDir, f), '{"format":3,"blob":"../../x"');
    writeFileSync(join(ctx, 'd2/f2.txt'), 'changed again');
    age('d2/f2.txt', 30);
    assert.equal(slipway(root, ['build', '-q', '-t', 'template-c', ctx], { env }).status, 0);
    assert.equal(slipway(clean, ['build', '-q', '-t', 'template-c', ctx], { env }).status, 0);
    assert.deepEqual(diffIds(root, 'template-c'), diffIds(clean, 'template-c'));
    const out = tempDir('template-out');
    const r = slipway(root, ['build', '-q', '--output', `type=local,dest=${out}`, ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(out, 'ctx/same-size.txt'), 'utf8'), 'bbbb');
    assert.equal(readFileSync(join(out, 'ctx/d1/f1.txt'), 'utf8'), 'changed');
    rmSync(clean, { recursive: true, force: true });
  });

  test('COPY sources resolve as BuildKit resolves them (wildcards, links, special files)', () => {
    const ctx = tempDir('ctx-sources');
    writeTree(ctx, { 'target/demo-1.0.jar': 'jar', 'd/b': 'b', a: 'one', f: 'f' });
    symlinkSync('d', join(ctx, 'ld'));
    symlinkSync('a', join(ctx, 'l'));
    spawnSync('mkfifo', [join(ctx, 'pipe')]);
    writeFileSync(
      join(ctx, 'Dockerfile'),
      [
        'FROM scratch',
        'WORKDIR /app',
        // One match, no trailing slash: the file app.jar, not a directory holding the jar.
        'COPY target/*.jar app.jar',
        // A path through a symlinked directory.
        'COPY ld/b /b',
        // A symlink named as a source is copied as its target's content.
        'COPY l /l',
        // `/d/.` cleans to the file /d.
        'COPY f /d/.',
        // A fifo met while copying the context is left out.
        'COPY . /all/',
        '',
      ].join('\n'),
    );
    const out = () => {
      const dir = tempDir('sources-out');
      const r = slipway(root, ['build', '-q', '--output', `type=local,dest=${dir}`, ctx]);
      assert.equal(r.status, 0, r.stderr);
      return dir;
    };
    const first = out();
    assert.equal(readFileSync(join(first, 'app/app.jar'), 'utf8'), 'jar');
    assert.equal(readFileSync(join(first, 'b'), 'utf8'), 'b');
    assert.equal(readFileSync(join(first, 'l'), 'utf8'), 'one');
    assert.equal(readFileSync(join(first, 'd'), 'utf8'), 'f');
    assert.equal(readFileSync(join(first, 'all/f'), 'utf8'), 'f');
    assert.throws(() => readFileSync(join(first, 'all/pipe')));
    // The cache key takes in what the link points at: editing the target rebuilds.
    writeFileSync(join(ctx, 'a'), 'two, longer');
    writeFileSync(join(ctx, 'd/b'), 'b2');
    const second = out();
    assert.equal(readFileSync(join(second, 'l'), 'utf8'), 'two, longer');
    assert.equal(readFileSync(join(second, 'b'), 'utf8'), 'b2');
  });

  test('sockets, fifos, dangling links and hardlinks in the context are copied as dockerd 20.10 copies them', () => {
    const ctx = tempDir('ctx-special');
    writeTree(ctx, { 'd/e/h1': 'h', 'top/t1': 't', Dockerfile: '' });
    linkSync(join(ctx, 'd/e/h1'), join(ctx, 'd/h2'));
    linkSync(join(ctx, 'top/t1'), join(ctx, 'top/t2'));
    spawnSync('mkfifo', [join(ctx, 'd/fifo'), join(ctx, 'fifo')]);
    // A socket bound by a process that exits without closing it stays behind, as a dead server's does.
    for (const sock of ['d/sock', 'sock']) {
      const bind = `require('node:net').createServer().listen(${JSON.stringify(join(ctx, sock))}, () => process.exit(0));`;
      assert.equal(spawnSync(process.execPath, ['-e', bind]).status, 0);
    }
    chmodSync(join(ctx, 'sock'), 0o711);
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'FROM scratch\nCOPY d /all/\nCOPY sock /s\nCOPY fifo /nothing/f\nCOPY top/t1 top/t2 /two/\n',
    );
    const r = slipway(root, ['build', '-q', '-t', 'special-test', ctx]);
    assert.equal(r.status, 0, r.stderr);
    const layers = storedManifest('special-test').layers.map((l) => {
      const blob = join(root, 'oci/blobs/sha256', l.digest.slice('sha256:'.length));
      return spawnSync('tar', ['-tvzf', blob, '--numeric-owner'], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean)
        .map((line) => {
          const f = line.split(/\s+/);
          return `${f[0]} ${f[2]} ${f.slice(5).join(' ')}`;
        });
    });
    // Observed on dockerd 20.10: the socket is an empty file with the socket's permissions; the
    // fifo is left out; hardlinks inside one source stay linked (the first name in tar order holds
    // the content), while two sources naming one file are two files.
    assert.deepEqual(layers, [
      [
        'drwxr-xr-x 0 all/',
        'drwxr-xr-x 0 all/e/',
        '-rw-r--r-- 1 all/e/h1',
        'hrw-r--r-- 0 all/h2 link to all/e/h1',
        '-rwxr-xr-x 0 all/sock',
      ],
      ['-rwx--x--x 0 s'],
      [],
      ['drwxr-xr-x 0 two/', '-rw-r--r-- 1 two/t1', '-rw-r--r-- 1 two/t2'],
    ]);
    // A source link that leads nowhere fails, named or matched by a wildcard.
    symlinkSync('nowhere', join(ctx, 'dangling'));
    for (const source of ['dangling', 'dang*']) {
      writeFileSync(join(ctx, 'Dockerfile'), `FROM scratch\nCOPY ${source} /x\n`);
      const bad = slipway(root, ['build', '-q', ctx]);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /"\/nowhere": not found/);
    }
  });

  test('COPY --from never reads the host through a link in the stage', () => {
    const host = tempDir('host-secret');
    writeFileSync(join(host, 'secret.txt'), 'host secret');
    const ctx = tempDir('ctx-from-link');
    symlinkSync(host, join(ctx, 'ln'));
    const stage = `FROM busybox AS s\nRUN ln -s ${host} /ln\nFROM scratch\n`;
    writeTree(ctx, { Dockerfile: `${stage}COPY --from=s /ln/* /x/\n` });
    const out = tempDir('from-link-out');
    const r = slipway(root, ['build', '-q', '--output', `type=local,dest=${out}`, ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.throws(() => readFileSync(join(out, 'x/secret.txt')));
    // Named, the link leads nowhere inside the stage: not found, as in BuildKit.
    writeTree(ctx, { Dockerfile: `${stage}COPY --from=s /ln /y\n` });
    const named = slipway(root, ['build', '-q', ctx]);
    assert.notEqual(named.status, 0);
    assert.match(named.stderr, /not found/);
    assert.doesNotMatch(named.stderr, /host secret/);
    // Nor does a bind mount: its source resolves inside the context, where the link leads nowhere.
    writeTree(ctx, {
      Dockerfile: 'FROM busybox\nRUN --mount=type=bind,source=ln,target=/m cat /m/secret.txt\n',
    });
    const run = slipway(root, ['build', '-q', '--progress=plain', ctx]);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /failed to mount \/m: ln: not found/);
    assert.doesNotMatch(run.stderr, /host secret/);
  });

  test('a Dockerfile or .dockerignore linked out of the context is refused, a fifo does not hang', () => {
    const host = tempDir('host-files');
    writeFileSync(join(host, 'Dockerfile'), 'FROM scratch\nLABEL from=host\n');
    writeFileSync(join(host, 'ignore'), 'TOPSECRET[token\n');
    const ctx = tempDir('ctx-linked-defs');
    symlinkSync(join(host, 'Dockerfile'), join(ctx, 'Dockerfile'));
    let r = slipway(root, ['build', '-q', ctx]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /failed to read dockerfile: Dockerfile is a symlink that leads out of/);
    rmSync(join(ctx, 'Dockerfile'));
    writeTree(ctx, { Dockerfile: 'FROM scratch\nCOPY . /\n', real: 'x' });
    symlinkSync(join(host, 'ignore'), join(ctx, '.dockerignore'));
    r = slipway(root, ['build', '-q', ctx]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\.dockerignore is a symlink that leads out of/);
    assert.doesNotMatch(r.stderr, /TOPSECRET/);
    // A link inside the context is followed, as BuildKit does.
    rmSync(join(ctx, '.dockerignore'));
    writeTree(ctx, { 'ignore.txt': 'real\n' });
    symlinkSync('ignore.txt', join(ctx, '.dockerignore'));
    assert.equal(slipway(root, ['build', '-q', ctx]).status, 0);
    const fifo = tempDir('ctx-fifo-dockerfile');
    spawnSync('mkfifo', [join(fifo, 'Dockerfile')]);
    r = slipway(root, ['build', '-q', fifo]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Dockerfile is not a regular file/);
  });

  test('a RUN mount from a stage that cannot be set up leaves nothing mounted', () => {
    const ctx = tempDir('ctx-mount-fail');
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox AS st\nRUN touch /a\nFROM busybox\nRUN --mount=type=bind,from=st,source=/nonexistent,target=/m true\n',
    });
    const r = slipway(root, ['build', '-q', ctx]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /failed to mount \/m: \/nonexistent: not found/);
    assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(root), 'no mount left under the store');
  });

  test('cleaning up mount points never follows a link the RUN left toward the host', () => {
    const victim = tempDir('stub-victim');
    mkdirSync(join(victim, 'y'));
    const ctx = tempDir('ctx-stub-link');
    writeTree(ctx, {
      Dockerfile: `FROM busybox\nRUN --mount=type=tmpfs,target=/x/y sh -c "mv /x /x.old && ln -s ${victim} /x"\n`,
    });
    const r = slipway(root, ['build', '-q', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lstatSync(join(victim, 'y')).isDirectory(), 'the host directory is still there');
  });

  test('COPY --chown=name fails on an image without /etc/passwd, as BuildKit does', () => {
    const ctx = tempDir('ctx-chown-scratch');
    writeTree(ctx, { Dockerfile: 'FROM scratch\nCOPY --chown=app f /f\n', f: 'x' });
    const r = slipway(root, ['build', '-q', ctx]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Dockerfile:2.*unable to find user app: the image has no \/etc\/passwd/);
    writeTree(ctx, { Dockerfile: 'FROM scratch\nCOPY --chown=1000:1000 f /f\n' });
    assert.equal(slipway(root, ['build', '-q', ctx]).status, 0);
  });

  test('--output type=image,compression=zstd|uncompressed writes layers with those media types', () => {
    const ctx = tempDir('ctx-compression');
    writeTree(ctx, { Dockerfile: 'FROM busybox\nCOPY f /f\n', f: 'compress me' });
    for (const [compression, mediaType] of [
      ['zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
      ['uncompressed', 'application/vnd.oci.image.layer.v1.tar'],
    ] as const) {
      // The name goes in the output spec, as buildx writes it.
      const tag = `compression-${compression}`;
      const r = slipway(root, [
        'build',
        '-q',
        '--output',
        `type=image,name=${tag},compression=${compression}`,
        ctx,
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(storedManifest(tag).layers.at(-1)!.mediaType, mediaType);
    }
  });

  test('--network none and --add-host reach every RUN, and --rm/--shm-size are accepted as no-ops', () => {
    const ctx = tempDir('ctx-network');
    writeTree(ctx, {
      Dockerfile:
        'FROM busybox\nRUN wc -l < /proc/net/dev; grep foo /etc/hosts\nRUN --network=host wc -l < /proc/net/dev\n',
    });
    const r = slipway(root, [
      'build',
      '--progress=plain',
      '--network',
      'none',
      '--add-host',
      'foo:1.2.3.4',
      '--rm',
      '--shm-size',
      '1g',
      ctx,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stderr
      .split('\n')
      .filter((l) => /^#\d+ [\d.]+ /.test(l))
      .map((l) => l.replace(/^#\d+ [\d.]+ /, ''));
    // /proc/net/dev: two header lines and lo only in a network of its own; the host's under --network=host.
    assert.equal(out[0], '3');
    assert.equal(out[1], '1.2.3.4\tfoo');
    assert.notEqual(out[2], '3');
    const bad = slipway(root, ['build', '--network', 'bridge', ctx]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /network mode "bridge" not supported by buildkit/);
  });

  test('--iidfile: a failed build removes an earlier ID, an unwritable one fails in docker words', () => {
    const ctx = tempDir('ctx-iidfile');
    writeTree(ctx, { Dockerfile: 'FROM busybox\n' });
    const iid = join(ctx, 'iid');
    writeFileSync(iid, 'stale');
    const failed = slipway(root, ['build', '-q', '-f', join(ctx, 'nosuch'), '--iidfile', iid, ctx]);
    assert.equal(failed.status, 1);
    assert.throws(() => lstatSync(iid), { code: 'ENOENT' });
    const r = slipway(root, ['build', '-q', '--iidfile', join(ctx, 'no/dir'), ctx]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot write image ID file: open .*\/no\/dir: no such file or directory/);
  });
});

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../helpers/paths.js';
import { readZip } from './zip.js';

const fixture = join(repoRoot, 'fixtures', 'hub');
const projects = ['click', 'flask', 'itsdangerous', 'jinja2', 'markupsafe', 'werkzeug'];
const rootfsNames = ['busybox.tar', 'debian-bookworm-slim.tar', 'python-3.11-slim.tar', 'ubuntu.tar'];

function hubDir(): string {
  if (process.env.SLIPWAY_HUB_DIR) return process.env.SLIPWAY_HUB_DIR;
  return execFileSync('bash', [join(fixture, 'build.sh'), '--print-dir'], { encoding: 'utf8' }).trim();
}

const hub = hubDir();
const notReady = existsSync(join(hub, 'READY'))
  ? false
  : `hub not built (${hub} has no READY): run \`bash fixtures/hub/build.sh\` as root (~2 min cold)`;

/** Per test, so the runner counts each one as skipped. */
const built = { skip: notReady };

interface Manifest {
  hash: string;
  port: number;
  indexUrl: string;
  rootfs: Record<string, { bytes: number; sha256: string }>;
  wheels: Record<string, { bytes: number; sha256: string }>;
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function tarList(tar: string): Set<string> {
  const out = execFileSync('tar', ['-tf', tar], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return new Set(out.split('\n').filter(Boolean));
}

/** The wheel links of one PEP 503 project page. */
function projectLinks(html: string): { file: string; sha256: string }[] {
  const links: { file: string; sha256: string }[] = [];
  for (const m of html.matchAll(/<a href="([^"]+)"/g)) {
    const href = m[1] ?? '';
    const parsed = /^\.\.\/\.\.\/wheels\/([^/#]+\.whl)#sha256=([0-9a-f]{64})$/.exec(href);
    assert.ok(parsed, `link ${href} is not ../../wheels/<file>#sha256=<hex>`);
    links.push({ file: parsed[1] ?? '', sha256: parsed[2] ?? '' });
  }
  return links;
}

describe('offline hub (fixtures/hub, built)', () => {
  it('has a manifest that matches the files on disk', built, () => {
    const manifest = JSON.parse(readFileSync(join(hub, 'recipe.json'), 'utf8')) as Manifest;
    if (!process.env.SLIPWAY_HUB_DIR) assert.equal(basename(hub), manifest.hash);
    assert.equal(manifest.indexUrl, `http://127.0.0.1:${manifest.port}/simple/`);
    assert.deepEqual(Object.keys(manifest.rootfs).sort(), rootfsNames);
    for (const [name, { bytes }] of Object.entries(manifest.rootfs)) {
      assert.equal(statSync(join(hub, 'rootfs', name)).size, bytes, name);
    }
    for (const [name, { sha256 }] of Object.entries(manifest.wheels)) {
      assert.equal(sha256Hex(readFileSync(join(hub, 'wheels', name))), sha256, name);
    }
  });

  it('has the four rootfs tarballs with what the tutorials use', built, () => {
    const manifest = JSON.parse(readFileSync(join(hub, 'recipe.json'), 'utf8')) as Manifest;
    const python = tarList(join(hub, 'rootfs', 'python-3.11-slim.tar'));
    for (const p of [
      './usr/bin/python3',
      './usr/bin/pip3',
      './usr/local/bin/python',
      './etc/pip.conf',
      './usr/bin/sh',
      './bin',
    ]) {
      assert.ok(python.has(p), `python-3.11-slim.tar lacks ${p}`);
    }
    assert.ok(!python.has('./usr/lib/python3.11/EXTERNALLY-MANAGED'));
    assert.ok(![...python].some((p) => p.startsWith('./var/lib/apt/lists/') && p !== './var/lib/apt/lists/'));

    const debian = tarList(join(hub, 'rootfs', 'debian-bookworm-slim.tar'));
    assert.ok(debian.has('./usr/bin/apt-get'));
    assert.ok(!debian.has('./etc/pip.conf'));
    assert.ok(!debian.has('./usr/bin/python3'));

    const ubuntu = tarList(join(hub, 'rootfs', 'ubuntu.tar'));
    assert.ok(ubuntu.has('./usr/bin/apt-get') && ubuntu.has('./etc/pip.conf'));

    const busybox = tarList(join(hub, 'rootfs', 'busybox.tar'));
    for (const p of ['./bin/busybox', './bin/sh', './bin/ls', './etc/passwd', './etc/group', './tmp/']) {
      assert.ok(busybox.has(p), `busybox.tar lacks ${p}`);
    }

    const pipConf = execFileSync(
      'tar',
      ['-xOf', join(hub, 'rootfs', 'python-3.11-slim.tar'), './etc/pip.conf'],
      {
        encoding: 'utf8',
      },
    );
    assert.match(pipConf, new RegExp(`^index-url = ${manifest.indexUrl.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(pipConf, /^trusted-host = 127\.0\.0\.1$/m);
    assert.match(pipConf, /^break-system-packages = true$/m);
  });

  it('has a PEP 503 index that lists flask and its dependencies with valid sha256 links', built, () => {
    const root = readFileSync(join(hub, 'simple', 'index.html'), 'utf8');
    const listed = [...root.matchAll(/<a href="([^"]+)\/">([^<]+)<\/a>/g)].map((m) => m[2]);
    assert.deepEqual(listed, projects);
    for (const project of projects) {
      const links = projectLinks(readFileSync(join(hub, 'simple', project, 'index.html'), 'utf8'));
      assert.equal(links.length, 1, project);
      for (const { file, sha256 } of links) {
        assert.equal(file.split('-')[0], project.replaceAll('-', '_'));
        assert.equal(sha256Hex(readFileSync(join(hub, 'wheels', file))), sha256, file);
      }
    }
  });

  it('has wheels whose RECORD verifies and whose metadata pulls in the dependencies', built, () => {
    const wheels = readdirSync(join(hub, 'wheels')).filter((f) => f.endsWith('.whl'));
    assert.equal(wheels.length, projects.length);
    for (const file of wheels) {
      const [dist, version, ...tag] = file.slice(0, -'.whl'.length).split('-');
      const entries = new Map(readZip(readFileSync(join(hub, 'wheels', file))).map((e) => [e.name, e.data]));
      const info = `${dist}-${version}.dist-info`;
      const record = entries.get(`${info}/RECORD`);
      assert.ok(record, `${file} has no ${info}/RECORD`);
      const listed = new Set<string>();
      for (const line of record.toString('utf8').split('\n').filter(Boolean)) {
        const m = /^(.+),(sha256=[A-Za-z0-9_-]{43})?,(\d*)$/.exec(line);
        assert.ok(m, `${file}: bad RECORD line ${line}`);
        const [, path = '', hash, size] = m;
        listed.add(path);
        if (path === `${info}/RECORD`) continue;
        const data = entries.get(path);
        assert.ok(data, `${file}: RECORD lists missing ${path}`);
        const digest = createHash('sha256').update(data).digest('base64url');
        assert.equal(hash, `sha256=${digest}`, `${file}: ${path}`);
        assert.equal(Number(size), data.length, `${file}: ${path}`);
      }
      assert.deepEqual([...entries.keys()].sort(), [...listed].sort(), `${file}: RECORD and archive differ`);

      const wheelMeta = entries.get(`${info}/WHEEL`)?.toString('utf8') ?? '';
      assert.match(wheelMeta, new RegExp(`^Tag: ${tag.join('-')}$`, 'm'));
      const metadata = entries.get(`${info}/METADATA`)?.toString('utf8') ?? '';
      assert.match(metadata, new RegExp(`^Version: ${version?.replaceAll('.', '\\.')}$`, 'm'));
      if (dist === 'flask') {
        for (const dep of ['Werkzeug', 'Jinja2', 'itsdangerous', 'click']) {
          assert.match(metadata, new RegExp(`^Requires-Dist: ${dep}>=`, 'm'), `flask requires ${dep}`);
        }
        const eps = entries.get(`${info}/entry_points.txt`)?.toString('utf8') ?? '';
        assert.match(eps, /^flask = flask\.cli:main$/m);
      }
      if (dist === 'markupsafe') assert.ok([...entries.keys()].some((n) => n.endsWith('.so')));
    }
  });
});

async function startServer(dir: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [join(fixture, 'serve.mjs'), '--dir', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8');
  for await (const chunk of child.stdout ?? []) {
    out += chunk;
    const m = /^listening (\d+)$/m.exec(out);
    if (m) return { child, base: `http://127.0.0.1:${m[1]}` };
  }
  throw new Error(`serve.mjs exited without listening: ${out}`);
}

describe('fixtures/hub/serve.mjs', () => {
  it('serves a hub dir read-only and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-hub-serve-'));
    try {
      mkdirSync(join(dir, 'simple', 'demo'), { recursive: true });
      mkdirSync(join(dir, 'wheels'));
      const wheel = Buffer.from('not really a wheel');
      writeFileSync(join(dir, 'wheels', 'demo-1.0-py3-none-any.whl'), wheel);
      const page = '<a href="../../wheels/demo-1.0-py3-none-any.whl">demo</a>\n';
      writeFileSync(join(dir, 'simple', 'demo', 'index.html'), page);
      const { child, base } = await startServer(dir);
      try {
        const redirect = await fetch(`${base}/simple/demo`, { redirect: 'manual' });
        assert.equal(redirect.status, 301);
        assert.equal(redirect.headers.get('location'), '/simple/demo/');

        const index = await fetch(`${base}/simple/demo/`);
        assert.equal(index.status, 200);
        assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
        assert.equal(await index.text(), page);

        const whl = await fetch(new URL('../../wheels/demo-1.0-py3-none-any.whl', `${base}/simple/demo/`));
        assert.equal(whl.status, 200);
        assert.deepEqual(Buffer.from(await whl.arrayBuffer()), wheel);

        const head = await fetch(`${base}/wheels/demo-1.0-py3-none-any.whl`, { method: 'HEAD' });
        assert.equal(head.headers.get('content-length'), String(wheel.length));
        assert.equal((await fetch(`${base}/nope`)).status, 404);
        assert.equal((await fetch(`${base}/simple/%2e%2e%2f%2e%2e%2f..%2fetc%2fpasswd`)).status, 403);
        assert.equal((await fetch(`${base}/simple/`, { method: 'POST' })).status, 405);
      } finally {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const [code, signal] = await exited;
        assert.equal(code, 0, `serve.mjs exit code (signal ${signal})`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

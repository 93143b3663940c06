/**
 * The five tutorials, built verbatim against the offline hub (base images + a PEP 503 index):
 * each builds, Flask imports inside the image, a second build is all CACHED, and editing app.py
 * rebuilds only from `COPY . .` on.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { slipway, tempDir, writeTree } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';

function hubDir(): string | undefined {
  const dir =
    process.env.SLIPWAY_HUB_DIR ||
    spawnSync('bash', [join(repoRoot, 'fixtures/hub/build.sh'), '--print-dir'], {
      encoding: 'utf8',
    }).stdout.trim();
  return dir && existsSync(join(dir, 'READY')) ? dir : undefined;
}

const hub = hubDir();
const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : !hub
      ? 'the offline hub is not built (bash fixtures/hub/build.sh)'
      : false;
const root = tempDir('tutorials-root');
let server: ChildProcess | undefined;

function build(context: string, tag: string): ReturnType<typeof slipway> {
  return slipway(root, ['build', '--progress=plain', '-t', tag, context]);
}

/** Names of the steps a plain-progress build reports as CACHED, and of those it ran. */
function stepStates(stderr: string): { cached: string[]; ran: string[] } {
  const names = new Map<string, string>();
  const cached: string[] = [];
  const ran: string[] = [];
  for (const line of stderr.split('\n')) {
    const start = /^#(\d+) (\[(?!internal).*)$/.exec(line);
    if (start) names.set(start[1]!, start[2]!);
    const end = /^#(\d+) (CACHED|DONE)/.exec(line);
    const name = end && names.get(end[1]!);
    if (name && !/\] FROM /.test(name))
      (end![2] === 'CACHED' ? cached : ran).push(name.replace(/^\[[^\]]*\] /, ''));
  }
  return { cached, ran };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** One GET with node:http (a ref'd socket and timer keep the test's event loop alive). */
function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** The first answer on the port (the app needs a moment to start), or the last error after 30 s. */
async function waitForAnswer(port: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await get(port);
      if (r.status === 200) return r.body;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`no answer on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function assertFlaskImports(image: string): void {
  const ctx = tempDir('flask-check');
  writeTree(ctx, {
    Dockerfile: `FROM ${image}\nRUN python3 -c "import flask; print('flask', flask.__version__)"\n`,
  });
  const r = slipway(root, ['build', '--progress=plain', ctx]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /flask 2\.2\.2/);
}

describe('the tutorials build verbatim', { skip }, () => {
  before(async () => {
    const imported = spawnSync(
      process.execPath,
      [join(repoRoot, 'fixtures/hub/import.mjs'), hub!, '--root', root],
      { encoding: 'utf8' },
    );
    assert.equal(imported.status, 0, imported.stderr);
    const answering =
      spawnSync('curl', ['-fsS', '-m', '2', '-o', '/dev/null', 'http://127.0.0.1:3141/simple/']).status === 0;
    if (!answering) {
      server = spawn(
        process.execPath,
        [join(repoRoot, 'fixtures/hub/serve.mjs'), '--dir', hub!, '--port', '3141'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      await new Promise<void>((resolve) => server!.stdout!.once('data', () => resolve()));
    }
  });
  after(() => {
    if (server?.pid) process.kill(server.pid, 'SIGTERM');
    rmSync(root, { recursive: true, force: true });
  });

  test('docs: builds, imports Flask, rebuilds all CACHED, app.py edit rebuilds from COPY . .', () => {
    const ctx = join(tempDir('docs'), 'python-docker');
    cpSync(join(repoRoot, 'examples/tutorials/docs'), ctx, { recursive: true });
    const first = build(ctx, 'python-docker');
    assert.equal(first.status, 0, first.stderr);
    assertFlaskImports('python-docker');

    const again = stepStates(build(ctx, 'python-docker').stderr);
    assert.deepEqual(again.ran, []);
    assert.deepEqual(again.cached, [
      'WORKDIR /app',
      'COPY requirements.txt requirements.txt',
      'RUN pip3 install -r requirements.txt',
      'COPY . .',
    ]);

    appendFileSync(join(ctx, 'app.py'), '\n# edited\n');
    const edited = stepStates(build(ctx, 'python-docker').stderr);
    assert.deepEqual(edited.cached, [
      'WORKDIR /app',
      'COPY requirements.txt requirements.txt',
      'RUN pip3 install -r requirements.txt',
    ]);
    assert.deepEqual(edited.ran, ['COPY . .']);
  });

  for (const name of ['lab', 'course', 'blog']) {
    test(`${name}: builds and imports Flask`, () => {
      const r = build(join(repoRoot, 'examples/tutorials', name), `tutorial-${name}`);
      assert.equal(r.status, 0, r.stderr);
      assertFlaskImports(`tutorial-${name}`);
    });
  }

  const answers: Record<string, string> = {
    'python-docker': 'Hello, Docker!',
    'tutorial-lab': 'hello world!',
    'tutorial-course': 'Hello from Dockerized Python Flask App!',
    'tutorial-blog': 'Hello from simple-flask-web!',
  };
  for (const [image, text] of Object.entries(answers)) {
    test(`run -d -p serves ${image} on localhost; ps, logs, stop, rm clean up`, async () => {
      const port = await freePort();
      const name = `${image}-run`;
      const started = slipway(root, ['run', '-d', '-p', `${port}:5000`, '--name', name, image]);
      assert.equal(started.status, 0, started.stderr);
      const id = started.stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      try {
        assert.equal(await waitForAnswer(port), text);
        const ps = slipway(root, ['ps']);
        assert.match(ps.stdout, new RegExp(`0\\.0\\.0\\.0:${port}->5000/tcp\\s+${name}`));
        const logs = slipway(root, ['logs', name]);
        assert.match(logs.stdout + logs.stderr, /"GET \/ HTTP\/1\.1" 200/);
        assert.equal(slipway(root, ['stop', name]).status, 0);
        assert.equal(slipway(root, ['rm', name]).status, 0);
        assert.doesNotMatch(readFileSync('/proc/mounts', 'utf8'), new RegExp(id.slice(0, 12)));
        assert.equal(existsSync(join(root, 'containers', id)), false);
      } finally {
        slipway(root, ['rm', '-f', name]);
      }
    });
  }

  test('course-multistage: builds (its image cannot import Flask, with Docker too)', () => {
    const r = build(join(repoRoot, 'examples/tutorials/course-multistage'), 'tutorial-course-multistage');
    assert.equal(r.status, 0, r.stderr);
  });
});

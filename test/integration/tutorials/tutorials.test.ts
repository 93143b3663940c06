/**
 * The five tutorials, built verbatim against the offline hub (base images + a PEP 503 index):
 * each builds, Flask imports inside the image, a second build is all CACHED, and editing app.py
 * rebuilds only from `COPY . .` on.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { slipway, tempDir, writeTree } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';

function hubDir(): string | undefined {
  const dir =
    process.env.SLIPWAY_HUB_DIR ||
    spawnSync('bash', [join(repoRoot, 'fixtures/hub/build.sh'), '--print-dir'], { encoding: 'utf8' }).stdout.trim();
  return dir && existsSync(join(dir, 'READY')) ? dir : undefined;
}

const hub = hubDir();
const skip = process.getuid?.() !== 0 ? 'needs root' : !hub ? 'the offline hub is not built (bash fixtures/hub/build.sh)' : false;
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
    if (name && !/\] FROM /.test(name)) (end![2] === 'CACHED' ? cached : ran).push(name.replace(/^\[[^\]]*\] /, ''));
  }
  return { cached, ran };
}

function assertFlaskImports(image: string): void {
  const ctx = tempDir('flask-check');
  writeTree(ctx, { Dockerfile: `FROM ${image}\nRUN python3 -c "import flask; print('flask', flask.__version__)"\n` });
  const r = slipway(root, ['build', '--progress=plain', ctx]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /flask 2\.2\.2/);
}

describe('the tutorials build verbatim', { skip }, () => {
  before(async () => {
    const imported = spawnSync(process.execPath, [join(repoRoot, 'fixtures/hub/import.mjs'), hub!, '--root', root], { encoding: 'utf8' });
    assert.equal(imported.status, 0, imported.stderr);
    const answering = spawnSync('curl', ['-fsS', '-m', '2', '-o', '/dev/null', 'http://127.0.0.1:3141/simple/']).status === 0;
    if (!answering) {
      server = spawn(process.execPath, [join(repoRoot, 'fixtures/hub/serve.mjs'), '--dir', hub!, '--port', '3141'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
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
    assert.deepEqual(again.cached, ['WORKDIR /app', 'COPY requirements.txt requirements.txt', 'RUN pip3 install -r requirements.txt', 'COPY . .']);

    appendFileSync(join(ctx, 'app.py'), '\n# edited\n');
    const edited = stepStates(build(ctx, 'python-docker').stderr);
    assert.deepEqual(edited.cached, ['WORKDIR /app', 'COPY requirements.txt requirements.txt', 'RUN pip3 install -r requirements.txt']);
    assert.deepEqual(edited.ran, ['COPY . .']);
  });

  for (const name of ['lab', 'course', 'blog']) {
    test(`${name}: builds and imports Flask`, () => {
      const r = build(join(repoRoot, 'examples/tutorials', name), `tutorial-${name}`);
      assert.equal(r.status, 0, r.stderr);
      assertFlaskImports(`tutorial-${name}`);
    });
  }

  test('course-multistage: builds (its image cannot import Flask, with Docker too)', () => {
    const r = build(join(repoRoot, 'examples/tutorials/course-multistage'), 'tutorial-course-multistage');
    assert.equal(r.status, 0, r.stderr);
  });
});

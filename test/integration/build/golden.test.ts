/**
 * slipway's images compared with what BuildKit built from the same Dockerfile and context
 * (recorded in test/golden/buildkit by scripts/record-golden.sh): config, history and the
 * files each layer above the base adds.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { slipway, tempDir } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';

interface LayerEntryGolden {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
}
interface Golden {
  name: string;
  context: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  inspectConfig: Record<string, unknown>;
  /** The raw config JSON's `config` object, as BuildKit wrote it. */
  imageConfig: Record<string, unknown>;
  configHistory: Array<{ created_by: string; empty_layer: boolean; fromBase: boolean }>;
  layers: Array<{ createdBy: string; entries: LayerEntryGolden[] }>;
  baseLayerCount: number;
}

const goldenDir = join(repoRoot, 'test/golden/buildkit');
const CTX_MTIME = 1700000000;
const MODES: Record<string, Record<string, number>> = { 'copy-rules': { secret: 0o600 } };
/** Cases that need RUN to reach the network (apt-get against the Debian mirror). */
const NEEDS_MIRROR = new Set(['course-multistage']);

function hubDir(): string | undefined {
  const fromEnv = process.env.SLIPWAY_HUB_DIR;
  const dir =
    fromEnv ||
    spawnSync('bash', [join(repoRoot, 'fixtures/hub/build.sh'), '--print-dir'], {
      encoding: 'utf8',
    }).stdout.trim();
  return dir && existsSync(join(dir, 'READY')) ? dir : undefined;
}

const hub = hubDir();
const isRoot = process.getuid?.() === 0;
const skip = !isRoot
  ? 'needs root'
  : !hub
    ? 'the offline hub is not built (bash fixtures/hub/build.sh)'
    : false;
const root = tempDir('golden-root');
let server: ChildProcess | undefined;

/** Prepares the context as the recorder did: modes normalised, every mtime fixed. */
function prepareContext(g: Golden): string {
  const dir = tempDir(`golden-${g.name}`);
  const ctx = join(dir, 'ctx');
  cpSync(join(repoRoot, g.context), ctx, { recursive: true, verbatimSymlinks: true });
  spawnSync('sh', [
    '-c',
    `find "${ctx}" -type d -exec chmod 0755 {} + && find "${ctx}" -type f -exec chmod 0644 {} +`,
  ]);
  for (const [file, mode] of Object.entries(MODES[g.name] ?? {}))
    spawnSync('chmod', [mode.toString(8), join(ctx, file)]);
  spawnSync('sh', ['-c', `find "${ctx}" -exec touch -h -d @${CTX_MTIME} {} +`]);
  writeFileSync(join(dir, 'Dockerfile'), g.dockerfile);
  return dir;
}

function layerListing(root: string, digest: string): LayerEntryGolden[] {
  const r = spawnSync(
    'tar',
    ['-tvzf', join(root, 'oci/blobs/sha256', digest.slice(7)), '--numeric-owner', '--quoting-style=literal'],
    {
      encoding: 'utf8',
    },
  );
  const out: LayerEntryGolden[] = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const m = /^(\S)(\S{9}) (\d+)\/(\d+)\s+(\d+) \S+ \S+ (.*)$/.exec(line);
    if (!m) continue;
    const [, t, perms, uid, gid, size, rest] = m;
    const type =
      { '-': 'file', d: 'dir', l: 'symlink', h: 'hardlink', c: 'char', b: 'block', p: 'fifo' }[t!] ?? t!;
    let path = rest!;
    let linkTarget: string | undefined;
    if (type === 'symlink') [path, linkTarget] = path.split(' -> ') as [string, string];
    out.push({
      path: path.replace(/\/$/, ''),
      type,
      mode: permsToOctal(perms!),
      uid: Number(uid),
      gid: Number(gid),
      size: type === 'file' ? Number(size) : 0,
      ...(linkTarget ? { linkTarget } : {}),
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function permsToOctal(p: string): string {
  let mode = 0;
  const bits = [0o400, 0o200, 0o100, 0o40, 0o20, 0o10, 0o4, 0o2, 0o1];
  for (let i = 0; i < 9; i++) if (p[i] !== '-' && p[i] !== 'S' && p[i] !== 'T') mode |= bits[i]!;
  if (p[2] === 's' || p[2] === 'S') mode |= 0o4000;
  if (p[5] === 's' || p[5] === 'S') mode |= 0o2000;
  if (p[8] === 't' || p[8] === 'T') mode |= 0o1000;
  return mode.toString(8).padStart(4, '0');
}

/** Files a RUN layer adds: the directories pip or apt touch differ run to run (BuildKit's own runs too). */
function comparable(entries: LayerEntryGolden[], fromRun: boolean): string[] {
  return (
    entries
      .filter((e) => !fromRun || e.type !== 'dir')
      // The hub's wheels and the peers' wheelhouse package the same Debian modules with different
      // .dist-info metadata, so pip's bookkeeping is left out; the installed modules must match.
      // Debian ships werkzeug's jquery.js as a link into libjs-jquery: the peers' wheel resolved it,
      // the hub's leaves it out (werkzeug 2.2.2 never loads it), so it is not compared either.
      .filter(
        (e) =>
          !(
            fromRun &&
            /(__pycache__|\.pyc$|\.dist-info\/|^var\/(cache|lib\/apt|log)|^tmp\/|^root\/\.cache|werkzeug\/debug\/shared\/jquery\.js$)/.test(
              e.path,
            )
          ),
      )
      .map(
        (e) =>
          `${e.path} ${e.type} ${e.mode} ${e.uid}:${e.gid} ${fromRun && /RECORD$/.test(e.path) ? '-' : e.size}${e.linkTarget ? ` -> ${e.linkTarget}` : ''}`,
      )
  );
}

const CONFIG_FIELDS = [
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'ExposedPorts',
  'Env',
  'User',
  'Labels',
  'Volumes',
  'StopSignal',
  'Shell',
  'Healthcheck',
  'OnBuild',
];

function normalize(v: unknown): unknown {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) return null;
  return v;
}

describe('images match BuildKit (golden data)', { skip }, () => {
  before(async () => {
    const r = slipway(root, [
      'import',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'ENV LANG=C.UTF-8',
      '--change',
      'CMD ["python3"]',
      join(hub!, 'rootfs/python-3.11-slim.tar'),
      'localhost/python:3.11-slim',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const busy =
      spawnSync('curl', ['-fsS', '-m', '2', '-o', '/dev/null', 'http://127.0.0.1:3141/simple/']).status === 0;
    if (!busy) {
      server = spawn(
        process.execPath,
        [join(repoRoot, 'fixtures/hub/serve.mjs'), '--dir', hub!, '--port', '3141'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve) => server!.stdout!.once('data', () => resolve()));
    }
  });
  after(() => {
    if (server?.pid) process.kill(server.pid, 'SIGTERM');
    rmSync(root, { recursive: true, force: true });
  });

  for (const file of readdirSync(goldenDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const g = JSON.parse(readFileSync(join(goldenDir, file), 'utf8')) as Golden;
    if (g.name === 'copy-chmod-symbolic') continue; // BuildKit 20.10 ignores symbolic --chmod; slipway applies it.
    test(g.name, {
      skip: NEEDS_MIRROR.has(g.name) ? 'its RUN apt-get needs the Debian mirror' : false,
    }, () => {
      const dir = prepareContext(g);
      const args = Object.entries(g.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
      const tag = `golden-${g.name}`;
      const built = slipway(root, [
        'build',
        '--progress=plain',
        '-f',
        join(dir, 'Dockerfile'),
        ...args,
        '-t',
        tag,
        join(dir, 'ctx'),
      ]);
      assert.equal(built.status, 0, built.stderr);
      // skopeo's OCI structs drop Docker's Shell/Healthcheck/OnBuild: read the config blob itself.
      const manifest = JSON.parse(
        spawnSync(
          'skopeo',
          ['inspect', '--raw', `oci:${join(root, 'oci')}:docker.io/library/${tag}:latest`],
          { encoding: 'utf8' },
        ).stdout,
      ) as {
        config: { digest: string };
        layers: Array<{ digest: string }>;
      };
      const inspect = JSON.parse(
        readFileSync(join(root, 'oci/blobs/sha256', manifest.config.digest.slice(7)), 'utf8'),
      ) as {
        config: Record<string, unknown>;
        history: Array<{ created_by?: string; empty_layer?: boolean }>;
      };
      // The raw key set too: BuildKit always writes OnBuild (null), never an empty Cmd.
      assert.deepEqual(Object.keys(inspect.config).sort(), Object.keys(g.imageConfig).sort(), 'config keys');
      for (const field of CONFIG_FIELDS) {
        assert.deepEqual(
          normalize(inspect.config[field]),
          normalize(g.inspectConfig[field]),
          `Config.${field}`,
        );
      }
      const ours = inspect.history
        .slice(1)
        .map((h) => `${h.created_by ?? ''}${h.empty_layer ? ' (empty)' : ''}`);
      const theirs = g.configHistory
        .filter((h) => !h.fromBase)
        .map((h) => `${h.created_by}${h.empty_layer ? ' (empty)' : ''}`);
      assert.deepEqual(ours, theirs, 'history');
      const ourLayers = manifest.layers.slice(1);
      assert.equal(ourLayers.length, g.layers.length, 'layer count');
      g.layers.forEach((layer, i) => {
        const fromRun = layer.createdBy.startsWith('RUN ');
        assert.deepEqual(
          comparable(layerListing(root, ourLayers[i]!.digest), fromRun),
          comparable(
            [...layer.entries].sort((a, b) => (a.path < b.path ? -1 : 1)),
            fromRun,
          ),
          `layer ${i + 1}: ${layer.createdBy}`,
        );
      });
    });
  }
});

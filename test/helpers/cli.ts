import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the real, bundled CLI as a user would. */
export function slipway(
  root: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/slipway.js'), '--root', root, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const tempDirs: string[] = [];

/** A fresh directory under the system temp dir, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `slipway-${prefix}-`));
  if (tempDirs.length === 0) process.once('exit', removeTempDirs);
  tempDirs.push(dir);
  return dir;
}

// A directory with something still mounted under it (a failed test's container) is left for
// inspection: removing through an overlay mount would only write whiteouts.
function removeTempDirs(): void {
  let mounts = '';
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {}
  for (const dir of tempDirs) {
    if (mounts.includes(` ${dir}/`)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {}
  }
}

/** Writes a tree of files: `{ 'a.txt': 'x', 'd/b': 'y' }`. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
  }
}

/** A busybox rootfs tarball from Debian's busybox-static, or undefined when it is not installed. */
export function busyboxTarball(): string | undefined {
  const dir = tempDir('busybox');
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(root, d), { recursive: true });
  try {
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  } catch {
    return undefined;
  }
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of [
    'sh',
    'ls',
    'cat',
    'echo',
    'id',
    'mkdir',
    'true',
    'false',
    'env',
    'pwd',
    'touch',
    'rm',
    'stat',
    'wc',
    'sleep',
    'httpd',
  ]) {
    symlinkSync('busybox', join(root, 'bin', applet));
  }
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n');
  const tar = join(dir, 'busybox.tar');
  const r = spawnSync('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.']);
  return r.status === 0 ? tar : undefined;
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

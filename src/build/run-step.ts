import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { diffUpperDir } from '../layer/overlay-diff.js';
import type { LayerEntry } from '../layer/types.js';
import { mountOverlay, unmount } from '../runtime/overlay.js';
import { OciRuntime, runContainer } from '../runtime/runc.js';
import { type ExtraMount, generateSpec, mountStubCandidates, type NetworkMode } from '../runtime/spec.js';
import { recordMountStubs } from '../runtime/stubs.js';
import { readUserDb, resolveUserFromDb } from '../runtime/users.js';
import { tempName } from '../store/fsutil.js';
import type { Store } from '../store/store.js';
import { RunFailed } from './run-failed.js';
import type { ExtraHost } from './flags.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunStepInput {
  store: Store;
  /** Snapshot dirs of the rootfs, bottom-first. */
  lowerDirs: string[];
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  network: 'default' | 'none' | 'host';
  /** `build --add-host` entries, appended to the RUN's /etc/hosts. */
  extraHosts?: ExtraHost[];
  mounts: ExtraMount[];
  /** Extra files to bind read-only (heredoc scripts, secrets): container path → content. */
  files?: Array<{ path: string; content: string | Buffer; mode?: number; uid?: number; gid?: number }>;
  runtime?: OciRuntime;
  onOutput: (stream: 'stdout' | 'stderr', line: string) => void;
  signal?: AbortSignal;
}

export interface RunStepOutput {
  /** The overlay upper dir: becomes the layer's snapshot when committed. */
  upperDir: string;
  entries: LayerEntry[];
}

const BUILD_ID_PREFIX = 'slipway-build-';

const BUILD_ID = new RegExp(`^${BUILD_ID_PREFIX}(\\d+)-[0-9a-f]+$`);

/** The PID of the process that started a RUN step's container, from the container's id. */
export function buildContainerOwner(id: string): number | undefined {
  const m = BUILD_ID.exec(id);
  return m ? Number(m[1]) : undefined;
}

const reaped = new WeakSet<OciRuntime>();
let defaultRuntime: OciRuntime | undefined;

/**
 * Once per process and runtime: kill the RUN steps of this store's builds that were killed
 * (see OciRuntime.reapOrphans).
 */
async function reapOrphanSteps(given: OciRuntime | undefined, store: Store): Promise<void> {
  let runtime = given;
  if (runtime === undefined) {
    defaultRuntime ??= OciRuntime.resolve();
    runtime = defaultRuntime;
  }
  if (reaped.has(runtime)) return;
  reaped.add(runtime);
  await runtime.reapOrphans(buildContainerOwner, { bundleUnder: `${store.paths.tmp}/` });
}

const HOSTS = '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/** A RUN step: overlay over the snapshots, runc in the foreground, the upper dir diffed into layer entries. */
export async function runStep(input: RunStepInput): Promise<RunStepOutput> {
  const { store } = input;
  // The starter's PID in the id lets a later build find and kill this container if we are killed.
  const id = `${BUILD_ID_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`;
  await reapOrphanSteps(input.runtime, store);
  const upperDir = await store.createSnapshotTemp();
  const scratch = join(store.paths.tmp, tempName('run'));
  const workDir = join(scratch, 'work');
  const mountpoint = join(scratch, 'rootfs');
  const bundleDir = join(scratch, 'bundle');
  await mkdir(scratch, { recursive: true });
  await Promise.all([mkdir(workDir), mkdir(mountpoint), mkdir(bundleDir)]);
  let mounted = false;
  let tail: string[] = [];
  try {
    await mountOverlay({ lowerDirs: [...input.lowerDirs].reverse(), upperDir, workDir, target: mountpoint });
    mounted = true;

    const db = readUserDb(mountpoint);
    const user = resolveUserFromDb(db, input.user || 'root');
    const env = input.env.some((e) => e.startsWith('PATH='))
      ? input.env
      : [`PATH=${DEFAULT_PATH}`, ...input.env];
    const hosts = join(bundleDir, 'hosts');
    const resolv = join(bundleDir, 'resolv.conf');
    await writeFile(hosts, HOSTS + (input.extraHosts ?? []).map((h) => `${h.ip}\t${h.host}\n`).join(''));
    await writeFile(
      resolv,
      await readFile('/etc/resolv.conf').catch(() => Buffer.from('nameserver 127.0.0.1\n')),
    );
    const mounts = [...input.mounts];
    for (const [i, f] of (input.files ?? []).entries()) {
      const host = join(bundleDir, `file-${i}`);
      await writeFile(host, f.content);
      // Set after writing: the umask would strip a secret's mode=0777 or 0666 at creation.
      await chmod(host, f.mode ?? 0o644);
      if (f.uid !== undefined || f.gid !== undefined) await chown(host, f.uid ?? 0, f.gid ?? 0);
      mounts.push({ type: 'bind', source: host, destination: f.path, readonly: true });
    }
    const network: NetworkMode = input.network === 'none' ? 'none' : 'host';
    const spec = generateSpec({
      rootfs: mountpoint,
      args: input.args,
      env,
      cwd: input.cwd || '/',
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      network,
      mounts,
      etcFiles: { hosts, resolvConf: resolv },
    });
    const stubs = recordMountStubs(mountpoint, mountStubCandidates(spec));
    const keepTail = (stream: 'stdout' | 'stderr', line: string) => {
      tail.push(line);
      if (tail.length > 10) tail = tail.slice(-10);
      input.onOutput(stream, line);
    };
    const result = await runContainer({
      bundleDir,
      spec,
      id,
      stdout: (l) => keepTail('stdout', l),
      stderr: (l) => keepTail('stderr', l),
      ...(input.signal ? { signal: input.signal } : {}),
      ...(input.runtime ? { runtime: input.runtime } : {}),
    });
    const removed = stubs.cleanup();
    // Nothing writes to the upper dir once the container is gone: it is read while `umount` runs.
    const unmounting = unmount(mountpoint);
    mounted = false;
    unmounting.catch(() => {});
    if (result.signal && input.signal?.aborted) {
      await unmounting;
      throw new SlipwayError('INTERRUPTED', 'build interrupted');
    }
    if (result.exitCode !== 0 || result.runtimeError) {
      await unmounting;
      const detail = result.runtimeError ? `: ${result.runtimeError}` : '';
      throw new RunFailed(
        `process "${input.args.join(' ')}" did not complete successfully: exit code: ${result.exitCode}${detail}`,
        tail,
      );
    }
    let entries: LayerEntry[];
    try {
      entries = await diffUpperDir(upperDir, { exclude: [...stubs.paths, ...removed] });
    } finally {
      await unmounting;
    }
    return { upperDir, entries };
  } catch (e) {
    await rm(upperDir, { recursive: true, force: true });
    throw e;
  } finally {
    if (mounted) await unmount(mountpoint).catch(() => {});
    await rm(scratch, { recursive: true, force: true });
  }
}

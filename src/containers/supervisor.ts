import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';
import { unmount } from '../runtime/overlay.js';
import { OciRuntime, readRuntimeError, resolveRuntimeBinary } from '../runtime/runc.js';
import { type ExtraMount, generateSpec, type NetworkMode, serializeSpec } from '../runtime/spec.js';
import { type ResolvedUser, resolveUser } from '../runtime/users.js';
import { JsonLogWriter } from './logs.js';
import {
  addHostForward,
  createNetns,
  removeNetns,
  type Slirp,
  startSlirp,
  writeEtcFiles,
} from './network.js';
import { processStartTime } from './proc.js';
import type { GoOptions } from './supervisor-launch.js';
import { DEFAULT_TERMINAL_SIZE, readTerminalSize, spawnOnPty } from './pty.js';
import { type ContainerRecord, rfc3339Nano } from './record.js';
import { mountContainerRootfs, populateVolumes } from './rootfs.js';
import { ContainerStore, RUNC_STATE_ROOT } from './store.js';

/** What the supervisor tells the starting CLI on fd 3, one JSON line. */
export interface ReadyMessage {
  ok: boolean;
  error?: string;
  /** Docker's exit status for a container that could not start: 127 not found, 126 not executable, 125 other. */
  exitCode?: number;
}

export interface SuperviseOptions extends GoOptions {
  /** fd to report readiness on; undefined when not spawned by the CLI. */
  readyFd?: number;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const INIT_CANDIDATES = [
  '/usr/bin/catatonit',
  '/usr/libexec/catatonit/catatonit',
  '/usr/bin/tini-static',
  '/usr/bin/docker-init',
];
const SLIRP_CANDIDATES = ['/usr/bin/slirp4netns', '/usr/local/bin/slirp4netns', '/bin/slirp4netns'];
/** Where Docker puts its init binary inside the container. */
const INIT_PATH = '/sbin/docker-init';

export function findInitBinary(): string {
  const hit = INIT_CANDIDATES.find((p) => existsSync(p));
  if (!hit)
    throw new SlipwayError(
      'RUNTIME',
      '--init needs a static init binary: install the Debian package "catatonit"',
    );
  return hit;
}

function findSlirp(): string {
  const hit = SLIRP_CANDIDATES.find((p) => existsSync(p));
  if (!hit)
    throw new SlipwayError(
      'RUNTIME',
      'bridge networking needs slirp4netns: install the Debian package "slirp4netns" or use --network host',
    );
  return hit;
}

/** Docker's CreateDaemonEnvironment: PATH, HOSTNAME (and TERM with -t) first, the container's own Env replacing them. */
export function containerEnv(rec: ContainerRecord): string[] {
  const base = [DEFAULT_PATH, `HOSTNAME=${rec.config.hostname}`];
  if (rec.config.tty) base.push('TERM=xterm');
  const keyOf = (e: string) => e.slice(0, e.indexOf('=') === -1 ? e.length : e.indexOf('='));
  for (const e of rec.config.env) {
    const i = base.findIndex((b) => keyOf(b) === keyOf(e));
    if (i === -1) base.push(e);
    else base[i] = e;
  }
  return base;
}

function report(fd: number | undefined, msg: ReadyMessage): void {
  if (fd === undefined) return;
  try {
    writeSync(fd, `${JSON.stringify(msg)}\n`);
    closeSync(fd);
  } catch {
    // the CLI went away; the record says the same thing
  }
}

/**
 * Docker's container user: the primary group is a supplementary group too (moby's fix for
 * CVE-2022-36109), so `id` shows `groups=<gid>` and files group-owned by it stay reachable after a
 * process drops its primary group.
 */
export function withPrimaryGroup(u: ResolvedUser): ResolvedUser {
  return { ...u, additionalGids: [u.gid, ...u.additionalGids.filter((g) => g !== u.gid)] };
}

/** Docker's exit status for an OCI runtime start failure. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|exec format error/i.test(message)) return 126;
  return 125;
}

/**
 * The long-lived side of one container run: prepares rootfs, network and spec, runs `runc run`
 * as its child (so it reaps the container and learns its exit status), writes the json-file log,
 * records the outcome and tears everything down. Returns the container's exit status.
 */
export async function supervise(root: string, id: string, opts: SuperviseOptions): Promise<number> {
  const cs = new ContainerStore(root);
  const p = cs.paths(id);
  const rec = cs.read(id);
  if (!rec) {
    report(opts.readyFd, { ok: false, error: `No such container: ${id}`, exitCode: 125 });
    return 125;
  }
  const cleanups: Array<() => Promise<void> | void> = [];
  let slirp: Slirp | undefined;
  let started = false;
  let exitCode = 125;
  const runtime = new OciRuntime(resolveRuntimeBinaryOrReport(opts.readyFd), RUNC_STATE_ROOT);
  const onSignal = () => {
    if (started) void runtime.kill(id, 'KILL').catch(() => {});
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {});

  try {
    await cs.update(id, (r) => {
      r.state.supervisorPid = process.pid;
      r.state.supervisorStart = processStartTime(process.pid) ?? '';
      r.state.error = '';
    });
    const mode = rec.hostConfig.networkMode;
    writeEtcFiles(
      { hosts: p.hosts, hostname: p.hostname, resolvConf: p.resolvConf },
      rec.config.hostname,
      mode,
      readFileSafe('/etc/resolv.conf'),
    );
    let network: NetworkMode = 'host';
    if (mode === 'none') network = 'none';
    // The rootfs mount and the network (namespace, slirp4netns, port forwards) do not depend on
    // each other: set them up side by side. The CLI has usually mounted the rootfs and made the
    // namespace already (startContainer); both calls then only take them over. Each registers its
    // cleanup as soon as it exists.
    const rootfsReady = (async () => {
      await mountContainerRootfs(root, p, rec.layers);
      cleanups.push(() => unmount(p.rootfs));
    })();
    const networkReady = (async () => {
      if (mode !== 'bridge') return;
      await createNetns(p.netns);
      cleanups.push(() => removeNetns(p.netns));
      slirp = await startSlirp(findSlirp(), p.netns, p.slirpSocket, p.supervisorLog);
      const s = slirp;
      cleanups.push(() => {
        s.child.kill('SIGKILL');
        rmSync(p.slirpSocket, { force: true });
      });
      for (const b of rec.state.ports) await addHostForward(p.slirpSocket, b);
      network = { netnsPath: p.netns };
    })();
    for (const r of await Promise.allSettled([rootfsReady, networkReady])) {
      if (r.status === 'rejected') throw r.reason;
    }
    populateVolumes(p.rootfs, rec.mounts);
    const user = withPrimaryGroup(resolveUser(p.rootfs, rec.config.user));

    const mounts: ExtraMount[] = rec.mounts.map((m) =>
      m.type === 'tmpfs'
        ? {
            type: 'tmpfs',
            destination: m.destination,
            ...(m.tmpfsSize !== undefined ? { sizeBytes: m.tmpfsSize } : {}),
            ...(m.tmpfsMode !== undefined ? { mode: m.tmpfsMode } : {}),
          }
        : { type: 'bind', source: m.source, destination: m.destination, readonly: m.readonly },
    );
    let argv = [rec.path, ...rec.args];
    if (rec.hostConfig.init) {
      mounts.push({ type: 'bind', source: findInitBinary(), destination: INIT_PATH, readonly: true });
      argv = [INIT_PATH, '--', ...argv];
    }
    const spec = generateSpec({
      rootfs: p.rootfs,
      args: argv,
      env: containerEnv(rec),
      cwd: rec.config.workingDir || '/',
      user,
      hostname: rec.config.hostname,
      network,
      mounts,
      etcFiles: { hosts: p.hosts, hostname: p.hostname, resolvConf: p.resolvConf },
      terminal: rec.config.tty === true,
    });
    mkdirSync(p.bundle, { recursive: true });
    writeFileSync(join(p.bundle, 'config.json'), serializeSpec(spec));
    mkdirSync(RUNC_STATE_ROOT, { recursive: true });
    if (runtime.hasState(id)) await runtime.delete(id, { force: true }).catch(() => {});
    rmSync(p.pidFile, { force: true });
    rmSync(p.ttySize, { force: true });
    const logFile = join(p.bundle, 'runtime.log');
    writeFileSync(logFile, '');

    const runcArgs = [
      '--root',
      RUNC_STATE_ROOT,
      '--log',
      logFile,
      '--log-format',
      'json',
      'run',
      '--bundle',
      p.bundle,
      '--pid-file',
      p.pidFile,
      id,
    ];
    const tty = rec.config.tty === true;
    const log = new JsonLogWriter(p.log, tty);
    const { exited, outputDone } = tty
      ? await runOnTerminal(runtime.binary, runcArgs, log, p.ttySize, opts)
      : runOnPipes(runtime.binary, runcArgs, log, rec.config.openStdin, opts);
    let exitInfo: ExitInfo | undefined;
    void exited.then((e) => {
      exitInfo = e;
    });
    // Started = runc wrote the pid file; a runc that exits first failed to create the container.
    let pid = 0;
    while (pid === 0 && exitInfo === undefined) {
      pid = readPid(p.pidFile);
      if (pid === 0) await sleep(5);
    }
    // A process that is done within one poll exits before its pid file was seen: look once more;
    // runc logs why it could not create a container, so an exit with no runtime error means it ran.
    if (pid === 0) pid = readPid(p.pidFile);
    const ranAndExited = pid === 0 && exitInfo !== undefined && readRuntimeError(logFile) === undefined;
    if (pid === 0 && !ranAndExited) {
      await outputDone;
      log.close();
      const raw = readRuntimeError(logFile) ?? `runc exited with ${exitInfo?.code}`;
      // Docker's wording for the same runc failure (it goes through containerd's create).
      const msg = `failed to create task for container: OCI runtime create failed: ${raw.replace(/^runc run failed/, 'runc create failed')}: unknown`;
      const code = startFailureCode(msg);
      await cs.update(id, (r) => {
        r.state.status = 'created';
        r.state.error = msg;
        r.state.exitCode = code;
        r.state.pid = 0;
      });
      report(opts.readyFd, { ok: false, error: msg, exitCode: code });
      exitCode = code;
      return code;
    }
    started = true;
    await cs.update(id, (r) => {
      r.state.status = 'running';
      r.state.pid = pid;
      r.state.exitCode = 0;
      r.state.startedAt = rfc3339Nano();
      r.state.finishedAt = '0001-01-01T00:00:00Z';
      r.state.slirpPid = slirp?.pid ?? 0;
      r.state.stopRequested = false;
    });
    report(opts.readyFd, { ok: true });
    const done = await exited;
    await Promise.race([outputDone, sleep(2000)]);
    log.close();
    exitCode = done.code ?? 128 + done.signal;
    await cs.update(id, (r) => {
      r.state.status = 'exited';
      r.state.exitCode = exitCode;
      r.state.pid = 0;
      r.state.finishedAt = rfc3339Nano();
    });
    return exitCode;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await cs
      .update(id, (r) => {
        if (r.state.status === 'running') r.state.status = 'exited';
        r.state.error = msg;
        r.state.exitCode = started ? r.state.exitCode : 125;
        r.state.pid = 0;
      })
      .catch(() => undefined);
    report(opts.readyFd, { ok: false, error: msg, exitCode: 125 });
    return started ? exitCode : 125;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (runtime.hasState(id)) await runtime.delete(id, { force: true }).catch(() => {});
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // best effort: the next start or rm retries
      }
    }
    rmSync(p.pidFile, { force: true });
    await cs.update(id, (r) => {
      r.state.supervisorPid = 0;
      r.state.supervisorStart = '';
      r.state.slirpPid = 0;
    });
    const final = cs.read(id);
    if (final?.hostConfig.autoRemove && !opts.attached && final.state.status !== 'running') {
      // Loaded only here: it needs the image store, which supervising does not.
      const { removeContainerFiles } = await import('./remove.js');
      await removeContainerFiles(cs, final, { volumes: true });
    }
  }
}

function resolveRuntimeBinaryOrReport(fd: number | undefined): string {
  try {
    return resolveRuntimeBinary();
  } catch (e) {
    report(fd, { ok: false, error: (e as Error).message, exitCode: 125 });
    throw e;
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readPid(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

interface ExitInfo {
  code: number | null;
  /** Signal number when the runtime itself was killed. */
  signal: number;
}

interface RuntimeRun {
  exited: Promise<ExitInfo>;
  /** All output is in the log. */
  outputDone: Promise<void>;
}

/** `runc run` with plain pipes: stdout and stderr logged apart, stdin ours (`run -i`) or held open. */
function runOnPipes(
  binary: string,
  args: string[],
  log: JsonLogWriter,
  openStdin: boolean,
  opts: SuperviseOptions,
): RuntimeRun {
  const stdin = openStdin ? (opts.stdinFromUs ? 'inherit' : 'pipe') : 'ignore';
  const child = spawn(binary, args, { stdio: [stdin, 'pipe', 'pipe'] });
  const outputDone = Promise.all([pump(child, 'stdout', log), pump(child, 'stderr', log)]).then(() => {});
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('error', () => resolve({ code: 125, signal: 0 }));
    child.on('exit', (code, signal) => resolve({ code, signal: signalNumberOf(signal) }));
  });
  return { exited, outputDone };
}

/**
 * `runc run` on a pseudo-terminal (`-t`): one output stream, logged as stdout as Docker does; our
 * stdin (the user's terminal, `run -it`) relayed to it; resized when the CLI leaves a new size.
 */
async function runOnTerminal(
  binary: string,
  args: string[],
  log: JsonLogWriter,
  sizeFile: string,
  opts: SuperviseOptions,
): Promise<RuntimeRun> {
  const child = await spawnOnPty(binary, args, opts.terminalSize ?? DEFAULT_TERMINAL_SIZE);
  child.onData((chunk) => log.write('stdout', chunk));
  if (opts.stdinFromUs) process.stdin.on('data', (b: Buffer) => child.write(b));
  const onResize = () => {
    const size = readTerminalSize(sizeFile);
    if (size) child.resize(size);
  };
  process.on('SIGWINCH', onResize);
  const exited = child.exited.then(({ code, signal }) => {
    process.off('SIGWINCH', onResize);
    if (opts.stdinFromUs) process.stdin.destroy();
    log.end('stdout');
    return { code, signal: signal ?? 0 };
  });
  return { exited, outputDone: exited.then(() => {}) };
}

function pump(child: ChildProcess, stream: 'stdout' | 'stderr', log: JsonLogWriter): Promise<void> {
  const src = child[stream];
  if (!src) return Promise.resolve();
  return new Promise((resolve) => {
    src.on('data', (c: Buffer) => log.write(stream, c));
    src.on('end', () => {
      log.end(stream);
      resolve();
    });
    src.on('error', () => resolve());
  });
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

function signalNumberOf(sig: NodeJS.Signals | null): number {
  return sig === null ? 0 : (SIGNAL_NUMBERS[sig] ?? 9);
}

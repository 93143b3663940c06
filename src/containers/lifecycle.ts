import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';
import { unmount } from '../runtime/overlay.js';
import { OciRuntime } from '../runtime/runc.js';
import { createNetns, removeNetns } from './network.js';
import { type PublishSpec, parseExposeKeys, signalNumber } from './options.js';
import { allocatePorts } from './ports.js';
import { isSameProcess, processStartTime } from './proc.js';
import { mountContainerRootfs } from './rootfs.js';
import { type GoOptions, type PendingSupervisor, prepareSupervisor } from './supervisor-launch.js';
import { type ContainerRecord, rfc3339Nano } from './record.js';
import { removeContainerFiles } from './remove.js';
import { type ContainerPaths, type ContainerStore, RUNC_STATE_ROOT } from './store.js';

let runtimeSingleton: OciRuntime | undefined;
export function containerRuntime(): OciRuntime {
  runtimeSingleton ??= OciRuntime.resolve(undefined, RUNC_STATE_ROOT);
  return runtimeSingleton;
}

export function isRunning(rec: ContainerRecord): boolean {
  return rec.state.status === 'running';
}

function supervisorAlive(rec: ContainerRecord): boolean {
  return rec.state.supervisorPid > 0 && isSameProcess(rec.state.supervisorPid, rec.state.supervisorStart);
}

/** Releases what a container holds on the host outside its supervisor: netns, slirp socket, rootfs mount. */
async function releaseHost(p: ContainerPaths): Promise<void> {
  await removeNetns(p.netns).catch(() => {});
  rmSync(p.slirpSocket, { force: true });
  await unmount(p.rootfs).catch(() => {});
}

/**
 * The record as it really is: a container whose supervisor died (killed, crashed, host rebooted) is
 * finished here — the orphaned process is killed, mounts and netns released — and shown as exited,
 * 137 when we had to kill it, 255 when its status is unknown (Docker's code after a lost daemon).
 */
export async function refresh(cs: ContainerStore, rec: ContainerRecord): Promise<ContainerRecord> {
  if (rec.state.supervisorPid === 0 || supervisorAlive(rec)) return rec;
  const again = cs.read(rec.id);
  if (!again || again.state.supervisorPid === 0 || supervisorAlive(again)) return again ?? rec;
  const p = cs.paths(rec.id);
  let killed = false;
  const runtime = containerRuntime();
  if (runtime.hasState(rec.id)) {
    if (again.state.pid > 0 && processStartTime(again.state.pid) !== undefined) {
      await runtime.kill(rec.id, 'KILL').catch(() => {});
      killed = true;
      for (let i = 0; i < 100 && processStartTime(again.state.pid) !== undefined; i++) await sleep(20);
    }
    await runtime.delete(rec.id, { force: true }).catch(() => {});
  }
  if (again.state.slirpPid > 0 && processStartTime(again.state.slirpPid) !== undefined) {
    try {
      process.kill(again.state.slirpPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await releaseHost(p);
  const updated = await cs.update(rec.id, (r) => {
    if (r.state.status === 'running') {
      r.state.status = 'exited';
      r.state.exitCode = killed ? 137 : 255;
      r.state.finishedAt = rfc3339Nano();
    }
    r.state.pid = 0;
    r.state.supervisorPid = 0;
    r.state.supervisorStart = '';
    r.state.slirpPid = 0;
  });
  return updated ?? again;
}

/** Every container, reconciled. */
export async function listContainers(cs: ContainerStore): Promise<ContainerRecord[]> {
  const out: ContainerRecord[] = [];
  for (const r of cs.list()) out.push(await refresh(cs, r));
  return out;
}

export async function resolveContainer(cs: ContainerStore, ref: string): Promise<ContainerRecord> {
  return refresh(cs, cs.resolve(ref));
}

/** The publications for one start: -p as given plus, with -P, every exposed port not already published. */
export function publishRequests(rec: ContainerRecord): PublishSpec[] {
  if (rec.hostConfig.networkMode !== 'bridge') return [];
  const out: PublishSpec[] = rec.hostConfig.portBindings.map((b) => ({ ...b }));
  if (rec.hostConfig.publishAll) {
    const taken = new Set(out.map((b) => `${b.containerPort}/${b.proto}`));
    for (const key of rec.config.exposedPorts) {
      for (const k of parseExposeKeys(key)) {
        if (taken.has(k)) continue;
        const [port = '0', proto = 'tcp'] = k.split('/');
        out.push({
          hostIp: '0.0.0.0',
          hostPort: 0,
          containerPort: Number(port),
          proto: proto === 'udp' ? 'udp' : 'tcp',
        });
      }
    }
  }
  return out;
}

export interface StartOptions extends GoOptions {
  /** A supervisor spawned ahead of time (see prepareSupervisor); one is spawned here otherwise. */
  supervisor?: PendingSupervisor;
}

/**
 * Starts a created or exited container: publishes ports (failing early when one is taken), then hands
 * it to a detached supervisor and waits for it to report the container started (or why it could not).
 */
export async function startContainer(
  cs: ContainerStore,
  rec: ContainerRecord,
  opts: StartOptions,
): Promise<void> {
  const supervisor = opts.supervisor ?? prepareSupervisor(cs.root, opts);
  const p = cs.paths(rec.id);
  try {
    const ports = await allocatePorts(publishRequests(rec), `${rec.name} (${rec.id})`);
    await cs.update(rec.id, (r) => {
      r.state.ports = ports;
      r.state.error = '';
    });
    // The supervisor is still starting Node (~140 ms here): mount the rootfs and create the network
    // namespace meanwhile. It finds both done, takes them over and tears them down at the end.
    await Promise.all([
      mountContainerRootfs(cs.root, p, rec.layers),
      rec.hostConfig.networkMode === 'bridge' ? createNetns(p.netns) : undefined,
    ]);
  } catch (e) {
    supervisor.cancel();
    await releaseHost(p);
    throw e;
  }
  try {
    await supervisor.go(cs, rec, opts);
  } catch (e) {
    // A supervisor that reported a failure has cleaned up already; one that died never took over.
    await releaseHost(p);
    throw e;
  }
}

/** Polls until the container is no longer running and its supervisor finished cleaning up. */
export async function waitForStop(cs: ContainerStore, id: string, timeoutMs: number): Promise<boolean> {
  const deadline = timeoutMs < 0 ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  for (;;) {
    const rec = cs.read(id);
    if (!rec) return true;
    const fresh = await refresh(cs, rec);
    if (fresh.state.status !== 'running' && fresh.state.supervisorPid === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}

/** Sends a signal to the container's init; Docker's error when it is not running. */
export async function killContainer(
  cs: ContainerStore,
  ref: string,
  signal: string,
): Promise<ContainerRecord> {
  const rec = await resolveContainer(cs, ref);
  const sig = signalNumber(signal);
  if (!isRunning(rec)) {
    throw new SlipwayError('CONFLICT', `cannot kill container: ${ref}: container ${rec.id} is not running`);
  }
  await cs.update(rec.id, (r) => {
    r.state.stopRequested = true;
  });
  try {
    await containerRuntime().kill(rec.id, sig);
  } catch (e) {
    const now = await refresh(cs, cs.read(rec.id) ?? rec);
    if (isRunning(now)) throw e;
  }
  return rec;
}

/** Docker's stop: StopSignal, then SIGKILL after the timeout (seconds; -1 waits forever). */
export async function stopContainer(
  cs: ContainerStore,
  rec: ContainerRecord,
  timeoutSec?: number,
): Promise<void> {
  const fresh = await refresh(cs, rec);
  if (!isRunning(fresh)) {
    await waitForStop(cs, rec.id, 10_000);
    return;
  }
  const timeout = timeoutSec ?? fresh.config.stopTimeout ?? 10;
  await cs.update(rec.id, (r) => {
    r.state.stopRequested = true;
  });
  const runtime = containerRuntime();
  await runtime.kill(rec.id, signalNumber(fresh.config.stopSignal || 'SIGTERM')).catch(() => {});
  if (await waitForStop(cs, rec.id, timeout < 0 ? -1 : timeout * 1000)) return;
  await runtime.kill(rec.id, 'KILL').catch(() => {});
  if (!(await waitForStop(cs, rec.id, 30_000))) {
    throw new SlipwayError(
      'RUNTIME',
      `cannot stop container: ${rec.id}: tried to kill container, but did not receive an exit event`,
    );
  }
}

/** `rm [-f] [-v]`: a running container needs force (then it is killed first). */
export async function removeContainer(
  cs: ContainerStore,
  ref: string,
  opts: { force: boolean; volumes: boolean },
): Promise<ContainerRecord> {
  const rec = await resolveContainer(cs, ref);
  if (isRunning(rec)) {
    if (!opts.force) {
      throw new SlipwayError(
        'CONFLICT',
        `cannot remove container "/${rec.name}": container is running: stop the container before removing or force remove`,
      );
    }
    await containerRuntime()
      .kill(rec.id, 'KILL')
      .catch(() => {});
    if (!(await waitForStop(cs, rec.id, 30_000))) {
      throw new SlipwayError('RUNTIME', `could not kill running container ${rec.id}, cannot remove`);
    }
  } else if (rec.state.supervisorPid > 0) {
    await waitForStop(cs, rec.id, 10_000);
  }
  const current = cs.read(rec.id);
  if (current) await removeContainerFiles(cs, current, opts);
  return rec;
}

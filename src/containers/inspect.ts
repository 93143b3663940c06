import { SlipwayError } from '../errors.js';
import { listContainers, refresh } from './lifecycle.js';
import { SLIRP_GUEST_IP } from './network.js';
import type { ContainerRecord } from './record.js';
import { ContainerStore } from './store.js';

type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

/** Docker's container-inspect object for one record. */
export function inspectObject(cs: ContainerStore, rec: ContainerRecord): Record<string, unknown> {
  const p = cs.paths(rec.id);
  const s = rec.state;
  const running = s.status === 'running';
  const bindings: PortMap = {};
  for (const b of rec.hostConfig.portBindings) {
    const key = `${b.containerPort}/${b.proto}`;
    const list = bindings[key] ?? [];
    list.push({
      HostIp: b.hostIp === '0.0.0.0' ? '' : b.hostIp,
      HostPort: b.hostPort ? String(b.hostPort) : '',
    });
    bindings[key] = list;
  }
  const ports: PortMap = {};
  if (running) {
    for (const key of rec.config.exposedPorts) ports[key] = null;
    for (const b of s.ports) {
      const key = `${b.containerPort}/${b.proto}`;
      const list = ports[key] ?? [];
      list.push({ HostIp: b.hostIp, HostPort: String(b.hostPort) });
      ports[key] = list;
    }
  }
  const exposed: Record<string, Record<string, never>> = {};
  for (const k of rec.config.exposedPorts) exposed[k] = {};
  const volumes: Record<string, Record<string, never>> = {};
  for (const m of rec.mounts) if (m.type === 'volume') volumes[m.destination] = {};
  const bridge = rec.hostConfig.networkMode === 'bridge';
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: {
      Status: s.status,
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: s.status === 'dead',
      Pid: running ? s.pid : 0,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt,
      FinishedAt: s.finishedAt,
    },
    Image: rec.imageId,
    ResolvConfPath: p.resolvConf,
    HostnamePath: p.hostname,
    HostsPath: p.hosts,
    LogPath: p.log,
    Name: `/${rec.name}`,
    RestartCount: s.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: rec.hostConfig.binds.length ? rec.hostConfig.binds : null,
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: rec.hostConfig.networkMode,
      PortBindings: bindings,
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: rec.hostConfig.autoRemove,
      PublishAllPorts: rec.hostConfig.publishAll,
      Init: rec.hostConfig.init ? true : null,
      ReadonlyRootfs: false,
      Privileged: false,
    },
    GraphDriver: {
      Data: { MergedDir: p.rootfs, UpperDir: p.upper, WorkDir: p.work },
      Name: 'overlay',
    },
    Mounts: rec.mounts.map((m) => ({
      Type: m.type,
      ...(m.type === 'volume' ? { Name: m.name ?? '' } : {}),
      Source: m.source,
      Destination: m.destination,
      ...(m.type === 'volume' ? { Driver: 'local' } : {}),
      Mode: m.type === 'bind' && m.readonly ? 'ro' : '',
      RW: !m.readonly,
      Propagation: m.type === 'bind' ? 'rprivate' : '',
    })),
    Config: {
      Hostname: rec.config.hostname,
      Domainname: '',
      User: rec.config.user,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ...(rec.config.exposedPorts.length ? { ExposedPorts: exposed } : {}),
      Tty: rec.config.tty === true,
      OpenStdin: rec.config.openStdin,
      StdinOnce: false,
      Env: rec.config.env,
      Cmd: rec.config.cmd,
      Image: rec.config.image,
      Volumes: Object.keys(volumes).length ? volumes : null,
      WorkingDir: rec.config.workingDir,
      Entrypoint: rec.config.entrypoint,
      OnBuild: null,
      Labels: rec.config.labels,
      ...(rec.config.stopSignal !== 'SIGTERM' ? { StopSignal: rec.config.stopSignal } : {}),
      ...(rec.config.stopTimeout !== undefined ? { StopTimeout: rec.config.stopTimeout } : {}),
    },
    NetworkSettings: {
      Ports: ports,
      IPAddress: running && bridge ? SLIRP_GUEST_IP : '',
      Gateway: running && bridge ? '10.0.2.2' : '',
      Networks: {
        [rec.hostConfig.networkMode]: {
          IPAddress: running && bridge ? SLIRP_GUEST_IP : '',
          Gateway: running && bridge ? '10.0.2.2' : '',
        },
      },
    },
  };
}

/**
 * Docker's container-inspect JSON object for a name, id or unique id prefix; undefined when no
 * container matches (so `slipway inspect` can fall back to images).
 */
export async function inspectContainer(
  root: string,
  ref: string,
): Promise<Record<string, unknown> | undefined> {
  const cs = new ContainerStore(root);
  let rec: ContainerRecord | undefined;
  try {
    rec = cs.tryResolve(ref);
  } catch (e) {
    if (e instanceof SlipwayError && e.code === 'CONFLICT') return undefined;
    throw e;
  }
  if (!rec) return undefined;
  return inspectObject(cs, await refresh(cs, rec));
}

/** All containers' inspect objects (for tools that want everything). */
export async function inspectAll(root: string): Promise<Array<Record<string, unknown>>> {
  const cs = new ContainerStore(root);
  return (await listContainers(cs)).map((r) => inspectObject(cs, r));
}

import type { Descriptor } from '../image/types.js';

/** One published port: host side as listened on, container side as in ExposedPorts keys (`8080/tcp`). */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** A filesystem mount as the container sees it (Docker's `Mounts` entry, resolved). */
export interface ContainerMount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind), the volume's `_data` dir (volume); empty for tmpfs. */
  source: string;
  destination: string;
  readonly: boolean;
  /** Volume name (volumes only). */
  name?: string;
  /** Anonymous volumes go away with `rm -v`. */
  anonymous?: boolean;
  /** Do not fill a new volume from the image (`nocopy`). */
  noCopy?: boolean;
  /** tmpfs size in bytes / mode. */
  tmpfsSize?: number;
  tmpfsMode?: number;
}

export type NetworkModeName = 'bridge' | 'host' | 'none';

/** What the container runs, fixed at create time (Docker's Config). */
export interface ContainerSpecConfig {
  hostname: string;
  user: string;
  env: string[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string;
  stopSignal: string;
  /** Seconds; undefined = Docker's default 10. */
  stopTimeout?: number;
  labels: Record<string, string>;
  exposedPorts: string[];
  openStdin: boolean;
  /** `-t`: the container's stdio is a pseudo-terminal (absent in records written before -t existed). */
  tty?: boolean;
  /** The image as the user named it. */
  image: string;
}

/** Docker's HostConfig subset slipway honours. */
export interface ContainerHostConfig {
  autoRemove: boolean;
  networkMode: NetworkModeName;
  portBindings: PortBinding[];
  publishAll: boolean;
  init: boolean;
  binds: string[];
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'dead' | 'removing';

/** Mutable runtime state (Docker's State). */
export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  /** The supervisor holding the container's stdio; its start time tells a reused PID apart. */
  supervisorPid: number;
  supervisorStart: string;
  slirpPid: number;
  /** Ports actually published for the current run (after -P / ephemeral host ports were chosen). */
  ports: PortBinding[];
  restartCount: number;
  /** The container was killed by an explicit stop/kill (Docker shows those exit codes as is). */
  stopRequested?: boolean;
}

/** A layer of the image, enough to extract it again (build/rootfs.ts LayerRef, serialisable). */
export interface StoredLayer {
  descriptor: Descriptor;
  diffId: string;
  chainId: string;
}

/** `<root>/containers/<id>/config.json`. */
export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  /** Config digest (= Docker's image id). */
  imageId: string;
  manifestDigest: string;
  layers: StoredLayer[];
  /** argv[0] and the rest, after Entrypoint/Cmd resolution. */
  path: string;
  args: string[];
  config: ContainerSpecConfig;
  hostConfig: ContainerHostConfig;
  mounts: ContainerMount[];
  state: ContainerState;
}

export function initialState(): ContainerState {
  return {
    status: 'created',
    pid: 0,
    exitCode: 0,
    error: '',
    startedAt: '0001-01-01T00:00:00Z',
    finishedAt: '0001-01-01T00:00:00Z',
    supervisorPid: 0,
    supervisorStart: '',
    slirpPid: 0,
    ports: [],
    restartCount: 0,
  };
}

/** RFC 3339 with nanoseconds, Docker's timestamp shape (`2024-05-01T10:00:00.123456789Z`). */
export function rfc3339Nano(date: Date = new Date(), extraNs = process.hrtime.bigint() % 1_000_000n): string {
  const iso = date.toISOString(); // …T10:00:00.123Z
  const ns = extraNs.toString().padStart(6, '0');
  return `${iso.slice(0, -1)}${ns}Z`;
}

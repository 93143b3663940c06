import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { imageLayers } from '../build/image-layers.js';
import { SlipwayError } from '../errors.js';
import type { ContainerConfig } from '../image/types.js';
import { Store } from '../store/store.js';
import {
  expandEnvFlag,
  type MountRequest,
  mergeEnv,
  parseEnvFile,
  parseExposeKeys,
  parseMountFlag,
  parseNetworkMode,
  parsePublish,
  parseVolumeFlag,
  type RunFlags,
  resolveCommand,
  signalNumber,
} from './options.js';
import {
  type ContainerMount,
  type ContainerRecord,
  initialState,
  rfc3339Nano,
  type StoredLayer,
} from './record.js';
import { contentDigests, rootsName } from './rootfs.js';
import type { ContainerStore } from './store.js';

/** Resolves `-v`/`--mount`/image VOLUMEs into concrete mounts; named and anonymous volumes get their dirs. */
export function resolveMounts(
  volumesDir: string,
  requests: readonly MountRequest[],
  imageVolumes: readonly string[],
): ContainerMount[] {
  const out: ContainerMount[] = [];
  const seen = new Set<string>();
  for (const r of requests) {
    if (seen.has(r.destination))
      throw new SlipwayError('CONTAINER', `Duplicate mount point: ${r.destination}`);
    seen.add(r.destination);
    if (r.type === 'bind') {
      if (!existsSync(r.source)) {
        if (!r.createSource) {
          throw new SlipwayError(
            'CONTAINER',
            `invalid mount config for type "bind": bind source path does not exist: ${r.source}`,
          );
        }
        mkdirSync(r.source, { recursive: true });
      }
      out.push({ type: 'bind', source: r.source, destination: r.destination, readonly: r.readonly });
    } else if (r.type === 'tmpfs') {
      out.push({
        type: 'tmpfs',
        source: '',
        destination: r.destination,
        readonly: false,
        ...(r.sizeBytes !== undefined ? { tmpfsSize: r.sizeBytes } : {}),
        ...(r.mode !== undefined ? { tmpfsMode: r.mode } : {}),
      });
    } else {
      out.push(volumeMount(volumesDir, r.name, r.destination, r.readonly, r.noCopy));
    }
  }
  for (const v of imageVolumes) {
    const dest = posix.normalize(v);
    if (seen.has(dest)) continue;
    seen.add(dest);
    out.push(volumeMount(volumesDir, undefined, dest, false, false));
  }
  return out;
}

function volumeMount(
  volumesDir: string,
  name: string | undefined,
  destination: string,
  readonly: boolean,
  noCopy: boolean,
): ContainerMount {
  const anonymous = name === undefined;
  const volName = name ?? randomBytes(32).toString('hex');
  const data = join(volumesDir, volName, '_data');
  mkdirSync(data, { recursive: true });
  return {
    type: 'volume',
    source: data,
    destination,
    readonly,
    name: volName,
    anonymous,
    ...(noCopy ? { noCopy } : {}),
  };
}

/** Everything `run`/`create` needs besides the flags: the image as the user named it and the command after it. */
export interface CreateRequest {
  image: string;
  command: string[];
  flags: RunFlags;
  cwd: string;
  hostEnv: NodeJS.ProcessEnv;
}

/**
 * Docker's container create: resolves the image, merges its config with the flags (Entrypoint/Cmd,
 * Env, WorkingDir, User, ExposedPorts, StopSignal, Volumes), allocates id and name, writes the record
 * and pins the image content against gc until `rm`.
 */
export async function createContainer(cs: ContainerStore, req: CreateRequest): Promise<ContainerRecord> {
  const f = req.flags;
  const networkMode = parseNetworkMode(f.network);
  const publish = f.publish.flatMap(parsePublish);
  const envFromFiles = f.envFile.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new SlipwayError('USAGE', `open ${file}: no such file or directory`);
    }
    return parseEnvFile(text, req.hostEnv);
  });
  const userEnv = [...envFromFiles, ...f.env.map((e) => expandEnvFlag(e, req.hostEnv))];
  if (f.workdir !== undefined && f.workdir !== '' && !f.workdir.startsWith('/')) {
    throw new SlipwayError(
      'CONTAINER',
      `the working directory '${f.workdir}' is invalid, it needs to be an absolute path`,
    );
  }
  if (f.stopSignal !== undefined) {
    try {
      signalNumber(f.stopSignal);
    } catch (e) {
      // The daemon checks the stop signal, so Docker reports it as the daemon's error.
      throw new SlipwayError('CONTAINER', (e as Error).message);
    }
  }
  const mountRequests: MountRequest[] = [
    ...f.volume.map((v) => parseVolumeFlag(v, req.cwd)),
    ...f.mount.map((m) => parseMountFlag(m, req.cwd)),
  ];
  const labels: Record<string, string> = {};

  const store = await Store.open(cs.root);
  try {
    const image = (await store.tryResolve(req.image)) ?? (await pullMissing(store, req.image));
    const layers: StoredLayer[] = await imageLayers(store, image);
    const ic: ContainerConfig = image.config.config ?? {};
    const { entrypoint, cmd, argv } = resolveCommand(ic, f.entrypoint, req.command);
    if (argv.length === 0) throw new SlipwayError('CONTAINER', 'No command specified');
    Object.assign(labels, ic.Labels ?? {});
    for (const l of f.label) {
      const eq = l.indexOf('=');
      labels[eq === -1 ? l : l.slice(0, eq)] = eq === -1 ? '' : l.slice(eq + 1);
    }
    const exposed = new Set(Object.keys(ic.ExposedPorts ?? {}));
    for (const e of f.expose) for (const k of parseExposeKeys(e)) exposed.add(k);
    for (const p of publish) exposed.add(`${p.containerPort}/${p.proto}`);
    const imageVolumes = Object.keys(ic.Volumes ?? {});

    const rec = await cs.create((id, name) => {
      const mounts = resolveMounts(cs.volumesDir, mountRequests, imageVolumes);
      return {
        id,
        name,
        created: rfc3339Nano(),
        imageId: image.id,
        manifestDigest: image.manifestDigest,
        layers,
        path: argv[0]!,
        args: argv.slice(1),
        config: {
          hostname: f.hostname ?? (networkMode === 'host' ? hostHostname() : id.slice(0, 12)),
          user: f.user ?? ic.User ?? '',
          env: mergeEnv(ic.Env ?? [], userEnv),
          entrypoint,
          cmd,
          workingDir: f.workdir || ic.WorkingDir || '',
          stopSignal: f.stopSignal ?? ic.StopSignal ?? 'SIGTERM',
          ...(f.stopTimeout !== undefined ? { stopTimeout: f.stopTimeout } : {}),
          labels,
          exposedPorts: [...exposed].sort(),
          openStdin: f.interactive,
          tty: f.tty,
          image: req.image,
        },
        hostConfig: {
          autoRemove: f.rm,
          networkMode,
          portBindings: networkMode === 'bridge' ? publish : [],
          publishAll: f.publishAll,
          init: f.init,
          binds: f.volume,
        },
        mounts,
        state: initialState(),
      };
    }, f.name);
    await store.setRoots(rootsName(rec.id), contentDigests(rec.manifestDigest, rec.imageId, rec.layers));
    return rec;
  } finally {
    await store.close();
  }
}

function hostHostname(): string {
  try {
    return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  } catch {
    return 'localhost';
  }
}

/** Docker's `run` pulls an image it does not have, saying so on stderr first. */
async function pullMissing(store: Store, image: string) {
  const { normalizeReference, familiarString, parseDockerRef } = await import('../image/reference.js');
  normalizeReference(image);
  process.stderr.write(`Unable to find image '${familiarString(parseDockerRef(image))}' locally\n`);
  const { pullImage } = await import('../registry/index.js');
  try {
    const pulled = await pullImage(store, image, { onProgress: (line) => process.stderr.write(`${line}\n`) });
    return pulled.record;
  } catch (e) {
    throw new SlipwayError(
      'NOT_FOUND',
      `Unable to find image '${image}' locally, and pulling it failed: ${(e as Error).message}`,
    );
  }
}

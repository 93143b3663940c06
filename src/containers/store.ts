import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { atomicWriteFile } from '../store/fsutil.js';
import { removeUnmounted } from '../store/layout.js';
import { withLock } from '../store/lock.js';
import { StorePaths } from '../store/paths.js';
import { randomName } from './names.js';
import type { ContainerRecord } from './record.js';

/** runc keeps container state on tmpfs so a reboot cannot leave stale "running" runtime state. */
export const RUNC_STATE_ROOT = '/run/slipway/runc';
/** slirp4netns API sockets: a unix socket path must fit in 108 bytes, which a deep data root would not. */
export const SLIRP_SOCKET_DIR = '/run/slipway/slirp';

/** Where one container's files live. */
export class ContainerPaths {
  constructor(
    readonly dir: string,
    readonly id: string,
  ) {}
  get record(): string {
    return join(this.dir, 'config.json');
  }
  get log(): string {
    return join(this.dir, `${this.id}-json.log`);
  }
  get upper(): string {
    return join(this.dir, 'upper');
  }
  get work(): string {
    return join(this.dir, 'work');
  }
  get rootfs(): string {
    return join(this.dir, 'rootfs');
  }
  get bundle(): string {
    return join(this.dir, 'bundle');
  }
  get pidFile(): string {
    return join(this.dir, 'init.pid');
  }
  get netns(): string {
    return join(this.dir, 'netns');
  }
  get slirpSocket(): string {
    return join(SLIRP_SOCKET_DIR, `${this.id}.sock`);
  }
  /** The attached client's latest terminal size for a `-t` container (see containers/pty.ts). */
  get ttySize(): string {
    return join(this.dir, 'tty-size');
  }
  get supervisorLog(): string {
    return join(this.dir, 'supervisor.log');
  }
  get hosts(): string {
    return join(this.dir, 'hosts');
  }
  get hostname(): string {
    return join(this.dir, 'hostname');
  }
  get resolvConf(): string {
    return join(this.dir, 'resolv.conf');
  }
}

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function noSuchContainer(ref: string): SlipwayError {
  return new SlipwayError('NOT_FOUND', `No such container: ${ref}`);
}

/** Every container under `<root>/containers`, one directory (named by the 64-hex id) each. */
export class ContainerStore {
  readonly dir: string;
  readonly volumesDir: string;

  constructor(readonly root: string) {
    this.dir = join(root, 'containers');
    this.volumesDir = join(root, 'volumes');
  }

  paths(id: string): ContainerPaths {
    return new ContainerPaths(join(this.dir, id), id);
  }

  ids(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  }

  /** The record, or undefined when it is gone (removed concurrently) or unreadable. */
  read(id: string): ContainerRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.paths(id).record, 'utf8')) as ContainerRecord;
    } catch {
      return undefined;
    }
  }

  async write(rec: ContainerRecord): Promise<void> {
    await atomicWriteFile(this.paths(rec.id).record, `${JSON.stringify(rec, null, 2)}\n`, { durable: false });
  }

  /** Read-modify-write of the record; a vanished record is left alone. */
  async update(id: string, fn: (rec: ContainerRecord) => void): Promise<ContainerRecord | undefined> {
    const rec = this.read(id);
    if (!rec) return undefined;
    fn(rec);
    await this.write(rec);
    return rec;
  }

  list(): ContainerRecord[] {
    return this.ids()
      .map((id) => this.read(id))
      .filter((r): r is ContainerRecord => r !== undefined);
  }

  /** Docker's lookup order: full id, exact name, then a unique id prefix. */
  tryResolve(ref: string): ContainerRecord | undefined {
    const wanted = ref.startsWith('/') ? ref.slice(1) : ref;
    const all = this.list();
    const byId = all.find((r) => r.id === wanted);
    if (byId) return byId;
    const byName = all.find((r) => r.name === wanted);
    if (byName) return byName;
    if (!/^[0-9a-f]+$/.test(wanted)) return undefined;
    const hits = all.filter((r) => r.id.startsWith(wanted));
    if (hits.length > 1) {
      throw new SlipwayError('CONFLICT', `multiple IDs found with provided prefix: ${wanted}`);
    }
    return hits[0];
  }

  resolve(ref: string): ContainerRecord {
    if (ref === '') throw noSuchContainer(ref);
    const r = this.tryResolve(ref);
    if (!r) throw noSuchContainer(ref);
    return r;
  }

  /**
   * Allocates an id and (unique) name and writes the first record, all under one lock so two
   * concurrent `run --name x` cannot both win.
   */
  async create(
    build: (id: string, name: string) => ContainerRecord,
    name?: string,
  ): Promise<ContainerRecord> {
    mkdirSync(this.dir, { recursive: true });
    if (name !== undefined && !NAME_RE.test(name.replace(/^\//, ''))) {
      throw new SlipwayError(
        'USAGE',
        `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    }
    return withLock(join(this.dir, '.names.lock'), async () => {
      const all = this.list();
      await this.removeLeftovers(all);
      const taken = new Set(all.map((r) => r.name));
      let chosen = name?.replace(/^\//, '');
      if (chosen !== undefined && taken.has(chosen)) {
        const owner = all.find((r) => r.name === chosen)!;
        throw new SlipwayError(
          'CONFLICT',
          `Conflict. The container name "/${chosen}" is already in use by container "${owner.id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      for (let i = 0; chosen === undefined; i++) {
        const candidate = randomName(i > 5 ? i : 0);
        if (!taken.has(candidate)) chosen = candidate;
      }
      let id = '';
      do id = randomBytes(32).toString('hex');
      while (/^\d+$/.test(id.slice(0, 12)) || all.some((r) => r.id === id));
      const rec = build(id, chosen);
      await mkdir(this.paths(id).dir, { recursive: true, mode: 0o710 });
      await this.write(rec);
      return rec;
    });
  }

  /**
   * Under the names lock no container is half-created, so a directory without a record is what a
   * `run`/`create` killed between mkdir and the record's write (or an `rm` killed midway) left: no
   * command can name it, so nothing else would ever delete it. Likewise a container's gc roots whose
   * directory is gone would keep its image's blobs from gc for good.
   */
  private async removeLeftovers(all: readonly ContainerRecord[]): Promise<void> {
    const live = new Set(all.map((r) => r.id));
    for (const id of this.ids()) {
      if (!live.has(id) && !existsSync(this.paths(id).record)) await removeUnmounted(this.paths(id).dir);
    }
    const roots = new StorePaths(this.root).roots;
    let names: string[];
    try {
      names = readdirSync(roots);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^container-([0-9a-f]{64})\.json$/.exec(name);
      if (m && !existsSync(this.paths(m[1]!).dir)) await rm(join(roots, name), { force: true });
    }
  }

  async removeFiles(id: string): Promise<void> {
    await rm(this.paths(id).dir, { recursive: true, force: true });
  }
}

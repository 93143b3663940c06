import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex } from '../image/digest.js';
import { isErrno, isProcessAlive, removeQuiet, tempName, tempOwner } from './fsutil.js';

/**
 * A lease pins blobs and snapshots a live process is writing or about to use, so a concurrent gc in another
 * process leaves them alone. One lease directory per Store instance, `leases/lease.<pid>.<rand>.tmp/`,
 * holding one empty file per pinned digest hex. Creating a file is atomic and needs no lock; a lease whose
 * PID is dead is ignored and removed by gc. The pin must be visible BEFORE the blob/snapshot appears under
 * (or is checked at) its final name; gc's protocol (gc.ts) relies on that order.
 */
export class Lease {
  private dir: string | undefined;
  private readonly pinned = new Set<string>();

  constructor(private readonly leasesDir: string) {}

  // Synchronous on purpose: an empty file is two syscalls, cheaper than a thread-pool round trip
  // each, and a build pins a dozen digests before its first step.
  async pin(digests: Iterable<string>): Promise<void> {
    for (const d of digests) {
      const hex = digestHex(d);
      if (this.pinned.has(hex)) continue;
      if (this.dir === undefined) {
        const dir = join(this.leasesDir, tempName('lease'));
        mkdirSync(dir, { recursive: true });
        this.dir = dir;
      }
      closeSync(openSync(join(this.dir, hex), 'w'));
      this.pinned.add(hex);
    }
  }

  has(digest: string): boolean {
    return this.pinned.has(digestHex(digest));
  }

  /** Drop all pins (e.g. after a build finished and its results are named). */
  async release(): Promise<void> {
    if (this.dir !== undefined) {
      try {
        rmSync(this.dir, { recursive: true, force: true });
      } catch {
        // gc removes a dead process's lease anyway
      }
    }
    this.dir = undefined;
    this.pinned.clear();
  }
}

/** Hex digests pinned by live processes' leases; dead processes' leases are removed on the way. */
export async function readLivePins(leasesDir: string, removeDead: boolean): Promise<Set<string>> {
  const out = new Set<string>();
  let names: string[];
  try {
    names = await readdir(leasesDir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return out;
    throw e;
  }
  for (const name of names) {
    const pid = tempOwner(name);
    const dir = join(leasesDir, name);
    if (pid === undefined || !isProcessAlive(pid)) {
      if (removeDead) await removeQuiet(dir);
      continue;
    }
    try {
      for (const hex of await readdir(dir)) out.add(hex);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  return out;
}

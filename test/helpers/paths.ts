import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The checkout's root (compiled tests run from dist/test/…). */
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
/** Conformance data is read in place from the shared tree beside the checkout, never copied. */
export const conformanceDir = resolve(
  process.env.SLIPWAY_CONFORMANCE ?? join(repoRoot, '..', 'shared', 'conformance'),
);
export const seedsDir = resolve(join(repoRoot, '..', 'shared', 'seeds'));

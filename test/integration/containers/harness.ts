import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/paths.js';
import { runtimeSkipReason } from '../runtime/fixtures.js';

/** The CLI file itself (bin/slipway.js). */
export const CLI = join(repoRoot, 'bin', 'slipway.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Why these tests cannot run here (real runc, the built CLI, slirp4netns for `-p`), or undefined. */
export function containerTestsSkipReason(opts: { slirp?: boolean } = {}): string | undefined {
  const base = runtimeSkipReason();
  if (base) return base;
  if (opts.slirp && !existsSync('/usr/bin/slirp4netns')) return 'needs slirp4netns';
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'main.cjs'))) return 'needs `npm run build` (dist/cli)';
  return undefined;
}

/**
 * The CLI on the store `root()` names: started through Node, or (`shebang`) as the file itself, as a
 * user's shell runs it, where its shebang decides Node's options.
 */
export function cli(root: () => string, how: 'node' | 'shebang') {
  const sw = (args: string[], input?: string): CliResult => {
    const argv = ['--root', root(), ...args];
    const r = spawnSync(how === 'node' ? process.execPath : CLI, how === 'node' ? [CLI, ...argv] : argv, {
      encoding: 'utf8',
      timeout: 60_000,
      ...(input !== undefined ? { input } : { stdio: ['ignore', 'pipe', 'pipe'] }),
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const ok = (args: string[], input?: string): string => {
    const r = sw(args, input);
    assert.equal(r.code, 0, `slipway ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  return { sw, ok };
}

/** Test helpers: describe a directory tree as comparable text, and run commands. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseGetfattrDump } from '../../../src/layer/xattr.js';

export function sh(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): string {
  return execFileSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** All xattrs of a tree in one getfattr run (symlinks not followed), keyed by absolute path. */
function xattrsOfTree(root: string): Map<string, string> {
  const out = execFileSync(
    'getfattr',
    [
      '-R',
      '-P',
      '-h',
      '-d',
      '-m',
      '^(security\\.capability|user\\..*|trusted\\..*)$',
      '-e',
      'hex',
      '--absolute-names',
      '--',
      root,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const map = new Map<string, string>();
  for (const [path, attrs] of parseGetfattrDump(out)) {
    map.set(
      path,
      Object.entries(attrs)
        .map(([k, v]) => `${k}=0x${v.toString('hex')}`)
        .sort()
        .join(','),
    );
  }
  return map;
}

/**
 * One line per path: type, mode, owner, mtime (seconds), size, content hash, link target, xattrs and
 * a hardlink group id. `skip` drops relative paths from the listing.
 */
export function describeTree(
  root: string,
  opts: { mtimes?: boolean; skip?: (rel: string) => boolean } = {},
): string[] {
  const lines: string[] = [];
  const inodes = new Map<string, string>();
  const xattrs = xattrsOfTree(root);
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    for (const name of readdirSync(abs).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (opts.skip?.(r)) continue;
      const p = join(root, r);
      const st = lstatSync(p, { bigint: true });
      let kind = '?';
      let extra = '';
      if (st.isDirectory()) kind = 'd';
      else if (st.isSymbolicLink()) {
        kind = 'l';
        extra = `-> ${readlinkSync(p)}`;
      } else if (st.isFile()) {
        kind = 'f';
        extra = `${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 12)}`;
      } else if (st.isCharacterDevice()) {
        kind = 'c';
        extra = `${st.rdev}`;
      } else if (st.isBlockDevice()) kind = 'b';
      else if (st.isFIFO()) kind = 'p';
      if (!st.isDirectory() && st.nlink > 1n) {
        const key = `${st.ino}`;
        if (!inodes.has(key)) inodes.set(key, r);
        extra += ` link=${inodes.get(key)}`;
      }
      const mode = (st.mode & 0o7777n).toString(8);
      const mtime = opts.mtimes === false || st.isSymbolicLink() ? '' : ` t=${st.mtimeNs / 1_000_000_000n}`;
      lines.push(
        `${kind} ${r} ${kind === 'l' ? '' : mode} ${st.uid}:${st.gid}${mtime} ${extra} ${kind === 'l' ? '' : (xattrs.get(p) ?? '')}`.trim(),
      );
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return lines;
}

/**
 * Extended attributes without a native addon: Node has no xattr API, so we drive `getfattr`/`setfattr`
 * from the Debian package `attr`. Reading is one `getfattr -R` process per tree (not one per file), and
 * writing is one `setfattr --restore` process per batch, so the cost does not grow with process spawns.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';

export type XattrMap = Record<string, Buffer>;

let availability: boolean | undefined;

/** Whether getfattr/setfattr can run here (cached). */
function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    try {
      accessSync(join(dir || '.', tool), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

export function xattrToolsAvailable(): boolean {
  if (availability === undefined) {
    // A PATH lookup, not two `--version` processes on every build.
    availability = onPath('getfattr') && onPath('setfattr');
  }
  return availability;
}

export function attrMissing(why: string, cause?: unknown): SlipwayError {
  return new SlipwayError('LAYER', `getfattr/setfattr not found: ${why}`, {
    hint: 'install the Debian package "attr" (apt-get install attr)',
    cause,
  });
}

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

function run(cmd: string, args: string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 8192) stderr += d;
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? attrMissing(`cannot run ${cmd}`, e) : e),
    );
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr, code }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

/** getfattr prints unusual bytes in file names as `\ooo` octal escapes and `\` as `\\`. */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.toString('latin1', i + 1, i + 4))) {
      bytes.push(Number.parseInt(raw.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else if (c === 0x5c && raw[i + 1] === 0x5c) {
      bytes.push(0x5c);
      i += 1;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parse `getfattr -d -e hex --absolute-names` output into path → name → value. */
export function parseGetfattrDump(text: string): Map<string, XattrMap> {
  const out = new Map<string, XattrMap>();
  let current: XattrMap | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      out.set(unescapeName(line.slice('# file: '.length)), current);
      continue;
    }
    if (line === '' || current === undefined) continue;
    const eq = line.indexOf('=');
    const name = unescapeName(eq < 0 ? line : line.slice(0, eq));
    const value = eq < 0 ? '' : line.slice(eq + 1);
    if (value.startsWith('0x')) current[name] = Buffer.from(value.slice(2), 'hex');
    else if (value.startsWith('0s')) current[name] = Buffer.from(value.slice(2), 'base64');
    else if (value.startsWith('"') && value.endsWith('"')) current[name] = Buffer.from(value.slice(1, -1));
    else current[name] = Buffer.alloc(0);
  }
  return out;
}

/**
 * Every xattr whose name matches `pattern` (a getfattr `-m` regex) on every file under `root`,
 * symlinks neither followed nor read. Keys are absolute paths.
 */
export async function readXattrTree(root: string, pattern: string): Promise<Map<string, XattrMap>> {
  const r = await run('getfattr', [
    '-R',
    '-P',
    '-h',
    '-d',
    '-m',
    pattern,
    '-e',
    'hex',
    '--absolute-names',
    '--',
    root,
  ]);
  if (r.code !== 0) {
    throw new SlipwayError('LAYER', `getfattr failed on ${root}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  return parseGetfattrDump(r.stdout.toString('utf8'));
}

function escapeName(s: string): string {
  const out: string[] = [];
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x5c) out.push('\\\\');
    else if (byte <= 0x20 || byte === 0x3d || byte >= 0x7f)
      out.push(`\\${byte.toString(8).padStart(3, '0')}`);
    else out.push(String.fromCharCode(byte));
  }
  return out.join('');
}

/** Set xattrs on many paths in one `setfattr --restore` run; symlinks are not followed. */
export async function writeXattrs(items: { path: string; xattrs: XattrMap }[]): Promise<void> {
  const lines: string[] = [];
  for (const { path, xattrs } of items) {
    const names = Object.keys(xattrs);
    if (names.length === 0) continue;
    lines.push(`# file: ${escapeName(path)}`);
    for (const name of names) lines.push(`${escapeName(name)}=0x${xattrs[name]!.toString('hex')}`);
    lines.push('');
  }
  if (lines.length === 0) return;
  if (!xattrToolsAvailable()) throw attrMissing('needed to set extended attributes');
  const r = await run('setfattr', ['-h', '--restore=-'], Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  if (r.code !== 0) {
    throw new SlipwayError('LAYER', `setfattr failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
}

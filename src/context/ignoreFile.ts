/**
 * Reading .dockerignore the way BuildKit does (moby/patternmatcher/ignorefile.ReadAll), and choosing
 * which file applies: `<Dockerfile>.dockerignore` next to the Dockerfile wins over `<context>/.dockerignore`.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import { regularFileInside } from './source-path.js';
import { goClean, goTrimSpace } from './goPath.js';
import type { IgnorePattern } from './matcher.js';

// bufio.Scanner's default token limit; ReadAll fails on longer lines.
const MAX_LINE = 64 * 1024;

/** Splits ignore-file text into patterns. `file` is only used to label patterns for error messages. */
export function parseIgnoreFile(text: string, file?: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // bufio.ScanLines: split on \n, drop one trailing \r per line, no empty token after a final \n.
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length > MAX_LINE) {
      throw new SlipwayError(
        'DOCKERIGNORE',
        'error reading .dockerignore: line too long',
        withPos(file, i + 1),
      );
    }
    // Only a `#` in the very first column starts a comment.
    if (line.startsWith('#')) continue;
    let pattern = goTrimSpace(line);
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goClean(pattern);
      // Absolute paths are relative to the context root.
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    if (invert) pattern = `!${pattern}`;
    out.push({ pattern, ...withPos(file, i + 1) });
  }
  return out;
}

function withPos(file: string | undefined, line: number): { file?: string; line: number } {
  return file === undefined ? { line } : { file, line };
}

export interface IgnoreFileResult {
  patterns: IgnorePattern[];
  /** Absolute path of the file that was read, or undefined when none exists. */
  file: string | undefined;
}

/**
 * Finds and reads the ignore file for a build. `dockerfile` is the Dockerfile's path (absolute, or relative
 * to `contextDir`); when given, `<dockerfile>.dockerignore` is preferred, even if empty. A missing file
 * means no patterns; any other read failure (a directory, no permission) is an error, not "absent".
 */
export async function readIgnoreFile(contextDir: string, dockerfile?: string): Promise<IgnoreFileResult> {
  const candidates: string[] = [];
  if (dockerfile !== undefined && dockerfile !== '') {
    const df = isAbsolute(dockerfile) ? dockerfile : resolve(contextDir, dockerfile);
    candidates.push(join(dirname(df), `${basename(df)}.dockerignore`));
  }
  candidates.push(resolve(contextDir, '.dockerignore'));
  for (const file of candidates) {
    const found = regularFileInside(dirname(file), basename(file));
    if ('missing' in found) continue;
    if ('refused' in found)
      throw new SlipwayError('DOCKERIGNORE', `unable to read ${file}: ${found.refused}`, { file });
    let text: string;
    try {
      text = await readFile(found.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new SlipwayError('DOCKERIGNORE', `unable to read ${file}: ${(e as Error).message}`, {
        file,
        cause: e,
      });
    }
    return { patterns: parseIgnoreFile(text, file), file };
  }
  return { patterns: [], file: undefined };
}

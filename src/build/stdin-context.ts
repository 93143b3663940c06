/**
 * `build -`: the build context, or a lone Dockerfile, read from stdin, as the docker CLI reads it.
 * An archive (tar, gzip, bzip2, xz — sniffed, never guessed from a name) is the context and `-f`
 * names a file inside it; anything else is a Dockerfile with an empty context.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../errors.js';
import { archiveKind, unpackArchive } from './copy.js';

export interface StdinContext {
  contextDir: string;
  /** Set when stdin was an archive and `-f` named a Dockerfile in it. */
  dockerfile?: string;
  /** Set when stdin was a Dockerfile. */
  dockerfileText?: string;
  /** The context's digest cache lives with it, so a throw-away context leaves nothing in the store. */
  digestCache: string;
  dispose(): Promise<void>;
}

export async function contextFromStdin(input: Readable, dockerfileFlag?: string): Promise<StdinContext> {
  if (dockerfileFlag === '-') {
    throw new SlipwayError(
      'USAGE',
      "invalid argument: can't use stdin for both build context and dockerfile",
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'slipway-stdin-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const received = join(dir, 'stdin');
    await pipeline(input, createWriteStream(received));
    const contextDir = join(dir, 'context');
    await mkdir(contextDir);
    const digestCache = join(dir, 'digests.bin');
    if ((await archiveKind(received)) === undefined) {
      // As the docker CLI: a Dockerfile on stdin is always "Dockerfile", whatever -f says.
      return { contextDir, dockerfileText: await readFile(received, 'utf8'), digestCache, dispose };
    }
    await unpackArchive(received, contextDir, undefined, 'build context from stdin');
    await rm(received);
    if (dockerfileFlag === undefined) return { contextDir, digestCache, dispose };
    const dockerfile = join(contextDir, posix.normalize(`/${dockerfileFlag}`));
    if (!(await lstat(dockerfile).catch(() => undefined))?.isFile()) {
      throw new SlipwayError(
        'CONTEXT',
        `failed to read dockerfile: open ${dockerfileFlag}: no such file or directory in the context from stdin`,
      );
    }
    return { contextDir, dockerfile, digestCache, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** `-f -`: the Dockerfile's text from stdin, the context from a directory. */
export async function dockerfileFromStdin(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

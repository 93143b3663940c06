/**
 * Compression streams. gzip is Node's zlib; Node 20 has no zstd, so zstd runs the `zstd` CLI
 * (Debian package `zstd`) as a streaming child process.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { type Duplex, Duplex as DuplexClass, PassThrough } from 'node:stream';
import { createGunzip, createGzip, gzipSync, type ZlibOptions, constants as zc } from 'node:zlib';
import { SlipwayError } from '../errors.js';
import type { Compression } from './types.js';

/**
 * Level 6 is zlib's and Go's default (what `docker push`/BuildKit use), a good size/speed point on a
 * 2-core machine. Pinning it (and everything else) keeps the same tar → the same blob digest with
 * the same zlib build; a different zlib may produce different (equally valid) bytes, the diffId never
 * changes.
 */
export const DEFAULT_GZIP_LEVEL = 6;
/** zlib's 16 KiB default output chunks cost a write(2) each downstream; 256 KiB cuts that 16-fold. */
const ZLIB_CHUNK = 256 * 1024;

/** zstd's own default level. */
export const DEFAULT_ZSTD_LEVEL = 3;

export interface CodecStream {
  stream: Duplex;
  /** Settles when the codec is done; rejects when an external tool failed. */
  done: Promise<void>;
}

function zstdMissing(cause: unknown): SlipwayError {
  return new SlipwayError('LAYER', 'zstd is not installed', {
    hint: 'install the Debian package "zstd" (apt-get install zstd)',
    cause,
  });
}

function runZstd(args: string[]): CodecStream {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stream = DuplexClass.from({ writable: child.stdin, readable: child.stdout });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  // A consumer that stops early makes zstd see EPIPE; the exit status below reports real failures.
  child.stdin.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      const err =
        e.code === 'ENOENT' ? zstdMissing(e) : new SlipwayError('LAYER', `zstd: ${e.message}`, { cause: e });
      stream.destroy(err);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const err = new SlipwayError(
        'LAYER',
        `zstd failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`,
      );
      stream.destroy(err);
      reject(err);
    });
  });
  done.catch(() => {});
  return { stream, done };
}

/**
 * The one gzip configuration every layer is written with, streamed or in one call: deflate's output
 * depends on these parameters, never on how the input is chunked, so both give the same bytes.
 * Node's gzip header carries mtime 0 and a fixed OS byte, so it adds no nondeterminism.
 */
export function gzipOptions(level?: number): ZlibOptions & { level: number } {
  const lvl = level ?? DEFAULT_GZIP_LEVEL;
  if (!Number.isInteger(lvl) || lvl < 1 || lvl > 9) {
    throw new SlipwayError('LAYER', `gzip level must be 1..9, got ${lvl}`);
  }
  return { level: lvl, memLevel: 8, strategy: zc.Z_DEFAULT_STRATEGY, chunkSize: ZLIB_CHUNK };
}

/** Compresses a whole (small) layer held in memory; `none` returns it as is. */
export function compressBuffer(tar: Buffer, compression: 'gzip' | 'none', level?: number): Buffer {
  return compression === 'gzip' ? gzipSync(tar, gzipOptions(level)) : tar;
}

export function compressor(compression: Compression, level?: number): CodecStream {
  switch (compression) {
    case 'gzip':
      return { stream: createGzip(gzipOptions(level)), done: Promise.resolve() };
    case 'zstd': {
      const lvl = level ?? DEFAULT_ZSTD_LEVEL;
      if (!Number.isInteger(lvl) || lvl < 1 || lvl > 19) {
        throw new SlipwayError('LAYER', `zstd level must be 1..19, got ${lvl}`);
      }
      // -T1: single worker, so the frame layout never depends on the core count.
      return runZstd([`-${lvl}`, '-T1', '-q', '-c', '--no-progress']);
    }
    case 'none':
      return { stream: new PassThrough(), done: Promise.resolve() };
  }
}

export function decompressor(compression: Compression): CodecStream {
  switch (compression) {
    case 'gzip':
      return { stream: createGunzip({ chunkSize: ZLIB_CHUNK }), done: Promise.resolve() };
    case 'zstd':
      return runZstd(['-d', '-q', '-c', '--no-progress']);
    case 'none':
      return { stream: new PassThrough(), done: Promise.resolve() };
  }
}

/** A stored blob's uncompressed bytes; `done` settles once the decoder is through (zstd's exit status). */
export function decompressedFile(
  path: string,
  compression: Compression,
): { content: AsyncIterable<Buffer>; done: Promise<void> } {
  const input = createReadStream(path);
  if (compression === 'none') return { content: input, done: Promise.resolve() };
  const codec = decompressor(compression);
  input.on('error', (e) => codec.stream.destroy(e));
  input.pipe(codec.stream);
  return { content: codec.stream, done: codec.done };
}

/** Sniff magic bytes: gzip `1f 8b`, zstd `28 b5 2f fd`; anything else is taken as a plain tar. */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd)
    return 'zstd';
  return 'none';
}

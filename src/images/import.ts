import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { applyConfig } from '../build/config-apply.js';
import { parseDockerfile } from '../dockerfile/parser.js';
import { parseCommand } from '../dockerfile/instructions/parse.js';
import { StageScope } from '../dockerfile/instructions/scope.js';
import { hostPlatform } from '../dockerfile/instructions/platform.js';
import { SlipwayError } from '../errors.js';
import type { ContainerConfig, ImageConfig } from '../image/types.js';
import { compressor, decompressor, detectCompression } from '../layer/compress.js';
import { layerMediaType } from '../layer/media-types.js';
import { importedBytes } from '../layer/content-size.js';
import { readTar } from '../layer/tar-reader.js';
import { tempName } from '../store/fsutil.js';
import type { Store } from '../store/store.js';

const IMPORT_CHANGES = new Set([
  'cmd',
  'entrypoint',
  'env',
  'expose',
  'label',
  'onbuild',
  'user',
  'volume',
  'workdir',
  'stopsignal',
]);

export interface ImportOptions {
  /** Where the tarball came from, for the history comment (`-` for stdin). */
  sourceName: string;
  changes?: string[];
  message?: string;
  tag?: string;
}

export interface ImportResult {
  imageId: string;
  manifestDigest: string;
  name?: string;
}

/** `docker import`: a rootfs tarball (plain or compressed) becomes a one-layer image. */
export async function importRootfs(
  store: Store,
  input: Readable,
  opts: ImportOptions,
): Promise<ImportResult> {
  const config: ContainerConfig = {};
  for (const change of opts.changes ?? []) applyChange(config, change);
  const tmp = join(store.paths.tmp, tempName('import'));
  try {
    const layer = await recompress(input, tmp);
    await store.adoptBlob(tmp, layer.digest, layer.size);
    const platform = hostPlatform();
    const image: ImageConfig = {
      architecture: platform.architecture,
      os: platform.os,
      created: new Date().toISOString(),
      config,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [
        {
          created: new Date().toISOString(),
          created_by: '',
          comment: opts.message || `Imported from ${opts.sourceName}`,
        },
      ],
    };
    const put = await store.putImage({
      config: image,
      layers: [{ mediaType: layerMediaType('gzip', true), digest: layer.digest, size: layer.size }],
      // Docker sizes a layer by its files' bytes, not its tar's length (headers and padding).
      uncompressedSizes: [layer.fileBytes],
    });
    const result: ImportResult = { imageId: put.configDigest, manifestDigest: put.manifestDigest };
    if (opts.tag) result.name = await store.tag(opts.tag, put.manifestDigest);
    return result;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Decompresses whatever came in, hashes the tar (diff id) and gzips it (blob digest) in one pass. */
async function recompress(
  input: Readable,
  outPath: string,
): Promise<{ digest: string; diffId: string; size: number; fileBytes: number }> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Buffer);
  if (head.length === 0) throw new SlipwayError('USAGE', 'import: the tarball is empty');
  const kind =
    head[0] === 0x42 && head[1] === 0x5a
      ? 'bzip2'
      : head[0] === 0xfd && head[1] === 0x37
        ? 'xz'
        : detectCompression(head);
  async function* replay(): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const n = await iterator.next();
      if (n.done) return;
      yield Buffer.from(n.value as Buffer);
    }
  }
  const decoder =
    kind === 'bzip2' || kind === 'xz'
      ? externalDecoder(kind === 'bzip2' ? 'bzip2' : 'xz')
      : decompressor(kind);
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  let size = 0;
  const gz = compressor('gzip');
  const out = createWriteStream(outPath);
  // The tar is read as it passes, so a truncated, corrupt or escaping archive fails the import
  // instead of storing an image that no FROM or run could ever unpack.
  const members = new Channel();
  const checked = checkRootfsTar(members).catch((e: unknown) => {
    members.abandon();
    throw e;
  });
  const [, , fileBytes] = await Promise.all([
    pipeline(
      replay(),
      decoder.stream,
      async function* (source: AsyncIterable<Buffer>) {
        try {
          for await (const chunk of source) {
            diff.update(chunk);
            await members.push(chunk);
            yield chunk;
          }
        } finally {
          members.close();
        }
      },
      gz.stream,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          blob.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      out,
    ),
    decoder.done,
    checked,
  ]);
  return { digest: `sha256:${blob.digest('hex')}`, diffId: `sha256:${diff.digest('hex')}`, size, fileBytes };
}

/** Checks every member's path; returns the bytes of its files and symlinks (Docker's size of a layer). */
async function checkRootfsTar(chunks: AsyncIterable<Buffer>): Promise<number> {
  let fileBytes = 0;
  for await (const member of readTar(chunks)) {
    if (member.header.name.split('/').includes('..')) {
      throw new SlipwayError(
        'USAGE',
        `import: the tarball holds a path that leaves its root: ${JSON.stringify(member.header.name)}`,
      );
    }
    fileBytes += importedBytes(member.header);
  }
  return fileBytes;
}

/** Chunks handed from the import pipeline to the tar check, a bounded distance ahead of it. */
class Channel implements AsyncIterable<Buffer> {
  private static readonly AHEAD = 8 << 20;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private closed = false;
  private abandoned = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  async push(chunk: Buffer): Promise<void> {
    if (this.abandoned) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wakeReader?.();
    while (this.queued > Channel.AHEAD && !this.abandoned) {
      await new Promise<void>((resolve) => {
        this.wakeWriter = resolve;
      });
    }
  }

  close(): void {
    this.closed = true;
    this.wakeReader?.();
  }

  /** The reader gave up (the check failed): the writer must never wait for it. */
  abandon(): void {
    this.abandoned = true;
    this.queue.length = 0;
    this.wakeWriter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queued -= chunk.length;
        this.wakeWriter?.();
        yield chunk;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
    }
  }
}

function externalDecoder(tool: 'bzip2' | 'xz'): { stream: Duplex; done: Promise<void> } {
  // Node has no bzip2/xz codec; Debian's tools stream it.
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) =>
      reject(
        new SlipwayError('UNSUPPORTED', `${tool} is not installed`, {
          hint: `apt-get install ${tool === 'xz' ? 'xz-utils' : 'bzip2'}`,
          cause: e,
        }),
      ),
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new SlipwayError('USAGE', `${tool}: cannot decompress the tarball`)),
    );
  });
  return { stream: Duplex.from({ writable: child.stdin, readable: child.stdout }), done };
}

/** One `--change` line, with Docker's allow-list of instructions. */
function applyChange(config: ContainerConfig, change: string): void {
  const ast = parseDockerfile(change, { file: '--change' });
  const node = ast.instructions[0];
  if (!node || ast.instructions.length > 1) throw new SlipwayError('USAGE', `invalid --change: ${change}`);
  if (!IMPORT_CHANGES.has(node.keyword)) {
    throw new SlipwayError('USAGE', `${node.keyword.toUpperCase()} is not a valid change command`);
  }
  const scope = StageScope.fromImageEnv(config.Env ?? [], {
    escapeToken: '\\',
    globalArgs: new Map(),
    buildArgs: {},
  });
  const { instruction } = scope.dispatch(parseCommand(node));
  if (instruction.kind === 'workdir') {
    config.WorkingDir = instruction.path;
    return;
  }
  const hadPath = (config.Env ?? []).some((e) => e.startsWith('PATH='));
  applyConfig(config, instruction, { cmdSet: false }, { configEnv: scope.configEnv() });
  // docker import applies changes with the classic builder: no default PATH slipped into Env
  // (a Dockerfile stage would get one), no ArgsEscaped (Windows-only there).
  const setsPath = instruction.kind === 'env' && instruction.env.some((kv) => kv.key === 'PATH');
  if (!hadPath && !setsPath && config.Env) config.Env = config.Env.filter((e) => !e.startsWith('PATH='));
  delete config.ArgsEscaped;
}

import { once } from 'node:events';
import { SlipwayError } from '../errors.js';
import { decompressor } from '../layer/compress.js';
import { importedBytes } from '../layer/content-size.js';
import { readTar } from '../layer/tar-reader.js';
import type { Compression } from '../layer/types.js';
import type { RegistryClient } from './client.js';
import { NetworkError, sleep } from './http.js';
import { DEFAULT_RETRY, isRetryable, type RetryPolicy, retryDelay } from './retry.js';

export interface DownloadOptions {
  policy?: RetryPolicy;
  signal?: AbortSignal | undefined;
  onRetry?: ((e: unknown, attempt: number, offset: number) => void) | undefined;
}

/**
 * A blob's bytes as one continuous stream even across dropped connections: when the body breaks
 * off, the blob is requested again with `Range: bytes=<received>-` and the stream goes on where it
 * stopped (a server that ignores Range answers 200: the bytes already passed on are skipped). The
 * consumer (store.writeBlob) hashes what it sees, so a resumed blob is verified as a whole.
 */
export async function* blobChunks(
  client: RegistryClient,
  digest: string,
  size: number,
  opts: DownloadOptions = {},
): AsyncGenerator<Buffer> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  let received = 0;
  let failures = 0;
  for (;;) {
    const res = await client.openBlob(digest, received);
    let skip = 0;
    if (received > 0 && res.status === 200) skip = received;
    else if (received > 0) {
      const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1];
      if (start !== undefined && Number(start) !== received) {
        res.body.destroy();
        throw new SlipwayError(
          'REGISTRY',
          `registry resumed blob ${digest} at byte ${start}, wanted ${received}`,
        );
      }
    }
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        let c = chunk;
        if (skip > 0) {
          if (c.length <= skip) {
            skip -= c.length;
            continue;
          }
          c = c.subarray(skip);
          skip = 0;
        }
        received += c.length;
        failures = 0;
        if (size >= 0 && received > size) {
          throw new SlipwayError('REGISTRY', `blob ${digest} is larger than its descriptor's ${size} bytes`);
        }
        yield c;
      }
      if (size < 0 || received >= size) return;
      throw new NetworkError(
        `blob ${digest}: connection closed after ${received} of ${size} bytes`,
        'ECONNRESET',
      );
    } catch (e) {
      res.body.destroy();
      const err =
        e instanceof SlipwayError
          ? e
          : new NetworkError(
              `blob ${digest}: ${(e as Error).message}`,
              (e as NodeJS.ErrnoException).code ?? 'ECONNRESET',
              e,
            );
      if (!isRetryable(err) || opts.signal?.aborted) throw err;
      failures++;
      if (failures >= policy.attempts) throw err;
      opts.onRetry?.(err, failures, received);
      await sleep(retryDelay(err, failures - 1, policy), opts.signal);
    }
  }
}

/**
 * Pass a layer blob through while measuring its Docker SIZE: dockerd unpacks a pulled layer and walks
 * the tree (regular files once per inode, plus symlink targets), which the tar's length (gzip's
 * ISIZE) overstates by its headers and padding, 10% for a Debian rootfs. The layer is inflated and
 * its headers read as it arrives, so a network-bound pull pays nothing extra; the download waits for
 * the inflater, never the reverse, so memory stays bounded. `result()` is undefined when the blob
 * could not be read as a tar (the caller falls back to another measure).
 */
export function layerSizeTap(compression: Compression): {
  tap: (src: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;
  result: () => Promise<number | undefined>;
} {
  const codec = decompressor(compression);
  let failed = false;
  const counting = (async () => {
    let n = 0;
    for await (const m of readTar(codec.stream as AsyncIterable<Buffer>)) n += importedBytes(m.header);
    await codec.done;
    return n;
  })().catch(() => {
    failed = true;
    codec.stream.destroy();
    return undefined;
  });
  return {
    async *tap(src) {
      let ended = false;
      try {
        for await (const c of src) {
          if (!failed && !codec.stream.write(c)) {
            await Promise.race([once(codec.stream, 'drain').catch(() => {}), counting]);
          }
          yield c;
        }
        codec.stream.end();
        ended = true;
      } finally {
        if (!ended) codec.stream.destroy();
      }
    },
    result: () => counting,
  };
}

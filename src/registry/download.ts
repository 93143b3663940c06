import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import { SlipwayError } from '../errors.js';
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
 * Pass a gzip stream through while counting its decompressed bytes (Docker's layer SIZE), so a pulled
 * layer is not read a second time to measure it. `result()` is undefined if the data was not gzip.
 */
export function gunzipCounter(): {
  tap: (src: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;
  result: () => Promise<number | undefined>;
} {
  const gz = createGunzip();
  let total = 0;
  let failed = false;
  gz.on('data', (b: Buffer) => {
    total += b.length;
  });
  const ended = new Promise<void>((resolve) => {
    gz.on('end', () => resolve());
    gz.on('error', () => {
      failed = true;
      resolve();
    });
    gz.on('close', () => resolve());
  });
  return {
    async *tap(src) {
      let done = false;
      try {
        for await (const c of src) {
          // Wait for zlib to keep up so memory stays flat; `ended` also settles on a gzip error.
          if (!failed && !gz.write(c)) await Promise.race([once(gz, 'drain'), ended]);
          yield c;
        }
        done = true;
        gz.end();
      } finally {
        if (!done) gz.destroy();
      }
    },
    result: async () => {
      await ended;
      return failed ? undefined : total;
    },
  };
}

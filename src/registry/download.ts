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
 * Pass a gzip stream through while keeping its trailer: the last 4 bytes (ISIZE) hold the
 * uncompressed length (Docker's layer SIZE), so a pulled layer is neither inflated on the way in
 * (that alone took longer than skopeo's whole pull) nor read again to measure it. ISIZE is modulo
 * 2^32 and describes the last member only; layers are single-member gzip, and a wrapped count is
 * corrected when it is below the compressed length. `result()` is undefined for data that is not gzip.
 */
export function gzipTrailerSize(): {
  tap: (src: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;
  result: () => number | undefined;
} {
  let head: Buffer = Buffer.alloc(0);
  let tail: Buffer = Buffer.alloc(0);
  let total = 0;
  return {
    async *tap(src) {
      for await (const c of src) {
        if (head.length < 2) head = Buffer.concat([head, c.subarray(0, 2)]);
        total += c.length;
        tail = c.length >= 4 ? c.subarray(c.length - 4) : Buffer.concat([tail, c]).subarray(-4);
        yield c;
      }
    },
    result: () => {
      if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b || tail.length < 4) return undefined;
      let size = tail.readUInt32LE(0);
      // Deflate never grows data by more than its stored-block overhead (5 bytes per 64 KiB).
      while (size + total / 1000 + 1024 < total) size += 2 ** 32;
      return size;
    },
  };
}

import { createHash } from 'node:crypto';
import { SlipwayError } from '../errors.js';

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export type Digest = string;

/** `sha256:<64 lowercase hex>` — the only algorithm slipway writes. */
export function isDigest(s: string): boolean {
  return SHA256_RE.test(s);
}

export function assertDigest(s: string, what = 'digest'): Digest {
  if (!isDigest(s))
    throw new SlipwayError('STORE', `invalid ${what}: ${JSON.stringify(s)} (want sha256:<64 hex>)`);
  return s;
}

/** The hex part of a sha256 digest. */
export function digestHex(d: Digest): string {
  return assertDigest(d).slice('sha256:'.length);
}

export function sha256Digest(data: Buffer | Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Digest and size of a whole stream, read to the end. */
export async function digestStream(stream: AsyncIterable<Buffer | Uint8Array | string>): Promise<{
  digest: Digest;
  size: number;
}> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    h.update(b);
    size += b.length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** Docker's short IMAGE ID: the first 12 hex characters. */
export function shortId(d: Digest): string {
  return d.replace(/^sha256:/, '').slice(0, 12);
}

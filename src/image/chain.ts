import { assertDigest, type Digest, sha256Digest } from './digest.js';

/**
 * ChainIDs per the OCI image spec (config.md "Layer ChainID"): chain(0) = diff(0),
 * chain(n) = sha256(chain(n-1) + " " + diff(n)). One per layer, in order.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  let prev: Digest | undefined;
  for (const d of diffIds) {
    assertDigest(d, 'diff id');
    prev = prev === undefined ? d : sha256Digest(`${prev} ${d}`);
    out.push(prev);
  }
  return out;
}

export function chainId(diffIds: readonly Digest[]): Digest | undefined {
  return chainIds(diffIds).at(-1);
}

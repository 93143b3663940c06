import { createHash } from 'node:crypto';

/**
 * A step's cache key is a pure function of these parts; the parts are kept beside the
 * result so "why did this step miss?" is a diff of two records.
 */
export interface CacheKeyParts {
  parent: string;
  /** The instruction as the engine will execute it, fully expanded. */
  op: string;
  /** Build args the step's words used, with their values (unset args are absent). */
  args: Record<string, string>;
  /** Content digests of every input the step reads (context selections, other stages' keys). */
  inputs: string[];
  platform: string;
}

export function cacheKey(parts: CacheKeyParts): string {
  return `sha256:${createHash('sha256').update(canonicalJson(parts)).digest('hex')}`;
}

/** JSON with sorted object keys, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** Names the parts that differ between two key records (for --explain-cache and tests). */
export function explainMiss(previous: CacheKeyParts, current: CacheKeyParts): string[] {
  const reasons: string[] = [];
  if (previous.parent !== current.parent) reasons.push('an earlier step changed');
  if (previous.op !== current.op) reasons.push('the instruction changed');
  if (canonicalJson(previous.args) !== canonicalJson(current.args))
    reasons.push('a build arg it uses changed');
  if (canonicalJson(previous.inputs) !== canonicalJson(current.inputs))
    reasons.push('files it reads changed');
  if (previous.platform !== current.platform) reasons.push('the platform changed');
  return reasons;
}

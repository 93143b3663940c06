import { RegistryError } from './errors.js';
import { isTlsError, NetworkError, sleep } from './http.js';

export interface RetryPolicy {
  /** Total tries, first one included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 250, maxMs: 10_000 };

/** 5xx, 429 and dropped connections may heal; a 4xx, a certificate error or an unknown host name will not. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof RegistryError) return e.retryable;
  if (e instanceof NetworkError) return !isTlsError(e) && e.errno !== 'ENOTFOUND';
  return false;
}

/** Retry-After when the registry sent one (capped at a minute), else exponential backoff with jitter. */
export function retryDelay(e: unknown, attempt: number, policy: RetryPolicy): number {
  if (e instanceof RegistryError && e.retryAfter !== undefined) return Math.min(e.retryAfter * 1000, 60_000);
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export interface RetryOptions {
  policy?: RetryPolicy;
  signal?: AbortSignal | undefined;
  onRetry?: ((e: unknown, attempt: number, delayMs: number) => void) | undefined;
  /** Narrows isRetryable for one call site. */
  retryIf?: (e: unknown) => boolean;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isRetryable(e) || opts.retryIf?.(e) === false || attempt + 1 >= policy.attempts) throw e;
      const delay = retryDelay(e, attempt, policy);
      opts.onRetry?.(e, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}

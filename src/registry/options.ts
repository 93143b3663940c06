import type { RegistryContext } from './client.js';
import { loadRegistryConfig, type RegistryConfig } from './config.js';
import { CredentialStore } from './credentials.js';
import type { RetryPolicy } from './retry.js';

/** Options every registry operation takes. Defaults read the user's config files. */
export interface RegistryOptions {
  /** Mirrors, insecure registries, certs dirs (default: loadRegistryConfig()). */
  config?: RegistryConfig;
  /** Docker credential storage (default: $DOCKER_CONFIG/config.json). */
  credentials?: CredentialStore;
  /** false: no certificate verification and plain HTTP allowed for this operation. */
  tlsVerify?: boolean;
  signal?: AbortSignal;
  retry?: RetryPolicy;
  /** Docker's non-TTY progress lines (`<id>: Pull complete`), one per call, without newline. */
  onProgress?: (line: string) => void;
}

export function makeContext(opts: RegistryOptions): RegistryContext {
  const ctx: RegistryContext = {
    config: opts.config ?? loadRegistryConfig(),
    credentials: opts.credentials ?? new CredentialStore(),
    signal: opts.signal,
  };
  if (opts.retry) ctx.retry = opts.retry;
  return ctx;
}

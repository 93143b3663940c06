import type { CliContext } from '../cli/context.js';
import { SlipwayError } from '../errors.js';
import { parseReference, type Reference } from '../image/reference.js';

/** `--tls-verify`, `--tls-verify=false`, `--tls-verify=true`. */
export function parseTlsVerify(v: string | boolean | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === true || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new SlipwayError(
    'USAGE',
    `invalid argument "${String(v)}" for "--tls-verify" flag: want true or false`,
  );
}

/** Registry and lookup failures print as Docker prints them (exit 1); others go to main's handler. */
export function registryFailure(ctx: CliContext, e: unknown, prefix: string): number {
  if (e instanceof SlipwayError && (e.code === 'REGISTRY' || e.code === 'NOT_FOUND')) {
    ctx.err(`${prefix}${e.message}\n`);
    if (ctx.debug && e.stack) ctx.err(`${e.stack}\n`);
    return 1;
  }
  throw e;
}

/** The CLI's own reference check: docker/cli prints a bad name's error bare and exits 1. */
export function parseCliReference(ctx: CliContext, name: string): Reference | undefined {
  try {
    return parseReference(name);
  } catch (e) {
    if (!(e instanceof SlipwayError && e.code === 'INVALID_REFERENCE')) throw e;
    ctx.err(`${e.message}\n`);
    return undefined;
  }
}

/** docker/cli's own check for `-a` with a tag or digest: a bare sentence and status 1, not a usage error. */
export function refuseTagWithAllTags(
  ctx: CliContext,
  allTags: boolean | undefined,
  given: Reference,
): boolean {
  if (!allTags || (given.tag === undefined && given.digest === undefined)) return false;
  ctx.err("tag can't be used with --all-tags/-a\n");
  return true;
}

/** Run with an AbortSignal that SIGINT/SIGTERM trip, so downloads stop and temp files go away. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

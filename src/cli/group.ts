import { SlipwayError } from '../errors.js';
import type { CliContext } from './context.js';

/**
 * What docker/cli does with a management command (`image`, `container`, `system`) when no known
 * subcommand follows: `--help` prints the group's help on stdout; nothing at all prints it on
 * stderr and succeeds; an unknown word prints it on stderr and exits 1. A docker subcommand
 * slipway does not have is said to be so instead.
 */
export function groupFallback(
  group: string,
  usage: string,
  sub: string | undefined,
  dockerOnly: readonly string[],
  ctx: CliContext,
): number {
  if (sub === '--help' || sub === '-h') {
    ctx.out(`\n${usage}`);
    return 0;
  }
  if (sub !== undefined && dockerOnly.includes(sub)) {
    throw new SlipwayError('UNSUPPORTED', `'slipway ${group} ${sub}' is not supported yet`);
  }
  ctx.err(`\n${usage}`);
  return sub === undefined ? 0 : 1;
}

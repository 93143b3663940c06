import type { CliContext } from '../cli/context.js';
import { SlipwayError } from '../errors.js';
import { containerRuntime, refresh } from './lifecycle.js';
import { followLog } from './logs.js';
import { isSameProcess } from './proc.js';
import { removeContainerFiles } from './remove.js';
import type { ContainerStore } from './store.js';

/** Errors the Docker CLI prints as the daemon's words; anything else is a bug and propagates. */
export function daemonMessage(e: unknown): string {
  if (e instanceof SlipwayError) return e.message;
  throw e;
}

/**
 * Runs `fn` for each container argument the way `docker stop a b` does: the argument is echoed on
 * success, `Error response from daemon: …` printed on failure, and the exit status is 1 if any failed.
 */
export async function forEachContainer(
  ctx: CliContext,
  refs: readonly string[],
  fn: (ref: string) => Promise<void>,
  echo = true,
): Promise<number> {
  let failed = false;
  for (const ref of refs) {
    try {
      await fn(ref);
      if (echo) ctx.out(`${ref}\n`);
    } catch (e) {
      failed = true;
      ctx.err(`Error response from daemon: ${daemonMessage(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}

export function requireArgs(verb: string, args: readonly unknown[], min: number): void {
  if (args.length < min) {
    throw new SlipwayError(
      'USAGE',
      `"slipway ${verb}" requires at least ${min} argument${min === 1 ? '' : 's'}.`,
      {
        hint: `See 'slipway ${verb} --help'.`,
      },
    );
  }
}

/**
 * A foreground container: its log streamed to our stdout/stderr until it exits, SIGINT/SIGTERM
 * forwarded to it (Docker's sig-proxy); an --rm container is removed after. Returns its exit status.
 */
export async function attachForeground(
  ctx: CliContext,
  cs: ContainerStore,
  id: string,
  removeAfter: boolean,
): Promise<number> {
  const p = cs.paths(id);
  const forward = (sig: NodeJS.Signals) => {
    void containerRuntime()
      .kill(id, sig)
      .catch(() => {});
  };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    await followLog(p.log, {
      follow: true,
      finished: () => {
        const r = cs.read(id);
        if (!r) return true;
        if (r.state.supervisorPid === 0) return r.state.status !== 'running';
        return !isSameProcess(r.state.supervisorPid, r.state.supervisorStart);
      },
      onEntry: (e) => (e.stream === 'stdout' ? ctx.out(e.log) : ctx.err(e.log)),
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  const rec = cs.read(id);
  if (!rec) return 0;
  const final = await refresh(cs, rec);
  if (removeAfter) await removeContainerFiles(cs, final, { volumes: true });
  return final.state.exitCode;
}

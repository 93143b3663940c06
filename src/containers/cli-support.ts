import type { CliContext } from '../cli/context.js';
import { SlipwayError } from '../errors.js';
import { containerRuntime, refresh } from './lifecycle.js';
import { followLog } from './logs.js';
import { isSameProcess } from './proc.js';
import { clientTerminalSize, writeTerminalSize } from './pty.js';
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

/**
 * A foreground container: its log streamed to our stdout/stderr until it exits, SIGINT/SIGTERM
 * forwarded to it (Docker's sig-proxy, non-TTY only); an --rm container is removed after. With -t
 * our terminal is put in raw mode while the supervisor relays our stdin (-i), and resizes are
 * passed on. `logFrom` is the log's size before this start (`start -a`), so an earlier run's output
 * is not replayed. Returns the container's exit status.
 */
export async function attachForeground(
  ctx: CliContext,
  cs: ContainerStore,
  id: string,
  removeAfter: boolean,
  stdinAttached = false,
  logFrom = 0,
): Promise<number> {
  const p = cs.paths(id);
  const tty = cs.read(id)?.config.tty === true;
  const forward = (sig: NodeJS.Signals) => {
    void containerRuntime()
      .kill(id, sig)
      .catch(() => {});
  };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  const onResize = () => {
    const pid = cs.read(id)?.state.supervisorPid ?? 0;
    if (pid <= 0) return;
    writeTerminalSize(p.ttySize, clientTerminalSize());
    try {
      process.kill(pid, 'SIGWINCH');
    } catch {
      // the supervisor is gone; the loop below notices
    }
  };
  const rawInput = tty && stdinAttached && process.stdin.isTTY === true;
  if (tty) {
    process.on('SIGWINCH', onResize);
  } else {
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  }
  if (rawInput) process.stdin.setRawMode(true);
  try {
    await followLog(p.log, {
      from: logFrom,
      follow: true,
      finished: () => {
        const r = cs.read(id);
        if (!r) return true;
        if (r.state.supervisorPid === 0) return r.state.status !== 'running';
        return !isSameProcess(r.state.supervisorPid, r.state.supervisorStart);
      },
      onEntry: (e) => (e.stream === 'stdout' ? ctx.out(e.log) : ctx.err(e.log)),
      // Keystroke echo comes back through the log: poll it often enough to feel immediate.
      intervalMs: tty ? 10 : 50,
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGWINCH', onResize);
    if (rawInput) process.stdin.setRawMode(false);
  }
  const rec = cs.read(id);
  if (!rec) return 0;
  const final = await refresh(cs, rec);
  if (removeAfter) await removeContainerFiles(cs, final, { volumes: true });
  return final.state.exitCode;
}

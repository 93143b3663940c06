import { resolveContainer } from '../../containers/lifecycle.js';
import { followLog } from '../../containers/logs.js';
import { isSameProcess } from '../../containers/proc.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand('logs', '[OPTIONS] CONTAINER', 'Fetch the logs of a container')
    .argument('[container]')
    .option('-f, --follow', 'Follow log output')
    .option('-n, --tail <n>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--details', 'Show extra details provided to logs')
    .option('--since <ts>', 'Show logs since timestamp or relative time')
    .option('--until <ts>', 'Show logs before a timestamp or relative time');
  if (parseFlags(cmd, args) === 'help') return 0;
  const [ref] = requireArgs(cmd, 1, 'exactly') as [string];
  const o = cmd.opts<{
    follow?: boolean;
    tail: string;
    timestamps?: boolean;
    since?: string;
    until?: string;
  }>();
  let tail: number | undefined;
  if (o.tail !== 'all') {
    const n = Number(o.tail);
    if (!Number.isInteger(n)) throw new SlipwayError('USAGE', `invalid value for "tail": ${o.tail}`);
    if (n >= 0) tail = n;
  }
  const since = o.since === undefined ? undefined : parseTime(o.since);
  const until = o.until === undefined ? undefined : parseTime(o.until);
  const cs = new ContainerStore(ctx.root);
  let rec: Awaited<ReturnType<typeof resolveContainer>>;
  try {
    rec = await resolveContainer(cs, ref);
  } catch (e) {
    if (e instanceof SlipwayError && e.code === 'NOT_FOUND') {
      ctx.err(`Error response from daemon: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const controller = new AbortController();
  const onInt = () => controller.abort();
  process.once('SIGINT', onInt);
  try {
    await followLog(cs.paths(rec.id).log, {
      follow: o.follow === true,
      ...(tail !== undefined ? { tail } : {}),
      signal: controller.signal,
      finished: () => {
        const r = cs.read(rec.id);
        return (
          !r || r.state.supervisorPid === 0 || !isSameProcess(r.state.supervisorPid, r.state.supervisorStart)
        );
      },
      onEntry: (e) => {
        const t = Date.parse(e.time);
        if (since !== undefined && t < since) return;
        if (until !== undefined && t > until) return;
        const text = o.timestamps ? `${e.time} ${e.log}` : e.log;
        if (e.stream === 'stdout') ctx.out(text);
        else ctx.err(text);
      },
    });
  } finally {
    process.off('SIGINT', onInt);
  }
  return 0;
};

/** `--since`/`--until`: RFC 3339, Unix seconds, or a Go duration back from now (`10m`, `1h30m`). */
function parseTime(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const rel = /^(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(text);
  if (rel) {
    const units: Record<string, number> = {
      ns: 1e-6,
      us: 1e-3,
      µs: 1e-3,
      ms: 1,
      s: 1000,
      m: 60_000,
      h: 3_600_000,
    };
    let ms = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]!]!;
    return Date.now() - ms;
  }
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new SlipwayError(
      'USAGE',
      `invalid value for "since": failed to parse value as time or duration: "${text}"`,
    );
  return t;
}

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createContainer } from '../../containers/create.js';
import { inspectObject } from '../../containers/inspect.js';
import { listContainers, removeContainer } from '../../containers/lifecycle.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import { GoTemplate } from '../../images/gotemplate.js';
import { humanSize } from '../../images/humanize.js';
import type { CliContext, CommandRunner } from '../context.js';
import { groupFallback } from '../group.js';
import { dockerCommand, parseFlags, repeatable } from '../flags.js';
import { requireArgs } from '../usage-error.js';
import { psRunner } from './ps.js';
import { parseRunArgs, runFailure } from './run.js';

type Loader = () => Promise<{ run: CommandRunner }>;

const VERBS: Record<string, Loader> = {
  run: () => import('./run.js'),
  start: () => import('./start.js'),
  stop: () => import('./stop.js'),
  restart: () => import('./restart.js'),
  kill: () => import('./kill.js'),
  rm: () => import('./rm.js'),
  logs: () => import('./logs.js'),
  exec: () => import('./exec.js'),
  port: () => import('./port.js'),
};

/** docker container's subcommands slipway lacks: asking for one is answered "not supported yet". */
const DOCKER_ONLY = [
  'attach',
  'commit',
  'cp',
  'diff',
  'export',
  'pause',
  'rename',
  'stats',
  'top',
  'unpause',
  'update',
  'wait',
];

const USAGE = `Usage:  slipway container COMMAND

Manage containers

Commands:
  create      Create a new container
  exec        Execute a command in a running container
  inspect     Display detailed information on one or more containers
  kill        Kill one or more running containers
  logs        Fetch the logs of a container
  ls          List containers
  port        List port mappings or a specific mapping for the container
  prune       Remove all stopped containers
  restart     Restart one or more containers
  rm          Remove one or more containers
  run         Create and run a new container from an image
  start       Start one or more stopped containers
  stop        Stop one or more running containers

Run 'slipway container COMMAND --help' for more information on a command.
`;

export const run: CommandRunner = async (args, ctx) => {
  const [sub, ...rest] = args;
  if (sub === 'ls' || sub === 'ps' || sub === 'list') return psRunner('container ls')(rest, ctx);
  if (sub === 'prune') return prune(rest, ctx);
  if (sub === 'inspect') return inspect(rest, ctx);
  if (sub === 'create') return create(rest, ctx);
  const load = sub !== undefined && Object.hasOwn(VERBS, sub) ? VERBS[sub] : undefined;
  if (!load) {
    return groupFallback('container', USAGE, sub, DOCKER_ONLY, ctx);
  }
  return (await load()).run(rest, ctx);
};

async function create(args: string[], ctx: CliContext): Promise<number> {
  const parsed = parseRunArgs('create', args);
  if (!parsed) return 0;
  const cs = new ContainerStore(ctx.root);
  try {
    const rec = await createContainer(cs, {
      image: parsed.image,
      command: parsed.command,
      flags: parsed.flags,
      cwd: process.cwd(),
      hostEnv: process.env,
    });
    ctx.out(`${rec.id}\n`);
    return 0;
  } catch (e) {
    // docker create returns the daemon's error as is (exit 1); only its own flag errors get run's framing.
    if (e instanceof SlipwayError && e.code !== 'USAGE' && e.code !== 'UNSUPPORTED' && e.hint === undefined) {
      ctx.err(`Error response from daemon: ${e.message}\n`);
      return 1;
    }
    return runFailure(ctx, 'create', e, 125);
  }
}

function dirSize(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = join(dir, n);
    try {
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) total += dirSize(p);
      else total += st.size;
    } catch {
      // vanished
    }
  }
  return total;
}

async function prune(args: string[], ctx: CliContext): Promise<number> {
  const cmd = dockerCommand('container prune', '[OPTIONS]', 'Remove all stopped containers')
    .option('-f, --force', 'Do not prompt for confirmation')
    .addOption(repeatable('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")'));
  if (parseFlags(cmd, args) === 'help') return 0;
  const o = cmd.opts<{ force?: boolean; filter: string[] }>();
  if (o.filter.length) throw new SlipwayError('UNSUPPORTED', 'container prune --filter is not supported yet');
  if (!o.force) {
    ctx.out('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    const answer = await readLine();
    if (!/^y(es)?$/i.test(answer.trim())) return 0;
  }
  const cs = new ContainerStore(ctx.root);
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const rec of await listContainers(cs)) {
    if (rec.state.status === 'running' || rec.state.supervisorPid > 0) continue;
    const size = dirSize(cs.paths(rec.id).upper);
    try {
      await removeContainer(cs, rec.id, { force: false, volumes: false });
      deleted.push(rec.id);
      reclaimed += size;
    } catch (e) {
      if (!(e instanceof SlipwayError)) throw e;
    }
  }
  if (deleted.length) ctx.out(`Deleted Containers:\n${deleted.map((d) => `${d}\n`).join('')}\n`);
  ctx.out(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}

function readLine(): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (b: Buffer) => {
      text += b.toString('utf8');
      if (text.includes('\n')) done();
    };
    const done = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve(text.split('\n')[0] ?? '');
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', done);
  });
}

async function inspect(args: string[], ctx: CliContext): Promise<number> {
  const cmd = dockerCommand(
    'container inspect',
    '[OPTIONS] CONTAINER [CONTAINER...]',
    'Display detailed information on one or more containers',
  )
    .argument('[containers...]')
    .option('-f, --format <format>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes');
  if (parseFlags(cmd, args) === 'help') return 0;
  requireArgs(cmd, 1);
  const o = cmd.opts<{ format?: string }>();
  const cs = new ContainerStore(ctx.root);
  const found: Array<Record<string, unknown>> = [];
  const errors: string[] = [];
  for (const ref of cmd.args) {
    try {
      const rec = cs.resolve(ref);
      const { refresh } = await import('../../containers/lifecycle.js');
      found.push(inspectObject(cs, await refresh(cs, rec)));
    } catch (e) {
      if (!(e instanceof SlipwayError)) throw e;
      errors.push(e.message);
    }
  }
  if (o.format !== undefined && o.format !== '' && o.format !== 'json') {
    const tmpl = GoTemplate.parse(o.format.replaceAll('\\n', '\n').replaceAll('\\t', '\t'));
    for (const obj of found) ctx.out(`${tmpl.execute(obj)}\n`);
  } else {
    ctx.out(`${JSON.stringify(found, null, 4)}\n`);
  }
  for (const e of errors) ctx.err(`Error: ${e}\n`);
  return errors.length ? 1 : 0;
}

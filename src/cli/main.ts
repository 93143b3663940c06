import { SlipwayError } from '../errors.js';
import { type CliContext, type CommandRunner, defaultRoot } from './context.js';
import { dockerUsageError } from './usage-error.js';
import { VERSION } from './version.js';

type Loader = () => Promise<{ run: CommandRunner }>;

// Static import() strings let the bundler split each command into its own chunk,
// so `slipway --version` never loads the builder or the registry client.
const commands: Record<string, Loader> = {
  build: () => import('./commands/build.js'),
  images: () => import('./commands/images.js'),
  tag: () => import('./commands/tag.js'),
  rmi: () => import('./commands/rmi.js'),
  history: () => import('./commands/history.js'),
  inspect: () => import('./commands/inspect.js'),
  save: () => import('./commands/save.js'),
  load: () => import('./commands/load.js'),
  import: () => import('./commands/import.js'),
  image: () => import('./commands/image.js'),
  system: () => import('./commands/system.js'),
  run: () => import('./commands/run.js'),
  create: () =>
    import('./commands/container.js').then((m) => ({
      run: (args: string[], ctx: CliContext) => m.run(['create', ...args], ctx),
    })),
  ps: () => import('./commands/ps.js'),
  logs: () => import('./commands/logs.js'),
  stop: () => import('./commands/stop.js'),
  start: () => import('./commands/start.js'),
  restart: () => import('./commands/restart.js'),
  kill: () => import('./commands/kill.js'),
  rm: () => import('./commands/rm.js'),
  exec: () => import('./commands/exec.js'),
  port: () => import('./commands/port.js'),
  container: () => import('./commands/container.js'),
  login: () => import('./commands/login.js'),
  logout: () => import('./commands/logout.js'),
  pull: () => import('./commands/pull.js'),
  push: () => import('./commands/push.js'),
  debug: () => import('./commands/debug.js'),
};

const USAGE = `
Usage:  slipway [OPTIONS] COMMAND

A daemonless container image builder and manager

Global options:
      --root DIR     Data root (default /var/lib/slipway as root; env SLIPWAY_ROOT)
      --debug        Print stack traces for errors
  -v, --version      Print version information and quit
  -h, --help         Print usage

Commands:
  build      Build an image from a Dockerfile
  images     List images
  tag        Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  rmi        Remove one or more images
  history    Show the history of an image
  inspect    Return low-level information on images and containers
  save       Save one or more images to a tar archive
  load       Load an image from a tar archive or STDIN
  import     Import the contents from a tarball to create a filesystem image
  image      Manage images (ls, rm, inspect, prune, history, tag, save, load, import, build)
  system     Manage slipway (df)
  run        Create and run a new container from an image
  create     Create a new container
  ps         List containers
  logs       Fetch the logs of a container
  stop       Stop one or more running containers
  start      Start one or more stopped containers
  restart    Restart one or more containers
  kill       Kill one or more running containers
  rm         Remove one or more containers
  exec       Execute a command in a running container
  port       List port mappings of a container
  container  Manage containers (ls, prune, inspect, …)
  login      Log in to a registry
  logout     Log out from a registry
  pull       Download an image from a registry
  push       Upload an image to a registry
  debug      Developer tools (debug parse)
`;

// A reader that goes away (`slipway images | head -1`) closes the pipe: like the docker CLI, which
// dies of SIGPIPE there, slipway prints nothing more and exits 141 (128 + SIGPIPE), but only once
// the command is over, so a build or a load never stops half-way through the store.
let stdoutClosed = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    if (stream === process.stdout) stdoutClosed = true;
  });
}

async function main(argv: string[]): Promise<number> {
  const ctx: CliContext = {
    root: defaultRoot(),
    debug: false,
    out: (t) => !stdoutClosed && process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root') {
      const v = argv[++i];
      if (v === undefined) throw new SlipwayError('USAGE', 'flag needs an argument: --root');
      ctx.root = v;
    } else if (a.startsWith('--root=')) ctx.root = a.slice('--root='.length);
    else if (a === '--debug' || a === '-D') ctx.debug = true;
    else if (a === '-v' || a === '--version') {
      ctx.out(`slipway version ${VERSION}\n`);
      return 0;
    } else if (a === '-h' || a === '--help') {
      ctx.out(USAGE);
      return 0;
    } else break;
  }
  debugEnabled = ctx.debug;
  const verb = argv[i];
  if (verb === undefined) {
    ctx.out(USAGE);
    return 0;
  }
  if (verb === 'run') {
    // A container's supervisor is a second Node process: start it before `run` is even loaded.
    const { startEarlySupervisor } = await import('../containers/supervisor-launch.js');
    startEarlySupervisor(ctx.root);
  }
  const load = Object.hasOwn(commands, verb) ? commands[verb] : undefined;
  if (!load) {
    // docker's own words and status for an unknown verb (cli/cobra.go).
    ctx.err(`slipway: '${verb}' is not a slipway command.\nSee 'slipway --help'\n`);
    return 1;
  }
  const mod = await load();
  return mod.run(argv.slice(i + 1), ctx);
}

let debugEnabled = process.env.SLIPWAY_DEBUG === '1';

function reportFailure(e: unknown): number {
  if (e instanceof SlipwayError) {
    const usage = dockerUsageError(e);
    if (usage) {
      process.stderr.write(usage.text);
      return usage.status;
    }
    if (e.detail) process.stderr.write(`${e.detail}\n`);
    process.stderr.write(`ERROR: ${e.format()}\n`);
    if (debugEnabled && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.code === 'USAGE' ? 125 : 1;
  }
  const commanderCode = (e as { code?: unknown }).code;
  if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) {
    const exitCode = (e as { exitCode?: number }).exitCode ?? 125;
    return exitCode === 0 ? 0 : 125;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ERROR: ${message}\n`);
  if (debugEnabled && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}

let finished = false;
main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = stdoutClosed && code === 0 ? 141 : code;
  },
  (e: unknown) => {
    finished = true;
    const brokenPipe = stdoutClosed && (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
    process.exitCode = brokenPipe ? 141 : reportFailure(e);
  },
);
// Node exits, with status 0, once nothing is left to wait for, even if the command's promise can
// never settle (a step waiting on itself did that): a command must never end unfinished and "succeed".
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write('ERROR: internal error: the command stopped before it finished\n');
  process.exitCode = 1;
});

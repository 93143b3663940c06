import { Option } from 'commander';
import type { RunFlags } from '../../containers/options.js';
import { clientTerminalSize, refuseTerminalInput } from '../../containers/pty.js';
import { StartError, takeSupervisor } from '../../containers/supervisor-launch.js';
import { SlipwayError } from '../../errors.js';
import type { CliContext, CommandRunner } from '../context.js';
import { dockerCommand, parseFlags, repeatable } from '../flags.js';
import { ArgCountError } from '../usage-error.js';

/** The `run`/`create` flag set; flags stop at the image name (everything after is the command). */
export function runCommand(verb: 'run' | 'create') {
  const cmd = dockerCommand(
    verb,
    '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    verb === 'run' ? 'Create and run a new container from an image' : 'Create a new container',
  )
    .helpOption('--help', 'Print usage')
    .passThroughOptions()
    .argument('[image]')
    .argument('[command...]')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--name <name>', 'Assign a name to the container')
    .addOption(repeatable('-p, --publish <spec>', "Publish a container's port(s) to the host"))
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .addOption(repeatable('-e, --env <env>', 'Set environment variables'))
    .addOption(repeatable('--env-file <file>', 'Read in a file of environment variables'))
    .addOption(repeatable('-v, --volume <spec>', 'Bind mount a volume'))
    .addOption(repeatable('--mount <spec>', 'Attach a filesystem mount to the container'))
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--entrypoint <cmd>', 'Overwrite the default ENTRYPOINT of the image')
    .addOption(
      new Option('--network <mode>', 'Connect a container to a network (bridge, host, none)').default(
        'bridge',
      ),
    )
    .addOption(new Option('--net <mode>').hideHelp())
    .option('-h, --hostname <name>', 'Container host name')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--stop-signal <signal>', 'Signal to stop the container')
    .option('--stop-timeout <seconds>', 'Timeout (in seconds) to stop a container')
    .addOption(repeatable('-l, --label <label>', 'Set meta data on a container'))
    .addOption(repeatable('--expose <port>', 'Expose a port or a range of ports'))
    .option('--restart <policy>', 'Restart policy to apply when a container exits', 'no')
    .option('--platform <platform>', 'Set platform if server is multi-platform capable')
    .option('--pull <policy>', 'Pull image before running ("always", "missing", "never")', 'missing');
  if (verb === 'run') {
    cmd
      .option('-d, --detach', 'Run container in background and print container ID')
      .option('--rm', 'Automatically remove the container when it exits');
  } else {
    cmd.option('--rm', 'Automatically remove the container when it exits');
  }
  return cmd;
}

interface RawFlags {
  detach?: boolean;
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  publish: string[];
  publishAll?: boolean;
  env: string[];
  envFile: string[];
  volume: string[];
  mount: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  network: string;
  net?: string;
  hostname?: string;
  init?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
  label: string[];
  expose: string[];
  restart: string;
}

/** Parses `run`/`create` arguments; undefined when help was printed. */
export function parseRunArgs(
  verb: 'run' | 'create',
  args: string[],
): { image: string; command: string[]; flags: RunFlags } | undefined {
  const cmd = runCommand(verb);
  if (parseFlags(cmd, args) === 'help') return undefined;
  const o = cmd.opts<RawFlags>();
  const [image, command = []] = cmd.processedArgs as [string | undefined, string[] | undefined];
  if (image === undefined) {
    throw new ArgCountError(cmd, 'requires at least 1 argument');
  }
  if (o.restart !== 'no')
    throw new SlipwayError('UNSUPPORTED', `--restart ${o.restart} is not supported yet`);
  let stopTimeout: number | undefined;
  if (o.stopTimeout !== undefined) {
    stopTimeout = Number(o.stopTimeout);
    if (!Number.isInteger(stopTimeout))
      throw new SlipwayError('USAGE', `invalid argument "${o.stopTimeout}" for "--stop-timeout" flag`);
  }
  const flags: RunFlags = {
    detach: o.detach === true,
    rm: o.rm === true,
    interactive: o.interactive === true,
    tty: o.tty === true,
    publish: o.publish,
    publishAll: o.publishAll === true,
    env: o.env,
    envFile: o.envFile,
    volume: o.volume,
    mount: o.mount,
    network: o.net ?? o.network,
    init: o.init === true,
    label: o.label,
    expose: o.expose,
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    ...(o.stopSignal !== undefined ? { stopSignal: o.stopSignal } : {}),
    ...(stopTimeout !== undefined ? { stopTimeout } : {}),
  };
  return { image, command, flags };
}

/**
 * docker/cli's reportError for a failed run/create: `docker: …` with a full stop. Errors of its own
 * (flag values, files it reads) are printed bare, the daemon's as `Error response from daemon: …`;
 * the help hint follows a failed create but not a failed start.
 */
export function runFailure(ctx: CliContext, verb: string, e: unknown, code: number, withHelp = true): number {
  if (!(e instanceof SlipwayError) || e.code === 'UNSUPPORTED' || e.hint !== undefined) throw e;
  const text = e.code === 'USAGE' ? e.message : `Error response from daemon: ${e.message}`;
  const help = withHelp ? `See 'slipway ${verb} --help'.\n` : '';
  ctx.err(`slipway: ${text}${text.endsWith('.') ? '' : '.'}\n${help}`);
  return code;
}

export const run: CommandRunner = async (args, ctx) => {
  const parsed = parseRunArgs('run', args);
  if (!parsed) return 0;
  const { flags } = parsed;
  if (!flags.detach && refuseTerminalInput(ctx, flags.tty, flags.interactive)) return 1;
  const stdinFromUs = flags.interactive && !flags.detach;
  // Spawned by the dispatcher already (or now), so its Node start-up overlaps everything below.
  const supervisor = takeSupervisor(ctx.root, { stdinFromUs });
  const [
    { createContainer },
    { startContainer, waitForStop },
    { removeContainerFiles },
    { ContainerStore },
    support,
  ] = await Promise.all([
    import('../../containers/create.js'),
    import('../../containers/lifecycle.js'),
    import('../../containers/remove.js'),
    import('../../containers/store.js'),
    import('../../containers/cli-support.js'),
  ]);
  const cs = new ContainerStore(ctx.root);
  let rec: Awaited<ReturnType<typeof createContainer>>;
  try {
    rec = await createContainer(cs, {
      image: parsed.image,
      command: parsed.command,
      flags,
      cwd: process.cwd(),
      hostEnv: process.env,
    });
  } catch (e) {
    supervisor.cancel();
    return runFailure(ctx, 'run', e, 125);
  }
  if (flags.network === 'host' && flags.publish.length > 0) {
    ctx.err('WARNING: Published ports are discarded when using host network mode\n');
  }
  try {
    await startContainer(cs, rec, {
      attached: !flags.detach,
      stdinFromUs,
      supervisor,
      ...(flags.tty ? { terminalSize: clientTerminalSize() } : {}),
    });
  } catch (e) {
    const code = e instanceof StartError ? e.exitCode : 125;
    if (flags.rm) {
      // The supervisor reports the failure before it has cleaned up; its last record update would
      // bring a container removed now back as "Created".
      await waitForStop(cs, rec.id, 10_000);
      const now = cs.read(rec.id);
      if (now) await removeContainerFiles(cs, now, { volumes: true }).catch(() => {});
    }
    return runFailure(ctx, 'run', e, code, false);
  }
  if (flags.detach) {
    ctx.out(`${rec.id}\n`);
    return 0;
  }
  return support.attachForeground(ctx, cs, rec.id, flags.rm, flags.interactive);
};

import { readFileSync } from 'node:fs';
import { ExecStartError, execInContainer } from '../../containers/exec.js';
import { expandEnvFlag, parseEnvFile } from '../../containers/options.js';
import { refuseTerminalInput } from '../../containers/pty.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags, repeatable } from '../flags.js';
import { ArgCountError } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand(
    'exec',
    '[OPTIONS] CONTAINER COMMAND [ARG...]',
    'Execute a command in a running container',
  )
    .passThroughOptions()
    .argument('[container]')
    .argument('[command...]')
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .addOption(repeatable('-e, --env <env>', 'Set environment variables'))
    .addOption(repeatable('--env-file <file>', 'Read in a file of environment variables'))
    .option('-u, --user <user>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('--privileged', 'Give extended privileges to the command');
  if (parseFlags(cmd, args) === 'help') return 0;
  const [ref, command = []] = cmd.processedArgs as [string | undefined, string[] | undefined];
  if (ref === undefined || command.length === 0) {
    throw new ArgCountError(cmd, 'requires at least 2 arguments');
  }
  const o = cmd.opts<{
    detach?: boolean;
    interactive?: boolean;
    tty?: boolean;
    env: string[];
    envFile: string[];
    user?: string;
    workdir?: string;
    privileged?: boolean;
  }>();
  if (o.tty && o.detach) throw new SlipwayError('UNSUPPORTED', 'exec -d -t is not supported yet');
  if (refuseTerminalInput(ctx, o.tty === true, o.interactive === true)) return 1;
  if (o.privileged) throw new SlipwayError('UNSUPPORTED', 'exec --privileged is not supported yet');
  const env = [
    ...o.envFile.flatMap((f) => parseEnvFile(readFileSync(f, 'utf8'), process.env)),
    ...o.env.map((e) => expandEnvFlag(e, process.env)),
  ].filter((e) => e.includes('='));
  const cs = new ContainerStore(ctx.root);
  try {
    return await execInContainer(cs, ref, {
      interactive: o.interactive === true,
      tty: o.tty === true,
      detach: o.detach === true,
      env,
      command,
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    });
  } catch (e) {
    if (e instanceof ExecStartError) {
      ctx.err(`${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof SlipwayError && (e.code === 'NOT_FOUND' || e.code === 'CONFLICT')) {
      ctx.err(`Error response from daemon: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
};

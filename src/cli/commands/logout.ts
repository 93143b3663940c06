import { credentialKey } from '../../registry/credentials.js';
import { logout } from '../../registry/login.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand(
    'logout',
    '[SERVER]',
    'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
  )
    .argument('[server]')
    .allowExcessArguments(true);
  if (parseFlags(cmd, args) === 'help') return 0;
  const [server] = requireArgs(cmd, 1, 'at most');
  ctx.out(`Removing login credentials for ${credentialKey(server)}\n`);
  // docker/cli says nothing more when there was nothing to erase.
  await logout(server);
  return 0;
};

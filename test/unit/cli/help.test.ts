import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Option } from 'commander';
import { dockerCommand, dockerHelp, repeatable } from '../../../src/cli/flags.js';

test('--help is laid out as docker/cli prints it', () => {
  const cmd = dockerCommand('logs', '[OPTIONS] CONTAINER', 'Fetch the logs of a container')
    .option('-f, --follow', 'Follow log output')
    .addOption(
      new Option('-n, --tail <n>', 'Number of lines to show from the end of the logs').default('all'),
    )
    .addOption(repeatable('--filter <filter>', 'Filter output based on conditions provided'))
    .addOption(repeatable('--label <label>', 'Set metadata for an image'))
    .option('--stop-timeout <seconds>', 'Timeout (in seconds) to stop a container');
  assert.equal(
    dockerHelp(cmd),
    [
      '',
      'Usage:  slipway logs [OPTIONS] CONTAINER',
      '',
      'Fetch the logs of a container',
      '',
      'Options:',
      '      --filter filter      Filter output based on conditions provided',
      '  -f, --follow             Follow log output',
      '      --label list         Set metadata for an image',
      '      --stop-timeout int   Timeout (in seconds) to stop a container',
      '  -n, --tail string        Number of lines to show from the end of the logs',
      '                           (default "all")',
      '',
    ].join('\n'),
  );
});

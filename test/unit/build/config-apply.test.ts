import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyConfig } from '../../../src/build/config-apply.js';
import { parseInstruction } from '../../../src/dockerfile/instructions/parse.js';
import type { Command } from '../../../src/dockerfile/instructions/types.js';
import { parseDockerfile } from '../../../src/dockerfile/parser.js';
import type { ContainerConfig } from '../../../src/image/types.js';

function cmd(line: string): Command {
  const node = parseDockerfile(line).instructions[0];
  assert.ok(node);
  const ins = parseInstruction(node, { file: 'Dockerfile' });
  assert.notEqual(ins.kind, 'from');
  return ins as Command;
}

function apply(config: ContainerConfig, line: string): string | undefined {
  return applyConfig(config, cmd(line), { cmdSet: false }, { configEnv: config.Env ?? [] })?.createdBy;
}

test('CMD [] and ENTRYPOINT [] clear the inherited value: null in the config, [] in history', () => {
  // Observed on dockerd 20.10: FROM an image with ENTRYPOINT ["python3"] and CMD ["-c", "print(1)"],
  // `CMD []` leaves Config.Cmd null (the key is left out of the config JSON) and Entrypoint as it was;
  // `ENTRYPOINT []` leaves both null. History says `CMD []` / `ENTRYPOINT []`.
  const base = (): ContainerConfig => ({ Entrypoint: ['python3'], Cmd: ['-c', 'print(1)'] });
  const c1 = base();
  assert.equal(apply(c1, 'CMD []'), 'CMD []');
  assert.deepEqual([c1.Cmd, c1.Entrypoint, c1.ArgsEscaped], [null, ['python3'], true]);
  const c2 = base();
  assert.equal(apply(c2, 'ENTRYPOINT []'), 'ENTRYPOINT []');
  assert.deepEqual([c2.Cmd, c2.Entrypoint], [null, null]);
  // The shell form of an empty command is not empty: it runs the shell with "".
  const c3 = base();
  assert.equal(apply(c3, 'CMD'), 'CMD ["/bin/sh" "-c" ""]');
  assert.deepEqual(c3.Cmd, ['/bin/sh', '-c', '']);
});

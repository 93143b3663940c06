import type { CommandRunner } from '../context.js';
import { notSupportedYet } from '../unsupported.js';

export const run: CommandRunner = async () => notSupportedYet('stop');

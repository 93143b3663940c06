import { resolveContainer, startContainer } from '../../containers/lifecycle.js';
import { stopRunner } from './stop.js';

export const run = stopRunner('restart', 'Restart one or more containers', async (cs, rec) => {
  const stopped = await resolveContainer(cs, rec.id);
  await startContainer(cs, stopped, { attached: false, stdinFromUs: false });
});

/**
 * Everything a step needs only when it actually runs (layer writing, overlay mounts, runc, file
 * copies). The engine loads this module on the first cache miss, so a fully cached rebuild never
 * pays for compiling it.
 */
export { applyChmod } from '../dockerfile/chmod.js';
export { entriesFromDir } from '../layer/walk.js';
export { resolveImagePath } from '../runtime/layered.js';
export { OciRuntime } from '../runtime/runc.js';
export { lookupUserGroupForChown, resolveUser } from '../runtime/users.js';
export { commitLayer, commitLayerInBackground } from './commit.js';
export { copyInto, layeredView, stageDirectory } from './copy.js';
export { DirectoryTarget, EntryTarget } from './copy-target.js';
export { layerIndexFile, openPreviousLayer } from './layer-reuse.js';
export { flattenInto, writeRootfsTar } from './output.js';
export { ensureSnapshots, openView } from './rootfs.js';
export { prepareRunMounts } from './run-mounts.js';
export { runStep } from './run-step.js';

export { DEFAULT_CAPABILITIES, hostCapabilities, resolveCapabilities } from './capabilities.js';
export { readLayeredFile } from './layered.js';
export { LineSplitter, type OutputTarget } from './lines.js';
export { isMounted, mountOverlay, mountPoints, type OverlayOptions, unmount } from './overlay.js';
export { currentHardLimits, defaultUlimits, parseUlimit, toOciRlimits, type Ulimit } from './rlimits.js';
export {
  type ContainerState,
  type CreateOptions,
  OciRuntime,
  type RunOptions,
  type RunResult,
  resolveRuntimeBinary,
  runContainer,
} from './runc.js';
export {
  DEFAULT_HOSTNAME,
  type EtcFiles,
  type ExtraMount,
  generateSpec,
  mountStubCandidates,
  type NetworkMode,
  type SpecOptions,
  serializeSpec,
  systemMounts,
} from './spec.js';
export type * from './spec-types.js';
export { type MountStubs, recordMountStubs, resolveInRoot } from './stubs.js';
export {
  chownFromDb,
  lookupUserGroupForChown,
  parseGroup,
  parsePasswd,
  type ResolvedUser,
  readUserDb,
  resolveUser,
  resolveUserFromDb,
  type UserDb,
} from './users.js';

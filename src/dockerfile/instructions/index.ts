/** Typed Dockerfile instructions: parsing, flags, dispatch-time expansion and scope. */
export { BFlags, Flag, FlagError, type FlagType } from './bflag.js';
export { expandInstruction, type WordExpander } from './expand.js';
export { PortSpecError, parsePortSpecs } from './expose.js';
export { csvFields, MountError, mountFrom, parseDevice, parseMount, ramInBytes } from './mount.js';
export {
  getComment,
  handleJSONArgs,
  instructionError,
  type ParsedDockerfile,
  type ParsedStage,
  type ParseInstructionOptions,
  parseCommand,
  parseInstruction,
  parseStages,
} from './parse.js';
export {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  type PlatformSpec,
  parsePlatform,
} from './platform.js';
export { type DispatchResult, StageScope, type StageScopeOptions } from './scope.js';
export { levenshtein, suggest, withSuggestion } from './suggest.js';
export type * from './types.js';

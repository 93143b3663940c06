/** Build context: .dockerignore parsing and matching, the context walker, and content digests. */
export {
  ContextHasher,
  digestSelection,
  entriesUnder,
  type HasherStats,
  type SelectionOptions,
} from './hasher.js';
export { type IgnoreFileResult, parseIgnoreFile, readIgnoreFile } from './ignoreFile.js';
export { IgnoreMatcher, type IgnorePattern, type ParentMatchState, type WalkMatch } from './matcher.js';
export type { MatchType } from './pattern.js';
export { type ContextEntry, type EntryType, type WalkOptions, walkContext } from './walk.js';

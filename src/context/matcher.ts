/**
 * .dockerignore matching with moby/patternmatcher v0.6.1 semantics: patterns in order, the last matching
 * one decides, `!` patterns re-include, and a pattern matching any parent directory matches the path.
 */
import { SlipwayError } from '../errors.js';
import { goGlobSyntaxError } from './goGlob.js';
import { goClean, goTrimSpace } from './goPath.js';
import { type CompiledPattern, compilePattern, type MatchType } from './pattern.js';

/** One line of an ignore file, as BuildKit's reader hands it to the matcher. */
export interface IgnorePattern {
  /** The pattern text, `!` prefix included (e.g. `!docs/README.md`). */
  readonly pattern: string;
  /** Where it came from, for error messages. */
  readonly file?: string;
  readonly line?: number;
}

/** Per-pattern "this path or a parent matched" flags, carried from a directory to its children. */
export type ParentMatchState = Uint8Array;

export interface WalkMatch {
  readonly excluded: boolean;
  /** Pass to the children of this path (only meaningful for directories). */
  readonly state: ParentMatchState;
}

interface Rule {
  readonly exclusion: boolean;
  readonly cleaned: string;
  readonly compiled: CompiledPattern;
  /** Segment count every path it can match directly has, or -1 when it can vary. */
  readonly segments: number;
  readonly source: IgnorePattern;
}

const EMPTY_STATE: ParentMatchState = new Uint8Array(0);

// Characters fsutil treats as "this exception is not a plain path prefix" (Unix build).
const PATTERN_CHARS = /[*[\]?^\\]/;

function segmentCount(p: string): number {
  let n = 1;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47) n++;
  return n;
}

function where(src: IgnorePattern): { file?: string; line?: number } {
  const w: { file?: string; line?: number } = {};
  if (src.file !== undefined) w.file = src.file;
  if (src.line !== undefined) w.line = src.line;
  return w;
}

export class IgnoreMatcher {
  private readonly rules: Rule[] = [];
  /** Whether any `!` pattern exists. */
  readonly hasExclusions: boolean;
  /** fsutil's optimisation flag: every exception is a literal path, so prefix checks decide descent. */
  private readonly onlyPrefixExceptions: boolean;
  private readonly exceptionPrefixes: string[] = [];

  constructor(patterns: readonly (string | IgnorePattern)[]) {
    let exclusions = false;
    let onlyPrefix = true;
    for (const raw of patterns) {
      const src: IgnorePattern = typeof raw === 'string' ? { pattern: raw } : raw;
      let p = goTrimSpace(src.pattern);
      if (p === '') continue;
      p = goClean(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) {
          throw new SlipwayError('DOCKERIGNORE', 'illegal exclusion pattern: "!"', {
            ...where(src),
            hint: 'a line with only "!" excludes nothing; remove it or add a path after "!"',
          });
        }
        exclusion = true;
        exclusions = true;
        p = p.slice(1);
      }
      const bad = goGlobSyntaxError(p);
      if (bad >= 0) {
        throw new SlipwayError(
          'DOCKERIGNORE',
          `syntax error in pattern: ${JSON.stringify(src.pattern.trim())}`,
          {
            ...where(src),
            hint: 'patterns use Go filepath.Match syntax: check "[...]" classes and trailing "\\"',
          },
        );
      }
      const compiled = compilePattern(p);
      const varies = p.includes('**') || p.includes('[') || p.includes('\\');
      this.rules.push({
        exclusion,
        cleaned: p,
        compiled,
        segments: varies ? -1 : segmentCount(p),
        source: src,
      });
      if (exclusion) {
        const stripped = withoutTrailingGlob(p);
        if (PATTERN_CHARS.test(stripped)) onlyPrefix = false;
        this.exceptionPrefixes.push(`${stripped}/`);
      }
    }
    this.hasExclusions = exclusions;
    this.onlyPrefixExceptions = onlyPrefix;
  }

  /** Number of patterns kept (blank ones are dropped). */
  get patternCount(): number {
    return this.rules.length;
  }

  /** How upstream classifies each kept pattern; exposed for conformance tests. */
  describe(): { pattern: string; exclusion: boolean; matchType: MatchType; goRegexp: string | undefined }[] {
    return this.rules.map((r) => ({
      pattern: r.cleaned,
      exclusion: r.exclusion,
      matchType: r.compiled.matchType,
      goRegexp: r.compiled.goRegexp,
    }));
  }

  private test(rule: Rule, path: string, segs: number): boolean {
    if (rule.compiled.compileError !== undefined) {
      throw new SlipwayError(
        'DOCKERIGNORE',
        `syntax error in pattern: ${JSON.stringify(rule.source.pattern.trim())}`,
        {
          ...where(rule.source),
          hint: rule.compiled.compileError,
        },
      );
    }
    if (rule.segments >= 0 && rule.segments !== segs) return false;
    return rule.compiled.test(path);
  }

  /**
   * Is `relPath` (slash-separated, relative to the context root) excluded? Patternmatcher's
   * MatchesOrParentMatches: a pattern applies if it matches the path or any of its parent directories.
   */
  matches(relPath: string): boolean {
    const file = goClean(relPath);
    if (file === '.') return false;
    const segs = segmentCount(file);
    const slash = file.lastIndexOf('/');
    const parent = slash < 0 ? '.' : slash === 0 ? '/' : file.slice(0, slash);
    let matched = false;
    for (const rule of this.rules) {
      if (rule.exclusion !== matched) continue;
      let m = this.test(rule, file, segs);
      if (!m && parent !== '.') {
        // Every leading run of parent segments: a, a/b, a/b/c ...
        let idx = -1;
        let n = 0;
        do {
          idx = parent.indexOf('/', idx + 1);
          n++;
          const prefix = idx < 0 ? parent : parent.slice(0, idx);
          if (this.test(rule, prefix, n)) {
            m = true;
            break;
          }
        } while (idx >= 0);
      }
      if (m) matched = !rule.exclusion;
    }
    return matched;
  }

  /**
   * The walker's variant (`isDir` false skips recording state for children that cannot exist) (patternmatcher MatchesUsingParentResults, which fsutil uses while sending a
   * context): a pattern that matched the parent directory matches the child without re-testing, and
   * patterns skipped for the parent are only tested against the child itself. Pass `undefined` for
   * top-level entries.
   */
  matchInWalk(relPath: string, parent: ParentMatchState | undefined, isDir = true): WalkMatch {
    const rules = this.rules;
    // Files have no children, so their per-pattern flags are not kept.
    const state = isDir ? new Uint8Array(rules.length) : undefined;
    let matched = false;
    let segs = -1;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as Rule;
      let m = parent !== undefined && parent[i] === 1;
      if (!m) {
        if (rule.exclusion !== matched) continue;
        if (segs < 0) segs = segmentCount(relPath);
        m = this.test(rule, relPath, segs);
      }
      if (m) {
        if (state !== undefined) state[i] = 1;
        matched = !rule.exclusion;
      }
    }
    return { excluded: matched, state: state ?? EMPTY_STATE };
  }

  /**
   * May an exception re-include something below the excluded directory `relDir`? When it may not, the
   * walker skips the whole directory. Mirrors fsutil: with only literal exceptions, a prefix check; with
   * any wildcard exception, always yes (the directory is walked and its entries matched one by one).
   */
  mayIncludeBelow(relDir: string): boolean {
    if (!this.hasExclusions) return false;
    if (!this.onlyPrefixExceptions) return true;
    const dirSlash = `${relDir}/`;
    return this.exceptionPrefixes.some((p) => p.startsWith(dirSlash));
  }
}

function withoutTrailingGlob(p: string): string {
  if (p.endsWith('/**')) return p.slice(0, -3);
  if (p.endsWith('/*')) return p.slice(0, -2);
  return p;
}

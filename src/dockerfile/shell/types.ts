/**
 * The contract of BuildKit-compatible word expansion (implemented in ./lex.ts).
 * Expansion reports every variable a word referenced so cache keys and the
 * UndefinedVar check know exactly which build args and env values a step used.
 */
export interface ExpansionEnv {
  /** undefined = not set (distinct from set to ""). */
  get(name: string): string | undefined;
}

export interface ExpandResult {
  value: string;
  /** Names referenced, in first-use order, whether or not they were set. */
  used: string[];
  /** Names referenced that were not set. */
  unset: string[];
}

export interface ExpandWordsResult {
  values: string[];
  used: string[];
  unset: string[];
}

const WILDCARD = /[*?[\\]/;

/** Whether a COPY/ADD source word is a pattern (Go filepath.Match syntax) rather than a path. */
export function hasWildcard(p: string): boolean {
  return WILDCARD.test(p);
}

/**
 * Syntax check of a Go `path/filepath.Match` pattern (Unix rules). moby/patternmatcher rejects a pattern
 * exactly when `filepath.Match(pattern, ".")` reports `ErrBadPattern`, and Go's Match keeps parsing the
 * whole pattern after a mismatch, so "is this pattern well-formed" is a pure function of the pattern.
 * Matching itself is NOT done with these rules (patternmatcher compiles to a regexp instead, see pattern.ts).
 */

/** Returns the index of the first syntax error, or -1 when the pattern is well-formed. */
export function goGlobSyntaxError(pattern: string): number {
  const cps = Array.from(pattern);
  let i = 0;
  while (i < cps.length) {
    while (i < cps.length && cps[i] === '*') i++;
    // One chunk: up to the next `*` that is not inside a bracket expression.
    let inRange = false;
    let end = i;
    for (; end < cps.length; end++) {
      const c = cps[end];
      if (c === '\\') {
        if (end + 1 < cps.length) end++;
      } else if (c === '[') inRange = true;
      else if (c === ']') inRange = false;
      else if (c === '*' && !inRange) break;
    }
    const err = chunkSyntaxError(cps, i, end);
    if (err >= 0) return err;
    i = end;
  }
  return -1;
}

function chunkSyntaxError(cps: string[], start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = cps[i];
    if (c === '[') {
      i++;
      if (i < end && cps[i] === '^') i++;
      let nrange = 0;
      for (;;) {
        if (i < end && cps[i] === ']' && nrange > 0) {
          i++;
          break;
        }
        const lo = classChar(cps, i, end);
        if (lo < 0) return i;
        i = lo;
        if (cps[i] === '-') {
          const hi = classChar(cps, i + 1, end);
          if (hi < 0) return i + 1;
          i = hi;
        }
        nrange++;
      }
    } else if (c === '\\') {
      i++;
      if (i >= end) return i - 1;
      i++;
    } else {
      i++;
    }
  }
  return -1;
}

/** Go's getEsc: index after one (possibly escaped) class character, or -1 for a syntax error. */
function classChar(cps: string[], i: number, end: number): number {
  if (i >= end || cps[i] === '-' || cps[i] === ']') return -1;
  let j = i;
  if (cps[j] === '\\') {
    j++;
    if (j >= end) return -1;
  }
  j++;
  // A class must be closed: a character with nothing after it cannot be followed by `]`.
  if (j >= end) return -1;
  return j;
}

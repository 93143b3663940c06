/**
 * `created_by` texts exactly as BuildKit's Dockerfile frontend writes them, so `history`
 * reads like Docker's. Steps that add a layer get BuildKit's ` # buildkit` suffix.
 */

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

/** Go's %q for one string (strconv.Quote for the printable ASCII + UTF-8 Dockerfiles use). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's %q of a []string: `["a" "b"]`. */
export function goQuoteList(list: string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

/** Go's %v of a []string: `[a b]`. */
export function goList(list: string[]): string {
  return `[${list.join(' ')}]`;
}

/** Go's %v of map[string]struct{}: keys sorted, `map[5000/tcp:{}]`. */
export function goSetMap(keys: string[]): string {
  return `map[${[...new Set(keys)]
    .sort()
    .map((k) => `${k}:{}`)
    .join(' ')}]`;
}

/**
 * RUN's text: the build args the step can see are listed first as `|N K=V …`, as BuildKit does,
 * so two runs with different args differ in history.
 */
export function runCreatedBy(args: string[], buildArgs: Array<[string, string]>): string {
  const prefix = buildArgs.length
    ? `|${buildArgs.length} ${buildArgs.map(([k, v]) => `${k}=${v}`).join(' ')} `
    : '';
  return `RUN ${prefix}${args.join(' ')} # buildkit`;
}

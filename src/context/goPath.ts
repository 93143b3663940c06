/**
 * Go's string helpers that .dockerignore semantics depend on. Docker runs patterns and paths through
 * Go's `filepath.Clean` and `strings.TrimSpace`, whose edge cases differ from Node's `path.posix.normalize`
 * (which keeps trailing slashes and leading `./`) and `String.prototype.trim` (which strips U+FEFF but not
 * U+0085), so both are reproduced here.
 */

const SEGMENT_NEEDS_WORK = /(^|\/)\.{1,2}(\/|$)/;

/** Go `path/filepath.Clean` on a slash-separated path (Unix rules). */
export function goClean(p: string): string {
  if (p === '') return '.';
  // Most paths are already clean; avoid the split/join for them.
  if (!p.includes('//') && !(p.length > 1 && p.endsWith('/')) && !SEGMENT_NEEDS_WORK.test(p)) return p;
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      // `..` at the root of a rooted path is dropped, as Go does.
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Go `unicode.IsSpace`. */
export function isGoSpace(code: number): boolean {
  switch (code) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return code >= 0x2000 && code <= 0x200a;
  }
}

/** Go `strings.TrimSpace`. */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isGoSpace(s.charCodeAt(start))) start++;
  while (end > start && isGoSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** One `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"`. Scheme lowercased. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * RFC 7235 challenges as registries send them. Several challenges may share one header, separated by
 * commas, so a new challenge starts at a token that is not followed by `=`.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t' || header[i] === ',')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    const start = i;
    const name = token();
    if (name === '') {
      i++;
      continue;
    }
    let j = i;
    while (j < n && header[j] === ' ') j++;
    if (header[j] === '=' && current) {
      i = j + 1;
      while (i < n && header[i] === ' ') i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const vs = i;
        while (i < n && header[i] !== ',') i++;
        value = header.slice(vs, i).trim();
      }
      current.params[name.toLowerCase()] = value;
    } else {
      // A token68 or a new scheme: only schemes matter for registries.
      if (header[j] === '=' && !current) {
        i = j + 1;
        continue;
      }
      current = { scheme: header.slice(start, i).toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

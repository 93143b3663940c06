/**
 * Go's time.ParseDuration and Duration.String, byte for byte: HEALTHCHECK flags are parsed
 * with the former, and the history entry BuildKit writes prints durations with the latter.
 * Durations are nanoseconds as bigint so the int64 range checks match Go exactly.
 */

const NS = 1n;
const US = 1000n * NS;
const MS = 1000n * US;
const SEC = 1000n * MS;
const MIN = 60n * SEC;
const HOUR = 60n * MIN;

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', NS],
  ['us', US],
  ['µs', US], // U+00B5 micro sign
  ['μs', US], // U+03BC Greek mu
  ['ms', MS],
  ['s', SEC],
  ['m', MIN],
  ['h', HOUR],
]);

const MAX_INT64 = (1n << 63n) - 1n;
const LIMIT = 1n << 63n;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** strconv.Quote for the ASCII-and-printable inputs durations are made of. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Parses a Go duration string into nanoseconds; throws DurationError with Go's message. */
export function parseGoDuration(input: string): bigint {
  const invalid = () => new DurationError(`time: invalid duration ${goQuote(input)}`);
  let s = input;
  let neg = false;
  if (s !== '') {
    const c = s[0];
    if (c === '-' || c === '+') {
      neg = c === '-';
      s = s.slice(1);
    }
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    // Integer part: Go rejects overflow here rather than saturating.
    let i = 0;
    let v = 0n;
    while (isDigit(s[i])) {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > LIMIT) throw invalid();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    let post = false;
    let frac = 0n;
    let scale = 1;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const next = frac * 10n + BigInt(s.charCodeAt(j) - 48);
          if (next > LIMIT) {
            overflow = true;
          } else {
            frac = next;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid();
    let u = 0;
    while (u < s.length && !(s[u] === '.' || isDigit(s[u]))) u++;
    if (u === 0) throw new DurationError(`time: missing unit in duration ${goQuote(input)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNITS.get(unitName);
    if (unit === undefined) {
      throw new DurationError(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(input)}`);
    }
    if (v > LIMIT / unit) throw invalid();
    v *= unit;
    if (frac > 0n) {
      // Go does this step in float64; mirror it so rounding agrees.
      v += BigInt(Math.trunc(Number(frac) * (Number(unit) / scale)));
      if (v > LIMIT) throw invalid();
    }
    total += v;
    if (total > LIMIT) throw invalid();
  }
  if (neg) return -total;
  if (total > MAX_INT64) throw invalid();
  return total;
}

function fmtFrac(v: bigint, prec: number): { digits: string; rest: bigint } {
  // Go's fmtFrac: print v/10^prec's fraction, dropping trailing zeros.
  let out = '';
  let printed = false;
  let rest = v;
  for (let i = 0; i < prec; i++) {
    const digit = rest % 10n;
    printed = printed || digit !== 0n;
    if (printed) out = `${digit}${out}`;
    rest /= 10n;
  }
  if (printed) out = `.${out}`;
  return { digits: out, rest };
}

/** Go's Duration.String(): `1h2m3.5s`, `500ms`, `0s`. */
export function formatGoDuration(d: bigint): string {
  if (d === 0n) return '0s';
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  if (u < SEC) {
    let prec: number;
    let unit: string;
    if (u < US) {
      return `${neg ? '-' : ''}${u}ns`;
    }
    if (u < MS) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const { digits, rest } = fmtFrac(u, prec);
    out = `${rest}${digits}${unit}`;
  } else {
    const { digits, rest } = fmtFrac(u, 9);
    u = rest; // whole seconds
    out = `${u % 60n}${digits}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return `${neg ? '-' : ''}${out}`;
}

/** One millisecond: Docker's container.MinimumDuration for HEALTHCHECK intervals. */
export const MINIMUM_HEALTHCHECK_DURATION = MS;

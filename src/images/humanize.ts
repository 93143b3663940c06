/**
 * Ports of the docker/go-units and Go fmt/time formatting the Docker CLI prints with, so sizes, ages and
 * timestamps read exactly as `docker images` / `docker history` print them.
 */

/** Exact decimal digits (no leading/trailing zeros) and decimal point position of |x| (x finite, non-zero). */
function exactDigits(x: number): { d: string; dp: number } {
  // toPrecision(100) is exact for doubles whose expansion has ≤ 100 significant digits — every size/1000^k
  // value go-units formats is < 1000 with ≤ 52 fractional bits, hence ≤ 55 digits.
  const s = Math.abs(x).toPrecision(100);
  let mant = s;
  let exp = 0;
  const e = s.indexOf('e');
  if (e >= 0) {
    mant = s.slice(0, e);
    exp = Number(s.slice(e + 1));
  }
  const dot = mant.indexOf('.');
  const intPart = dot >= 0 ? mant.slice(0, dot) : mant;
  const all = intPart + (dot >= 0 ? mant.slice(dot + 1) : '');
  let dp = intPart.length + exp;
  let start = 0;
  while (start < all.length && all[start] === '0') {
    start++;
    dp--;
  }
  const d = all.slice(start).replace(/0+$/, '');
  return { d, dp };
}

/** Round a digit string to `n` digits, half to even (Go strconv's decimal rounding). */
function roundDigits(d: string, dp: number, n: number): { d: string; dp: number } {
  if (d.length <= n) return { d, dp };
  const next = d.charCodeAt(n) - 48;
  const rest = d.slice(n + 1);
  let up = next > 5 || (next === 5 && /[1-9]/.test(rest));
  if (next === 5 && !/[1-9]/.test(rest)) up = n > 0 && (d.charCodeAt(n - 1) - 48) % 2 === 1;
  let head = d.slice(0, n);
  if (up) {
    const digits = head.split('').map(Number);
    let i = digits.length - 1;
    for (; i >= 0; i--) {
      if (digits[i]! < 9) {
        digits[i]!++;
        break;
      }
      digits[i] = 0;
    }
    head = digits.join('');
    if (i < 0) {
      head = `1${head}`;
      dp++;
    }
  }
  return { d: head.replace(/0+$/, ''), dp };
}

/** Go's `strconv.FormatFloat(x, 'g', prec, 64)` (= fmt `%.*g`). */
export function formatGoG(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const p = prec === 0 ? 1 : prec;
  let digs = x === 0 ? { d: '', dp: 0 } : exactDigits(x);
  digs = roundDigits(digs.d, digs.dp, p);
  const nd = digs.d.length;
  let eprec = p;
  if (eprec > nd && nd >= digs.dp) eprec = nd;
  const exp = digs.dp - 1;
  const sign = neg ? '-' : '';
  if (nd > 0 && (exp < -4 || exp >= eprec)) {
    const q = Math.min(p, nd);
    let m = digs.d[0]!;
    if (q > 1) m += `.${digs.d.slice(1, q).padEnd(q - 1, '0')}`;
    const ae = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${ae < 10 ? `0${ae}` : ae}`;
  }
  const fprec = p > digs.dp ? nd : p;
  const decimals = Math.max(fprec - digs.dp, 0);
  let out = '';
  if (digs.dp > 0) {
    out = digs.d.slice(0, Math.min(nd, digs.dp)).padEnd(digs.dp, '0');
  } else out = '0';
  if (decimals > 0) {
    out += '.';
    for (let i = 1; i <= decimals; i++) {
      const j = digs.dp + i - 1;
      out += j >= 0 && j < nd ? digs.d[j] : '0';
    }
  }
  return sign + out;
}

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units HumanSizeWithPrecision: decimal units, `precision` significant digits ("123MB", "1.23kB"). */
export function humanSizeWithPrecision(size: number, precision: number): string {
  let s = size;
  let i = 0;
  while (s >= 1000 && i < DECIMAL_ABBRS.length - 1) {
    s /= 1000;
    i++;
  }
  return `${formatGoG(s, precision)}${DECIMAL_ABBRS[i]}`;
}

/** go-units HumanSize: four significant digits ("142.2MB"), as `docker system df` prints. */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units HumanDuration ("Less than a second", "About a minute", "3 days", …). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** Docker's "CREATED" column: HumanDuration(now - created) + " ago", from Unix seconds. */
export function createdSince(unixSeconds: number, nowMs: number = Date.now()): string {
  return `${humanDuration(nowMs - unixSeconds * 1000)} ago`;
}

/** Seconds since the epoch of an RFC 3339 timestamp (Docker's summaries truncate to seconds); 0 if absent. */
export function unixSeconds(created: string | undefined): number {
  if (!created) return 0;
  const ms = Date.parse(created);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Local-time broken-down fields and zone of a Unix-seconds instant. */
function localParts(sec: number): { date: Date; offsetMin: number } {
  const date = new Date(sec * 1000);
  return { date, offsetMin: -date.getTimezoneOffset() };
}

function zoneName(date: Date, offsetMin: number): string {
  if (offsetMin === 0 && (process.env.TZ === undefined || /^(UTC|Etc\/UTC|UTC0|)$/.test(process.env.TZ)))
    return 'UTC';
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
    .formatToParts(date)
    .find((p) => p.type === 'timeZoneName')?.value;
  if (part && /^[A-Z]{3,5}$/.test(part)) return part;
  return numericOffset(offsetMin, false);
}

function numericOffset(offsetMin: number, colon: boolean): string {
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${sign}${pad2(Math.trunc(a / 60))}${colon ? ':' : ''}${pad2(a % 60)}`;
}

function localDateTime(date: Date): string {
  return `${String(date.getFullYear()).padStart(4, '0')}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

function localClock(date: Date): string {
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/** Go's `time.Unix(sec, 0).String()`: "2026-11-25 11:40:31 +0000 UTC". */
export function goTimeString(sec: number): string {
  const { date, offsetMin } = localParts(sec);
  return `${localDateTime(date)} ${localClock(date)} ${numericOffset(offsetMin, false)} ${zoneName(date, offsetMin)}`;
}

/** Go's `time.Unix(sec, 0).Format(time.RFC3339)`: "2026-11-25T11:40:31Z" or "…+02:00". */
export function goRfc3339(sec: number): string {
  const { date, offsetMin } = localParts(sec);
  const zone = offsetMin === 0 ? 'Z' : numericOffset(offsetMin, true);
  return `${localDateTime(date)}T${localClock(date)}${zone}`;
}

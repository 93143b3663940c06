import { SlipwayError } from '../errors.js';
import { parseChallenges } from './challenge.js';

/** One entry of the registry's JSON error body (`{"errors":[{"code","message","detail"}]}`). */
export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/**
 * An error the registry answered with. `message` is Docker's rendering of the registry's own words
 * (`denied: requested access to the resource is denied`), never anything from our request headers.
 */
export class RegistryError extends SlipwayError {
  readonly status: number | undefined;
  /** The registry's error code (`MANIFEST_UNKNOWN`, `DENIED`, …), when it sent one. */
  readonly registryCode: string | undefined;
  /** Seconds the registry asked us to wait (429/503 Retry-After). */
  readonly retryAfter: number | undefined;

  constructor(
    message: string,
    opts: { status?: number; registryCode?: string; retryAfter?: number; cause?: unknown } = {},
  ) {
    super('REGISTRY', message, opts.cause === undefined ? {} : { cause: opts.cause });
    this.status = opts.status;
    this.registryCode = opts.registryCode;
    this.retryAfter = opts.retryAfter;
  }

  /** 5xx and 429 may succeed later; other 4xx will not change by asking again. */
  get retryable(): boolean {
    return this.status !== undefined && (this.status >= 500 || this.status === 429);
  }
}

/** errcode.ErrorCode.Error(): `MANIFEST_UNKNOWN` → `manifest unknown`. */
export function codeText(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

const DEFAULT_MESSAGES: Record<string, string> = {
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  TOOMANYREQUESTS: 'too many requests',
};

/** Parse `{"errors":[…]}`; undefined when the body is not that shape. */
export function parseErrorBody(body: Buffer | string): RegistryErrorEntry[] | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return undefined;
  }
  const errs = (doc as { errors?: unknown })?.errors;
  if (!Array.isArray(errs)) return undefined;
  const out: RegistryErrorEntry[] = [];
  for (const e of errs) {
    if (!e || typeof e !== 'object') continue;
    const code = typeof e.code === 'string' ? e.code : 'UNKNOWN';
    const message =
      typeof e.message === 'string' && e.message !== ''
        ? e.message
        : (DEFAULT_MESSAGES[code] ?? codeText(code));
    out.push({ code, message });
  }
  return out.length > 0 ? out : undefined;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const t = Date.parse(value);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

/**
 * distribution's client.HandleErrorResponse: an OAuth `error=` in a Bearer challenge first
 * (`insufficient_scope` → DENIED, `invalid_token` → UNAUTHORIZED), then the JSON body's first error,
 * then a status-based fallback.
 */
export function errorFromResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  what: string,
): RegistryError {
  const retryAfter = parseRetryAfter(headerValue(headers['retry-after']));
  const base = { status, ...(retryAfter === undefined ? {} : { retryAfter }) };
  if (status >= 400 && status < 500) {
    for (const c of parseChallenges(headerValue(headers['www-authenticate']) ?? '')) {
      if (c.scheme !== 'bearer') continue;
      const code =
        c.params.error === 'insufficient_scope'
          ? 'DENIED'
          : c.params.error === 'invalid_token'
            ? 'UNAUTHORIZED'
            : undefined;
      if (code === undefined) continue;
      const message = c.params.error_description || DEFAULT_MESSAGES[code]!;
      return new RegistryError(`${codeText(code)}: ${message}`, { ...base, registryCode: code });
    }
  }
  const entries = parseErrorBody(body);
  if (entries) {
    const first = entries[0]!;
    return new RegistryError(`${codeText(first.code)}: ${first.message}`, {
      ...base,
      registryCode: first.code,
    });
  }
  if (status === 401) {
    const text = body.toString('utf8').trim();
    return new RegistryError(
      `unauthorized: ${text !== '' && text.length < 200 ? text : 'authentication required'}`,
      {
        ...base,
        registryCode: 'UNAUTHORIZED',
      },
    );
  }
  if (status === 429)
    return new RegistryError('toomanyrequests: too many requests', {
      ...base,
      registryCode: 'TOOMANYREQUESTS',
    });
  return new RegistryError(`unexpected status from ${what}: ${status} ${statusText(status)}`, base);
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}

/** Every failure slipway reports to a user is one of these: data, not a stack trace. */
export interface SourcePosition {
  file?: string;
  line?: number;
  column?: number;
}

export type ErrorCode =
  | 'PARSE'
  | 'INSTRUCTION'
  | 'EXPAND'
  | 'DOCKERIGNORE'
  | 'CONTEXT'
  | 'PLAN'
  | 'BUILD'
  | 'RUN_FAILED'
  | 'STORE'
  | 'LAYER'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_REFERENCE'
  | 'REGISTRY'
  | 'RUNTIME'
  | 'CONTAINER'
  | 'USAGE'
  | 'UNSUPPORTED'
  | 'INTERRUPTED';

export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly hint: string | undefined;
  /** Context printed above the one-line error (BuildKit's failing step's last output and Dockerfile excerpt). */
  readonly detail: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    where: SourcePosition & { hint?: string; detail?: string; cause?: unknown } = {},
  ) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = 'SlipwayError';
    this.code = code;
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.hint = where.hint;
    this.detail = where.detail;
  }

  /** One line, BuildKit's shape: `Dockerfile:7:3: unknown instruction: RUNN`. */
  format(): string {
    let prefix = '';
    if (this.file !== undefined) {
      prefix = this.file;
      if (this.line !== undefined) prefix += `:${this.line}`;
      if (this.line !== undefined && this.column !== undefined) prefix += `:${this.column}`;
      prefix += ': ';
    }
    return `${prefix}${this.message}${this.hint ? ` (${this.hint})` : ''}`;
  }
}

export function isSlipwayError(e: unknown): e is SlipwayError {
  return e instanceof SlipwayError;
}

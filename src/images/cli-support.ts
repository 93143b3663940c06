import { SlipwayError } from '../errors.js';
import { InvalidFilterError } from './filters.js';
import { TemplateError } from './format.js';

/** What a CLI command needs to print Docker's error lines. */
export interface ErrorSink {
  err: (text: string) => void;
}

/** The line Docker prints for a daemon-side failure, or undefined for errors main.ts reports itself. */
export function dockerErrorLine(e: unknown): string | undefined {
  if (e instanceof TemplateError) return e.message;
  if (e instanceof InvalidFilterError) return `Error response from daemon: ${e.message}`;
  if (e instanceof SlipwayError && (e.code === 'NOT_FOUND' || e.code === 'CONFLICT')) {
    return `Error response from daemon: ${e.message}`;
  }
  return undefined;
}

/** Run `fn`; daemon-style failures print as Docker prints them and exit 1, the rest propagate. */
export async function withDockerErrors(sink: ErrorSink, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    const line = dockerErrorLine(e);
    if (line === undefined) throw e;
    sink.err(`${line}\n`);
    return 1;
  }
}

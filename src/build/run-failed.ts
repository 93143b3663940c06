import { SlipwayError } from '../errors.js';

/** A RUN whose process failed; keeps the last lines of its output for the error report. */
export class RunFailed extends SlipwayError {
  constructor(
    message: string,
    readonly tail: string[],
  ) {
    super('RUN_FAILED', message);
  }
}

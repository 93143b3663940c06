import { SlipwayError } from '../errors.js';

/** A verb slipway names but does not implement yet fails loudly rather than half-working. */
export function notSupportedYet(verb: string): never {
  throw new SlipwayError('UNSUPPORTED', `'slipway ${verb}' is not supported yet`);
}

export * from './chain.js';
export * from './digest.js';
export * from './media-types.js';
export * from './reference.js';
export type * from './types.js';

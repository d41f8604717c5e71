export { PassthroughFs } from './passthrough.js';
export { resolvePassthroughOptions } from './options.js';
export type { PassthroughOptions, ResolvedOptions, CachePolicy } from './options.js';
export { OptionError } from './option-error.js';
export { IdMap } from './idmap.js';

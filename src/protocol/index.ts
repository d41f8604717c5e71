export * from './kernel.js';
export * from './requests.js';
export * from './replies.js';
export { OPS, opName, EncodeErrno } from './opcodes.js';
export type { OpSpec } from './opcodes.js';

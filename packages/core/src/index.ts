// What users call. Backend authors find their kit in `@streamer/core/backend` (./backend.ts).
export { BACKEND_PACKAGES, connect, registerBackend } from './connect.js';
export {
  CHANNELS,
  type CommitEvent,
  type ConnectionEvent,
  type ConnectionState,
  type ProcessEvent,
  type ReceiveEvent,
  type SendEvent,
  setTraceContextHook,
  type TraceContextHook,
} from './diagnostics.js';
export {
  ERROR_CODES,
  type ErrorCode,
  isStreamerError,
  StreamerError,
  type StreamerErrorOptions,
} from './errors.js';
export { MEMORY_SUPPORTS, memoryBackend } from './memory.js';
export { json, text } from './message.js';
export { validateConsumerOptions } from './options.js';
export { DEAD_LETTER_HEADERS } from './run.js';
export {
  isValidShardId,
  isValidStreamKey,
  MAX_STREAM_KEY_LENGTH,
  RESERVED_STREAM_KEY,
  validateShardId,
  validateStreamKey,
} from './stream-key.js';
export type * from './types.js';
export { parseStreamerUrl, parseStreamUrl, type StreamUrl } from './url.js';

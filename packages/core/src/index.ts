export { AckTracker, type CommitFn } from './acks.js';
export { AsyncQueue } from './async-queue.js';
export { BACKEND_PACKAGES, connect, registerBackend } from './connect.js';
export { AbstractConsumer, type AckRef } from './consumer.js';
export {
  abortError,
  describe,
  ERROR_CODES,
  type ErrorCode,
  invalidArgument,
  isStreamerError,
  StreamerError,
  type StreamerErrorOptions,
} from './errors.js';
export { pickShard, stableHash } from './hash.js';
export { type Endable, onEnd } from './internal.js';
export { MEMORY_SUPPORTS, memoryBackend } from './memory.js';
export { json, StreamMessage, text, toBytes } from './message.js';
export {
  aliasedOption,
  type BackendOptionNames,
  defineBackendOptions,
  durationMs,
  MAX_TIMER_MS,
  nonNegative,
  positiveInteger,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
  resolveConsumerOptions,
  resolveProducerOptions,
  resolveStreams,
} from './options.js';
export { AbstractProducer, type OutgoingMessage } from './producer.js';
export {
  isValidShardId,
  isValidStreamKey,
  MAX_STREAM_KEY_LENGTH,
  RESERVED_STREAM_KEY,
  validateShardId,
  validateStreamKey,
} from './stream-key.js';
export { AbstractStreamer } from './streamer.js';
export { type BackoffOptions, backoffDelay, sleep } from './timers.js';
export type * from './types.js';
export { parseStreamerUrl, parseStreamUrl, type StreamUrl } from './url.js';

/**
 * `@streamer/core/backend`: what a backend is built from. Users import from `@streamer/core`;
 * backend authors import the kit from here (and types, errors from `@streamer/core`).
 */
export { AckTracker, type AckTrackerOptions, type CommitFn } from './acks.js';
export { AsyncQueue } from './async-queue.js';
export { AbstractConsumer, type AckRef } from './consumer.js';
export { publishConnection, publishReceive, receiving } from './diagnostics.js';
export { abortError, describeValue, invalidArgument } from './errors.js';
export { type GroupMember, InProcessGroup } from './group.js';
export { pickShard, stableHash } from './hash.js';
export { type Endable, onEnd } from './internal.js';
export { StreamMessage, toBytes } from './message.js';
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
export { AbstractStreamer } from './streamer.js';
export { defineSupports } from './supports.js';
export { type BackoffOptions, backoffDelay, sleep } from './timers.js';

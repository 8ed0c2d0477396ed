import type { Backend } from '@streamer/core';
import { resolveConfig } from './options.js';
import { RedisStreamer } from './streamer.js';

/**
 * `redis://[user:password@]host[:port][?db=N]` and `rediss://…` (TLS). `connect()` from
 * @streamer/core finds this export by the URL's protocol.
 */
export const backend: Backend = {
  async connect(urls, options) {
    // Several hosts would be a cluster; this backend talks to one server.
    return RedisStreamer.open(resolveConfig(urls[0]!, options));
  },
};

export type { LifecycleEvents } from './connection.js';
export {
  compareEntryIds,
  type EntryId,
  entryIdToSequence,
  formatEntryId,
  parseEntryId,
  sequenceToEntryId,
} from './entry-id.js';
export type {
  GroupInfo,
  ReadRangeOptions,
  ShardInfo,
  StreamInfo,
  StreamTrimOptions,
} from './manager.js';
export type { RedisConnectOptions, RedisConsumerOptions, RedisProducerOptions } from './options.js';
export { REDIS_SUPPORTS, RedisStreamer } from './streamer.js';
export type { TrimOptions } from './trim.js';

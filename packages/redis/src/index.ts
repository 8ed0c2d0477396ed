import type { Backend } from '@streamer/core';
import { type FromClientOptions, resolveClientConfig, resolveConfig } from './options.js';
import { RedisStreamer } from './streamer.js';

/**
 * `redis://[user:password@]host[:port][?db=N]` and `rediss://…` (TLS); several hosts
 * (`redis://h1:p1,h2:p2/…`) are a Redis Cluster's seed nodes; `redis+sentinel://s1,s2?master=NAME`
 * (and `rediss+sentinel://`) connects to the master Sentinel names. `connect()` from
 * @streamer/core finds this export by the URL's protocol.
 */
export const backend: Backend = {
  async connect(urls, options) {
    return RedisStreamer.open(resolveConfig(urls, options));
  },
};

/**
 * A streamer on the server of a node-redis client you made: its address, credentials, database
 * and TLS settings are copied into connections of our own (with our reconnect policy and no
 * per-command timeout). Your client is left alone and not closed by `disconnect()`.
 */
export function fromClient(
  client: unknown,
  options: FromClientOptions = {},
): Promise<RedisStreamer> {
  try {
    return RedisStreamer.open(resolveClientConfig(client, options as Record<string, unknown>));
  } catch (error) {
    return Promise.reject(error);
  }
}

export type { LifecycleEvents } from './connection.js';
export {
  compareEntryIds,
  type EntryId,
  entryIdToSequence,
  formatEntryId,
  parseEntryId,
  sequenceToEntryId,
} from './entry-id.js';
export { RedisMessage } from './layout.js';
export type {
  GroupInfo,
  ReadRangeOptions,
  ShardInfo,
  StreamInfo,
  StreamTrimOptions,
} from './manager.js';
export type {
  FromClientOptions,
  RedisConnectOptions,
  RedisConsumerOptions,
  RedisProducerOptions,
} from './options.js';
export { REDIS_SUPPORTS, RedisStreamer } from './streamer.js';
export type { TrimOptions } from './trim.js';

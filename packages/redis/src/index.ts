import { type Backend, StreamerError } from '@streamer/core';
import { type FromClientOptions, resolveClientConfig, resolveConfig } from './options.js';
import { RedisStreamer } from './streamer.js';

/**
 * `redis://[user:password@]host[:port][?db=N]` and `rediss://…` (TLS). `connect()` from
 * @streamer/core finds this export by the URL's protocol.
 */
export const backend: Backend = {
  async connect(urls, options) {
    if (urls.length > 1) {
      throw new StreamerError(
        'UNSUPPORTED',
        `One Redis server per streamer: Redis Cluster is not supported yet (got hosts ${urls.map((u) => u.host).join(', ')})`,
      );
    }
    return RedisStreamer.open(resolveConfig(urls[0]!, options));
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

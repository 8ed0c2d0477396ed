import type { StreamKey, Supports } from '@streamer/core';
import {
  AbstractStreamer,
  defineSupports,
  type Endable,
  onEnd,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
} from '@streamer/core/backend';
import { Lifecycle, type LifecycleEvents, openClient, type RedisClient } from './connection.js';
import { RedisConsumer } from './consumer.js';
import { RedisManager } from './manager.js';
import type { StreamerConfig } from './options.js';
import { RedisProducer } from './producer.js';

export const REDIS_SUPPORTS: Supports = defineSupports({
  realtime: true,
  history: true,
  resumable: true,
  loadBalanced: true,
  failover: true,
  seek: true,
  rewind: true,
  shards: true,
  headers: true,
  timestamps: true,
  binaryPayloads: true,
});

/**
 * A connection to one Redis server: producers share its command connection, each consumer opens
 * its own read connection. Also the manager API (listStreams, streamInfo, readRange, trim).
 */
export class RedisStreamer extends AbstractStreamer {
  readonly backend = 'redis';
  readonly supports = REDIS_SUPPORTS;
  readonly #client: RedisClient;
  readonly #config: StreamerConfig;
  readonly #lifecycle: Lifecycle;
  readonly #manager: RedisManager;
  readonly #producers = new Set<RedisProducer>();

  private constructor(client: RedisClient, config: StreamerConfig, lifecycle: Lifecycle) {
    super();
    this.#client = client;
    this.#config = config;
    this.#lifecycle = lifecycle;
    this.#manager = new RedisManager(client, config.messageField);
  }

  static async open(config: StreamerConfig): Promise<RedisStreamer> {
    const lifecycle = new Lifecycle();
    const client = await openClient(config.connection, lifecycle);
    return new RedisStreamer(client, config, lifecycle);
  }

  /** Lifecycle events: `connect` (a connection is back), `reconnecting`, `error`. */
  on<E extends keyof LifecycleEvents>(
    event: E,
    listener: (...args: LifecycleEvents[E]) => void,
  ): this {
    this.#lifecycle.on(event, listener as never);
    return this;
  }

  off<E extends keyof LifecycleEvents>(
    event: E,
    listener: (...args: LifecycleEvents[E]) => void,
  ): this {
    this.#lifecycle.off(event, listener as never);
    return this;
  }

  listStreams(pattern?: string) {
    return this.#manager.listStreams(pattern);
  }

  streamInfo(stream: StreamKey) {
    return this.#manager.streamInfo(stream);
  }

  readRange(stream: StreamKey, options?: Parameters<RedisManager['readRange']>[1]) {
    return this.#manager.readRange(stream, options);
  }

  trim(stream: StreamKey, options: Parameters<RedisManager['trim']>[1]) {
    return this.#manager.trim(stream, options);
  }

  /**
   * Ends everything and closes every connection. Sends waiting for a lost connection to come back
   * are given up (rejected with CONNECT) instead of making this wait for Redis indefinitely.
   */
  override disconnect(): Promise<void> {
    for (const producer of this.#producers) producer.giveUpRetries();
    return super.disconnect();
  }

  protected async _createProducer(stream: StreamKey | undefined, options: ResolvedProducerOptions) {
    const producer = new RedisProducer(
      this.#client,
      this.#lifecycle,
      this.#config.messageField,
      stream,
      options,
      this.supports,
    );
    this.#producers.add(producer);
    producer[onEnd](() => this.#producers.delete(producer));
    return producer as RedisProducer & Endable;
  }

  protected async _createConsumer(streams: StreamKey[], options: ResolvedConsumerOptions) {
    return (await RedisConsumer.open(
      this.#client,
      this.#config,
      this.#lifecycle,
      streams,
      options,
    )) as RedisConsumer & Endable;
  }

  protected async _disconnect(): Promise<void> {
    this.#client.destroy();
  }
}

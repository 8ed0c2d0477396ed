import type { ConsumerOptions, ProducerOptions, StreamKey, Supports } from '@streamer/core';
import {
  AbstractStreamer,
  defineSupports,
  type Endable,
  onEnd,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
} from '@streamer/core/backend';
import { Lifecycle, type LifecycleEvents } from './connection.js';
import { RedisConsumer } from './consumer.js';
import { RedisManager } from './manager.js';
import type { RedisConsumerOptions, RedisProducerOptions, StreamerConfig } from './options.js';
import { RedisProducer } from './producer.js';
import { openTopology, type Topology } from './topology.js';

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
  deliveryCount: true,
});

/**
 * A connection to one Redis server or a Redis Cluster: producers share the command connection
 * (one per node), each consumer opens read connections of its own. Also the manager API
 * (listStreams, streamInfo, readRange, trim).
 */
export class RedisStreamer extends AbstractStreamer {
  readonly backend = 'redis';
  readonly supports = REDIS_SUPPORTS;
  readonly #topology: Topology;
  readonly #config: StreamerConfig;
  readonly #lifecycle: Lifecycle;
  readonly #manager: RedisManager;
  readonly #producers = new Set<RedisProducer>();

  private constructor(topology: Topology, config: StreamerConfig, lifecycle: Lifecycle) {
    super();
    this.#topology = topology;
    this.#config = config;
    this.#lifecycle = lifecycle;
    this.#manager = new RedisManager(topology, config.messageField);
  }

  /** @internal Users call connect() or fromClient(), which resolve the config. */
  static async open(config: StreamerConfig): Promise<RedisStreamer> {
    const lifecycle = new Lifecycle();
    const topology = await openTopology(config.connection, lifecycle);
    return new RedisStreamer(topology, config, lifecycle);
  }

  /** As every streamer's, with the Redis options typed. */
  override createProducer(stream?: StreamKey, options?: ProducerOptions & RedisProducerOptions) {
    return super.createProducer(stream, options);
  }

  override createConsumer(
    streams: StreamKey | StreamKey[],
    options?: ConsumerOptions & RedisConsumerOptions,
  ) {
    return super.createConsumer(streams, options);
  }

  /** Whether this streamer is on a Redis Cluster (see the `cluster` option). */
  get cluster(): boolean {
    return this.#topology.cluster;
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
      this.#topology,
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
      this.#topology,
      this.#config,
      this.#lifecycle,
      streams,
      options,
    )) as RedisConsumer & Endable;
  }

  protected async _disconnect(): Promise<void> {
    this.#topology.destroy();
  }
}

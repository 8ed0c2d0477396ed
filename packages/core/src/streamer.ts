import { abortError, StreamerError } from './errors.js';
import { type Endable, giveUp, madeBy, onEnd } from './internal.js';
import {
  checkExtraOptions,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
  resolveConsumerOptions,
  resolveProducerOptions,
  resolveStreams,
} from './options.js';
import { validateStreamKey } from './stream-key.js';
import type {
  Consumer,
  ConsumerOptions,
  Producer,
  ProducerOptions,
  Streamer,
  StreamKey,
  Supports,
} from './types.js';

type Child = (Producer | Consumer) & Endable;

/**
 * What every backend's streamer shares: it validates arguments before any I/O, fills in option
 * defaults, refuses work after `disconnect()`, and ends every producer and consumer it made on
 * `disconnect()`. A backend implements `_createProducer`, `_createConsumer` and `_disconnect`.
 */
export abstract class AbstractStreamer implements Streamer {
  abstract readonly backend: string;
  abstract readonly supports: Supports;
  readonly #children = new Set<Child>();
  #disconnecting: Promise<void> | undefined;

  protected abstract _createProducer(
    stream: StreamKey | undefined,
    options: ResolvedProducerOptions,
  ): Promise<Producer & Endable>;
  protected abstract _createConsumer(
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
  ): Promise<Consumer & Endable>;
  /** Closes connections; every producer and consumer has ended by then. */
  protected abstract _disconnect(): Promise<void>;

  get disconnected(): boolean {
    return this.#disconnecting !== undefined;
  }

  async createProducer(stream?: StreamKey, options?: ProducerOptions): Promise<Producer> {
    this.#checkOpen();
    const anchor = stream === undefined ? undefined : validateStreamKey(stream);
    const resolved = resolveProducerOptions(options, this.supports, `The ${this.backend}`);
    checkExtraOptions(this, 'producer', resolved.extra);
    const producer = this.#track(await this._createProducer(anchor, resolved));
    producer[madeBy] = this;
    return producer;
  }

  async createConsumer(
    streams: StreamKey | StreamKey[],
    options?: ConsumerOptions,
  ): Promise<Consumer> {
    this.#checkOpen();
    const keys = resolveStreams(streams);
    const resolved = resolveConsumerOptions(options, this.supports, `The ${this.backend}`);
    checkExtraOptions(this, 'consumer', resolved.extra);
    if (resolved.signal?.aborted) throw abortError(resolved.signal);
    const consumer = this.#track(await this._createConsumer(keys, resolved));
    consumer[madeBy] = this;
    return consumer;
  }

  disconnect(): Promise<void> {
    this.#disconnecting ??= (async () => {
      // A commit waiting for a lost connection would hold end(), and so this, for its deadline.
      for (const child of this.#children) child[giveUp]?.();
      const ends = await Promise.allSettled([...this.#children].map((child) => child.end()));
      await this._disconnect();
      const failed = ends.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return this.#disconnecting;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  #checkOpen(): void {
    if (this.disconnected) {
      throw new StreamerError(
        'DISCONNECTED',
        `This ${this.backend} streamer has been disconnected: connect again`,
      );
    }
  }

  #track<T extends Child>(child: T): T {
    if (this.disconnected) {
      // disconnect() ran while the child was being created: it must not outlive the streamer.
      child.end().catch(() => {});
      throw new StreamerError(
        'DISCONNECTED',
        `This ${this.backend} streamer has been disconnected`,
      );
    }
    this.#children.add(child);
    child[onEnd](() => this.#children.delete(child));
    return child;
  }
}

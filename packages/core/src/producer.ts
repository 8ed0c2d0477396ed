import { traceContextHook, traceSend, tracingSends } from './diagnostics.js';
import { describeValue, invalidArgument, StreamerError } from './errors.js';
import { pickShard } from './hash.js';
import { type Endable, madeBy, onEnd } from './internal.js';
import type { ResolvedProducerOptions } from './options.js';
import { isValidShardId, validateStreamKey } from './stream-key.js';
import type {
  Payload,
  Producer,
  Receipt,
  SendOptions,
  ShardId,
  Streamer,
  StreamKey,
  Supports,
} from './types.js';

/**
 * A send as the backend receives it: validated, shard chosen. The payload is as the caller gave
 * it (a string or bytes) so a backend that writes text does not encode and decode it again;
 * `toBytes()` makes bytes of it. Bytes belong to the caller: copy them before the send resolves.
 */
export interface OutgoingMessage {
  streamKey: StreamKey;
  shardId: ShardId;
  payload: Payload;
  timestamp: Date | undefined;
  headers: Record<string, string> | undefined;
}

function validateSendOptions(
  options: SendOptions | undefined,
  supports: Supports,
  backend: string,
): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('send options', options, 'an object');
  const { shard, key, timestamp, headers } = options;
  if (shard !== undefined && !isValidShardId(shard))
    throw invalidArgument('shard', shard, 'a non-negative safe integer');
  if (shard !== undefined && shard > 0 && !supports.shards)
    throw new StreamerError('UNSUPPORTED', `${backend} backend has no shards (got shard ${shard})`);
  if (key !== undefined && typeof key !== 'string') throw invalidArgument('key', key, 'a string');
  if (
    timestamp !== undefined &&
    !(timestamp instanceof Date && !Number.isNaN(timestamp.getTime()))
  ) {
    throw invalidArgument('timestamp', timestamp, 'a valid Date');
  }
  // Refused rather than ignored: a message stamped otherwise than asked would go unnoticed.
  if (timestamp !== undefined && !supports.timestamps) {
    throw new StreamerError(
      'UNSUPPORTED',
      `${backend} backend stamps messages itself: it cannot store the timestamp send option`,
    );
  }
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
      throw invalidArgument('headers', headers, 'an object of strings');
    }
    if (!supports.headers && Object.keys(headers).length > 0) {
      throw new StreamerError('UNSUPPORTED', `${backend} backend does not store headers`);
    }
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string')
        throw invalidArgument(`header ${JSON.stringify(name)}`, value, 'a string');
    }
  }
}

/**
 * Sends made between two flush() calls. Counting them per generation (instead of keeping every
 * send's promise) makes flush() a barrier for the sends before it at the cost of one shared
 * callback pair per send.
 */
interface Generation {
  pending: number;
  drained: (() => void) | undefined;
  settled(): void;
  failed(error: unknown): void;
}

/**
 * What every backend's producer shares: argument checks (so a bad call rejects before any I/O),
 * shard choice, the high-water mark, flush/end bookkeeping, and never an unhandled rejection from
 * an un-awaited send. A backend implements `_send` (store one message, resolve its receipt) and
 * optionally `_end`.
 */
export abstract class AbstractProducer implements Producer, Endable {
  readonly #supports: Supports;
  /** 'The file' or 'This': how errors name the backend. */
  readonly #backend: string;
  readonly #shards: number;
  readonly #highWaterMark: number;
  readonly #propagateContext: boolean;
  #anchor: StreamKey | undefined;
  #roundRobin = 0;
  #pending = 0;
  #generation: Generation = this.#newGeneration();
  #flushed: Promise<unknown> = Promise.resolve();
  #roomWaiters: (() => void)[] = [];
  #failure: unknown;
  #ending: Promise<void> | undefined;
  #endListeners: (() => void)[] = [];
  [madeBy]?: Streamer;

  /** `backend` (e.g. 'file') names the backend in the errors of what its `supports` lacks. */
  constructor(
    anchor: StreamKey | undefined,
    options: ResolvedProducerOptions,
    supports: Supports,
    backend?: string,
  ) {
    this.#backend = backend === undefined ? 'This' : `The ${backend}`;
    this.#anchor = anchor;
    this.#shards = options.shards;
    this.#highWaterMark = options.highWaterMark;
    this.#propagateContext = options.propagateContext && supports.headers;
    this.#supports = supports;
  }

  /** Stores one message; resolves with its receipt. Called in send order. */
  protected abstract _send(message: OutgoingMessage): Promise<Receipt>;

  /** Releases what the producer holds; every send has settled by then. */
  protected _end(): Promise<void> {
    return Promise.resolve();
  }

  get anchor(): StreamKey | undefined {
    return this.#anchor;
  }

  get pending(): number {
    return this.#pending;
  }

  get ended(): boolean {
    return this.#ending !== undefined;
  }

  anchorTo(stream: StreamKey): void {
    if (this.#anchor !== undefined) {
      throw new StreamerError(
        'ALREADY_ANCHORED',
        `Producer is anchored to ${describeValue(this.#anchor)} already; cannot anchor it to ${describeValue(stream)}`,
      );
    }
    this.#anchor = validateStreamKey(stream);
  }

  send(payload: Payload, options?: SendOptions): Promise<Receipt> {
    if (this.#anchor === undefined) {
      return this.#handled(
        Promise.reject(
          new StreamerError('NOT_ANCHORED', 'Producer has no anchor stream: use sendTo(stream, …)'),
        ),
      );
    }
    return this.#send(this.#anchor, payload, options);
  }

  sendTo(stream: StreamKey, payload: Payload, options?: SendOptions): Promise<Receipt> {
    try {
      validateStreamKey(stream);
    } catch (error) {
      return this.#handled(Promise.reject(error));
    }
    return this.#send(stream, payload, options);
  }

  /**
   * Resolves at once below the high-water mark; above it, once pending sends are down to half of
   * it, so a send loop wakes once per batch of replies rather than once per reply.
   */
  ready(): Promise<void> {
    if (this.#pending < this.#highWaterMark || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  async flush(): Promise<void> {
    // Only the sends made before this call: later ones must not keep a busy producer's flush waiting.
    const generation = this.#generation;
    this.#generation = this.#newGeneration();
    const drained =
      generation.pending === 0
        ? undefined
        : new Promise<void>((resolve) => {
            generation.drained = resolve;
          });
    // Earlier generations too: a flush after a flush waits for both.
    this.#flushed = Promise.all([this.#flushed, drained]);
    await this.#flushed;
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      throw failure;
    }
  }

  end(): Promise<void> {
    this.#ending ??= (async () => {
      try {
        await this.flush();
      } finally {
        await this._end();
        for (const waiter of this.#roomWaiters.splice(0)) waiter();
        for (const listener of this.#endListeners.splice(0)) listener();
      }
    })();
    return this.#ending;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.end();
  }

  [onEnd](listener: () => void): void {
    this.#endListeners.push(listener);
  }

  #send(
    streamKey: StreamKey,
    payload: Payload,
    options: SendOptions | undefined,
  ): Promise<Receipt> {
    if (this.ended) {
      return this.#handled(
        Promise.reject(new StreamerError('PRODUCER_ENDED', 'Producer has ended: create a new one')),
      );
    }
    let message: OutgoingMessage;
    try {
      if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
        throw invalidArgument('payload', payload, 'a string or a Uint8Array');
      }
      validateSendOptions(options, this.#supports, this.#backend);
      if (options?.shard !== undefined && options.shard >= this.#shards && this.#shards > 1) {
        throw invalidArgument(
          'shard',
          options.shard,
          `below the producer's shard count ${this.#shards}`,
        );
      }
      message = {
        streamKey,
        shardId: pickShard(this.#shards, options?.shard, options?.key, this.#roundRobin++),
        payload,
        timestamp: options?.timestamp,
        headers: options?.headers,
      };
    } catch (error) {
      return this.#handled(Promise.reject(error));
    }
    // Handed to the backend at once, whatever the count: holding it back here would keep it in
    // memory all the same. What bounds memory is a send loop awaiting ready().
    const generation = this.#generation;
    generation.pending++;
    this.#pending++;
    let sent: Promise<Receipt>;
    try {
      sent = tracingSends() ? this.#traced(message) : this._send(message);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(generation.settled, generation.failed);
    return sent;
  }

  /** A send somebody observes: its events, and the trace context written into its headers. */
  #traced(message: OutgoingMessage): Promise<Receipt> {
    const { payload } = message;
    const headers = this.#propagateContext ? { ...message.headers } : message.headers;
    message.headers = headers;
    const event = {
      backend: this[madeBy]?.backend ?? 'unknown',
      stream: message.streamKey,
      shard: message.shardId,
      payloadSize: typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength,
      headers,
    };
    return traceSend(event, () => {
      const hook = traceContextHook();
      if (hook && headers) {
        const carrier: Record<string, string> = {};
        hook.inject(event, carrier);
        for (const name in carrier) if (!(name in headers)) headers[name] = carrier[name];
      }
      return this._send(message);
    });
  }

  #newGeneration(): Generation {
    const generation: Generation = {
      pending: 0,
      drained: undefined,
      settled: () => {
        if (--generation.pending === 0) generation.drained?.();
        this.#settledOne();
      },
      failed: (error) => {
        this.#failure ??= error;
        generation.settled();
      },
    };
    return generation;
  }

  #settledOne(): void {
    this.#pending--;
    if (this.#roomWaiters.length > 0 && this.#pending <= this.#highWaterMark >> 1) {
      for (const waiter of this.#roomWaiters.splice(0)) waiter();
    }
  }

  /**
   * Marks a failed send handled, so an un-awaited one never crashes the process, and keeps its
   * error for the next flush() or end(), so it is not lost either.
   */
  #handled<T>(promise: Promise<T>): Promise<T> {
    promise.catch((error) => {
      this.#failure ??= error;
    });
    return promise;
  }
}

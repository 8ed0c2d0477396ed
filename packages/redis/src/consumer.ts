import {
  type Lag,
  type Message,
  type MessageHeader,
  type SeqPos,
  type ShardId,
  StreamerError,
  type StreamKey,
} from '@streamer/core';
import {
  AbstractConsumer,
  type AckRef,
  AsyncQueue,
  abortError,
  type ResolvedConsumerOptions,
} from '@streamer/core/backend';
import { claimIdle } from './claimer.js';
import { isConnectionError, type Lifecycle, toStreamerError } from './connection.js';
import { idBefore, sequenceToEntryId } from './entry-id.js';
import { ackEntries, countDelivery, setGroupId } from './groups.js';
import { sourcesLag } from './lag.js';
import { RedisMessage } from './layout.js';
import { optionalBoolean, type StreamerConfig } from './options.js';
import { type ReadContext, ReadLoop } from './reader.js';
import { type Source, Sources } from './sources.js';
import type { Topology } from './topology.js';

/**
 * What a commit needs of an acked message: its key and entry id (a RedisMessage has both), or a
 * position the caller built.
 */
type RedisAck = Pick<RedisMessage, 'redisKey' | 'entryId'> | AckRef;

/**
 * Reads Redis streams: discovery finds the keys (`Sources`), one read loop per read group (a
 * cluster slot; a single server is one group) fills a queue of about one page that `next()` takes
 * from, a claimer takes over dead members' entries (loadBalanced), and acks are committed per key.
 */
export class RedisConsumer extends AbstractConsumer<RedisAck> implements ReadContext {
  readonly redis: Topology;
  readonly queue = new AsyncQueue<RedisMessage>();
  readonly messageField: Buffer;
  readonly blockMs: number;
  readonly backoff: { initialMs: number; maxMs: number; maxAttempts: number | undefined };
  epoch = 0;
  gate: Promise<void> | undefined;
  readIssued = false;
  readonly #lifecycle: Lifecycle;
  readonly #sources: Sources;
  readonly #loops = new Map<number, ReadLoop>();
  readonly #stop = new AbortController();
  #discoverTimer: ReturnType<typeof setInterval> | undefined;
  #claimTimer: ReturnType<typeof setInterval> | undefined;
  #claiming: Promise<void> = Promise.resolve();

  private constructor(
    redis: Topology,
    config: StreamerConfig,
    lifecycle: Lifecycle,
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
  ) {
    super(streams, options);
    this.redis = redis;
    this.#lifecycle = lifecycle;
    this.messageField = Buffer.from(config.messageField);
    this.backoff = {
      initialMs: config.connection.reconnectInitialMs,
      maxMs: config.connection.reconnectMaxMs,
      maxAttempts: config.connection.maxReconnectAttempts,
    };
    const interval = options.extra.discoverIntervalMs ?? 2000;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 10)
      throw new StreamerError(
        'INVALID_ARGUMENT',
        `discoverIntervalMs must be a number of milliseconds >= 10, got ${String(interval)}`,
      );
    this.blockMs = interval;
    this.#sources = new Sources(
      redis,
      streams,
      options.group,
      optionalBoolean('createIfNotExists', options.extra.createIfNotExists, true),
    );
  }

  /** Anchors every key, so `latest` means "after this call", and starts reading. */
  static async open(
    redis: Topology,
    config: StreamerConfig,
    lifecycle: Lifecycle,
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
  ): Promise<RedisConsumer> {
    const consumer = new RedisConsumer(redis, config, lifecycle, streams, options);
    await consumer.#start();
    return consumer;
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  get readAhead(): number {
    return this.options.batchSize * Math.max(1, this.#loops.size);
  }

  async #start(): Promise<void> {
    let found: Source[];
    try {
      found = await this.#sources.discover(this.options.start);
    } catch (error) {
      // e.g. a group that cannot be created: the first next() says why, as SeaStreamer does.
      const failure = await this.#explain(
        error,
        `Cannot start the consumer of ${this.#sources.names()}`,
      );
      if (isConnectionError(error)) throw failure;
      this.queue.close(failure);
      return;
    }
    this.#spread(found);
    this.#discoverTimer = setInterval(() => this.#rediscover(), this.blockMs);
    this.#discoverTimer.unref?.();
    if (this.options.mode === 'loadBalanced') {
      this.#claimTimer = setInterval(
        () => {
          this.#claiming = this.#claiming.then(() => claimIdle(this, this.#active()));
        },
        Math.max(this.options.autoClaimIntervalMs, 1),
      );
      this.#claimTimer.unref?.();
    }
  }

  /** Hands new sources to the read loop of their read group, starting loops as needed. */
  #spread(sources: Source[]): void {
    for (const source of sources) {
      const group = this.redis.readGroupOf(source.key);
      const loop = this.#loops.get(group);
      if (loop) loop.add(source);
      else this.#loops.set(group, new ReadLoop(this, source));
    }
  }

  /** Looks for new shards while running (and keys that appeared since). */
  #rediscover(): void {
    if (this.signal.aborted) return;
    this.#sources.discover('earliest').then(
      (found) => this.#spread(found),
      // Redis away: the next round looks again. Anything else is for the user to see.
      (error) =>
        isConnectionError(error)
          ? this.report(
              toStreamerError(error, `Looking for new shards of ${this.#sources.names()} failed`),
            )
          : this.fail(error),
    );
  }

  protected override _lag(): Promise<Lag[]> {
    return sourcesLag(this.redis, this.#active(), this.options.group, this.queue.items());
  }

  #active(): Source[] {
    return [...this.#sources.byKey.values()].filter((s) => this.isAssigned(s.stream, s.shard));
  }

  /** Public here: the read loops ask it (ReadContext). */
  override isAssigned(stream: StreamKey, shard: ShardId): boolean {
    return super.isAssigned(stream, shard);
  }

  report(error: StreamerError): void {
    this.#lifecycle.report(error);
  }

  fail(error: unknown): void {
    if (this.signal.aborted) return;
    this.#stop.abort();
    this.#explain(error, `Reading ${this.#sources.names()} failed`).then((failure) => {
      this.queue.pushError(failure);
      this.queue.close(failure);
    });
    for (const loop of this.#loops.values()) loop.close();
  }

  async recreateGroups(sources: Source[]): Promise<void> {
    try {
      for (const source of sources) await this.#sources.createGroup(source.key, '0');
    } catch (cause) {
      throw toStreamerError(
        cause,
        `Cannot recreate consumer group ${JSON.stringify(this.options.group)}`,
      );
    }
  }

  protected _next(signal: AbortSignal | undefined): Promise<Message> {
    if (this.readIssued) {
      // node-redis writes commands from a setImmediate, and a caller taking buffered messages
      // never leaves the microtask queue: without this hop the read-ahead would only go out once
      // the queue ran dry, and Redis would idle while we decode (about 20% of a realtime read).
      this.readIssued = false;
      return new Promise((resolve) => setImmediate(resolve)).then(() =>
        signal?.aborted ? Promise.reject(abortError(signal)) : this._next(signal),
      );
    }
    // The hot path: nothing to filter per message.
    if (this.assignments.size === 0) return this.queue.shift(signal);
    return this.#nextAssigned(signal);
  }

  protected override _nextNow(): Message | undefined {
    return this.readIssued || this.assignments.size > 0 ? undefined : this.queue.shiftNow();
  }

  async #nextAssigned(signal: AbortSignal | undefined): Promise<Message> {
    for (;;) {
      const message = await this.queue.shift(signal);
      if (this.isAssigned(message.streamKey, message.shardId)) return message;
    }
  }

  protected async _end(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#discoverTimer);
    clearInterval(this.#claimTimer);
    this.queue.abort(new StreamerError('CONSUMER_ENDED', 'Consumer has ended'));
    const loops = [...this.#loops.values()];
    for (const loop of loops) loop.close();
    await Promise.allSettled([...loops.map((l) => l.done), this.#claiming]);
  }

  protected override _ackRef(message: MessageHeader): RedisAck {
    if (message instanceof RedisMessage) {
      return { redisKey: message.redisKey, entryId: message.entryId };
    }
    return super._ackRef(message);
  }

  protected override async _commit(acked: RedisAck[]): Promise<void> {
    const byKey = new Map<string, string[]>();
    const add = (key: string, id: string) => {
      let ids = byKey.get(key);
      if (!ids) byKey.set(key, (ids = []));
      ids.push(id);
    };
    for (const ack of acked) {
      if ('entryId' in ack) add(ack.redisKey, ack.entryId);
      else {
        // A header the caller built: shard 0 may be `name` or `name:0`; XACK of an id that is
        // not pending is a no-op, so both are acked.
        const id = sequenceToEntryId(ack.sequence);
        for (const key of this.#sources.keysOf(ack.streamKey, ack.shardId)) add(key, id);
      }
    }
    const group = this.options.group!;
    try {
      await Promise.all([...byKey].map(([key, ids]) => ackEntries(this.redis, key, group, ids)));
    } catch (error) {
      throw toStreamerError(error, `XACK in group ${JSON.stringify(group)} failed`);
    }
  }

  /** A timed commit failed (its acks are kept and retried): said like the read loop's failures. */
  protected override _reportError(error: unknown): void {
    this.report(toStreamerError(error, 'Committing acks failed'));
  }

  protected override async _rewind(to: SeqPos): Promise<void> {
    await this.#reposition((source) =>
      to === 'beginning'
        ? Promise.resolve('0-0')
        : to === 'end'
          ? this.#sources.lastId(source.key)
          : Promise.resolve(idBefore(to.at)),
    );
  }

  protected override async _seek(to: Date): Promise<void> {
    const before = idBefore(BigInt(to.getTime()) << 16n);
    await this.#reposition(() => Promise.resolve(before));
  }

  protected override _assignmentsChanged(): void {
    for (const loop of this.#loops.values()) loop.unblock();
  }

  /**
   * Realtime: moves each key's cursor. Groups: XGROUP SETID, which moves the whole group (every
   * member reads from there); entries already pending stay pending.
   */
  async #reposition(position: (source: Source) => Promise<string>): Promise<void> {
    const previous = this.gate;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = gate;
    try {
      await previous;
      await Promise.all([...this.#loops.values()].map((loop) => loop.quiesce()));
      this.#spread(await this.#sources.discover('earliest'));
      const sources = [...this.#sources.byKey.values()];
      const ids = await Promise.all(sources.map(position));
      const group = this.options.group;
      if (group !== undefined) {
        await Promise.all(sources.map((s, i) => setGroupId(this.redis, s.key, group, ids[i])));
      }
      // Only now, with Redis repositioned: whatever a read started before returns is stale.
      this.epoch++;
      for (const [i, source] of sources.entries()) {
        source.cursor = group === undefined ? ids[i] : '>';
        source.pushed = ids[i];
        source.replaying = false;
        source.claimed.clear();
      }
      this.queue.clear();
      for (const loop of this.#loops.values()) loop.unblock();
    } catch (error) {
      throw toStreamerError(error, 'Repositioning the consumer failed');
    } finally {
      if (this.gate === gate) this.gate = undefined;
      open();
    }
  }

  /**
   * Replayed or claimed entries reach a handler: their times-delivered becomes the count they
   * carry. Counted here, not by the read: one XCLAIM per handed-out count, not per page.
   */
  protected override _delivering(messages: readonly Message[]): Promise<void> {
    const byKeyAndCount = new Map<string, { key: string; count: number; ids: string[] }>();
    for (const m of messages) {
      if (!(m instanceof RedisMessage) || m.deliveryCount <= 1) continue;
      const slot = `${m.deliveryCount}\u0000${m.redisKey}`;
      let entry = byKeyAndCount.get(slot);
      if (!entry)
        byKeyAndCount.set(slot, (entry = { key: m.redisKey, count: m.deliveryCount, ids: [] }));
      entry.ids.push(m.entryId);
    }
    const { group, consumerId } = this.options;
    return Promise.all(
      [...byKeyAndCount.values()].map(({ key, count, ids }) =>
        countDelivery(this.redis, key, group!, consumerId, ids, count),
      ),
    ).then(
      () => {},
      // The handler runs anyway: a count not recorded only delays the dead letters.
      (error) => this.report(toStreamerError(error, 'Counting a delivery (XCLAIM) failed')),
    );
  }

  /** A failure as the user should see it: WRONGTYPE names the keys that are not streams. */
  async #explain(error: unknown, context: string): Promise<StreamerError> {
    if (!(error as Error)?.message?.startsWith('WRONGTYPE')) return toStreamerError(error, context);
    const keys = [...new Set([...this.streams, ...this.#sources.byKey.keys()])];
    const types = await Promise.all(
      keys.map((key) => this.redis.send(key, ['TYPE', key]).then(String, () => '?')),
    );
    const bad = keys
      .map((key, i) => [key, types[i]] as const)
      .filter(([, type]) => type !== 'stream' && type !== 'none')
      .map(([key, type]) => `${JSON.stringify(key)} holds a ${type}, not a stream`);
    return new StreamerError('BACKEND', `WRONGTYPE: key ${bad.join('; key ') || '(unknown)'}`, {
      cause: error,
    });
  }
}

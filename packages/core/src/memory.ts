import { AbstractConsumer, type AckRef } from './consumer.js';
import { publishReceive } from './diagnostics.js';
import { abortError, StreamerError } from './errors.js';
import type { Endable } from './internal.js';
import { StreamMessage, toBytes } from './message.js';
import {
  defineBackendOptions,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
} from './options.js';
import { AbstractProducer, type OutgoingMessage } from './producer.js';
import { AbstractStreamer } from './streamer.js';
import { defineSupports } from './supports.js';
import type {
  Backend,
  Lag,
  Message,
  Receipt,
  SeqPos,
  ShardId,
  StreamKey,
  Supports,
} from './types.js';

interface PendingEntry {
  owner: string;
  deliveredAt: number;
  /** Times handed out; a replay or a claim hands out a copy counting one more. */
  deliveries: number;
}

/** One (stream, shard): messages in order, sequence n at index n - 1, plus its consumer groups. */
class ShardLog {
  readonly messages: StreamMessage[] = [];
  readonly groups = new Map<string, { cursor: number; pending: Map<bigint, PendingEntry> }>();
  constructor(
    readonly stream: StreamKey,
    readonly shard: ShardId,
  ) {}

  group(name: string, start: 'earliest' | 'latest') {
    let group = this.groups.get(name);
    if (!group) {
      group = { cursor: start === 'latest' ? this.messages.length : 0, pending: new Map() };
      this.groups.set(name, group);
    }
    return group;
  }
}

/** The data of one `memory://name`: shared by every streamer of that name in this process. */
class MemoryStore {
  readonly streams = new Map<StreamKey, Map<ShardId, ShardLog>>();
  /** How many logs exist: consumers look for new ones only when it changed. */
  logCount = 0;
  #wakers = new Set<() => void>();

  log(stream: StreamKey, shard: ShardId): ShardLog {
    let shards = this.streams.get(stream);
    if (!shards) this.streams.set(stream, (shards = new Map()));
    let log = shards.get(shard);
    if (!log) {
      shards.set(shard, (log = new ShardLog(stream, shard)));
      this.logCount++;
    }
    return log;
  }

  append(message: OutgoingMessage): Receipt {
    const log = this.log(message.streamKey, message.shardId);
    const stored = new StreamMessage(
      message.streamKey,
      message.shardId,
      BigInt(log.messages.length + 1),
      message.timestamp ?? new Date(),
      typeof message.payload === 'string' ? toBytes(message.payload) : message.payload.slice(), // the caller may reuse its buffer
      Object.freeze({ ...message.headers }),
    );
    log.messages.push(stored);
    this.wake();
    const { streamKey, shardId, sequence, timestamp } = stored;
    return { streamKey, shardId, sequence, timestamp };
  }

  /** Wakes every reader waiting in changed(). */
  wake(): void {
    if (this.#wakers.size === 0) return;
    const wakers = [...this.#wakers];
    this.#wakers.clear();
    for (const wake of wakers) wake();
  }

  /** Resolves on the next append. */
  changed(signal: AbortSignal | undefined, stop: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#wakers.delete(done);
        signal?.removeEventListener('abort', aborted);
        stop.removeEventListener('abort', done);
        resolve();
      };
      const aborted = () => {
        this.#wakers.delete(done);
        stop.removeEventListener('abort', done);
        reject(abortError(signal));
      };
      this.#wakers.add(done);
      signal?.addEventListener('abort', aborted, { once: true });
      stop.addEventListener('abort', done, { once: true });
    });
  }
}

const stores = new Map<string, MemoryStore>();

export const MEMORY_SUPPORTS: Supports = defineSupports({
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

class MemoryProducer extends AbstractProducer {
  constructor(
    readonly store: MemoryStore,
    anchor: StreamKey | undefined,
    options: ResolvedProducerOptions,
  ) {
    super(anchor, options, MEMORY_SUPPORTS, 'memory');
  }

  protected _send(message: OutgoingMessage): Promise<Receipt> {
    return Promise.resolve(this.store.append(message));
  }
}

interface Source {
  log: ShardLog;
  /** realtime: index of the next message to read. */
  cursor: number;
}

class MemoryConsumer extends AbstractConsumer {
  readonly #store: MemoryStore;
  readonly #sources = new Map<ShardLog, Source>();
  /** The same sources in discovery order, for round robin without an array per message. */
  readonly #sourceList: Source[] = [];
  #knownLogs = -1;
  readonly #stop = new AbortController();
  readonly #claimTimer: ReturnType<typeof setInterval> | undefined;
  /** Group modes: this member's pending messages to hand out before new ones. */
  #replay: StreamMessage[] = [];
  #turn = 0;

  constructor(store: MemoryStore, streams: StreamKey[], options: ResolvedConsumerOptions) {
    super(streams, options, 'memory');
    this.#store = store;
    this.#discover(options.start);
    if (this.#group !== undefined) {
      for (const source of this.#sources.values()) this.#replayOwn(source.log);
    }
    if (options.mode === 'loadBalanced') {
      this.#claimTimer = setInterval(() => this.#claim(), Math.max(options.autoClaimIntervalMs, 1));
      this.#claimTimer.unref?.();
    }
  }

  get #group(): string | undefined {
    return this.options.group;
  }

  protected async _next(signal: AbortSignal | undefined): Promise<Message> {
    for (;;) {
      if (this.#stop.signal.aborted)
        throw new StreamerError('CONSUMER_ENDED', 'Consumer has ended');
      if (signal?.aborted) throw abortError(signal);
      const message = this._nextNow();
      if (message) return message;
      await this.#store.changed(signal, this.#stop.signal);
    }
  }

  protected override _nextNow(): Message | undefined {
    if (this.#stop.signal.aborted) return undefined;
    const message = this.#take();
    // Memory has no pages: each message is one.
    if (message) publishReceive('memory', this.#group, message.streamKey, message.shardId, 1);
    return message;
  }

  protected async _end(): Promise<void> {
    clearInterval(this.#claimTimer);
    this.#stop.abort();
  }

  protected override async _commit(acked: AckRef[]): Promise<void> {
    for (const header of acked) {
      const log = this.#store.streams.get(header.streamKey)?.get(header.shardId);
      log?.groups.get(this.#group!)?.pending.delete(header.sequence);
    }
  }

  /** Exact: what follows the cursor, plus pending messages waiting to be handed out again. */
  protected override async _lag(): Promise<Lag[]> {
    this.#discover('earliest');
    const lags: Lag[] = [];
    for (const { log, cursor } of this.#sourceList) {
      if (!this.isAssigned(log.stream, log.shard)) continue;
      const read = this.#group === undefined ? cursor : log.group(this.#group, 'earliest').cursor;
      let lag = log.messages.length - read;
      for (const m of this.#replay)
        if (m.streamKey === log.stream && m.shardId === log.shard) lag++;
      lags.push({ stream: log.stream, shard: log.shard, lag });
    }
    return lags;
  }

  protected override async _rewind(to: SeqPos): Promise<void> {
    this.#discover('earliest');
    for (const source of this.#sources.values()) {
      const length = source.log.messages.length;
      // Sequence n sits at index n - 1, the first message with a sequence >= n.
      const at = typeof to === 'object' ? Math.min(length, Math.max(0, Number(to.at) - 1)) : 0;
      this.#moveTo(source, to === 'end' ? length : at);
    }
  }

  protected override async _seek(to: Date): Promise<void> {
    this.#discover('earliest');
    const time = to.getTime();
    for (const source of this.#sources.values()) {
      const index = source.log.messages.findIndex((m) => m.timestamp.getTime() >= time);
      this.#moveTo(source, index < 0 ? source.log.messages.length : index);
    }
  }

  // A group's position is the group's, shared by its members (as a Redis XGROUP SETID).
  #moveTo(source: Source, index: number): void {
    if (this.#group === undefined) source.cursor = index;
    else {
      source.log.group(this.#group, 'earliest').cursor = index;
      this.#replay = [];
    }
  }

  /** Picks up streams and shards that appeared since the last look. */
  #discover(start: 'earliest' | 'latest'): void {
    if (this.#knownLogs === this.#store.logCount) return;
    this.#knownLogs = this.#store.logCount;
    for (const stream of this.streams) {
      for (const log of this.#store.streams.get(stream)?.values() ?? []) {
        if (this.#sources.has(log)) continue;
        const source = { log, cursor: start === 'latest' ? log.messages.length : 0 };
        if (this.#group !== undefined) log.group(this.#group, start);
        this.#sources.set(log, source);
        this.#sourceList.push(source);
      }
    }
  }

  #take(): StreamMessage | undefined {
    while (this.#replay.length > 0) {
      const message = this.#replay.shift()!;
      if (this.isAssigned(message.streamKey, message.shardId)) return message;
    }
    this.#discover('earliest'); // anything new appeared after this consumer started
    const sources = this.#sourceList;
    // Round robin over the sources, so a busy stream never starves a quiet one.
    for (let i = 0; i < sources.length; i++) {
      const source = sources[(this.#turn + i) % sources.length];
      if (!this.isAssigned(source.log.stream, source.log.shard)) continue;
      const message = this.#takeFrom(source);
      if (message) {
        this.#turn = (this.#turn + i + 1) % sources.length;
        return message;
      }
    }
    return undefined;
  }

  #takeFrom(source: Source): StreamMessage | undefined {
    const { messages } = source.log;
    if (this.#group === undefined) {
      return source.cursor < messages.length ? messages[source.cursor++] : undefined;
    }
    const group = source.log.group(this.#group, 'earliest');
    if (group.cursor >= messages.length) return undefined;
    const message = messages[group.cursor++];
    group.pending.set(message.sequence, {
      owner: this.options.consumerId,
      deliveredAt: Date.now(),
      deliveries: 1,
    });
    return message;
  }

  #replayOwn(log: ShardLog): void {
    const pending = log.groups.get(this.#group!)?.pending;
    for (const [sequence, entry] of pending ?? []) {
      if (entry.owner === this.options.consumerId) {
        entry.deliveredAt = Date.now();
        this.#replay.push(redelivery(log, sequence, entry));
      }
    }
    this.#replay.sort((a, b) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0));
  }

  /** A replayed or claimed message reached its handler: its entry counts the delivery. */
  protected override _delivering(messages: readonly Message[]): undefined {
    for (const m of messages) {
      const entry = this.#store.streams
        .get(m.streamKey)
        ?.get(m.shardId)
        ?.groups.get(this.#group!)
        ?.pending.get(m.sequence);
      if (entry?.owner === this.options.consumerId)
        entry.deliveries = Math.max(entry.deliveries, m.deliveryCount ?? 1);
    }
    return undefined;
  }

  /** Takes over other members' messages that have been pending longer than autoClaimIdleMs. */
  #claim(): void {
    const idleBefore = Date.now() - this.options.autoClaimIdleMs;
    let claimed = false;
    for (const { log } of this.#sources.values()) {
      for (const [sequence, entry] of log.groups.get(this.#group!)?.pending ?? []) {
        if (entry.owner === this.options.consumerId || entry.deliveredAt > idleBefore) continue;
        entry.owner = this.options.consumerId;
        entry.deliveredAt = Date.now();
        this.#replay.push(redelivery(log, sequence, entry));
        claimed = true;
      }
    }
    if (claimed) this.#store.wake();
  }
}

/**
 * A copy of a pending message counting its next delivery. The entry records it only when the copy
 * is handed out (`_delivering`): one replayed and never handed out does not count.
 */
function redelivery(log: ShardLog, sequence: bigint, entry: PendingEntry): StreamMessage {
  const m = log.messages[Number(sequence) - 1];
  return new StreamMessage(
    m.streamKey,
    m.shardId,
    m.sequence,
    m.timestamp,
    m.payload,
    m.headers,
    entry.deliveries + 1,
  );
}

class MemoryStreamer extends AbstractStreamer {
  readonly backend = 'memory';
  readonly supports = MEMORY_SUPPORTS;

  constructor(readonly store: MemoryStore) {
    super();
  }

  protected async _createProducer(stream: StreamKey | undefined, options: ResolvedProducerOptions) {
    return new MemoryProducer(this.store, stream, options) as MemoryProducer & Endable;
  }

  protected async _createConsumer(streams: StreamKey[], options: ResolvedConsumerOptions) {
    return new MemoryConsumer(this.store, streams, options) as MemoryConsumer & Endable;
  }

  protected async _disconnect(): Promise<void> {}
}

/**
 * `memory://[name]`: an in-process backend with the whole contract, for unit tests and for
 * trying things out. Streamers connected with the same name share their data.
 */
export const memoryBackend: Backend = {
  async connect(urls) {
    const name = urls[0].host;
    let store = stores.get(name);
    if (!store) stores.set(name, (store = new MemoryStore()));
    return new MemoryStreamer(store);
  },
};

// Core's options are all it reads: under strict: true, any other is a typo.
defineBackendOptions('memory', { protocols: ['memory'] });

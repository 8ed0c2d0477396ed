import { RESP_TYPES } from '@redis/client';
import {
  type Message,
  type MessageHeader,
  type SeqPos,
  StreamerError,
  type StreamKey,
} from '@streamer/core';
import {
  AbstractConsumer,
  type AckRef,
  AsyncQueue,
  abortError,
  backoffDelay,
  type ResolvedConsumerOptions,
  sleep,
} from '@streamer/core/backend';
import {
  isConnectionError,
  type Lifecycle,
  openClient,
  type RedisClient,
  send,
  toStreamerError,
} from './connection.js';
import { streamKeys } from './discovery.js';
import { idBefore, sequenceToEntryId } from './entry-id.js';
import { ackEntries, claimIdlePage, createGroup, type RawEntry, setGroupId } from './groups.js';
import { decodeEntry, parseShardKey, RedisMessage } from './layout.js';
import { optionalBoolean, type StreamerConfig } from './options.js';

/** One Redis key this consumer reads. */
interface Source {
  key: string;
  stream: StreamKey;
  shard: number;
  /**
   * Realtime: the last id read (XREAD reads after it; never `$`, which would skip what arrived
   * between two reads: SeaStreamer's #47/#48). Groups: `>` for new entries, or the last pending
   * id while this member's own pending list is replayed.
   */
  cursor: string;
  replaying: boolean;
  /** Groups: the last id put in the queue, where a replay after a lost connection starts. */
  pushed: string;
}

/**
 * What a commit needs of an acked message: its key and entry id (a RedisMessage has both), or a
 * position the caller built.
 */
type RedisAck = Pick<RedisMessage, 'redisKey' | 'entryId'> | AckRef;

/** XREAD/XREADGROUP reply: entries by key (see READ_OPTIONS), or null when none came. */
type ReadReply = Map<string, RawEntry[]> | null;

/**
 * XREAD's reply as a Map rather than as the client's flat array: node-redis allocates a map it
 * returns as an array at one site of its own, once per page, and each lives while the page
 * arrives. V8 ends up pretenuring that site, and an old-generation array holding each page kept
 * every page alive through the next scavenges: half the realtime read's speed went to the
 * garbage collector (measured). A Map comes from a constructor, which V8 never pretenures.
 */
const READ_OPTIONS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Map } };
/** A reply, and whether it came from replaying our own pending list. */
interface ReadResult {
  reply: ReadReply;
  replay: boolean;
}

/**
 * Reads Redis streams: a loop on a dedicated connection (BLOCK holds its socket) fills a queue of
 * about one page that `next()` takes from. Realtime mode tracks the last id per key; group modes
 * replay their own pending list, then read `>`.
 */
export class RedisConsumer extends AbstractConsumer<RedisAck> {
  readonly #client: RedisClient;
  readonly #config: StreamerConfig;
  readonly #lifecycle: Lifecycle;
  readonly #sources = new Map<string, Source>();
  readonly #queue = new AsyncQueue<RedisMessage>();
  readonly #mkstream: boolean;
  readonly #messageField: Buffer;
  readonly #discoverIntervalMs: number;
  #reader: RedisClient | undefined;
  #readerId: string | undefined;
  /** Bumped by rewind/seek: what a read started before returns is stale. */
  #epoch = 0;
  /** Set while rewind/seek moves the cursors: no read may start meanwhile. */
  #gate: Promise<void> | undefined;
  /** The read in flight, if any. */
  #reading: Promise<unknown> | undefined;
  #discovering: Promise<void> = Promise.resolve();
  /** Groups: the last read of new entries filled a page, so more are likely waiting. */
  #flowing = false;
  /** A read went out while messages are buffered: the next `_next` lets node-redis write it. */
  #readIssued = false;
  /** The last reply, cursors already moved past it: queued once the next read is out. */
  #unqueued: { results: ReadResult[]; epoch: number } | undefined;
  /** Wakes a loop that has no key to read (every shard unassigned) when assignments change. */
  #nudge: () => void = () => {};
  #lastDiscovery = 0;
  #stopped = false;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #claimTimer: ReturnType<typeof setInterval> | undefined;
  #claiming: Promise<void> = Promise.resolve();
  /** autoCommit 'immediate': delivered messages waiting for their XACK. */
  #delivered: RedisAck[] = [];
  #acking: Promise<void> | undefined;

  private constructor(
    client: RedisClient,
    config: StreamerConfig,
    lifecycle: Lifecycle,
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
  ) {
    super(streams, options);
    this.#client = client;
    this.#config = config;
    this.#lifecycle = lifecycle;
    this.#messageField = Buffer.from(config.messageField);
    this.#mkstream = optionalBoolean('mkstream', options.extra.mkstream, true);
    const interval = options.extra.discoverIntervalMs ?? 2000;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 10)
      throw new StreamerError(
        'INVALID_ARGUMENT',
        `discoverIntervalMs must be a number of milliseconds >= 10, got ${String(interval)}`,
      );
    this.#discoverIntervalMs = interval;
  }

  /** Opens the read connection and anchors every key, so `latest` means "after this call". */
  static async open(
    client: RedisClient,
    config: StreamerConfig,
    lifecycle: Lifecycle,
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
  ): Promise<RedisConsumer> {
    const consumer = new RedisConsumer(client, config, lifecycle, streams, options);
    await consumer.#start();
    return consumer;
  }

  get #group(): string | undefined {
    return this.options.group;
  }

  async #start(): Promise<void> {
    try {
      await this.#discover(this.options.start);
    } catch (error) {
      // e.g. a group that cannot be created: the first next() says why, as SeaStreamer does.
      const failure = (error as Error)?.message?.startsWith('WRONGTYPE')
        ? await this.#wrongType(error)
        : toStreamerError(error, `Cannot start the consumer of ${this.#names()}`);
      if (isConnectionError(error)) throw failure;
      this.#queue.close(failure);
      return;
    }
    this.#reader = await openClient(this.#config.connection, this.#lifecycle);
    this.#loop = this.#run();
    if (this.options.mode === 'loadBalanced') {
      this.#claimTimer = setInterval(
        () => {
          this.#claiming = this.#claiming.then(() => this.#claim());
        },
        Math.max(this.options.autoClaimIntervalMs, 1),
      );
      this.#claimTimer.unref?.();
    }
  }

  protected _next(signal: AbortSignal | undefined): Promise<Message> {
    if (this.#readIssued) {
      // node-redis writes commands from a setImmediate, and a caller taking buffered messages
      // never leaves the microtask queue: without this hop the read-ahead would only go out once
      // the queue ran dry, and Redis would idle while we decode (about 20% of a realtime read).
      this.#readIssued = false;
      return new Promise((resolve) => setImmediate(resolve)).then(() =>
        signal?.aborted ? Promise.reject(abortError(signal)) : this._next(signal),
      );
    }
    // The hot path: nothing to filter or ack per message.
    if (this.assignments.size === 0 && !this.#acksOnDelivery) return this.#queue.shift(signal);
    return this.#nextChecked(signal);
  }

  get #acksOnDelivery(): boolean {
    return this.#group !== undefined && this.options.autoCommit === 'immediate';
  }

  async #nextChecked(signal: AbortSignal | undefined): Promise<Message> {
    for (;;) {
      const message = await this.#queue.shift(signal);
      if (!this.isAssigned(message.streamKey, message.shardId)) continue;
      if (this.#acksOnDelivery) {
        this.#delivered.push(message); // acked within a tick: the message itself is its ref
        this.#acking ??= this.#ackDelivered();
      }
      return message;
    }
  }

  protected async _end(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort();
    clearInterval(this.#claimTimer);
    this.#queue.abort(new StreamerError('CONSUMER_ENDED', 'Consumer has ended'));
    // Closing the read connection interrupts a blocked XREAD at once.
    this.#reader?.destroy();
    await Promise.allSettled([this.#loop, this.#claiming, this.#acking]);
    await this.#ackDelivered().catch(() => {});
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
        for (const key of this.#keysOf(ack.streamKey, ack.shardId)) add(key, id);
      }
    }
    try {
      await Promise.all(
        [...byKey].map(([key, ids]) => ackEntries(this.#client, key, this.#group!, ids)),
      );
    } catch (error) {
      throw toStreamerError(error, `XACK in group ${JSON.stringify(this.#group)} failed`);
    }
  }

  protected override async _rewind(to: SeqPos): Promise<void> {
    await this.#reposition((source) =>
      to === 'beginning'
        ? Promise.resolve('0-0')
        : to === 'end'
          ? this.#lastId(source.key)
          : Promise.resolve(idBefore(to.at)),
    );
  }

  protected override async _seek(to: Date): Promise<void> {
    const before = idBefore(BigInt(to.getTime()) << 16n);
    await this.#reposition(() => Promise.resolve(before));
  }

  protected override _assignmentsChanged(): void {
    this.#unblock();
    this.#nudge();
  }

  /**
   * Realtime: moves each key's cursor. Groups: XGROUP SETID, which moves the whole group (every
   * member reads from there); entries already pending stay pending.
   */
  async #reposition(position: (source: Source) => Promise<string>): Promise<void> {
    const previous = this.#gate;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.#gate = gate;
    try {
      await previous;
      await this.#quiesce();
      await this.#discover('earliest');
      const sources = [...this.#sources.values()];
      const ids = await Promise.all(sources.map(position));
      if (this.#group !== undefined) {
        const group = this.#group;
        await Promise.all(sources.map((s, i) => setGroupId(this.#client, s.key, group, ids[i]!)));
      }
      // Only now, with Redis repositioned: whatever a read started before returns is stale.
      this.#epoch++;
      for (const [i, source] of sources.entries()) {
        source.cursor = this.#group === undefined ? ids[i]! : '>';
        source.pushed = ids[i]!;
        source.replaying = false;
      }
      this.#queue.clear();
      this.#unblock();
    } catch (error) {
      throw toStreamerError(error, 'Repositioning the consumer failed');
    } finally {
      if (this.#gate === gate) this.#gate = undefined;
      open();
    }
  }

  /** Waits until no read is in flight, unblocking it (again, in case it had not blocked yet). */
  async #quiesce(): Promise<void> {
    while (this.#reading) {
      const reading = this.#reading;
      this.#unblock();
      await Promise.race([reading.catch(() => {}), sleep(20)]);
    }
  }

  /** The id of the last entry of `key` ('0-0' when it has none). */
  async #lastId(key: string): Promise<string> {
    const last = await send<RawEntry[]>(this.#client, ['XREVRANGE', key, '+', '-', 'COUNT', '1']);
    return last?.[0]?.[0].toString() ?? '0-0';
  }

  /** Interrupts a blocked read so the loop picks up new cursors or keys at once. */
  #unblock(): void {
    if (!this.#readerId) return;
    // Without permission for CLIENT UNBLOCK the read ends by itself within discoverIntervalMs.
    send(this.#client, ['CLIENT', 'UNBLOCK', this.#readerId]).catch(() => {});
  }

  /** Finds the keys of every stream (shards included) and anchors the new ones. */
  #discover(start: 'earliest' | 'latest'): Promise<void> {
    // One at a time: two overlapping runs would both add a new key, the second with a new cursor.
    const run = this.#discovering.then(() => this.#discoverNow(start));
    this.#discovering = run.catch(() => {});
    return run;
  }

  async #discoverNow(start: 'earliest' | 'latest'): Promise<void> {
    this.#lastDiscovery = Date.now();
    const found = await Promise.all(this.streams.map((s) => streamKeys(this.#client, s)));
    for (const [i, stream] of this.streams.entries()) {
      const keys = found[i]!;
      // Realtime reads the plain key even before it exists; a group needs a stream to live on.
      if (!keys.includes(stream) && (this.#group === undefined || keys.length === 0))
        keys.unshift(stream);
      for (const key of keys) {
        if (this.#sources.has(key)) continue;
        const source: Source = {
          key,
          ...parseShardKey(key),
          stream,
          cursor: '0-0',
          replaying: this.#group !== undefined,
          pushed: '0-0',
        };
        if (this.#group === undefined) {
          if (start === 'latest') source.cursor = await this.#lastId(key);
        } else {
          await createGroup(
            this.#client,
            key,
            this.#group,
            start === 'latest' ? '$' : '0',
            this.#mkstream,
          );
          source.cursor = '0';
        }
        this.#sources.set(key, source);
      }
    }
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      try {
        if (this.#queue.length >= this.options.batchSize) this.#enqueue();
        await this.#queue.untilShorterThan(this.options.batchSize);
        if (this.#stopped) break;
        if (Date.now() - this.#lastDiscovery >= this.#discoverIntervalMs) {
          this.#enqueue();
          await this.#discover('earliest');
        }
        // For CLIENT UNBLOCK; a user not allowed CLIENT gets '' and no unblocking.
        this.#readerId ??= await send(this.#reader!, ['CLIENT', 'ID']).then(String, () => '');
        // No await between this check and issuing the read: a reposition either waits for this
        // read or this read waits for it, so a read never races XGROUP SETID on the server.
        if (this.#gate) {
          this.#enqueue();
          await this.#gate;
          continue;
        }
        if (this.#active().length === 0) {
          this.#enqueue();
          // Nothing assigned exists yet: look again after a while, or when assignments change.
          await new Promise<void>((resolve) => {
            this.#nudge = resolve;
            sleep(this.#discoverIntervalMs, this.#stop.signal).then(resolve, resolve);
          });
          continue;
        }
        const epoch = this.#epoch;
        const read = this.#read();
        // Decoding the last page (below) can fail and end the loop before this read is awaited:
        // its own failure then matters to no one, and must not surface as an unhandled rejection.
        read.catch(() => {});
        this.#reading = read;
        // Redis serves the next page while we decode the last one (decoding first idled it).
        this.#enqueue();
        this.#readIssued = this.#queue.length > 0;
        const results = await read.finally(() => {
          this.#reading = undefined;
        });
        if (epoch === this.#epoch && !this.#stopped) {
          for (const result of results) this.#advance(result);
          this.#unqueued = { results, epoch };
        }
        attempt = 0;
      } catch (error) {
        if (this.#stopped) break;
        this.#enqueue();
        const failure = await this.#recover(error, attempt++);
        if (failure) {
          this.#queue.pushError(failure);
          this.#queue.close(failure);
          break;
        }
      }
    }
  }

  #active(): Source[] {
    return [...this.#sources.values()].filter((s) => this.isAssigned(s.stream, s.shard));
  }

  /**
   * One XREAD, or XREADGROUP. While a group's new entries come in full pages, two reads go out at
   * once (no BLOCK), so Redis fills the next page while we decode this one; XREAD cannot, as each
   * read starts after the last id of the one before.
   */
  #read(): Promise<ReadResult[]> {
    if (this.#group === undefined) return this.#readRealtime().then((r) => [r]);
    if (!this.#flowing || this.#active().some((s) => s.replaying))
      return this.#readGroup(true).then((r) => [r]);
    return Promise.all([this.#readGroup(false), this.#readGroup(false)]);
  }

  #readRealtime(): Promise<ReadResult> {
    const sources = this.#active();
    const args = [
      'XREAD',
      'COUNT',
      String(this.options.batchSize),
      'BLOCK',
      String(this.#discoverIntervalMs),
      'STREAMS',
    ];
    for (const s of sources) args.push(s.key);
    for (const s of sources) args.push(s.cursor);
    return send<ReadReply>(this.#reader!, args, READ_OPTIONS).then((reply) => ({
      reply,
      replay: false,
    }));
  }

  #readGroup(block: boolean): Promise<ReadResult> {
    const all = this.#active();
    const replaying = all.filter((s) => s.replaying);
    const sources = replaying.length > 0 ? replaying : all;
    const args = [
      'XREADGROUP',
      'GROUP',
      this.#group!,
      this.options.consumerId,
      'COUNT',
      String(this.options.batchSize),
    ];
    // Replaying our own pending list returns at once; only reads of new entries block.
    if (replaying.length === 0 && block) args.push('BLOCK', String(this.#discoverIntervalMs));
    args.push('STREAMS');
    for (const s of sources) args.push(s.key);
    for (const s of sources) args.push(s.cursor);
    return send<ReadReply>(this.#reader!, args, READ_OPTIONS).then((reply) => {
      if (replaying.length > 0) {
        // A key absent from the reply, or with no entries, has no more pending entries for us.
        for (const s of replaying) {
          if (!reply?.get(s.key)?.length) {
            s.replaying = false;
            s.cursor = '>';
          }
        }
      }
      return { reply, replay: replaying.length > 0 };
    });
  }

  /** Moves the cursors past a reply, so the next read can go out before it is decoded. */
  #advance({ reply, replay }: ReadResult): void {
    if (!replay) this.#flowing = false;
    for (const [key, entries] of reply ?? []) {
      const source = this.#sources.get(key);
      if (!source || entries.length === 0) continue;
      if (this.#group === undefined || replay)
        source.cursor = entries[entries.length - 1]![0].toString();
      else if (entries.length >= this.options.batchSize) this.#flowing = true;
    }
  }

  /** Decodes the reply held back by `#run` into the queue, unless a reposition made it stale. */
  #enqueue(): void {
    const unqueued = this.#unqueued;
    this.#unqueued = undefined;
    if (unqueued === undefined || unqueued.epoch !== this.#epoch || this.#stopped) return;
    for (const { reply } of unqueued.results) if (reply) this.#accept(reply);
  }

  #accept(reply: NonNullable<ReadReply>): void {
    const gone: [string, string][] = [];
    for (const [key, entries] of reply) {
      const source = this.#sources.get(key);
      if (!source || entries.length === 0) continue;
      for (const [rawId, fields] of entries) {
        const id = rawId.toString();
        if (fields === null) {
          gone.push([key, id]); // deleted while pending: nothing to deliver, nothing to keep
          continue;
        }
        this.#queue.push(
          decodeEntry(key, source.stream, source.shard, id, fields, this.#messageField),
        );
      }
      source.pushed = entries[entries.length - 1]![0].toString();
    }
    for (const [key, id] of gone) ackEntries(this.#client, key, this.#group!, [id]).catch(() => {});
  }

  /** Decides what a failed read means: undefined to read again, or the error to end with. */
  async #recover(error: unknown, attempt: number): Promise<StreamerError | undefined> {
    const message = (error as Error)?.message ?? '';
    if (message.startsWith('WRONGTYPE')) return this.#wrongType(error);
    const deleted = message.startsWith('NOGROUP') || message.startsWith('UNBLOCKED');
    if (deleted && this.#group !== undefined) {
      // The key was deleted (and maybe re-created) under us, while we read (UNBLOCKED) or
      // between reads (NOGROUP): recreate the group and go on.
      try {
        for (const source of this.#sources.values()) {
          await createGroup(this.#client, source.key, this.#group, '0', this.#mkstream);
        }
        return undefined;
      } catch (cause) {
        return toStreamerError(
          cause,
          `Cannot recreate consumer group ${JSON.stringify(this.#group)}`,
        );
      }
    }
    if (!isConnectionError(error)) return toStreamerError(error, `Reading ${this.#names()} failed`);
    this.#readerId = undefined; // a new connection has a new id
    if (this.#group !== undefined) {
      // A read whose reply was lost still moved its entries into our pending list: replay the
      // list after the last entry we queued (what came before is delivered or in the queue).
      for (const source of this.#sources.values()) {
        source.replaying = true;
        source.cursor = source.pushed;
      }
    }
    this.#lifecycle.report(toStreamerError(error, 'Reading from Redis failed, retrying'));
    await sleep(
      backoffDelay(attempt, {
        initialMs: this.#config.connection.reconnectInitialMs,
        maxMs: this.#config.connection.reconnectMaxMs,
      }),
      this.#stop.signal,
    ).catch(() => {});
    return undefined;
  }

  async #wrongType(error: unknown): Promise<StreamerError> {
    const keys = [...new Set([...this.streams, ...this.#sources.keys()])];
    const types = await Promise.all(
      keys.map((key) => send(this.#client, ['TYPE', key]).then(String, () => '?')),
    );
    const bad = keys
      .map((key, i) => [key, types[i]] as const)
      .filter(([, type]) => type !== 'stream' && type !== 'none')
      .map(([key, type]) => `${JSON.stringify(key)} holds a ${type}, not a stream`);
    return new StreamerError('BACKEND', `WRONGTYPE: key ${bad.join('; key ') || '(unknown)'}`, {
      cause: error,
    });
  }

  /** loadBalanced failover: takes over entries other members left pending for autoClaimIdleMs. */
  async #claim(): Promise<void> {
    for (const source of this.#active()) {
      try {
        // A page at a time, as fast as they are consumed: a dead member's backlog never floods memory.
        for (let start: string | undefined = '-'; start !== undefined; ) {
          await this.#queue.untilShorterThan(this.options.batchSize);
          if (this.#stopped || this.#queue.closed) return;
          const page = await claimIdlePage(
            this.#client,
            source.key,
            this.#group!,
            this.options.consumerId,
            this.options.autoClaimIdleMs,
            this.options.batchSize,
            start,
          );
          if (this.#stopped) return; // claimed but not handed out: they go to the next claimer
          for (const [rawId, fields] of page.entries) {
            const id = rawId.toString();
            this.#queue.push(
              decodeEntry(source.key, source.stream, source.shard, id, fields, this.#messageField),
            );
          }
          start = page.next;
        }
      } catch (error) {
        this.#lifecycle.report(
          toStreamerError(error, `Claiming idle entries of ${JSON.stringify(source.key)} failed`),
        );
      }
    }
  }

  /** autoCommit 'immediate': what next() handed out is acked in one XACK per key, a tick later. */
  async #ackDelivered(): Promise<void> {
    await Promise.resolve();
    while (this.#delivered.length > 0) {
      const batch = this.#delivered.splice(0);
      await this._commit(batch).catch((error) =>
        this.#lifecycle.report(toStreamerError(error, 'XACK failed')),
      );
    }
    this.#acking = undefined;
  }

  /** The keys read, for error messages. */
  #names(): string {
    const keys = this.#sources.size > 0 ? [...this.#sources.keys()] : this.streams;
    return keys.map((key) => JSON.stringify(key)).join(', ');
  }

  /** The keys a message of (stream, shard) can come from: shard 0 is `name` or `name:0`. */
  #keysOf(stream: StreamKey, shard: number): string[] {
    const keys: string[] = [];
    for (const source of this.#sources.values()) {
      if (source.stream === stream && source.shard === shard) keys.push(source.key);
    }
    return keys;
  }
}

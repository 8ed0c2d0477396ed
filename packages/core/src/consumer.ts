import { AckTracker } from './acks.js';
import { publishCommit, traceProcess, tracingProcess } from './diagnostics.js';
import { abortError, invalidArgument, isStreamerError, StreamerError } from './errors.js';
import { type Endable, giveUp, madeBy, onEnd } from './internal.js';
import { totalLag } from './lag.js';
import type { ResolvedConsumerOptions } from './options.js';
import { Runner, runningError } from './run.js';
import { resolveRunOptions } from './run-options.js';
import { validateShardId, validateStreamKey } from './stream-key.js';
import type {
  Consumer,
  Lag,
  Message,
  MessageHeader,
  NextOptions,
  Run,
  RunOptions,
  SeqPos,
  ShardId,
  Streamer,
  StreamKey,
} from './types.js';

function validateSeqPos(to: unknown): SeqPos {
  if (to === 'beginning' || to === 'end') return to;
  if (typeof to === 'object' && to !== null && 'at' in to) {
    const at = (to as { at: unknown }).at;
    if (typeof at === 'bigint' && at >= 0n) return { at };
    if (typeof at === 'number' && Number.isSafeInteger(at) && at >= 0) return { at: BigInt(at) };
  }
  throw invalidArgument(
    'rewind position',
    to,
    "'beginning', 'end' or { at: sequence } with a non-negative bigint",
  );
}

function validateHeader(message: unknown): MessageHeader {
  const m = message as MessageHeader | undefined;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.streamKey !== 'string' ||
    typeof m.sequence !== 'bigint' ||
    typeof m.shardId !== 'number'
  ) {
    throw invalidArgument(
      'message',
      message,
      'a message or its header (streamKey, shardId, sequence)',
    );
  }
  return m;
}

/**
 * What the autoCommit policy keeps of an acked message until it is committed: its position. The
 * message itself would keep its payload alive for autoCommitDelayMs (5 s by default, hundreds of
 * MB on a busy group). A backend that needs more to commit overrides `_ackRef`.
 */
export type AckRef = Pick<MessageHeader, 'streamKey' | 'shardId' | 'sequence'>;

/**
 * What every backend's consumer shares: argument checks, the ended state, AbortSignal, async
 * iteration, and the autoCommit policy of group modes. A backend implements `_next`, `_end`, and
 * whichever of `_seek`, `_rewind`, `_commit`, `_assignmentsChanged` it supports.
 */
export abstract class AbstractConsumer<Ack = AckRef> implements Consumer, Endable {
  readonly streams: readonly StreamKey[];
  readonly options: ResolvedConsumerOptions;
  /** Shards explicitly assigned per stream; a stream absent here reads every shard. */
  protected readonly assignments = new Map<StreamKey, Set<ShardId>>();
  readonly #acks: AckTracker<Ack> | undefined;
  /** 'The stdio' or 'This': how errors name the backend. */
  readonly #backend: string;
  #ending: Promise<void> | undefined;
  #aborted = false;
  #endListeners: (() => void)[] = [];
  /** The run handing this consumer's messages out, if any. */
  #run: Runner | undefined;
  [madeBy]?: Streamer;
  readonly #onAbort = () => {
    this.#aborted = true;
    this.end().catch(() => {});
  };

  /** `backend` (e.g. 'stdio') names the backend in the errors of what it cannot do. */
  constructor(streams: readonly StreamKey[], options: ResolvedConsumerOptions, backend?: string) {
    this.#backend = backend === undefined ? 'This' : `The ${backend}`;
    this.streams = streams;
    this.options = options;
    if (options.mode !== 'realtime') {
      this.#acks = new AckTracker(
        options.autoCommit,
        options.autoCommitDelayMs,
        options.autoCommitIntervalMs,
        (message) => this._ackRef(message),
        (acked) => this._commit(acked),
        {
          timeoutMs: options.commitTimeoutMs,
          onTimedFailure: (error) => this._reportError(error),
          onCommitted: (count, startedAt, error) =>
            publishCommit(this.#backendName, options.group, count, startedAt, error),
        },
      );
    }
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * The next message; when the consumer ends it must reject with CONSUMER_ENDED. When `signal`
   * aborts, reject with `abortError(signal)` and take no message for this call.
   */
  protected abstract _next(signal: AbortSignal | undefined): Promise<Message>;
  /**
   * The next message if one is ready now, without a promise, else undefined; `_next` is then
   * called. What `_next` called now would take, with the same checks: no message an earlier,
   * still waiting `_next` call is owed (`AsyncQueue` hands pushed items to waiting readers
   * first, so `shiftNow()` keeps this). A read loop that drains a backend's read-ahead saves a
   * promise per message. By default none is ever ready.
   */
  protected _nextNow(): Message | undefined {
    return undefined;
  }

  /** Stops reading and releases resources. Acks are committed before this is called. */
  protected abstract _end(): Promise<void>;

  protected _seek(_to: Date): Promise<void> {
    return Promise.reject(new StreamerError('UNSUPPORTED', `${this.#backend} backend cannot seek`));
  }

  protected _rewind(_to: SeqPos): Promise<void> {
    return Promise.reject(
      new StreamerError('UNSUPPORTED', `${this.#backend} backend cannot rewind`),
    );
  }

  /** What is kept of an acked message for `_commit`; the default (its position) fits `AckRef`. */
  protected _ackRef(message: MessageHeader): Ack {
    const { streamKey, shardId, sequence } = message;
    return { streamKey, shardId, sequence } as Ack;
  }

  /**
   * Makes these acks durable (group modes). Reject with a retriable StreamerError when trying
   * again may work (a lost connection): the commit is retried with backoff for
   * `commitTimeoutMs`. Any other error fails the commit at once. The acks are kept either way.
   */
  protected _commit(_acked: Ack[]): Promise<void> {
    return Promise.resolve();
  }

  /**
   * A failure nobody awaits: a timed commit (autoCommit 'delayed' or 'rolling') that failed. Its
   * acks are kept for the next commit. A backend reports it as it reports others (Redis: the
   * streamer's `error` event); by default it is dropped.
   */
  protected _reportError(_error: unknown): void {}

  /**
   * A redelivered message (`deliveryCount` above 1) is about to reach its handler (under a run)
   * or the caller of `next()`. A backend that counts deliveries records the count here rather
   * than when it reads the message, so a message read ahead and never handed out does not count.
   * Must not reject: a count it cannot record is the backend's to report.
   */
  protected _delivering(_messages: readonly Message[]): Promise<void> | undefined {
    return undefined;
  }

  /**
   * Per stream and shard this consumer reads, how many messages are stored after what it (its
   * group, in group modes) has read, counting what it read ahead and has not handed out (see
   * `lag()`). By default: undefined for each stream, where a backend cannot tell.
   */
  protected _lag(): Promise<Lag[]> {
    return Promise.resolve(this.streams.map((stream) => ({ stream, shard: 0, lag: undefined })));
  }

  /** Called after `assignments` changed. */
  protected _assignmentsChanged(): void {}

  get ended(): boolean {
    return this.#ending !== undefined;
  }

  /** Whether this consumer reads `shard` of `stream`. */
  protected isAssigned(stream: StreamKey, shard: ShardId): boolean {
    const shards = this.assignments.get(stream);
    return shards === undefined || shards.has(shard);
  }

  next(options?: NextOptions): Promise<Message> {
    if (this.ended) return Promise.reject(this.#endedError());
    if (this.#run) return Promise.reject(runningError('next() was called'));
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(invalidArgument('signal', signal, 'an AbortSignal'));
    }
    return this.#take(signal);
  }

  /** next() past its checks: what a run reads with when nothing is ready. */
  #take(signal: AbortSignal | undefined): Promise<Message> {
    if (!signal?.aborted) {
      const now = this.#takeNow();
      if (now !== undefined) return Promise.resolve(now);
    }
    const next = this._next(signal);
    if (this.#acks === undefined && !this.options.signal) return next;
    return next.then(this.#delivered, this.#failed);
  }

  /** A message ready now, delivered (a promise only while a redelivery's count is recorded). */
  #takeNow(): Message | Promise<Message> | undefined {
    const message = this._nextNow();
    return message === undefined ? undefined : this.#delivered(message);
  }

  // Shared by every next() call: two closures per message would be garbage for nothing.
  readonly #delivered = (message: Message): Message | Promise<Message> => {
    this.#acks?.delivered(message);
    // Under a run the count is recorded when a handler starts, not when the run takes it.
    if (this.#run || !((message.deliveryCount ?? 1) > 1)) return message;
    return this._delivering([message])?.then(() => message) ?? message;
  };

  readonly #failed = (error: unknown): never => {
    throw this.#aborted && isStreamerError(error, 'CONSUMER_ENDED')
      ? abortError(this.options.signal)
      : error;
  };

  run(options: RunOptions): Run {
    const resolved = resolveRunOptions(options, this.streams);
    if (this.ended) throw this.#endedError();
    if (this.#run) throw runningError('run() was called');
    const streamer = this[madeBy];
    if (resolved.deadLetter && !streamer) {
      throw new StreamerError(
        'UNSUPPORTED',
        'deadLetter needs a consumer made by a streamer, to create its producer on',
      );
    }
    const acks = this.#acks;
    if (acks) acks.running = true;
    this.#run = new Runner(resolved, {
      take: (signal) => this.#take(signal),
      // Under a run #delivered returns the message itself: the run records redeliveries.
      takeNow: () => this.#takeNow() as Message | undefined,
      ack: (message) => acks?.ack(message),
      delivering: (messages) => this._delivering(messages),
      commit: () => acks?.flush() ?? Promise.resolve(),
      batchSize: this.options.batchSize,
      createProducer: () => streamer!.createProducer(),
      headers: streamer?.supports.headers ?? false,
      trace: (messages, attempt, deliveryCount, call) =>
        traceProcess(this.#processEvent(messages, attempt, deliveryCount), call),
      finished: () => {
        if (acks) acks.running = false;
        this.#run = undefined;
      },
    });
    return this.#run;
  }

  /**
   * Calls `fn(message)` as one traced handler call (TracingChannel `streamer:process`), for a
   * `for await` loop: what `run()` does for each of its handler calls. Resolves or rejects as
   * `fn` does; acks nothing.
   */
  process<T>(message: Message, fn: (message: Message) => T | Promise<T>): Promise<T> {
    try {
      validateHeader(message);
      if (typeof fn !== 'function') throw invalidArgument('fn', fn, 'a function');
    } catch (error) {
      return Promise.reject(error);
    }
    if (!tracingProcess()) return Promise.resolve().then(() => fn(message));
    return Promise.resolve().then(() =>
      traceProcess(this.#processEvent([message], 1, message.deliveryCount ?? 1), () => fn(message)),
    );
  }

  /**
   * How far behind this consumer is: per stream and shard, how many messages are stored after
   * what it (its group, in group modes) has read, or undefined where the backend cannot tell.
   * Messages read ahead but not yet returned by `next()` or handed to a `run()` handler count:
   * lag is what the application has not been given yet.
   */
  async lag(): Promise<Lag[]> {
    if (this.ended) throw this.#endedError();
    return totalLag(await this._lag(), this.#run?.queued());
  }

  get #backendName(): string {
    return this[madeBy]?.backend ?? 'unknown';
  }

  #processEvent(messages: readonly Message[], attempt: number, deliveryCount: number) {
    return {
      backend: this.#backendName,
      group: this.options.group,
      messages,
      deliveryCount,
      attempt,
    };
  }

  seek(to: Date): Promise<void> {
    if (!(to instanceof Date) || Number.isNaN(to.getTime())) {
      return Promise.reject(invalidArgument('seek target', to, 'a valid Date'));
    }
    if (this.ended) return Promise.reject(this.#endedError());
    return this._seek(to);
  }

  rewind(to: SeqPos): Promise<void> {
    let position: SeqPos;
    try {
      position = validateSeqPos(to);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.ended) return Promise.reject(this.#endedError());
    return this._rewind(position);
  }

  assign(stream: StreamKey, shard: ShardId): void {
    validateStreamKey(stream);
    validateShardId(shard);
    if (!this.streams.includes(stream)) {
      throw invalidArgument(
        'stream',
        stream,
        `one of this consumer's streams (${this.streams.join(', ')})`,
      );
    }
    let shards = this.assignments.get(stream);
    if (!shards) this.assignments.set(stream, (shards = new Set()));
    shards.add(shard);
    this._assignmentsChanged();
  }

  unassign(stream: StreamKey, shard: ShardId): void {
    validateStreamKey(stream);
    validateShardId(shard);
    const shards = this.assignments.get(stream);
    if (!shards?.delete(shard)) {
      throw invalidArgument(
        'shard',
        shard,
        `a shard assigned to ${JSON.stringify(stream)} with assign()`,
      );
    }
    this._assignmentsChanged();
  }

  ack(message: MessageHeader): void {
    validateHeader(message);
    this.#acks?.ack(message);
  }

  commit(): Promise<void> {
    if (this.ended) return Promise.reject(this.#endedError());
    return this.#acks ? this.#acks.commit() : Promise.resolve();
  }

  end(): Promise<void> {
    this.#ending ??= (async () => {
      this.options.signal?.removeEventListener('abort', this.#onAbort);
      try {
        // Its handlers finish and their acks are committed below; its failure is run.done's.
        await this.#run?.stop().catch(() => {});
        await this.#acks?.end();
      } finally {
        await this._end();
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

  [giveUp](): void {
    this.#acks?.giveUp();
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => {
        // A message ready now costs one promise, not a chain of three.
        const now = this.ended || this.#run ? undefined : this.#takeNow();
        if (now === undefined) return this.next().then(this.#iterated, this.#iterationEnded);
        return now instanceof Promise
          ? now.then(this.#iterated)
          : Promise.resolve(this.#iterated(now));
      },
      // `break` (or a throw in the loop body) ends the consumer; unprocessed messages stay unacked.
      return: () => this.end().then(() => ({ value: undefined, done: true })),
    };
  }

  // Shared by every step of a for-await loop, as #delivered is by next().
  readonly #iterated = (value: Message): IteratorResult<Message> => ({ value, done: false });

  readonly #iterationEnded = (error: unknown): IteratorResult<Message> => {
    // The natural ends of a stream end the loop; anything else (ABORTED included) is thrown.
    if (
      isStreamerError(error, 'STREAM_ENDED') ||
      (isStreamerError(error, 'CONSUMER_ENDED') && !this.#aborted)
    ) {
      return { value: undefined, done: true };
    }
    throw error;
  };

  #endedError(): StreamerError {
    return this.#aborted
      ? abortError(this.options.signal)
      : new StreamerError('CONSUMER_ENDED', 'Consumer has ended: create a new one');
  }
}

import { tracingProcess } from './diagnostics.js';
import { describeValue, invalidArgument, isStreamerError, StreamerError } from './errors.js';
import type { ResolvedRunOptions } from './run-options.js';
import { sleep } from './timers.js';
import type {
  BatchContext,
  Message,
  MessageContext,
  MessageHeader,
  Producer,
  Run,
  RunStats,
  ShardId,
  StreamKey,
} from './types.js';

/** What a run needs of its consumer: reading and acking past the checks that refuse them to users. */
export interface RunHost {
  take(signal: AbortSignal): Promise<Message>;
  /** A message ready now, else undefined: the read loop drains these without a promise each. */
  takeNow(): Message | undefined;
  ack(message: MessageHeader): void;
  /** Redelivered messages are about to reach a handler: the backend records their count. */
  delivering(messages: readonly Message[]): Promise<void> | undefined;
  /** Commits every ack, whatever the autoCommit mode. */
  commit(): Promise<void>;
  /** Messages read per round trip: the run's page. */
  batchSize: number;
  /** Creates the dead-letter producer, on the consumer's streamer. */
  createProducer(): Promise<Producer>;
  /** Whether that producer stores headers (`streamer.supports.headers`). */
  headers: boolean;
  /** The run has stopped: the consumer is free again. */
  finished(): void;
  /** Makes one handler call a traced one (TracingChannel `streamer:process`). */
  trace(messages: Message[], attempt: number, deliveryCount: number, call: () => unknown): unknown;
}

/** The names of the headers a dead letter gets, besides the message's own. */
export const DEAD_LETTER_HEADERS = {
  stream: 'dead-letter-stream',
  shard: 'dead-letter-shard',
  sequence: 'dead-letter-sequence',
  deliveryCount: 'dead-letter-delivery-count',
  error: 'dead-letter-error',
} as const;

/** A dead letter's error header is cut to this many characters: a stack can be long. */
const MAX_ERROR_LENGTH = 1000;

/** What one handler call covers: a message, or a batch (one shard's with ordering 'shard'). */
interface Job {
  messages: Message[];
  /** The lane of the first message: with ordering 'shard', of every one. */
  lane: Lane;
  /** eachBatch: messages acked early with ctx.ack(). */
  acked?: Set<Message>;
}

/**
 * One (stream, shard). `order` holds its taken messages in the order they came, `done` the ones
 * finished: a message is acked only once every one before it is, so a commit (a position, on
 * file and memory) never moves past a message whose handler has not finished, however handlers
 * complete, and nothing after a failed message of its shard is acked.
 */
interface Lane {
  busy: boolean;
  order: Message[];
  head: number;
  done: Set<Message>;
}

/** Resolves on the next `set()`: how the read loop waits for room, resume() or stop(). */
class Signal {
  #wake: (() => void) | undefined;
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }
  set(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * A consumer's run: one read loop takes messages (at most `concurrency` plus one page ahead of
 * the handlers, so memory stays flat), lanes keep each shard in order, and each job retries,
 * dead-letters or stops the run when its handler fails.
 */
export class Runner implements Run {
  readonly #o: ResolvedRunOptions;
  readonly #host: RunHost;
  readonly #limit: number;
  /**
   * eachMessage with ordering 'shard': a lane runs one message at a time, in the order it came,
   * so its messages finish in order and are acked as they finish, without the lane's bookkeeping.
   */
  readonly #inOrder: boolean;
  readonly #lanes = new Map<StreamKey, Map<ShardId, Lane>>();
  #lastLane: { stream: StreamKey; shard: ShardId; lane: Lane } | undefined;
  /** Jobs taken and not started, in the order they came, from #head on. */
  #waiting: Job[] = [];
  #head = 0;
  readonly #stop = new AbortController();
  readonly #room = new Signal();
  readonly #firstCall: MessageContext = Object.freeze({
    attempt: 1,
    deliveryCount: 1,
    signal: this.#stop.signal,
  });
  readonly #stats: RunStats = { processed: 0, failed: 0, retried: 0, deadLettered: 0, inFlight: 0 };
  #paused = false;
  #running = 0;
  /** Messages taken and not finished (running, waiting, or waiting for a retry). */
  #taken = 0;
  #error: unknown;
  /** The source ended (STREAM_ENDED): the run stops once what it took is finished. */
  #sourceEnded = false;
  #idle: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #producer: Promise<Producer> | undefined;
  /** eachBatch: a take that had not resolved when a page was closed; the next page starts with it. */
  #pendingTake: Promise<Message> | undefined;
  readonly done: Promise<void>;
  #settle!: (error?: unknown) => void;
  readonly #onAbort = () => {
    this.stop().catch(() => {});
  };

  constructor(options: ResolvedRunOptions, host: RunHost) {
    this.#o = options;
    this.#host = host;
    const page = host.batchSize;
    this.#inOrder = options.eachMessage !== undefined && options.ordering === 'shard';
    this.#limit = options.eachBatch ? (options.concurrency + 1) * page : options.concurrency + page;
    this.done = new Promise((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    if (options.signal?.aborted) {
      this.stop().catch(() => {});
      return;
    }
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    // Not before the consumer holds this run: a message taken now is delivered as one of a run's.
    queueMicrotask(() => this.#read().catch((error) => this.#fail(error)));
  }

  get paused(): boolean {
    return this.#paused;
  }

  get stats(): RunStats {
    return { ...this.#stats };
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#dispatch();
    this.#room.set();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    this.#stopped = true;
    this.#stop.abort();
    this.#room.set();
    // Waiting jobs never start: their messages stay unacked, and come back to a later consumer.
    for (const job of this.#queued()) this.#taken -= job.messages.length;
    this.#waiting = [];
    this.#head = 0;
    if (this.#running > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    let error = this.#error;
    try {
      await this.#host.commit();
    } catch (commitError) {
      error ??= commitError;
      throw commitError;
    } finally {
      const producer = this.#producer;
      if (producer) await producer.then((p) => p.end()).catch(() => {});
      this.#host.finished();
      this.#settle(error);
    }
  }

  /** Stops the run with `error` as the reason `done` rejects. */
  #fail(error: unknown): void {
    this.#error ??= error;
    this.stop().catch(() => {});
  }

  /** `#stop.signal.aborted`, as a field: the read loop and each job look, and the getter costs. */
  #stopped = false;

  async #read(): Promise<void> {
    const signal = this.#stop.signal;
    while (!this.#stopped) {
      if (this.#paused || this.#taken >= this.#limit) {
        await this.#room.wait();
        continue;
      }
      let page: Message | Message[] | undefined = this.#o.eachBatch
        ? undefined
        : this.#host.takeNow();
      try {
        page ??= this.#o.eachBatch ? await this.#takePage(signal) : await this.#host.take(signal);
      } catch (error) {
        if (this.#stopped) return;
        // The source ended (file without follow, stdio at EOF): finish what was taken, then stop.
        if (isStreamerError(error, 'STREAM_ENDED')) {
          this.#sourceEnded = true;
          if (this.#taken === 0) this.stop().catch(() => {});
          return;
        }
        throw error;
      }
      // Taken as stop() began: dropped unacked, so a later consumer gets it.
      if (this.#stopped) return;
      this.#add(page);
      this.#dispatch();
    }
  }

  /** One page: the next message, and those that come with it (no wait for more), up to a page. */
  async #takePage(signal: AbortSignal): Promise<Message[]> {
    const first = this.#pendingTake ?? this.#host.take(signal);
    this.#pendingTake = undefined;
    const page = [await first];
    const max = Math.min(this.#host.batchSize, this.#limit - this.#taken);
    while (page.length < max) {
      const now = this.#host.takeNow();
      if (now !== undefined) {
        page.push(now);
        continue;
      }
      const next = this.#host.take(signal);
      const message = await Promise.race([
        next,
        new Promise<undefined>((r) => setImmediate(() => r(undefined))),
      ]);
      if (message === undefined) {
        // Not lost: the take goes on, and its message opens the next page.
        this.#pendingTake = next;
        next.catch(() => {});
        break;
      }
      page.push(message);
    }
    return page;
  }

  #lane(message: Message): Lane {
    // Consecutive messages mostly come from one shard: two map lookups per message saved.
    const last = this.#lastLane;
    if (last && last.shard === message.shardId && last.stream === message.streamKey)
      return last.lane;
    let shards = this.#lanes.get(message.streamKey);
    if (!shards) this.#lanes.set(message.streamKey, (shards = new Map()));
    let lane = shards.get(message.shardId);
    if (!lane)
      shards.set(message.shardId, (lane = { busy: false, order: [], head: 0, done: new Set() }));
    this.#lastLane = { stream: message.streamKey, shard: message.shardId, lane };
    return lane;
  }

  /** Queues a message (eachMessage) or a page (eachBatch). */
  #add(page: Message | Message[]): void {
    if (!Array.isArray(page)) {
      this.#taken++;
      const lane = this.#lane(page);
      if (!this.#inOrder) lane.order.push(page);
      this.#waiting.push({ messages: [page], lane });
      return;
    }
    this.#taken += page.length;
    // A batch per shard with ordering 'shard', so that one shard's batches run in order.
    const byLane = new Map<Lane, Message[]>();
    for (const message of page) {
      const lane = this.#lane(message);
      lane.order.push(message);
      const messages = byLane.get(lane);
      if (messages) messages.push(message);
      else byLane.set(lane, [message]);
    }
    if (this.#o.ordering === 'none') {
      this.#waiting.push({ messages: page, lane: byLane.keys().next().value as Lane });
    } else {
      for (const [lane, messages] of byLane) this.#waiting.push({ messages, lane });
    }
  }

  /** Starts a worker per free handler slot while jobs may start. */
  #dispatch(): void {
    while (this.#running < this.#o.concurrency) {
      const job = this.#nextJob();
      if (!job) return;
      this.#running++;
      this.#work(job);
    }
  }

  /** Takes the first waiting job that may start (with ordering 'shard', one per lane at a time). */
  #nextJob(): Job | undefined {
    if (this.#paused || this.#stopped) return undefined;
    const shardOrder = this.#o.ordering === 'shard';
    const waiting = this.#waiting;
    for (let i = this.#head; i < waiting.length; i++) {
      const job = waiting[i];
      if (shardOrder && job.lane.busy) continue;
      // The first is taken by moving the head: a shift() of a long array is a copy (measured:
      // half the run's own time at concurrency 1).
      if (i > this.#head) waiting.splice(i, 1);
      else {
        waiting[this.#head++] = undefined as unknown as Job; // not kept alive by the array
        if (this.#head === waiting.length) {
          waiting.length = 0;
          this.#head = 0;
        } else if (this.#head > 1024 && this.#head * 2 > waiting.length) {
          this.#waiting = waiting.slice(this.#head);
          this.#head = 0;
        }
      }
      job.lane.busy = true;
      this.#stats.inFlight += job.messages.length;
      return job;
    }
    return undefined;
  }

  /**
   * One handler slot: handles jobs one after another while any may start. One async frame for
   * many messages: a promise chain per message cost a quarter of the run's speed (measured).
   * Never rejects: a failure that stops the run goes to #fail before the next job is taken.
   */
  async #work(first: Job): Promise<void> {
    for (let job: Job | undefined = first; job; job = this.#nextJob()) {
      let deliveryCount = 1;
      for (const m of job.messages) deliveryCount = Math.max(deliveryCount, m.deliveryCount ?? 1);
      try {
        // Delivered more often than allowed: earlier deliveries failed or killed the process.
        if (deliveryCount > this.#maxDeliveries) {
          const error = new Error(`delivered ${deliveryCount} times, more than maxDeliveries`);
          await this.#deadLetter(job, error, deliveryCount);
        } else {
          if (deliveryCount > 1) await this.#host.delivering(job.messages);
          // The first call inline, not in an async function of its own: a frame per message.
          let failure: { error: unknown } | undefined;
          try {
            const result = this.#call(job, 1, deliveryCount);
            if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function')
              await result;
          } catch (error) {
            failure = { error };
          }
          if (failure) await this.#failed(job, failure.error, 1, deliveryCount);
          else {
            this.#stats.processed += job.messages.length;
            this.#finishJob(job);
          }
        }
      } catch (error) {
        this.#fail(error);
      }
      this.#release(job);
    }
    this.#running--;
    if (this.#running === 0) this.#idle?.();
  }

  get #maxDeliveries(): number {
    return this.#o.deadLetter?.maxDeliveries ?? Number.POSITIVE_INFINITY;
  }

  #release(job: Job): void {
    job.lane.busy = false;
    this.#stats.inFlight -= job.messages.length;
    this.#taken -= job.messages.length;
    if (this.#sourceEnded && this.#taken === 0) this.stop().catch(() => {});
    // The reader waits until half its read-ahead is used, not for each message: a wake per
    // message would cost a promise per message.
    if (this.#taken <= this.#limit - this.#host.batchSize / 2) this.#room.set();
  }

  /** Attempt `attempt` failed with `error`: retries after a delay, then dead letters or HANDLER_FAILED. */
  async #failed(job: Job, error: unknown, attempt: number, deliveryCount: number): Promise<void> {
    for (; ; attempt++) {
      this.#stats.failed++;
      // Stopping: an unfinished message stays unacked, and comes back to a later consumer.
      if (this.#stopped) return;
      if (attempt > this.#o.retries || deliveryCount >= this.#maxDeliveries) break;
      this.#stats.retried++;
      try {
        await sleep(this.#retryDelay(attempt), this.#stop.signal);
      } catch {
        return; // stopped during the wait
      }
      try {
        await this.#call(job, attempt + 1, deliveryCount);
      } catch (next) {
        error = next;
        continue;
      }
      this.#stats.processed += job.messages.length;
      this.#finishJob(job);
      return;
    }
    if (this.#o.deadLetter) return this.#deadLetter(job, error, deliveryCount);
    const what = job.messages.length === 1 ? 'message' : `batch of ${job.messages.length}`;
    const m = job.messages[0];
    throw new StreamerError(
      'HANDLER_FAILED',
      `The handler failed on the ${what} at ${m.streamKey} shard ${m.shardId} sequence ${m.sequence} after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${errorText(error)}`,
      { cause: error },
    );
  }

  #call(job: Job, attempt: number, deliveryCount: number): unknown {
    if (!tracingProcess()) return this.#invoke(job, attempt, deliveryCount);
    return this.#host.trace(job.messages, attempt, deliveryCount, () =>
      this.#invoke(job, attempt, deliveryCount),
    );
  }

  /** Messages taken and not yet handed to a handler: lag, for consumer.lag(). */
  *queued(): Iterable<Message> {
    for (const job of this.#queued()) yield* job.messages;
  }

  *#queued(): Iterable<Job> {
    for (let i = this.#head; i < this.#waiting.length; i++) yield this.#waiting[i];
  }

  #invoke(job: Job, attempt: number, deliveryCount: number): unknown {
    const signal = this.#stop.signal;
    if (this.#o.eachMessage) {
      // Most calls are a first attempt at a first delivery: one shared context, not one each.
      const ctx: MessageContext =
        attempt === 1 && deliveryCount === 1
          ? this.#firstCall
          : Object.freeze({ attempt, deliveryCount, signal });
      return this.#o.eachMessage(job.messages[0], ctx);
    }
    const ctx: BatchContext = {
      attempt,
      signal,
      ack: (header) => {
        const message = job.messages.find((m) => sameMessage(m, header));
        if (!message) throw invalidArgument('message', header, 'a message of this batch');
        job.acked ??= new Set();
        if (job.acked.has(message)) return;
        job.acked.add(message);
        this.#finish(this.#lane(message), message);
      },
    };
    return this.#o.eachBatch!(job.messages, ctx);
  }

  /** Exponential, capped, with jitter (half to all of it), so failing handlers do not retry in lockstep. */
  #retryDelay(attempt: number): number {
    const { initialDelayMs, maxDelayMs, factor } = this.#o;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** (attempt - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  async #deadLetter(job: Job, error: unknown, deliveryCount: number): Promise<void> {
    const dead = this.#o.deadLetter!;
    this.#producer ??= this.#host.createProducer();
    const producer = await this.#producer;
    for (const message of job.messages) {
      if (job.acked?.has(message)) continue; // acked early by eachBatch's ctx.ack
      // Backends without headers (file, stdio) store the payload alone: the dead letter keeps
      // what can be handled again, and loses where it came from.
      const headers = this.#host.headers
        ? {
            ...message.headers,
            [DEAD_LETTER_HEADERS.stream]: message.streamKey,
            [DEAD_LETTER_HEADERS.shard]: String(message.shardId),
            [DEAD_LETTER_HEADERS.sequence]: String(message.sequence),
            [DEAD_LETTER_HEADERS.deliveryCount]: String(deliveryCount),
            [DEAD_LETTER_HEADERS.error]: errorText(error).slice(0, MAX_ERROR_LENGTH),
          }
        : undefined;
      await producer.sendTo(dead.stream, message.payload, { headers });
      this.#stats.deadLettered++;
      this.#finish(this.#lane(message), message);
    }
  }

  #finishJob(job: Job): void {
    if (job.messages.length === 1) {
      this.#finish(job.lane, job.messages[0]);
      return;
    }
    for (const message of job.messages) {
      if (!job.acked?.has(message)) this.#finish(this.#lane(message), message);
    }
  }

  /** Marks a message finished and acks every finished message at the head of its lane. */
  #finish(lane: Lane, message: Message): void {
    if (this.#inOrder) {
      this.#host.ack(message);
      return;
    }
    if (lane.order[lane.head] !== message) {
      lane.done.add(message);
      return;
    }
    this.#host.ack(message);
    lane.head++;
    while (lane.head < lane.order.length && lane.done.delete(lane.order[lane.head])) {
      this.#host.ack(lane.order[lane.head]);
      lane.head++;
    }
    // Drop the acked head now and then, not on every ack: a shift per message is a copy.
    if (lane.head === lane.order.length) {
      lane.order.length = 0;
      lane.head = 0;
    } else if (lane.head > 1024) {
      lane.order = lane.order.slice(lane.head);
      lane.head = 0;
    }
  }
}

function sameMessage(a: MessageHeader, b: MessageHeader): boolean {
  return (
    a === b || (a.streamKey === b.streamKey && a.shardId === b.shardId && a.sequence === b.sequence)
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : describeValue(error);
}

// Used by the consumer to refuse a second run and next() during one.
export function runningError(what: string): StreamerError {
  return new StreamerError(
    'ALREADY_RUNNING',
    `${what} while run() is handling this consumer's messages: stop the run first`,
  );
}

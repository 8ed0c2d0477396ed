/** A stream's name: 1 to 249 of `A-Z a-z 0-9 . _ -`; `SEA_STREAMER_INTERNAL` is reserved. */
export type StreamKey = string;
/** A shard of a stream: a non-negative safe integer. */
export type ShardId = number;
/** Sequence number of a message, strictly increasing per (stream, shard). */
export type SeqNo = bigint;
/** A position to rewind to; `{ at: n }` makes the first message with sequence >= n the next one. */
export type SeqPos = 'beginning' | 'end' | { at: SeqNo };
export type Payload = string | Uint8Array;

export interface MessageHeader {
  streamKey: StreamKey;
  shardId: ShardId;
  sequence: SeqNo;
  timestamp: Date;
}

/** What a send resolves to: where the message was stored. */
export type Receipt = MessageHeader;

export interface Message extends MessageHeader {
  payload: Uint8Array;
  /** Extra fields stored with the message; `{}` where a backend has none. */
  headers: Readonly<Record<string, string>>;
  /**
   * How many times the group has handed this message out, this time included: 1 the first time,
   * and always 1 where a backend keeps no count (see `supports.deliveryCount`). A message read
   * ahead and never handed out before a crash or a failover may count one more (never more than
   * one). A run's handlers get it as `ctx.deliveryCount`; `deadLetter.maxDeliveries` acts on it.
   */
  readonly deliveryCount?: number;
  /** The payload as UTF-8; rejects invalid UTF-8 with INVALID_PAYLOAD. */
  text(): string;
  /** The payload parsed as JSON; INVALID_PAYLOAD when it is not JSON. */
  json<T = unknown>(): T;
}

export interface SendOptions {
  /** The shard to write to. Wins over `key`. */
  shard?: ShardId;
  /** Messages with the same key land on the same shard (stable hash modulo the shard count). */
  key?: string;
  /** The message's timestamp, where the backend stores one; default now. */
  timestamp?: Date;
  /** Extra fields, where the backend supports headers. */
  headers?: Record<string, string>;
}

export interface ProducerOptions {
  /**
   * How many shards each stream has. Sends without `shard` or `key` go round robin over them.
   * Default 1: unsharded.
   */
  shards?: number;
  /**
   * How many sends may be pending (sent, not yet stored) before `ready()` waits, until half of
   * them are stored. Default 1000. `send()` itself never holds a message back.
   */
  highWaterMark?: number;
  /**
   * When a send happens inside an active trace (with an instrumentation such as
   * `@streamer/opentelemetry` installed), write W3C `traceparent` / `tracestate` into its headers
   * on backends with headers, unless the send sets them itself. Default true.
   */
  propagateContext?: boolean;
}

export interface Producer extends AsyncDisposable {
  /** The stream `send` writes to, if the producer was created for one. */
  readonly anchor: StreamKey | undefined;
  /** Sends to the anchored stream; NOT_ANCHORED when there is none. */
  send(payload: Payload, options?: SendOptions): Promise<Receipt>;
  sendTo(stream: StreamKey, payload: Payload, options?: SendOptions): Promise<Receipt>;
  /** Anchors an unanchored producer; ALREADY_ANCHORED when it has one. */
  anchorTo(stream: StreamKey): void;
  /** Sends not yet stored. */
  readonly pending: number;
  /** Resolves when fewer than `highWaterMark` sends are pending: await it in a send loop to keep memory flat. */
  ready(): Promise<void>;
  /** Every send before it is stored, or this rejects with the first failure since the last flush. */
  flush(): Promise<void>;
  /** Flushes, then releases the producer. Idempotent; later sends reject PRODUCER_ENDED. */
  end(): Promise<void>;
}

export type ConsumerMode = 'realtime' | 'resumable' | 'loadBalanced';
export type AutoCommit = 'immediate' | 'delayed' | 'rolling' | 'disabled';

export interface ConsumerOptions {
  /** Default 'realtime'. */
  mode?: ConsumerMode;
  /** The consumer group (resumable: required; loadBalanced: default 'default'). */
  group?: string;
  /** This member's name in the group (resumable: default 'main'; loadBalanced: a unique name). */
  consumerId?: string;
  /** Where a new consumer, or a new group, begins. Default 'latest'. */
  start?: 'earliest' | 'latest';
  /** How acks and commits happen in group modes. Default 'delayed'. */
  autoCommit?: AutoCommit;
  /** `delayed`: how long after delivery a message is committed. Default 5000. */
  autoCommitDelayMs?: number;
  /** `delayed` / `rolling`: how often acks are committed. Default 1000. */
  autoCommitIntervalMs?: number;
  /**
   * How long a commit (`commit()`, a timed one, the one in `end()`) waits for a lost connection
   * and retries before it fails; acks are kept meanwhile. 0: no retries. Default 30000.
   */
  commitTimeoutMs?: number;
  /** Messages read per round trip. Default 100. */
  batchSize?: number;
  /** Aborting ends the consumer; a pending `next()` rejects with ABORTED. */
  signal?: AbortSignal;
  /** loadBalanced: a member's unacked messages idle this long are claimed by another. Default 60000. */
  autoClaimIdleMs?: number;
  /** loadBalanced: how often to look for messages to claim. Default 30000. */
  autoClaimIntervalMs?: number;
}

export interface NextOptions {
  /**
   * Gives up waiting when it aborts: the call rejects ABORTED (TIMEOUT for `AbortSignal.timeout()`)
   * and no message is taken for it, so the next call gets the message this one would have.
   */
  signal?: AbortSignal;
}

/** How far behind a consumer is on one stream and shard (`consumer.lag()`). */
export interface Lag {
  stream: StreamKey;
  shard: ShardId;
  /** Messages stored after what the consumer (its group) has been given; undefined: unknown. */
  lag: number | undefined;
  /** True where the backend estimated it (the file backend, from bytes) rather than counted. */
  estimated?: boolean;
}

export interface Consumer extends AsyncIterable<Message>, AsyncDisposable {
  /** The next message; rejects STREAM_ENDED (the source ended) or CONSUMER_ENDED (end() was called). */
  next(options?: NextOptions): Promise<Message>;
  /** The next message is the first with timestamp >= `to`. */
  seek(to: Date): Promise<void>;
  /** 'beginning', 'end', or `{ at: n }`: the first message with sequence >= n comes next. */
  rewind(to: SeqPos): Promise<void>;
  /** Reads only these shards of `stream` (by default a consumer reads every shard). */
  assign(stream: StreamKey, shard: ShardId): void;
  unassign(stream: StreamKey, shard: ShardId): void;
  /** Marks a message processed (group modes; a no-op in realtime mode). */
  ack(message: MessageHeader): void;
  /** Makes acks durable now. */
  commit(): Promise<void>;
  /**
   * Per stream and shard, how many messages are stored after what this consumer (its group) has
   * been given: read ahead but not returned by `next()` (or handed to a `run()` handler) counts.
   */
  lag(): Promise<Lag[]>;
  /**
   * Calls `fn(message)` as one traced handler call (TracingChannel `streamer:process`): wrap the
   * body of a `for await` loop in it to get what `run()` gives each handler call.
   */
  process<T>(message: Message, fn: (message: Message) => T | Promise<T>): Promise<T>;
  /**
   * Hands messages to `eachMessage` or `eachBatch` until stopped, acking each one when its
   * handler resolves. One run per consumer at a time; `next()` is refused meanwhile.
   */
  run(options: RunOptions): Run;
  /** Commits acks, stops reading, releases connections; stops a run first. Idempotent. */
  end(): Promise<void>;
}

/** What a run passes to `eachMessage` with each message. */
export interface MessageContext {
  /** 1 on the first call for this message, up to `retries + 1`. */
  readonly attempt: number;
  /** `message.deliveryCount` where the backend counts deliveries, else 1. */
  readonly deliveryCount: number;
  /** Aborts when the run stops: a long handler may give up (its message then stays unacked). */
  readonly signal: AbortSignal;
}

/** What a run passes to `eachBatch` with each batch. */
export interface BatchContext {
  readonly attempt: number;
  readonly signal: AbortSignal;
  /** Acks one message of the batch now, before the batch resolves. */
  ack(message: MessageHeader): void;
}

export interface RetryOptions {
  /** How many times a failed handler is called again, in process. Default 0. */
  retries?: number;
  /** The first retry waits between half and all of this. Default 100. */
  initialDelayMs?: number;
  /** No retry waits longer. Default 30000. */
  maxDelayMs?: number;
  /** Each retry waits up to `factor` times longer than the one before. Default 2. */
  factor?: number;
}

export interface DeadLetterOptions {
  /** Where failed messages go; not one of the consumer's streams. */
  stream: StreamKey;
  /**
   * A message whose delivery count reaches this goes to the dead letters on its first failure,
   * and one delivered more often goes there without reaching the handler. Default: no limit.
   */
  maxDeliveries?: number;
}

export interface RunOptions {
  /** Called with each message; it is acked when the returned promise resolves. */
  eachMessage?: (message: Message, ctx: MessageContext) => unknown;
  /** Called with the messages of one page (one shard's, with ordering 'shard'); acked when it resolves. */
  eachBatch?: (messages: Message[], ctx: BatchContext) => unknown;
  /** Handlers in flight at once. Default 1. */
  concurrency?: number;
  /** 'shard' (default): one shard's messages are handled one after another, in order. 'none': any order. */
  ordering?: 'shard' | 'none';
  retry?: RetryOptions;
  deadLetter?: DeadLetterOptions;
  /** Aborting stops the run, as `stop()` does. */
  signal?: AbortSignal;
}

export interface RunStats {
  /** Messages whose handler resolved. */
  processed: number;
  /** Handler calls that threw or rejected. */
  failed: number;
  /** Retries scheduled. */
  retried: number;
  /** Messages sent to the dead letters. */
  deadLettered: number;
  /** Messages whose handler is running or waiting for a retry. */
  inFlight: number;
}

export interface Run {
  /** Takes no new messages and starts no handler until `resume()`; running handlers finish. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** A snapshot of the counters. */
  readonly stats: RunStats;
  /** Stops reading, waits for running handlers (retries are cut short), commits, resolves. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once the run has stopped; rejects with what stopped it (HANDLER_FAILED, a commit's error). */
  readonly done: Promise<void>;
}

/** What a backend can do; the conformance suite runs the tests a backend supports. */
export interface Supports {
  realtime: boolean;
  /** Consumers with `start: 'earliest'` replay what was stored before they started. */
  history: boolean;
  resumable: boolean;
  loadBalanced: boolean;
  /** A dead loadBalanced member's unacked messages go to a live one. */
  failover: boolean;
  seek: boolean;
  rewind: boolean;
  shards: boolean;
  headers: boolean;
  /** `SendOptions.timestamp` is stored and read back. */
  timestamps: boolean;
  /** Any bytes make a payload (stdio carries UTF-8 text lines only). */
  binaryPayloads: boolean;
  /**
   * A group counts the deliveries of a message (`message.deliveryCount`) across consumers, so a
   * message handed out again, to this member or another, counts more than 1.
   */
  deliveryCount: boolean;
}

export interface Streamer extends AsyncDisposable {
  /** 'redis' | 'file' | 'stdio' | 'memory' | … */
  readonly backend: string;
  readonly supports: Supports;
  createProducer(stream?: StreamKey, options?: ProducerOptions): Promise<Producer>;
  createConsumer(streams: StreamKey | StreamKey[], options?: ConsumerOptions): Promise<Consumer>;
  /** Ends every producer and consumer of this streamer and closes its connections. Idempotent. */
  disconnect(): Promise<void>;
}

/** What a backend package exports as `backend`, and what registerBackend takes. */
export interface Backend {
  /** Opens a streamer for `urls` (one per host of the URL; most backends take the first). */
  connect(urls: URL[], options: Record<string, unknown>): Promise<Streamer>;
}

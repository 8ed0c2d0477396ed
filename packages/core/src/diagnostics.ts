import diagnostics from 'node:diagnostics_channel';
import type { Message, Receipt, ShardId, StreamKey } from './types.js';

/** The names of the `node:diagnostics_channel` channels streamer publishes on: public API. */
export const CHANNELS = {
  send: 'streamer:send',
  process: 'streamer:process',
  receive: 'streamer:receive',
  commit: 'streamer:commit',
  connection: 'streamer:connection',
} as const;

/**
 * The context object of TracingChannel `streamer:send`, one per send: published on `start`
 * before the backend sees the message, on `end` when the backend took it, and on `asyncStart`
 * / `asyncEnd` (after `error` on failure) when it is stored or failed.
 */
export interface SendEvent {
  /** The streamer's `backend`: 'redis', 'file', 'memory', … */
  backend: string;
  stream: StreamKey;
  shard: ShardId;
  /** Payload size in bytes (UTF-8 for a string). */
  payloadSize: number;
  /**
   * The message's headers as sent; a subscriber of `start` may add to them, on backends with
   * headers (where `headers` is an object).
   */
  headers: Record<string, string> | undefined;
  /** The receipt, set before `asyncStart`. */
  result?: Receipt;
  /** Why the send failed, set before `error`. */
  error?: unknown;
}

/**
 * The context object of TracingChannel `streamer:process`, one per handler call of
 * `consumer.run()` or `consumer.process()`. Unlike Node's own traces, `asyncStart` and
 * `asyncEnd` are published for a handler that returned synchronously too, so a subscriber ends
 * its span on `asyncEnd` whatever the handler was.
 */
export interface ProcessEvent {
  backend: string;
  /** The consumer's group; undefined in realtime mode. */
  group: string | undefined;
  /** What the handler was given: one message (`eachMessage`), or a batch (`eachBatch`). */
  messages: readonly Message[];
  /** How often the message was delivered (the highest of a batch); 1 where a backend cannot tell. */
  deliveryCount: number;
  /** 1 on the first call, more on a retry. */
  attempt: number;
  /** What the handler returned (resolved to). */
  result?: unknown;
  /** What the handler threw (rejected with), set before `error`. */
  error?: unknown;
}

/** Published on `streamer:receive` when a page of messages reached a consumer from its backend. */
export interface ReceiveEvent {
  backend: string;
  group: string | undefined;
  stream: StreamKey;
  shard: ShardId;
  /** How many messages of this stream and shard the page held. */
  count: number;
}

/** Published on `streamer:commit` when a commit of acks finished, or failed for good. */
export interface CommitEvent {
  backend: string;
  group: string | undefined;
  /** How many acks it covered. */
  count: number;
  /** From asking to done, retries included. */
  durationMs: number;
  /** Why it failed; undefined when it succeeded. */
  error: unknown;
}

/** What happened to a backend's connection. */
export type ConnectionState = 'connect' | 'reconnecting' | 'error' | 'give-up';

/** Published on `streamer:connection` by backends with connections (Redis). */
export interface ConnectionEvent {
  backend: string;
  state: ConnectionState;
  /** The server, as host:port, where known. */
  address: string | undefined;
  /** The error of 'error' and 'give-up'. */
  error: unknown;
}

/**
 * The hook an instrumentation (`@streamer/opentelemetry`) fills so streamer carries trace
 * context without core depending on a tracing library.
 */
export interface TraceContextHook {
  /**
   * Writes the trace context of a send into `carrier` (W3C `traceparent`, `tracestate`): called
   * after the send's `start` event, so the context may be the span a subscriber opened there.
   * Keys the user set on the message win over what is written here.
   */
  inject(event: SendEvent, carrier: Record<string, string>): void;
  /** Calls `fn` (the handler) inside the trace context of a handler call, after its `start` event. */
  run<T>(event: ProcessEvent, fn: () => T): T;
}

const sendChannel = diagnostics.tracingChannel<SendEvent>(CHANNELS.send);
const processChannel = diagnostics.tracingChannel<ProcessEvent>(CHANNELS.process);
const receiveChannel = diagnostics.channel(CHANNELS.receive);
const commitChannel = diagnostics.channel(CHANNELS.commit);
const connectionChannel = diagnostics.channel(CHANNELS.connection);

let hook: TraceContextHook | undefined;

/**
 * Installs (or, with undefined, removes) the trace context hook. One at a time: a second
 * instrumentation replaces the first.
 */
export function setTraceContextHook(next: TraceContextHook | undefined): void {
  hook = next;
}

/** The installed hook, if any. */
export function traceContextHook(): TraceContextHook | undefined {
  return hook;
}

/** Whether a send has to be traced: the check the hot path makes before building anything. */
export function tracingSends(): boolean {
  return hook !== undefined || sendChannel.hasSubscribers;
}

export function tracingProcess(): boolean {
  return hook !== undefined || processChannel.hasSubscribers;
}

export function traceSend(event: SendEvent, fn: () => Promise<Receipt>): Promise<Receipt> {
  return traced(sendChannel, event, fn) as Promise<Receipt>;
}

export function traceProcess<T>(event: ProcessEvent, fn: () => T): T {
  const run = hook;
  return traced(processChannel, event, run ? () => run.run(event, fn) : fn) as T;
}

/**
 * Node's tracePromise wants a promise, and a handler may return anything; this publishes the same
 * events for both, with asyncStart / asyncEnd after a synchronous result too.
 */
function traced<E extends { result?: unknown; error?: unknown }>(
  channel: diagnostics.TracingChannel<E>,
  event: E,
  fn: () => unknown,
): unknown {
  const { end, asyncStart, asyncEnd, error } = channel;
  const settle = () => {
    asyncStart.publish(event);
    asyncEnd.publish(event);
  };
  return channel.start.runStores(event, () => {
    let result: unknown;
    try {
      result = fn();
    } catch (thrown) {
      event.error = thrown;
      error.publish(event);
      end.publish(event);
      settle();
      throw thrown;
    }
    end.publish(event);
    if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') {
      event.result = result;
      settle();
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        event.result = value;
        settle();
        return value;
      },
      (thrown: unknown) => {
        event.error = thrown;
        error.publish(event);
        settle();
        throw thrown;
      },
    );
  });
}

/** Whether anyone listens on `streamer:receive`: for a backend that has to count before publishing. */
export function receiving(): boolean {
  return receiveChannel.hasSubscribers;
}

/** For backends: a page of `count` messages of one stream and shard reached a consumer. */
export function publishReceive(
  backend: string,
  group: string | undefined,
  stream: StreamKey,
  shard: ShardId,
  count: number,
): void {
  if (!receiveChannel.hasSubscribers) return;
  receiveChannel.publish({ backend, group, stream, shard, count } satisfies ReceiveEvent);
}

export function publishCommit(
  backend: string,
  group: string | undefined,
  count: number,
  startedAt: number,
  error: unknown,
): void {
  if (!commitChannel.hasSubscribers) return;
  const durationMs = performance.now() - startedAt;
  commitChannel.publish({ backend, group, count, durationMs, error } satisfies CommitEvent);
}

/** For backends with connections: what happened to one. */
export function publishConnection(
  backend: string,
  state: ConnectionState,
  address: string | undefined,
  error?: unknown,
): void {
  if (!connectionChannel.hasSubscribers) return;
  connectionChannel.publish({ backend, state, address, error } satisfies ConnectionEvent);
}

import {
  type AutoCommit,
  type Consumer,
  type ConsumerOptions,
  type ErrorCode,
  type Message,
  type Streamer,
  StreamerError,
  type StreamKey,
  type Supports,
} from '@streamer/core';
import { afterEach, expect, it } from 'vitest';

export interface ConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /** Opens a streamer. Every call must reach the same data (tests reconnect to check resuming). */
  connect(): Promise<Streamer>;
  /** Merged into every createConsumer call, for backend-specific options. */
  consumerOptions?: Record<string, unknown>;
  /** How long a test waits for one message before failing. Default 5000. */
  messageTimeoutMs?: number;
  /** How long "nothing more arrives" is watched for. Default 300. */
  quietMs?: number;
}

/**
 * What a test needs of the backend: each capability listed must have this value in the
 * manifest of the streamer under test (`{ seek: false }` runs only where seek is missing).
 */
export type Needs = Partial<Supports>;

/** What every topic of the suite is a function of: the options, and helpers bound to them. */
export interface ConformanceContext {
  readonly name: string;
  readonly messageTimeoutMs: number;
  readonly quietMs: number;
  /**
   * Registers a test that opens a streamer and runs `fn` with it where `streamer.supports`
   * matches `needs`; elsewhere the test is reported skipped, naming what the backend lacks.
   */
  test(name: string, needs: Needs, fn: (streamer: Streamer) => Promise<void>): void;
  /** Opens a streamer; every one is disconnected after the test. */
  open(): Promise<Streamer>;
  /** createConsumer with the suite's `consumerOptions` merged in. */
  consumer(
    streamer: Streamer,
    streams: StreamKey | StreamKey[],
    extra?: ConsumerOptions,
  ): Promise<Consumer>;
  /** A consumer that sees messages sent after this call: `earliest` where history exists, else `latest`. */
  fromNow(
    streamer: Streamer,
    streams: StreamKey | StreamKey[],
    extra?: ConsumerOptions,
  ): Promise<Consumer>;
  /** Reads `n` messages within `messageTimeoutMs` each. */
  take(consumer: Consumer, n: number): Promise<Message[]>;
  /** Asserts nothing more arrives for `quietMs`. */
  expectQuiet(consumer: Consumer): Promise<void>;
}

let keyCounter = 0;

/**
 * A stream key no other test (or earlier run) uses: `t-`, then `STREAMER_TEST_RUN` and a dash
 * when that is set (so a test run can find and delete its keys afterwards), then `tag`.
 */
export function freshKey(tag = 'k'): StreamKey {
  const run = process.env.STREAMER_TEST_RUN ? `${process.env.STREAMER_TEST_RUN}-` : '';
  return `t-${run}${tag}-${Date.now().toString(36)}-${process.pid}-${++keyCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Reads `n` messages, failing (not hanging) when one takes longer than `timeoutMs`: the helper
 * the suite uses, exported for backends' own tests.
 */
export async function takeMessages(c: Consumer, n: number, timeoutMs = 5000): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    try {
      out.push(await c.next({ signal: AbortSignal.timeout(timeoutMs) }));
    } catch (error) {
      throw new Error(`received ${i} of ${n} messages, then: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return out;
}

/** Asserts that `promise` (or calling the function) fails with a StreamerError of this code; returns it. */
export async function expectCode(
  promise: Promise<unknown> | (() => unknown),
  code: ErrorCode,
): Promise<StreamerError> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a StreamerError ${code}`).toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toBe(code);
  return error as StreamerError;
}

export const texts = (messages: Message[]) => messages.map((m) => m.text());
export const range = (n: number, prefix = 'm') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A fresh stream holding `range(n)`, stored. */
export async function filledStream(streamer: Streamer, tag: string, n: number): Promise<StreamKey> {
  const key = freshKey(tag);
  const p = await streamer.createProducer(key);
  for (const t of range(n)) p.send(t);
  await p.flush();
  return key;
}

/** A resumable consumer's options, in a fresh group, from the earliest message. */
export const resumable = (autoCommit: AutoCommit): ConsumerOptions => ({
  mode: 'resumable',
  group: freshKey('g'),
  start: 'earliest',
  autoCommit,
});

/**
 * The context the topics run in. Call it in a test file or a describe block: it registers an
 * afterEach there that disconnects every streamer the tests opened.
 */
export function conformanceContext(options: ConformanceOptions): ConformanceContext {
  if (typeof options !== 'object' || options === null || typeof options.connect !== 'function')
    throw new StreamerError('INVALID_ARGUMENT', 'conformance options need a connect() function');
  if ('supports' in options) {
    // As in abstract-level: the suite tests what the streamer says of itself, not what a test
    // file says of it, so the manifest is under test too.
    throw new StreamerError(
      'INVALID_ARGUMENT',
      'The conformance option "supports" has moved to streamer.supports: the suite reads the manifest of the streamer connect() returns; remove the option',
    );
  }
  const messageTimeoutMs = options.messageTimeoutMs ?? 5000;
  const quietMs = options.quietMs ?? 300;
  const opened: Streamer[] = [];

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.disconnect()));
  });

  async function open(): Promise<Streamer> {
    const streamer = await options.connect();
    opened.push(streamer);
    return streamer;
  }

  function consumer(
    streamer: Streamer,
    streams: StreamKey | StreamKey[],
    extra: ConsumerOptions = {},
  ) {
    return streamer.createConsumer(streams, {
      ...options.consumerOptions,
      ...extra,
    } as ConsumerOptions);
  }

  return {
    name: options.name,
    messageTimeoutMs,
    quietMs,
    open,
    consumer,
    test(name, needs, fn) {
      it(name, async ({ skip }) => {
        const streamer = await open();
        const lacking = Object.entries(needs)
          .filter(([key, value]) => streamer.supports[key as keyof Supports] !== value)
          .map(([key, value]) => `${key}: ${value}`);
        if (lacking.length > 0) skip(`needs ${lacking.join(', ')}`);
        await fn(streamer);
      });
    },
    fromNow: (streamer, streams, extra = {}) =>
      consumer(streamer, streams, {
        start: streamer.supports.history ? 'earliest' : 'latest',
        ...extra,
      }),
    take: (c, n) => takeMessages(c, n, messageTimeoutMs),
    async expectQuiet(c) {
      let extra: Message | undefined;
      try {
        extra = await c.next({ signal: AbortSignal.timeout(quietMs) });
      } catch (error) {
        expect((error as { code?: string }).code).toBe('TIMEOUT');
      }
      expect(
        extra && { stream: extra.streamKey, seq: extra.sequence, text: extra.text() },
      ).toBeUndefined();
    },
  };
}

import { invalidArgument, StreamerError } from './errors.js';
import { durationMs, positiveInteger } from './options.js';
import { validateStreamKey } from './stream-key.js';
import type { RunOptions, StreamKey } from './types.js';

/** RunOptions checked, with defaults filled in. */
export interface ResolvedRunOptions {
  eachMessage: RunOptions['eachMessage'];
  eachBatch: RunOptions['eachBatch'];
  concurrency: number;
  ordering: 'shard' | 'none';
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  deadLetter: { stream: StreamKey; maxDeliveries: number } | undefined;
  signal: AbortSignal | undefined;
}

const RUN_KEYS = [
  'eachMessage',
  'eachBatch',
  'concurrency',
  'ordering',
  'retry',
  'deadLetter',
  'signal',
];
const RETRY_KEYS = ['retries', 'initialDelayMs', 'maxDelayMs', 'factor'];
const DEAD_LETTER_KEYS = ['stream', 'maxDeliveries'];

/**
 * Run options are refused when unknown, unlike consumer options: those are shared by every
 * backend (so one object must serve them all), these are core's alone, and a typo such as
 * `concurency: 8` would otherwise run one handler at a time without a word.
 */
function object(what: string, value: unknown, keys: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidArgument(what, value, 'an object');
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw invalidArgument(`${what} key`, key, `one of ${keys.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw invalidArgument(name, value, 'a non-negative integer');
}

/** Checks run() options before any work, so a bad one is an INVALID_ARGUMENT naming it. */
export function resolveRunOptions(
  input: unknown,
  streams: readonly StreamKey[],
): ResolvedRunOptions {
  const o = object('run options', input, RUN_KEYS);
  const { eachMessage, eachBatch } = o;
  if ((eachMessage === undefined) === (eachBatch === undefined))
    throw new StreamerError(
      'INVALID_ARGUMENT',
      'run() needs one of eachMessage and eachBatch, not both',
    );
  if (eachMessage !== undefined && typeof eachMessage !== 'function')
    throw invalidArgument('eachMessage', eachMessage, 'a function');
  if (eachBatch !== undefined && typeof eachBatch !== 'function')
    throw invalidArgument('eachBatch', eachBatch, 'a function');
  const ordering = o.ordering ?? 'shard';
  if (ordering !== 'shard' && ordering !== 'none')
    throw invalidArgument('ordering', ordering, "'shard' or 'none'");
  const retry = o.retry === undefined ? {} : object('retry', o.retry, RETRY_KEYS);
  const factor = retry.factor ?? 2;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1)
    throw invalidArgument('retry.factor', factor, 'a number >= 1');
  let deadLetter: ResolvedRunOptions['deadLetter'];
  if (o.deadLetter !== undefined) {
    const d = object('deadLetter', o.deadLetter, DEAD_LETTER_KEYS);
    const stream = validateStreamKey(d.stream as StreamKey);
    // Its own stream as dead letters would hand a failed message back to the handler forever.
    if (streams.includes(stream))
      throw invalidArgument('deadLetter.stream', stream, 'a stream this consumer does not read');
    deadLetter = {
      stream,
      maxDeliveries: positiveInteger(
        'deadLetter.maxDeliveries',
        d.maxDeliveries,
        Number.POSITIVE_INFINITY,
      ),
    };
  }
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgument('signal', signal, 'an AbortSignal');
  return {
    eachMessage: eachMessage as RunOptions['eachMessage'],
    eachBatch: eachBatch as RunOptions['eachBatch'],
    concurrency: positiveInteger('concurrency', o.concurrency, 1),
    ordering,
    retries: nonNegativeInteger('retry.retries', retry.retries, 0),
    initialDelayMs: durationMs('retry.initialDelayMs', retry.initialDelayMs, 100),
    maxDelayMs: durationMs('retry.maxDelayMs', retry.maxDelayMs, 30_000),
    factor,
    deadLetter,
    signal: signal as AbortSignal | undefined,
  };
}

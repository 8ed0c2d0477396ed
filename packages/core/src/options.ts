import { describe, invalidArgument, StreamerError } from './errors.js';
import { isValidStreamKey, validateStreamKey } from './stream-key.js';
import type { AutoCommit, ConsumerMode, StreamKey, Supports } from './types.js';

/** ConsumerOptions with every default filled in, as backends receive them. */
export interface ResolvedConsumerOptions {
  mode: ConsumerMode;
  /** undefined in realtime mode. */
  group: string | undefined;
  consumerId: string;
  start: 'earliest' | 'latest';
  autoCommit: AutoCommit;
  autoCommitDelayMs: number;
  autoCommitIntervalMs: number;
  commitTimeoutMs: number;
  batchSize: number;
  signal: AbortSignal | undefined;
  autoClaimIdleMs: number;
  autoClaimIntervalMs: number;
  /** Backend-specific options, passed through untouched. */
  extra: Record<string, unknown>;
}

export interface ResolvedProducerOptions {
  shards: number;
  highWaterMark: number;
  extra: Record<string, unknown>;
}

const MODES: readonly ConsumerMode[] = ['realtime', 'resumable', 'loadBalanced'];
const AUTO_COMMITS: readonly AutoCommit[] = ['immediate', 'delayed', 'rolling', 'disabled'];
const CONSUMER_KEYS = new Set([
  'mode',
  'group',
  'consumerId',
  'start',
  'autoCommit',
  'autoCommitDelayMs',
  'autoCommitIntervalMs',
  'commitTimeoutMs',
  'batchSize',
  'signal',
  'autoClaimIdleMs',
  'autoClaimIntervalMs',
]);

let memberCounter = 0;

function oneOf<T>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (allowed.includes(value as T)) return value as T;
  throw invalidArgument(name, value, `one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
}

export function nonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw invalidArgument(name, value, 'a non-negative number');
}

/** The longest timer Node keeps: a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration for a timer: 0 to MAX_TIMER_MS milliseconds. */
export function durationMs(name: string, value: unknown, fallback: number): number {
  const ms = nonNegative(name, value, fallback);
  if (ms > MAX_TIMER_MS)
    throw invalidArgument(name, value, `at most ${MAX_TIMER_MS} (ms, about 24.8 days)`);
  return ms;
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw invalidArgument(name, value, 'a positive integer');
}

function options(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  throw invalidArgument(what, value, 'an object');
}

/** Validates the streams a consumer subscribes to: one key or a non-empty array; duplicates dropped. */
export function resolveStreams(streams: unknown): StreamKey[] {
  const list = Array.isArray(streams) ? streams : [streams];
  if (list.length === 0)
    throw invalidArgument('streams', streams, 'a stream key or a non-empty array of them');
  return [...new Set(list.map(validateStreamKey))];
}

/** Fills in defaults and checks every option, so backends can trust what they get. */
export function resolveConsumerOptions(
  input: unknown,
  supports: Supports,
  backend = 'This',
): ResolvedConsumerOptions {
  const o = options(input, 'consumer options');
  const mode = oneOf('mode', o.mode, MODES, 'realtime');
  if (!supports[mode]) {
    throw new StreamerError(
      'UNSUPPORTED',
      `${backend} backend does not support the ${JSON.stringify(mode)} consumer mode`,
    );
  }
  let group: string | undefined;
  if (mode === 'realtime') {
    if (o.group !== undefined) {
      throw new StreamerError(
        'GROUP_NOT_ALLOWED',
        `A realtime consumer has no group (got group ${describe(o.group)}); use mode 'resumable' or 'loadBalanced'`,
      );
    }
  } else if (o.group === undefined) {
    if (mode === 'resumable') {
      throw new StreamerError(
        'GROUP_REQUIRED',
        'A resumable consumer needs a group: its name is where it resumes from',
      );
    }
    group = 'default';
  } else if (isValidStreamKey(o.group)) {
    group = o.group;
  } else {
    throw invalidArgument('group', o.group, 'a name of 1 to 249 of A-Z a-z 0-9 . _ -');
  }
  if (o.consumerId !== undefined && !isValidStreamKey(o.consumerId)) {
    throw invalidArgument('consumerId', o.consumerId, 'a name of 1 to 249 of A-Z a-z 0-9 . _ -');
  }
  if (o.consumerId !== undefined && mode === 'realtime') {
    throw new StreamerError(
      'GROUP_NOT_ALLOWED',
      'A realtime consumer has no group, so no consumerId',
    );
  }
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgument('signal', signal, 'an AbortSignal');
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) if (!CONSUMER_KEYS.has(key)) extra[key] = value;
  return {
    mode,
    group,
    consumerId:
      (o.consumerId as string | undefined) ??
      (mode === 'resumable'
        ? 'main'
        : `member-${process.pid}-${Date.now().toString(36)}-${++memberCounter}`),
    start: oneOf('start', o.start, ['earliest', 'latest'] as const, 'latest'),
    autoCommit: oneOf('autoCommit', o.autoCommit, AUTO_COMMITS, 'delayed'),
    autoCommitDelayMs: durationMs('autoCommitDelayMs', o.autoCommitDelayMs, 5000),
    autoCommitIntervalMs: durationMs('autoCommitIntervalMs', o.autoCommitIntervalMs, 1000),
    commitTimeoutMs: durationMs('commitTimeoutMs', o.commitTimeoutMs, 30_000),
    batchSize: positiveInteger('batchSize', o.batchSize, 100),
    signal: signal as AbortSignal | undefined,
    autoClaimIdleMs: durationMs('autoClaimIdleMs', o.autoClaimIdleMs, 60_000),
    autoClaimIntervalMs: durationMs('autoClaimIntervalMs', o.autoClaimIntervalMs, 30_000),
    extra,
  };
}

export function resolveProducerOptions(
  input: unknown,
  supports: Supports,
): ResolvedProducerOptions {
  const { shards, highWaterMark, ...extra } = options(input, 'producer options');
  const resolved = {
    shards: positiveInteger('shards', shards, 1),
    highWaterMark: positiveInteger('highWaterMark', highWaterMark, 1000),
    extra,
  };
  if (resolved.shards > 1 && !supports.shards) {
    throw new StreamerError(
      'UNSUPPORTED',
      `This backend does not support shards (got shards: ${resolved.shards})`,
    );
  }
  return resolved;
}

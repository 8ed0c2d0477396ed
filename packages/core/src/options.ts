import { describeValue, invalidArgument, StreamerError } from './errors.js';
import { isValidStreamKey, validateStreamKey } from './stream-key.js';
import type { AutoCommit, ConsumerMode, ConsumerOptions, StreamKey, Supports } from './types.js';

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
  /** Write the active trace context into each send's headers (where the backend has headers). */
  propagateContext: boolean;
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

/**
 * The options a backend reads beyond core's, by where they are given. Core uses them for the one
 * rule every backend follows: options a backend does not know are ignored (so one options object
 * serves every URL), unless `connect(url, { strict: true })` asks for an INVALID_ARGUMENT instead.
 */
export interface BackendOptionNames {
  /** The protocols (without the colon) that `connect()` sends to this backend. */
  protocols: readonly string[];
  connect?: readonly string[];
  producer?: readonly string[];
  consumer?: readonly string[];
  /**
   * Deprecated names of producer and consumer options, old → current. Either name is accepted and
   * the backend finds the value under both, so its code may read either.
   */
  aliases?: Readonly<Record<string, string>>;
}

const byBackend = new Map<string, BackendOptionNames>();
const byProtocol = new Map<string, BackendOptionNames>();

/** Declares the options of the backend named `backend` (its `streamer.backend`). */
export function defineBackendOptions(backend: string, names: BackendOptionNames): void {
  byBackend.set(backend, names);
  for (const protocol of names.protocols) byProtocol.set(protocol, names);
}

// A symbol from the global registry, so that a streamer marked by one copy of @streamer/core is
// seen as strict by another (an app can end up with two).
const STRICT = Symbol.for('@streamer/core.strict');

/** Checks the connect options for `protocol`: `strict` must be a boolean, and with it set, every option known. */
export function checkConnectOptions(protocol: string, options: Record<string, unknown>): boolean {
  const strict = options.strict;
  if (strict !== undefined && typeof strict !== 'boolean')
    throw invalidArgument('strict', strict, 'true or false');
  const names = byProtocol.get(protocol);
  // A backend that declared nothing cannot be checked: strict then covers core's options only.
  if (strict && names)
    unknownOptions('connect', `${protocol}:`, options, ['strict', ...(names.connect ?? [])]);
  return strict === true;
}

/** Makes the streamer's producer and consumer options checked as `strict: true` asks. */
export function markStrict(streamer: object): void {
  Object.defineProperty(streamer, STRICT, { value: true });
}

/**
 * The backend's own producer or consumer options (`extra`) with aliases filled in; under `strict`,
 * INVALID_ARGUMENT for any the backend does not know.
 */
export function checkExtraOptions(
  streamer: { backend: string },
  kind: 'producer' | 'consumer',
  extra: Record<string, unknown>,
): void {
  const names = byBackend.get(streamer.backend);
  for (const [old, current] of Object.entries(names?.aliases ?? {})) {
    const value = aliasedOption(extra, current, old);
    if (value !== undefined) extra[current] = extra[old] = value;
  }
  if ((streamer as { [STRICT]?: boolean })[STRICT] && names)
    unknownOptions(kind, streamer.backend, extra, names[kind] ?? []);
}

function unknownOptions(
  kind: string,
  backend: string,
  options: Record<string, unknown>,
  known: readonly string[],
): void {
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  throw new StreamerError(
    'INVALID_ARGUMENT',
    `Unknown ${kind} option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} for the ${backend} backend (strict: true); it knows ${known.length > 0 ? known.join(', ') : 'none of its own'}`,
  );
}

/**
 * The value of option `name`, also accepted under its deprecated name `old`. Both given with
 * different values is an INVALID_ARGUMENT naming them.
 */
export function aliasedOption(
  options: Record<string, unknown>,
  name: string,
  old: string,
): unknown {
  const value = options[name];
  const legacy = options[old];
  if (legacy === undefined) return value;
  if (value !== undefined && value !== legacy) {
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `${old} is the old name of ${name}: give one of them, got ${name}: ${describeValue(value)} and ${old}: ${describeValue(legacy)}`,
    );
  }
  return legacy;
}

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

/**
 * Fills in defaults and checks every option, so backends can trust what they get. Without
 * `supports`, every mode passes: whether a backend has it is its own check.
 */
export function resolveConsumerOptions(
  input: unknown,
  supports?: Supports,
  backend = 'This',
): ResolvedConsumerOptions {
  const o = options(input, 'consumer options');
  const mode = oneOf('mode', o.mode, MODES, 'realtime');
  if (supports && !supports[mode]) {
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
        `A realtime consumer has no group (got group ${describeValue(o.group)}); use mode 'resumable' or 'loadBalanced'`,
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

/** Fills in defaults and checks every option; `backend` ('The file') names the backend in errors. */
export function resolveProducerOptions(
  input: unknown,
  supports: Supports,
  backend = 'This',
): ResolvedProducerOptions {
  const { shards, highWaterMark, propagateContext, ...extra } = options(input, 'producer options');
  if (propagateContext !== undefined && typeof propagateContext !== 'boolean')
    throw invalidArgument('propagateContext', propagateContext, 'a boolean');
  const resolved = {
    shards: positiveInteger('shards', shards, 1),
    highWaterMark: positiveInteger('highWaterMark', highWaterMark, 1000),
    propagateContext: propagateContext ?? true,
    extra,
  };
  if (resolved.shards > 1 && !supports.shards) {
    throw new StreamerError(
      'UNSUPPORTED',
      `${backend} backend does not support shards (got shards: ${resolved.shards})`,
    );
  }
  return resolved;
}

/**
 * Checks consumer options as every backend's createConsumer does, before connecting: it throws
 * what createConsumer would, except UNSUPPORTED, which depends on the backend.
 */
export function validateConsumerOptions(options: ConsumerOptions): void {
  resolveConsumerOptions(options);
}

import { parseStreamerUrl, parseStreamUrl, StreamerError, type StreamKey } from '@streamer/core';
import { describeValue, invalidArgument, MAX_TIMER_MS } from '@streamer/core/backend';
import { WILDCARD } from '@streamer/file';
import { parseTimestamp } from '@streamer/stdio';
import { badUsage, usage } from './errors.js';

export interface Target {
  /** What connect() takes: the URL without the stream keys. */
  streamer: string;
  protocol: string;
  streams: StreamKey[];
}

/** Splits a stream URL (`proto://host/key1,key2`) into the streamer URL and the keys. */
export function streamTarget(url: string): Target {
  const { streamer, streams } = usage(() => parseStreamUrl(url));
  const end = url.search(/[?#]/);
  const main = end < 0 ? url : url.slice(0, end);
  const query = end < 0 ? '' : url.slice(end); // kept: e.g. redis://…/keys?db=2
  return {
    streamer: `${main.slice(0, main.lastIndexOf('/'))}${query}`,
    protocol: streamer[0].protocol.slice(0, -1),
    streams,
  };
}

/** A streamer URL without stream keys: `redis://host:6379`; a trailing `/keys` is allowed. */
export function streamerOrStreams(url: string): Target {
  const rest = url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  if (!rest.replace(/[?#].*$/, '').includes('/')) {
    const [first] = usage(() => parseStreamerUrl(url));
    return { streamer: url, protocol: first!.protocol.slice(0, -1), streams: [] };
  }
  return streamTarget(url);
}

/** The streams a reading command subscribes to: those named, or every stream of a file (`file:///x.ss/`). */
export function readStreams(target: Target, url: string): StreamKey[] {
  if (target.streams.length > 0) return target.streams;
  if (target.protocol === 'file') return [WILDCARD];
  throw badUsage(`${JSON.stringify(url)} names no stream: add /stream1,stream2 to it`);
}

export function oneStream(target: Target, url: string): StreamKey {
  if (target.streams.length !== 1) {
    throw badUsage(
      `${describeValue(url)} names ${target.streams.length} streams; this command writes to exactly one, e.g. ${target.protocol}://…/my-stream`,
    );
  }
  return target.streams[0];
}

export function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0)
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `${name} must be a positive integer, got ${describeValue(value)}`,
    );
  return n;
}

export function nonNegative(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `${name} must be a non-negative integer, got ${describeValue(value)}`,
    );
  return n;
}

/**
 * A point in time: ISO 8601 with a zone (`2024-05-01T12:00:00Z`), without one (read as UTC, as in
 * the stdio format), or milliseconds since the epoch.
 */
export function timestamp(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  let date: Date | undefined;
  if (/^\d+$/.test(value)) date = new Date(Number(value));
  else if (/T.*(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    // Date() rolls impossible fields over (02-30 becomes 03-01): check them as written first.
    const local = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?/.exec(value);
    if (local && parseTimestamp(`${local[1]}${local[2] ?? ':00'}`)) date = new Date(value);
  } else date = parseTimestamp(value.length === 10 ? `${value}T00:00:00` : value);
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `${name} must be a time like 2024-05-01T12:00:00Z or milliseconds since 1970, got ${describeValue(value)}`,
    );
  }
  return date;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration: `500ms`, `1s`, `2m`, `1h`, or plain milliseconds; at most about 24 days. */
export function duration(name: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? 'ms'] : Number.NaN;
  if (!(ms > 0)) throw invalidArgument(name, value, 'a duration like 500ms, 1s or 2m');
  if (ms > MAX_TIMER_MS) throw invalidArgument(name, value, 'at most 596h');
  return ms;
}

export function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T;
  throw invalidArgument(name, value, `one of ${allowed.join(', ')}`);
}

/** The spellings of where a reading command starts: `--earliest` / `--latest`, and relay's old `--offset start|end`. */
export interface StartFlags {
  earliest?: boolean;
  latest?: boolean;
  offset?: string;
}

/** Where a reading command starts, or undefined when no flag says. Conflicting flags are bad usage. */
export function startFlag(o: StartFlags): 'earliest' | 'latest' | undefined {
  const said = new Set<'earliest' | 'latest'>();
  if (o.earliest) said.add('earliest');
  if (o.latest) said.add('latest');
  if (o.offset !== undefined) {
    const offset = usage(() => choice('--offset', o.offset as string, ['start', 'end'] as const));
    said.add(offset === 'start' ? 'earliest' : 'latest');
  }
  if (said.size > 1) throw badUsage('--earliest and --latest exclude each other');
  return [...said][0];
}

/** `--no-follow` on Redis knows where the stored messages end only for one reader of every entry. */
export function checkNoFollow(target: Target, follow: boolean, mode: string): void {
  if (follow || mode === 'realtime' || !target.protocol.startsWith('redis')) return;
  throw badUsage(
    `--no-follow on ${target.protocol}:// reads in realtime mode only (got --mode ${mode}): a group's members share the entries, so none can tell when it has read every stored one`,
  );
}

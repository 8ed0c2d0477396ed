import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConsumerOptions, StreamerError } from '@streamer/core';
import { describeValue, durationMs, invalidArgument } from '@streamer/core/backend';
import { DEFAULT_BEACON_INTERVAL, isValidBeaconInterval } from './format.js';

/** How a consumer reads the file; connect options give the defaults, consumer options override. */
export interface ReadOptions {
  /** Keep reading as the file grows (true), or end with STREAM_ENDED at its end (false). Default true. */
  follow: boolean;
  /** Use fs.watch to learn of appends at once; polling always runs as a fallback. Default true. */
  watch: boolean;
  /** How often to look for appends without a notification. Default 50. */
  pollIntervalMs: number;
  /** After damage, report CORRUPT_DATA once and read on at the next beacon. Default false. */
  resync: boolean;
}

/**
 * ConsumerOptions plus this backend's own. In TypeScript, give an options object this type before
 * passing it to `createConsumer` (an object literal with extra keys is refused by the compiler).
 */
export type FileConsumerOptions = ConsumerOptions & Partial<ReadOptions>;

export interface FileConnectOptions extends ReadOptions {
  /** Create the file when it does not exist. Default false: it must exist. */
  createIfNotExists: boolean;
  /** Create the file; CONNECT error when it exists. Default false. */
  createOnly: boolean;
  /** Bytes between beacons in a new file: a multiple of 1024. Default 1 MiB. */
  beaconInterval: number;
  /** Sends that would grow the file past this fail. Default 16 GiB. */
  fileSizeLimit: number;
  /** Write an end-of-stream message when the last producer of the file ends. Default false. */
  endWithEos: boolean;
}

const READ_DEFAULTS: ReadOptions = { follow: true, watch: true, pollIntervalMs: 50, resync: false };
const CONNECT_DEFAULTS: FileConnectOptions = {
  ...READ_DEFAULTS,
  createIfNotExists: false,
  createOnly: false,
  beaconInterval: DEFAULT_BEACON_INTERVAL,
  fileSizeLimit: 16 * 1024 ** 3,
  endWithEos: false,
};

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw invalidArgument(name, value, 'true or false');
}

function readOptions(o: Record<string, unknown>, base: ReadOptions): ReadOptions {
  const pollIntervalMs = durationMs('pollIntervalMs', o.pollIntervalMs, base.pollIntervalMs);
  return {
    follow: boolean('follow', o.follow, base.follow),
    watch: boolean('watch', o.watch, base.watch),
    pollIntervalMs: Math.max(1, pollIntervalMs),
    resync: boolean('resync', o.resync, base.resync),
  };
}

export function resolveConnectOptions(input: Record<string, unknown>): FileConnectOptions {
  const beaconInterval = input.beaconInterval ?? CONNECT_DEFAULTS.beaconInterval;
  if (!isValidBeaconInterval(beaconInterval)) {
    throw invalidArgument(
      'beaconInterval',
      beaconInterval,
      'a positive multiple of 1024 below 4 GiB',
    );
  }
  const fileSizeLimit = input.fileSizeLimit ?? CONNECT_DEFAULTS.fileSizeLimit;
  if (
    typeof fileSizeLimit !== 'number' ||
    !Number.isSafeInteger(fileSizeLimit) ||
    fileSizeLimit < 128
  ) {
    throw invalidArgument('fileSizeLimit', fileSizeLimit, 'a whole number of bytes (at least 128)');
  }
  return {
    ...readOptions(input, READ_DEFAULTS),
    createIfNotExists: boolean('createIfNotExists', input.createIfNotExists, false),
    createOnly: boolean('createOnly', input.createOnly, false),
    beaconInterval,
    fileSizeLimit,
    endWithEos: boolean('endWithEos', input.endWithEos, false),
  };
}

/** The file backend's own consumer options (ConsumerOptions' extras). */
export function resolveReadOptions(extra: Record<string, unknown>, base: ReadOptions): ReadOptions {
  return readOptions(extra, base);
}

/**
 * The file a `file:` URL names: `file:///abs/path.ss` (as `pathToFileURL` makes them), or a path
 * relative to the working directory, `file://./data/x.ss` (which URL parsing reads as host ".").
 */
export function pathFromUrl(url: URL): string {
  const bad = (why: string) =>
    new StreamerError('INVALID_URL', `Invalid file URL ${describeValue(url.href)}: ${why}`);
  if (url.protocol !== 'file:') throw bad('the protocol must be file:');
  if (url.search !== '') throw bad('a file URL takes no query; pass options to connect()');
  let path: string;
  if (url.host === '.' || url.host === '..') {
    path = resolve(url.host + decodeURIComponent(url.pathname));
  } else if (url.host === '') {
    path = fileURLToPath(url);
  } else {
    throw bad(
      `host ${describeValue(url.host)}: use file:///absolute/path.ss or file://./relative/path.ss`,
    );
  }
  if (!isAbsolute(path) || path.endsWith('/')) throw bad('it names no file');
  return path;
}

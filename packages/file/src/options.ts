import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConsumerOptions, StreamerError } from '@streamer/core';
import {
  aliasedOption,
  defineBackendOptions,
  describeValue,
  durationMs,
  invalidArgument,
} from '@streamer/core/backend';
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
  /**
   * Create the file when it does not exist. Default false: a missing file is STREAM_NOT_FOUND.
   * The Redis backend's consumer option of the same name creates a missing stream.
   */
  createIfNotExists: boolean;
  /** Create the file; CONNECT error when it exists. Default false. */
  createOnly: boolean;
  /** Bytes between beacons in a new file: a multiple of 1024. Default 1 MiB. */
  beaconIntervalBytes: number;
  /** Sends that would grow the file past this many bytes fail with PAYLOAD_TOO_LARGE. Default 16 GiB. */
  maxFileBytes: number;
  /** Write an end-of-stream message when the last producer of the file ends. Default false. */
  endWithEos: boolean;
  /** @deprecated The old name of `beaconIntervalBytes`; still accepted. */
  beaconInterval?: number;
  /** @deprecated The old name of `maxFileBytes`; still accepted. */
  fileSizeLimit?: number;
}

const READ_DEFAULTS: ReadOptions = { follow: true, watch: true, pollIntervalMs: 50, resync: false };
const CONNECT_DEFAULTS: FileConnectOptions = {
  ...READ_DEFAULTS,
  createIfNotExists: false,
  createOnly: false,
  beaconIntervalBytes: DEFAULT_BEACON_INTERVAL,
  maxFileBytes: 16 * 1024 ** 3,
  endWithEos: false,
};

const READ_NAMES = ['follow', 'watch', 'pollIntervalMs', 'resync'];
defineBackendOptions('file', {
  protocols: ['file'],
  connect: [
    ...READ_NAMES,
    'createIfNotExists',
    'createOnly',
    'beaconIntervalBytes',
    'beaconInterval',
    'maxFileBytes',
    'fileSizeLimit',
    'endWithEos',
  ],
  consumer: READ_NAMES,
});

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw invalidArgument(name, value, 'true or false');
}

/** Read options from connect options, or from a consumer's extras over the connect options. */
export function resolveReadOptions(o: Record<string, unknown>, base: ReadOptions): ReadOptions {
  const pollIntervalMs = durationMs('pollIntervalMs', o.pollIntervalMs, base.pollIntervalMs);
  return {
    follow: boolean('follow', o.follow, base.follow),
    watch: boolean('watch', o.watch, base.watch),
    pollIntervalMs: Math.max(1, pollIntervalMs),
    resync: boolean('resync', o.resync, base.resync),
  };
}

export function resolveConnectOptions(input: Record<string, unknown>): FileConnectOptions {
  const beaconIntervalBytes =
    aliasedOption(input, 'beaconIntervalBytes', 'beaconInterval') ??
    CONNECT_DEFAULTS.beaconIntervalBytes;
  if (!isValidBeaconInterval(beaconIntervalBytes)) {
    throw invalidArgument(
      'beaconIntervalBytes',
      beaconIntervalBytes,
      'a positive multiple of 1024 below 4 GiB',
    );
  }
  const maxFileBytes =
    aliasedOption(input, 'maxFileBytes', 'fileSizeLimit') ?? CONNECT_DEFAULTS.maxFileBytes;
  if (
    typeof maxFileBytes !== 'number' ||
    !Number.isSafeInteger(maxFileBytes) ||
    maxFileBytes < 128
  ) {
    throw invalidArgument('maxFileBytes', maxFileBytes, 'a whole number of bytes (at least 128)');
  }
  return {
    ...resolveReadOptions(input, READ_DEFAULTS),
    createIfNotExists: boolean('createIfNotExists', input.createIfNotExists, false),
    createOnly: boolean('createOnly', input.createOnly, false),
    beaconIntervalBytes,
    maxFileBytes,
    endWithEos: boolean('endWithEos', input.endWithEos, false),
  };
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

import { describeValue, StreamerError } from './errors.js';
import type { ShardId, StreamKey } from './types.js';

/** Keys SeaStreamer reserves for its own markers (the file backend's end-of-stream message). */
export const RESERVED_STREAM_KEY = 'SEA_STREAMER_INTERNAL';
export const MAX_STREAM_KEY_LENGTH = 249;
const STREAM_KEY = /^[A-Za-z0-9._-]{1,249}$/;

export function isValidStreamKey(key: unknown): key is StreamKey {
  return typeof key === 'string' && STREAM_KEY.test(key) && key !== RESERVED_STREAM_KEY;
}

/** Returns `key` when it is a valid stream key, throws INVALID_STREAM_KEY naming it otherwise. */
export function validateStreamKey(key: unknown): StreamKey {
  if (isValidStreamKey(key)) return key;
  const why =
    key === RESERVED_STREAM_KEY
      ? 'it is reserved'
      : typeof key !== 'string'
        ? 'it is not a string'
        : key.length === 0
          ? 'it is empty'
          : key.length > MAX_STREAM_KEY_LENGTH
            ? `it is longer than ${MAX_STREAM_KEY_LENGTH} characters`
            : 'only A-Z a-z 0-9 . _ - are allowed';
  throw new StreamerError('INVALID_STREAM_KEY', `Invalid stream key ${describeValue(key)}: ${why}`);
}

export function isValidShardId(shard: unknown): shard is ShardId {
  return typeof shard === 'number' && Number.isSafeInteger(shard) && shard >= 0;
}

export function validateShardId(shard: unknown, name = 'shard'): ShardId {
  if (isValidShardId(shard)) return shard;
  throw new StreamerError(
    'INVALID_ARGUMENT',
    `${name} must be a non-negative safe integer, got ${describeValue(shard)}`,
  );
}

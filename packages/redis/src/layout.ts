import { isUtf8 } from 'node:buffer';
import type { Payload, ShardId, StreamKey } from '@streamer/core';
import { StreamMessage } from '@streamer/core/backend';
import { entrySequence } from './entry-id.js';

/**
 * How messages sit in Redis (SeaStreamer's layout): an unsharded stream is the key `name`, shard
 * N of a sharded one is `name:N`; one entry per message, payload in the message field, every
 * other field a header.
 */
export function shardKey(stream: StreamKey, shard: ShardId, sharded: boolean): string {
  return sharded || shard !== 0 ? `${stream}:${shard}` : stream;
}

const SHARD_SUFFIX = /^(.*):(0|[1-9]\d{0,15})$/;

/** The logical stream and shard a Redis key holds. */
export function parseShardKey(key: string): { stream: StreamKey; shard: ShardId } {
  const match = SHARD_SUFFIX.exec(key);
  if (match && Number.isSafeInteger(Number(match[2]))) {
    return { stream: match[1], shard: Number(match[2]) };
  }
  return { stream: key, shard: 0 };
}

/** Payloads up to this many bytes are sent as strings (measured: faster below, slower above). */
const SMALL_PAYLOAD = 256;

/**
 * A payload as it goes on the wire. node-redis writes a Buffer argument as three socket writes, a
 * string as part of one; for small payloads the writes cost more than decoding, so valid UTF-8
 * goes as a string (it round-trips byte for byte, and is a copy); large or binary payloads go as
 * a Buffer over the caller's bytes, uncopied.
 */
export function wirePayload(payload: Payload): string | Buffer {
  if (typeof payload === 'string') return payload;
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return bytes.length <= SMALL_PAYLOAD && isUtf8(bytes) ? bytes.toString() : bytes;
}

/** Appends an entry's field/value list to `args`: the payload under `messageField`, then the headers. */
export function pushFields(
  args: (string | Buffer)[],
  messageField: string,
  payload: string | Buffer,
  headers: Readonly<Record<string, string>> | undefined,
): void {
  args.push(messageField, payload);
  if (headers) {
    for (const name in headers) args.push(name, headers[name]);
  }
}

const EMPTY = Buffer.alloc(0);

/** A message with where it sits in Redis: acks need the key and id, not only the sequence. */
export class RedisMessage extends StreamMessage {
  /** The Redis key: `name`, or `name:N` for shard N. */
  readonly redisKey: string;
  /** The entry id, `ms-n`. */
  readonly entryId: string;

  constructor(
    streamKey: StreamKey,
    shardId: ShardId,
    sequence: bigint,
    timestamp: Date,
    payload: Uint8Array,
    headers: Readonly<Record<string, string>> | undefined,
    redisKey: string,
    entryId: string,
    deliveryCount?: number,
  ) {
    super(streamKey, shardId, sequence, timestamp, payload, headers, deliveryCount);
    this.redisKey = redisKey;
    this.entryId = entryId;
  }
}

/**
 * A message from an entry as XREAD returns it (`[id, [field, value, …]]`, all Buffers), handed
 * out for the `deliveryCount`th time.
 * `messageField` comes as bytes, so field names are compared without decoding them. An entry
 * without the message field (written by someone else) keeps every field as a header.
 */
export function decodeEntry(
  key: string,
  stream: StreamKey,
  shard: ShardId,
  id: string,
  fields: Buffer[] | null,
  messageField: Buffer,
  deliveryCount = 1,
): RedisMessage {
  const { sequence, ms } = entrySequence(id);
  let payload: Buffer = EMPTY;
  let found = false;
  let headers: Record<string, string> | undefined;
  if (fields) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i];
      if (!found && sameBytes(name, messageField)) {
        payload = fields[i + 1];
        found = true;
      } else (headers ??= {})[name.toString()] = fields[i + 1].toString();
    }
  }
  return new RedisMessage(
    stream,
    shard,
    sequence,
    new Date(ms),
    payload,
    headers ? Object.freeze(headers) : undefined,
    key,
    id,
    deliveryCount,
  );
}

/** Buffer#equals for field names: a few bytes compare faster in JS than through a native call. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

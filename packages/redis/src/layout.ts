import { type ShardId, type StreamKey, StreamMessage } from '@streamer/core';
import { parseEntryId } from './entry-id.js';

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
    return { stream: match[1]!, shard: Number(match[2]) };
  }
  return { stream: key, shard: 0 };
}

/** The field/value list of an entry: the payload under `messageField`, then the headers. */
export function entryFields(
  messageField: string,
  payload: Uint8Array,
  headers: Record<string, string> | undefined,
): (string | Buffer)[] {
  const fields: (string | Buffer)[] = [
    messageField,
    Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
  ];
  if (headers) {
    for (const name in headers) {
      if (name === messageField) continue; // refused by the producer before it gets here
      fields.push(name, headers[name]!);
    }
  }
  return fields;
}

const EMPTY = Buffer.alloc(0);

/**
 * A message from an entry as XREAD returns it (`[id, [field, value, …]]`, all Buffers). An entry
 * without the message field (written by someone else) keeps every field as a header.
 */
export function decodeEntry(
  stream: StreamKey,
  shard: ShardId,
  id: string,
  fields: Buffer[] | null,
  messageField: string,
): StreamMessage {
  const { ms, n } = parseEntryId(id);
  let payload: Buffer = EMPTY;
  let headers: Record<string, string> | undefined;
  if (fields) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!.toString();
      if (name === messageField && payload === EMPTY) payload = fields[i + 1]!;
      else (headers ??= {})[name] = fields[i + 1]!.toString();
    }
  }
  return new StreamMessage(
    stream,
    shard,
    (ms << 16n) | n,
    new Date(Number(ms)),
    payload,
    headers ? Object.freeze(headers) : undefined,
  );
}

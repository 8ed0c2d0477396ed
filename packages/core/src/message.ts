import { StreamerError } from './errors.js';
import type { Message, Payload, SeqNo, ShardId, StreamKey } from './types.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A message as backends hand it out: plain fields plus `text()` and `json()` on the prototype. */
export class StreamMessage implements Message {
  readonly streamKey: StreamKey;
  readonly shardId: ShardId;
  readonly sequence: SeqNo;
  readonly timestamp: Date;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly deliveryCount: number;

  constructor(
    streamKey: StreamKey,
    shardId: ShardId,
    sequence: SeqNo,
    timestamp: Date,
    payload: Uint8Array,
    headers: Readonly<Record<string, string>> = NO_HEADERS,
    deliveryCount = 1,
  ) {
    this.streamKey = streamKey;
    this.shardId = shardId;
    this.sequence = sequence;
    this.timestamp = timestamp;
    this.payload = payload;
    this.headers = headers;
    this.deliveryCount = deliveryCount;
  }

  text(): string {
    return text(this.payload);
  }

  json<T = unknown>(): T {
    return json<T>(this.payload);
  }
}

/** Decodes UTF-8; INVALID_PAYLOAD on invalid bytes instead of silently replacing them. */
export function text(payload: Uint8Array): string {
  try {
    return decoder.decode(payload);
  } catch (cause) {
    throw new StreamerError(
      'INVALID_PAYLOAD',
      `Payload of ${payload.length} bytes is not valid UTF-8`,
      { cause },
    );
  }
}

export function json<T = unknown>(payload: Uint8Array): T {
  const source = text(payload);
  try {
    return JSON.parse(source) as T;
  } catch (cause) {
    const head = source.length > 40 ? `${source.slice(0, 40)}...` : source;
    throw new StreamerError('INVALID_PAYLOAD', `Payload is not JSON: ${JSON.stringify(head)}`, {
      cause,
    });
  }
}

/** A payload as bytes: strings become UTF-8. */
export function toBytes(payload: Payload): Uint8Array {
  return typeof payload === 'string' ? encoder.encode(payload) : payload;
}

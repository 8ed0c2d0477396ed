import {
  isValidShardId,
  isValidStreamKey,
  type Payload,
  type SeqNo,
  type ShardId,
  StreamerError,
  type StreamKey,
  text,
} from '@streamer/core';
import { describeValue } from '@streamer/core/backend';

/** The stream a line without a key goes to; every consumer receives it. */
export const BROADCAST: StreamKey = 'broadcast';

/** What a line's `[…]` header said; every part is optional. */
export interface LineHeader {
  timestamp?: Date;
  streamKey?: StreamKey;
  sequence?: SeqNo;
  shardId?: ShardId;
}

export interface ParsedLine extends LineHeader {
  payload: string;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const DIGITS = /^\d+$/;
const MAX_SEQUENCE = 2n ** 64n - 1n;

function malformed(line: string, why: string): StreamerError {
  return new StreamerError('CORRUPT_DATA', `Malformed line ${describeValue(line)}: ${why}`);
}

/** `YYYY-MM-DDTHH:MM:SS[.fraction]` in UTC; undefined when `text` does not look like one. */
export function parseTimestamp(text: string): Date | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  // Sub-millisecond digits are dropped: a Date holds milliseconds.
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!, ms));
  date.setUTCFullYear(year!); // Date.UTC maps years 0-99 to 1900-1999
  const fieldsKept =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month! - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return fieldsKept ? date : undefined;
}

// Many lines share a millisecond: formatting it once for them is a good part of a producer's time.
let lastTime = Number.NaN;
let lastText = '';

/** `YYYY-MM-DDTHH:MM:SS.mmm` in UTC, without a zone, as the parser reads it back. */
export function formatTimestamp(date: Date): string {
  const time = date.getTime();
  if (time === lastTime) return lastText;
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `timestamp must be within the years 0000 to 9999 to fit a line, got ${describeValue(date)}`,
    );
  }
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ for these years
  lastTime = time;
  lastText = iso.slice(0, -1);
  return lastText;
}

/**
 * Parses one input line (without its line break): `[timestamp | stream_key | sequence | shard_id]
 * payload`, every part optional, or a bare payload when the line does not start with `[`.
 * A malformed header throws CORRUPT_DATA naming the line and the bad part.
 */
export function parseLine(line: string): ParsedLine {
  if (!line.startsWith('[')) return { payload: line };
  const close = line.indexOf(']');
  if (close < 0) throw malformed(line, 'the header has no closing "]"');
  // One space separates header and payload; any more belong to the payload.
  const payload = line.slice(line[close + 1] === ' ' ? close + 2 : close + 1);
  const parts = line
    .slice(1, close)
    .split('|')
    .map((part) => part.trim());
  const parsed: ParsedLine = { payload };
  let i = 0;
  const timestamp = parseTimestamp(parts[0]);
  if (timestamp) {
    parsed.timestamp = timestamp;
    i++;
  } else if (TIMESTAMP.test(parts[0])) {
    throw malformed(line, `${describeValue(parts[0])} is not a valid date and time`);
  }
  if (i < parts.length) {
    const key = parts[i++];
    if (!isValidStreamKey(key)) {
      const what = i === 1 ? 'a timestamp (YYYY-MM-DDTHH:MM:SS) or a stream key' : 'a stream key';
      throw malformed(line, `${describeValue(key)} is not ${what}`);
    }
    parsed.streamKey = key;
  }
  if (i < parts.length) {
    const part = parts[i++];
    const sequence = DIGITS.test(part) ? BigInt(part) : -1n;
    if (sequence < 0n || sequence > MAX_SEQUENCE)
      throw malformed(line, `${describeValue(part)} is not a sequence number (0 to 2^64-1)`);
    parsed.sequence = sequence;
  }
  if (i < parts.length) {
    const part = parts[i++];
    const shard = DIGITS.test(part) ? Number(part) : -1;
    if (!isValidShardId(shard)) throw malformed(line, `${describeValue(part)} is not a shard id`);
    parsed.shardId = shard;
  }
  if (i < parts.length) {
    throw malformed(
      line,
      `too many header parts after ${describeValue(parts.slice(0, i).join(' | '))}: expected [timestamp | stream_key | sequence | shard_id]`,
    );
  }
  return parsed;
}

/**
 * An output line (without its line break): `[timestamp | stream_key | sequence] payload`, plus
 * ` | shard` when the shard is not 0, so it parses back to the same message.
 */
export function formatLine(
  header: { timestamp: Date; streamKey: StreamKey; sequence: SeqNo; shardId: ShardId },
  payload: string,
): string {
  const shard = header.shardId === 0 ? '' : ` | ${header.shardId}`;
  return `[${formatTimestamp(header.timestamp)} | ${header.streamKey} | ${header.sequence}${shard}] ${payload}`;
}

/**
 * The payload as text that fits on one line; INVALID_PAYLOAD when it is not UTF-8 or holds a line
 * break, since either would corrupt the line format (SeaStreamer rejects non-UTF-8 too).
 */
export function lineText(payload: Payload): string {
  const line = typeof payload === 'string' ? payload : text(payload);
  const at = line.search(/[\r\n]/);
  if (at >= 0) {
    throw new StreamerError(
      'INVALID_PAYLOAD',
      `stdio sends one message per line: the payload ${describeValue(line)} has a line break at character ${at}`,
    );
  }
  return line;
}

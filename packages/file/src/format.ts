import { isValidStreamKey, RESERVED_STREAM_KEY, StreamerError } from '@streamer/core';
import { StreamMessage } from '@streamer/core/backend';
import { crc16 } from './crc.js';

/** Byte layout of SeaStreamer's `.ss` files (version 1); see docs/file.md. All integers big-endian. */
export const HEADER_SIZE = 128;
export const FORMAT_VERSION = 1;
export const CR = 0x0d;
export const DEFAULT_BEACON_INTERVAL = 1024 * 1024;
/** A beacon item at its largest: 255-byte key with its length byte, shard, seq, timestamp, checksum. */
export const MAX_ITEM_SIZE = 256 + 8 + 8 + 8 + 2;
/** The end-of-stream marker: this stream key with this payload. */
export const EOS_KEY = RESERVED_STREAM_KEY;
export const EOS_PAYLOAD = Buffer.from('EOS');
/** Bytes of a message besides its key and payload: key length, shard, seq, timestamp, size, checksum, CR. */
export const MESSAGE_OVERHEAD = 1 + 8 + 8 + 8 + 4 + 2 + 1;
const TWO_32 = 2 ** 32;
const MAX_DATE_MS = 8.64e15;

export interface FileHeader {
  fileName: string;
  createdAt: Date;
  beaconInterval: number;
  version: number;
}

/** What a beacon says about one (stream, shard): its latest message so far and running checksum. */
export interface BeaconItem {
  streamKey: string;
  shardId: number;
  sequence: bigint;
  timestamp: Date;
  runningChecksum: number;
}

export interface Beacon {
  /** Bytes of a spliced message that follow the beacon (0 when it fell between two messages). */
  remaining: number;
  items: BeaconItem[];
}

/** A message read from a file, with where it starts and its stored checksum. */
export class FileMessage extends StreamMessage {
  constructor(
    streamKey: string,
    shardId: number,
    sequence: bigint,
    timestamp: Date,
    payload: Uint8Array,
    /** File offset of the message's first byte. */
    readonly offset: number,
    readonly checksum: number,
  ) {
    super(streamKey, shardId, sequence, timestamp, payload);
  }
}

export function corrupt(offset: number, what: string): StreamerError {
  return new StreamerError('CORRUPT_DATA', `Corrupt stream file at offset ${offset}: ${what}`);
}

/** How many streams a beacon lists (the rest rotate): SeaStreamer's rule, 1 for a 1 KiB interval. */
export function beaconSlots(beaconInterval: number): number {
  return Math.floor(Math.min(255, Math.floor((beaconInterval - 7) / MAX_ITEM_SIZE)) / 2);
}

export function isValidBeaconInterval(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value > 0 &&
    value % 1024 === 0 &&
    value < TWO_32
  );
}

export function encodeHeader(header: Omit<FileHeader, 'version'>): Buffer {
  const name = Buffer.from(header.fileName, 'utf8');
  // The name is cut to fit: it is informational, and SeaStreamer limits it to a short string.
  const nameLength = Math.min(name.length, 255, HEADER_SIZE - 3 - 1 - 8 - 4 - 1);
  const out = Buffer.alloc(HEADER_SIZE);
  out[0] = 0x53;
  out[1] = 0x73;
  out[2] = FORMAT_VERSION;
  out[3] = nameLength;
  name.copy(out, 4, 0, nameLength);
  let pos = 4 + nameLength;
  pos = writeU64(out, pos, header.createdAt.getTime());
  out.writeUInt32BE(header.beaconInterval, pos);
  out[HEADER_SIZE - 1] = CR;
  return out;
}

export function decodeHeader(bytes: Uint8Array): FileHeader {
  const buf = asBuffer(bytes);
  if (buf.length < HEADER_SIZE) throw corrupt(buf.length, 'the 128-byte file header is truncated');
  if (buf[0] !== 0x53 || buf[1] !== 0x73) throw corrupt(0, 'not a stream file (no "Ss" mark)');
  if (buf[2] !== FORMAT_VERSION) throw corrupt(2, `unknown format version ${buf[2]}`);
  const nameLength = buf[3];
  if (4 + nameLength + 12 > HEADER_SIZE - 1) throw corrupt(3, 'file name too long for the header');
  const fileName = buf.toString('utf8', 4, 4 + nameLength);
  const createdAt = readU64(buf, 4 + nameLength);
  const beaconInterval = buf.readUInt32BE(4 + nameLength + 8);
  if (!isValidBeaconInterval(beaconInterval)) {
    throw corrupt(
      4 + nameLength + 8,
      `beacon interval ${beaconInterval} is not a multiple of 1024`,
    );
  }
  if (createdAt > MAX_DATE_MS) throw corrupt(4 + nameLength, 'creation time out of range');
  if (buf[HEADER_SIZE - 1] !== CR) throw corrupt(HEADER_SIZE - 1, 'the header does not end in CR');
  return { fileName, createdAt: new Date(createdAt), beaconInterval, version: buf[2] };
}

/** Size of a message with this key and payload length. */
export function messageSize(keyLength: number, payloadLength: number): number {
  return MESSAGE_OVERHEAD + keyLength + payloadLength;
}

/** Bytes a payload takes in a message: a string's UTF-8 bytes. */
export function payloadSize(payload: Uint8Array | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
}

/**
 * Writes a message at `pos` of `out` (which must have room for `messageSize`); returns the payload
 * checksum. A string payload is stored as UTF-8, encoded straight into `out`; `size` is its
 * `payloadSize`, for a caller that knows it already. `streamKey` must be ASCII (stream keys are).
 */
export function encodeMessage(
  out: Buffer,
  pos: number,
  streamKey: string,
  shardId: number,
  sequence: number,
  timestampMs: number,
  payload: Uint8Array | string,
  size: number = payloadSize(payload),
): number {
  pos = writeMessageHeader(out, pos, streamKey, shardId, sequence, timestampMs);
  out[pos] = size >>> 24;
  out[pos + 1] = size >>> 16;
  out[pos + 2] = size >>> 8;
  out[pos + 3] = size;
  pos += 4;
  if (typeof payload !== 'string') out.set(payload, pos);
  // A string as long as its UTF-8 is ASCII, whose latin1 bytes are the same: Node copies those
  // without encoding, a third faster than a UTF-8 write of a 100 B payload (measured).
  else out.write(payload, pos, size, size === payload.length ? 'latin1' : 'utf8');
  const checksum = crc16(out, pos, pos + size);
  pos += size;
  out[pos] = checksum >>> 8;
  out[pos + 1] = checksum;
  out[pos + 2] = CR;
  return checksum;
}

function writeMessageHeader(
  out: Buffer,
  pos: number,
  streamKey: string,
  shardId: number,
  sequence: number,
  timestampMs: number,
): number {
  const length = streamKey.length;
  out[pos++] = length;
  for (let i = 0; i < length; i++) out[pos++] = streamKey.charCodeAt(i); // keys are ASCII
  pos = writeU64(out, pos, shardId);
  pos = writeU64(out, pos, sequence);
  return writeU64(out, pos, timestampMs);
}

export function beaconSize(beacon: Beacon): number {
  let size = 1 + 4 + 1 + 1;
  for (const item of beacon.items) size += 1 + item.streamKey.length + 24 + 2;
  return size;
}

export function encodeBeacon(beacon: Beacon): Buffer {
  const out = Buffer.allocUnsafe(beaconSize(beacon));
  out[0] = CR;
  out.writeUInt32BE(beacon.remaining, 1);
  out[5] = beacon.items.length;
  let pos = 6;
  for (const item of beacon.items) {
    pos = writeMessageHeader(
      out,
      pos,
      item.streamKey,
      item.shardId,
      Number(item.sequence),
      item.timestamp.getTime(),
    );
    out.writeUInt16BE(item.runningChecksum, pos);
    pos += 2;
  }
  out[pos] = CR;
  return out;
}

/**
 * Decodes the beacon at `pos` of `buf` (file offset `offset`). Returns its size too, or undefined
 * when `buf` ends before the beacon does.
 */
export function decodeBeacon(
  buf: Buffer,
  pos: number,
  offset: number,
): { beacon: Beacon; size: number } | undefined {
  if (buf.length - pos < 6) return undefined;
  if (buf[pos] !== CR) throw corrupt(offset, 'a beacon does not start with CR');
  const remaining = buf.readUInt32BE(pos + 1);
  const count = buf[pos + 5];
  let p = pos + 6;
  const items: BeaconItem[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.length - p < 1) return undefined;
    const keyLength = buf[p];
    if (buf.length - p < 1 + keyLength + 26) return undefined;
    const header = readMessageHeader(buf, p, offset + (p - pos));
    p = header.end;
    items.push({
      streamKey: header.streamKey,
      shardId: header.shardId,
      sequence: header.sequence,
      timestamp: header.timestamp,
      runningChecksum: buf.readUInt16BE(p),
    });
    p += 2;
  }
  if (buf.length - p < 1) return undefined;
  if (buf[p] !== CR) throw corrupt(offset + (p - pos), 'a beacon does not end with CR');
  return { beacon: { remaining, items }, size: p + 1 - pos };
}

const validKeys = new Set<string>([EOS_KEY]);
// The last key decoded, as a string and as bytes: most messages repeat their neighbour's key, and
// comparing a few bytes is cheaper than making and checking a new string.
let lastKey = '';
let lastKeyBytes = new Uint8Array(0);

/** The stream key of `length` bytes at `pos`; CORRUPT_DATA when it is not a valid key. */
function keyAt(buf: Buffer, pos: number, length: number, offset: number): string {
  if (length === lastKeyBytes.length) {
    let i = 0;
    while (i < length && buf[pos + i] === lastKeyBytes[i]) i++;
    if (i === length) return lastKey;
  }
  const key = buf.toString('latin1', pos, pos + length);
  if (!validKeys.has(key)) {
    if (!isValidStreamKey(key)) throw corrupt(offset, `invalid stream key ${JSON.stringify(key)}`);
    if (validKeys.size < 10_000) validKeys.add(key);
  }
  lastKey = key;
  lastKeyBytes = Uint8Array.prototype.slice.call(buf, pos, pos + length);
  return key;
}

function sequenceAt(buf: Buffer, pos: number): bigint {
  const high = buf.readUInt32BE(pos);
  return high < 0x200000
    ? BigInt(high * TWO_32 + buf.readUInt32BE(pos + 4))
    : buf.readBigUInt64BE(pos);
}

function shardAt(buf: Buffer, pos: number, offset: number): number {
  const high = buf.readUInt32BE(pos);
  if (high >= 0x200000) throw corrupt(offset, 'shard id beyond 2^53');
  return high * TWO_32 + buf.readUInt32BE(pos + 4);
}

function timestampAt(buf: Buffer, pos: number, offset: number): Date {
  const ms = readU64(buf, pos);
  if (ms > MAX_DATE_MS) throw corrupt(offset, `timestamp ${ms} out of range`);
  return new Date(ms);
}

/** Reads key, shard, seq and timestamp at `pos` (all bytes present); `offset` is for errors. */
function readMessageHeader(buf: Buffer, pos: number, offset: number) {
  const keyLength = buf[pos];
  const streamKey = keyAt(buf, pos + 1, keyLength, offset);
  pos += 1 + keyLength;
  return {
    streamKey,
    shardId: shardAt(buf, pos, offset),
    sequence: sequenceAt(buf, pos + 8),
    timestamp: timestampAt(buf, pos + 16, offset),
    end: pos + 24,
  };
}

/**
 * Decodes the whole message at `buf[pos]` (all its bytes present);
 * verifies the CR and the checksum. `offset` is the message's file offset: it is kept in the
 * message and named in errors.
 */
export function decodeMessage(buf: Buffer, pos: number, offset: number): FileMessage {
  const keyLength = buf[pos];
  const streamKey = keyAt(buf, pos + 1, keyLength, offset);
  const at = pos + 1 + keyLength;
  const size = buf.readUInt32BE(at + 24);
  const start = at + 28;
  const end = start + size;
  const checksum = buf.readUInt16BE(end);
  if (buf[end + 2] !== CR) throw corrupt(offset, 'a message does not end with CR');
  const computed = crc16(buf, start, end);
  if (checksum !== computed) {
    throw corrupt(
      offset,
      `checksum mismatch (stored 0x${hex(checksum)}, computed 0x${hex(computed)})`,
    );
  }
  return new FileMessage(
    streamKey,
    shardAt(buf, at, offset),
    sequenceAt(buf, at + 8),
    timestampAt(buf, at + 16, offset),
    buf.subarray(start, end),
    offset,
    checksum,
  );
}

export function isEos(message: { streamKey: string; payload: Uint8Array }): boolean {
  return message.streamKey === EOS_KEY && Buffer.from(message.payload).equals(EOS_PAYLOAD);
}

function hex(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function writeU64(out: Buffer, pos: number, value: number): number {
  const high = value > 0xffffffff ? Math.floor(value / TWO_32) : 0;
  const low = value >>> 0;
  // Byte stores: a Uint8Array keeps the low 8 bits of what is stored.
  out[pos] = high >>> 24;
  out[pos + 1] = high >>> 16;
  out[pos + 2] = high >>> 8;
  out[pos + 3] = high;
  out[pos + 4] = low >>> 24;
  out[pos + 5] = low >>> 16;
  out[pos + 6] = low >>> 8;
  out[pos + 7] = low;
  return pos + 8;
}

function readU64(buf: Buffer, pos: number): number {
  return buf.readUInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

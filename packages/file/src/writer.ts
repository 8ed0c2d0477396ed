import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Payload, type Receipt, StreamerError } from '@streamer/core';
import { notifyChange } from './changes.js';
import { CRC_INIT, runningChecksum } from './crc.js';
import {
  type Beacon,
  beaconSlots,
  EOS_KEY,
  EOS_PAYLOAD,
  encodeBeacon,
  encodeHeader,
  encodeMessage,
  HEADER_SIZE,
  MAX_ITEM_SIZE,
  messageSize,
  payloadSize,
} from './format.js';
import { readBeaconAt } from './locate.js';
import { lockFile } from './lock.js';
import { LogReader, readHeaderFrom } from './reader.js';

const CHUNK = 1024 * 1024;
/** Files with up to this many beacons are read whole when opened for appending. */
const FULL_SCAN_BEACONS = 64;
/** Buffered bytes past which a write starts at once instead of at the end of the tick. */
const EAGER_BYTES = 4 * CHUNK;

/** What the writer knows of one (stream, shard): the next beacon item. */
interface Source {
  streamKey: string;
  shardId: number;
  sequence: number;
  timestampMs: number;
  running: number;
}

/** The sends waiting for the next write: they all settle with it. */
interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function batch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface WriterOptions {
  /** For a new (empty) file; an existing file keeps its own. */
  beaconIntervalBytes: number;
  maxFileBytes: number;
}

/**
 * Appends messages to one `.ss` file. Messages are encoded into large buffers and written with one
 * syscall per batch; each send resolves once its bytes are written to the OS. Beacons are put at
 * every interval boundary, splicing the message that crosses it.
 */
export class LogWriter {
  readonly path: string;
  readonly beaconInterval: number;
  readonly #handle: FileHandle;
  readonly #limit: number;
  readonly #slots: number;
  readonly #sources = new Map<string, Map<number, Source>>();
  #sorted: Source[] | undefined;
  #beaconCount = 0;
  /** File offset after everything appended (buffered or written). */
  #offset: number;
  /** File offset up to which bytes are written to the OS. */
  #written: number;
  #filled: Buffer[] = [];
  #chunk = Buffer.allocUnsafe(CHUNK);
  #chunkPos = 0;
  #batch: Batch | undefined;
  #scheduled = false;
  #writing = false;
  #failure: StreamerError | undefined;
  #closed = false;
  #unlock: () => Promise<void> = async () => {};

  private constructor(
    path: string,
    handle: FileHandle,
    beaconInterval: number,
    offset: number,
    limit: number,
  ) {
    this.path = path;
    this.#handle = handle;
    this.beaconInterval = beaconInterval;
    this.#offset = offset;
    this.#written = offset;
    this.#limit = limit;
    this.#slots = beaconSlots(beaconInterval);
  }

  /**
   * Opens `path` (which must exist) for appending: writes the header into an empty file, or
   * recovers every stream's last sequence number and running checksum from an existing one,
   * dropping a trailing end-of-stream message and any half-written message after the last whole one.
   */
  static async open(path: string, options: WriterOptions): Promise<LogWriter> {
    const unlock = await lockFile(path);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r+');
    } catch (cause) {
      await unlock();
      throw new StreamerError(
        'CONNECT',
        `Cannot open stream file ${path} for writing: ${(cause as Error).message}`,
        { cause },
      );
    }
    try {
      const writer = await LogWriter.#start(path, handle, options);
      writer.#unlock = unlock;
      return writer;
    } catch (error) {
      await handle.close();
      await unlock();
      throw error;
    }
  }

  static async #start(
    path: string,
    handle: FileHandle,
    options: WriterOptions,
  ): Promise<LogWriter> {
    const { size } = await handle.stat();
    if (size === 0) {
      const header = encodeHeader({
        fileName: basename(path),
        createdAt: new Date(),
        beaconInterval: options.beaconIntervalBytes,
      });
      await handle.write(header, 0, header.length, 0);
      return new LogWriter(
        path,
        handle,
        options.beaconIntervalBytes,
        HEADER_SIZE,
        options.maxFileBytes,
      );
    }
    const header = await readHeaderFrom(handle, path);
    const writer = new LogWriter(
      path,
      handle,
      header.beaconInterval,
      HEADER_SIZE,
      options.maxFileBytes,
    );
    await writer.#recover(size);
    return writer;
  }

  /** File offset after everything appended so far: where the next message goes. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Appends a message; resolves with its receipt once it is written to the OS. A string payload is
   * encoded as UTF-8 straight into the write buffer, with no buffer of its own per send.
   */
  append(
    streamKey: string,
    shardId: number,
    timestamp: Date | undefined,
    payload: Payload,
  ): Promise<Receipt> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) {
      return Promise.reject(
        new StreamerError('PRODUCER_ENDED', `The writer of ${this.path} is closed`),
      );
    }
    const timestampMs = timestamp === undefined ? Date.now() : timestamp.getTime();
    if (timestampMs < 0) {
      return Promise.reject(
        new StreamerError(
          'INVALID_ARGUMENT',
          `timestamp must not be before 1970 in a stream file, got ${timestamp!.toISOString()}`,
        ),
      );
    }
    const bytes = payloadSize(payload);
    const size = messageSize(streamKey.length, bytes);
    const crossed =
      Math.floor((this.#offset + size) / this.beaconInterval) -
      Math.floor(this.#offset / this.beaconInterval);
    if (this.#offset + size + crossed * (7 + this.#slots * MAX_ITEM_SIZE) > this.#limit) {
      return Promise.reject(
        new StreamerError(
          'PAYLOAD_TOO_LARGE',
          `Stream file ${this.path} would grow past its maxFileBytes of ${this.#limit} bytes (it has ${this.#offset}, the message needs ${size})`,
        ),
      );
    }
    const source = this.#source(streamKey, shardId);
    const sequence = source.sequence + 1;
    this.#write(source, sequence, timestampMs, payload, bytes, size);
    // One promise per write, not per send: the receipts hang off it, made only once written so
    // that fewer objects live through the write (the garbage collector's work grows with them).
    const pending = (this.#batch ??= batch());
    this.#schedule();
    return pending.promise.then(
      (): Receipt => ({
        streamKey,
        shardId,
        sequence: BigInt(sequence),
        timestamp: timestamp ?? new Date(timestampMs),
      }),
    );
  }

  /** Resolves once everything appended so far is written to the OS. */
  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!this.#writing && this.#pendingBytes() === 0) return Promise.resolve();
    const pending = (this.#batch ??= batch());
    this.#schedule();
    return pending.promise;
  }

  /** Flushes, then makes the file durable (fsync). */
  async sync(): Promise<void> {
    await this.flush();
    await this.#handle.sync();
  }

  /** Flushes, writes the end-of-stream message if asked, fsyncs and closes the file. */
  async close(endOfStream: boolean): Promise<void> {
    if (this.#closed) return;
    try {
      if (endOfStream && !this.#failure) {
        this.#write(
          this.#source(EOS_KEY, 0),
          0,
          Date.now(),
          EOS_PAYLOAD,
          EOS_PAYLOAD.length,
          messageSize(EOS_KEY.length, EOS_PAYLOAD.length),
        );
      }
      await this.sync();
    } finally {
      this.#closed = true;
      await this.#handle.close();
      await this.#unlock();
    }
  }

  #source(streamKey: string, shardId: number): Source {
    let shards = this.#sources.get(streamKey);
    if (!shards) this.#sources.set(streamKey, (shards = new Map()));
    let source = shards.get(shardId);
    if (!source) {
      source = { streamKey, shardId, sequence: 0, timestampMs: 0, running: CRC_INIT };
      shards.set(shardId, source);
      this.#sorted = undefined;
    }
    return source;
  }

  /**
   * Encodes a message at the end, splicing it around the beacons it crosses. `bytes` is the
   * payload's size and `size` the message's.
   */
  #write(
    source: Source,
    sequence: number,
    timestampMs: number,
    payload: Payload,
    bytes: number,
    size: number,
  ) {
    const interval = this.beaconInterval;
    const room = interval - (this.#offset % interval);
    if (size < room) {
      // The common case: the message fits before the next beacon, encode it in place.
      this.#reserve(size);
      const checksum = encodeMessage(
        this.#chunk,
        this.#chunkPos,
        source.streamKey,
        source.shardId,
        sequence,
        timestampMs,
        payload,
        bytes,
      );
      this.#chunkPos += size;
      this.#offset += size;
      this.#update(source, sequence, timestampMs, checksum);
      return;
    }
    const message = Buffer.allocUnsafe(size);
    const checksum = encodeMessage(
      message,
      0,
      source.streamKey,
      source.shardId,
      sequence,
      timestampMs,
      payload,
      bytes,
    );
    // Beacons list the message being spliced, as SeaStreamer's do.
    this.#update(source, sequence, timestampMs, checksum);
    let at = 0;
    while (at < size) {
      const take = Math.min(size - at, interval - (this.#offset % interval));
      this.#put(message.subarray(at, at + take));
      at += take;
      if (this.#offset % interval === 0) this.#put(this.#beacon(size - at));
    }
  }

  #update(source: Source, sequence: number, timestampMs: number, checksum: number): void {
    source.sequence = Math.max(source.sequence, sequence);
    source.timestampMs = Math.max(source.timestampMs, timestampMs);
    source.running = runningChecksum(source.running, checksum);
  }

  /** The beacon for the current boundary: up to `#slots` streams, rotating when there are more. */
  #beacon(remaining: number): Buffer {
    if (!this.#sorted) {
      this.#sorted = [...this.#sources.values()].flatMap((shards) => [...shards.values()]);
      this.#sorted.sort((a, b) =>
        a.streamKey < b.streamKey ? -1 : a.streamKey > b.streamKey ? 1 : a.shardId - b.shardId,
      );
    }
    const sources = this.#sorted;
    const count = Math.min(sources.length, this.#slots);
    const beacon: Beacon = { remaining, items: [] };
    for (let i = 0; i < count; i++) {
      const source = sources[(this.#beaconCount + i) % sources.length];
      beacon.items.push({
        streamKey: source.streamKey,
        shardId: source.shardId,
        sequence: BigInt(source.sequence),
        timestamp: new Date(source.timestampMs),
        runningChecksum: source.running,
      });
    }
    this.#beaconCount += count;
    return encodeBeacon(beacon);
  }

  #put(bytes: Buffer): void {
    this.#reserve(bytes.length);
    bytes.copy(this.#chunk, this.#chunkPos);
    this.#chunkPos += bytes.length;
    this.#offset += bytes.length;
  }

  /** Makes room for `n` contiguous bytes at `#chunk[#chunkPos]`. */
  #reserve(n: number): void {
    if (this.#chunk.length - this.#chunkPos >= n) return;
    if (this.#chunkPos > 0) this.#filled.push(this.#chunk.subarray(0, this.#chunkPos));
    this.#chunk = Buffer.allocUnsafe(Math.max(CHUNK, n));
    this.#chunkPos = 0;
  }

  #pendingBytes(): number {
    return this.#offset - this.#written;
  }

  #schedule(): void {
    if (this.#writing || this.#scheduled) return;
    this.#scheduled = true;
    // At the end of the tick, so that every send made in this tick goes out in one write.
    if (this.#pendingBytes() >= EAGER_BYTES) void this.#pump();
    else queueMicrotask(() => void this.#pump());
  }

  async #pump(): Promise<void> {
    this.#scheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#batch !== undefined || this.#pendingBytes() > 0) {
        const buffers = this.#filled;
        if (this.#chunkPos > 0) buffers.push(this.#chunk.subarray(0, this.#chunkPos));
        this.#filled = [];
        this.#chunk = this.#chunk.subarray(this.#chunkPos);
        this.#chunkPos = 0;
        const written = this.#batch;
        this.#batch = undefined;
        try {
          await this.#writeAll(buffers);
        } catch (cause) {
          this.#failure = new StreamerError(
            'BACKEND',
            `Writing to stream file ${this.path} failed: ${(cause as Error).message}`,
            { cause },
          );
          // Sends made while this write ran fail too: nothing after a failed write is stored.
          const later = this.#batch as Batch | undefined;
          this.#batch = undefined;
          written?.reject(this.#failure);
          later?.reject(this.#failure);
          return;
        }
        written?.resolve();
        notifyChange(this.path);
      }
    } finally {
      this.#writing = false;
    }
  }

  async #writeAll(buffers: Buffer[]): Promise<void> {
    let list = buffers;
    while (list.length > 0) {
      const total = list.reduce((sum, b) => sum + b.length, 0);
      const { bytesWritten } = await this.#handle.writev(list, this.#written);
      this.#written += bytesWritten;
      if (bytesWritten === total) return;
      // A short write: go on with what is left.
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const b of list) {
        if (skip >= b.length) skip -= b.length;
        else {
          rest.push(b.subarray(skip));
          skip = 0;
        }
      }
      list = rest;
    }
  }

  /**
   * Learns each stream's last sequence number and running checksum. A small file is read whole;
   * a big one from its last beacons forward (see `#fromBeacons`).
   */
  async #recover(size: number): Promise<void> {
    const header = await readHeaderFrom(this.#handle, this.path);
    const plan = await this.#fromBeacons(size);
    const reader = new LogReader(this.#handle, header, plan?.start ?? HEADER_SIZE);
    for (;;) {
      const batch = await reader.read(4096);
      for (const m of batch) {
        // A beacon item already counts the messages before its beacon.
        const counted = plan?.counted.get(m.streamKey)?.get(m.shardId);
        if (counted !== undefined && m.offset < counted) continue;
        const source = this.#source(m.streamKey, m.shardId);
        this.#update(source, Number(m.sequence), m.timestamp.getTime(), m.checksum);
      }
      if (reader.ended || batch.length === 0) break;
    }
    // Append after the last whole message: an end-of-stream marker and a half-written tail go.
    const end = reader.eosOffset ?? reader.offset;
    if (end < size) await this.#handle.truncate(end);
    this.#offset = this.#written = end;
    if (end % this.beaconInterval === 0) {
      this.#put(this.#beacon(0));
      await this.flush();
    }
  }

  /**
   * For a file of many beacon intervals: takes each stream's state from the latest beacon that
   * lists it, walking back until a beacon lists every stream (it has free slots) or a whole
   * rotation brings no new stream. Returns where to scan from, and per stream the beacon offset
   * before which its messages are already counted; undefined to read the file whole.
   */
  async #fromBeacons(
    size: number,
  ): Promise<{ start: number; counted: Map<string, Map<number, number>> } | undefined> {
    const interval = this.beaconInterval;
    const last = Math.floor(size / interval);
    if (last <= FULL_SCAN_BEACONS) return undefined;
    const counted = new Map<string, Map<number, number>>();
    let found = 0;
    let quiet = 0;
    let start = 0;
    for (let k = last; k >= 1; k--) {
      const beacon = await readBeaconAt(this.#handle, k * interval, interval);
      if (!beacon) continue; // the last one may be cut short
      let fresh = false;
      for (const item of beacon.items) {
        if (item.streamKey === EOS_KEY) continue;
        let shards = counted.get(item.streamKey);
        if (!shards) counted.set(item.streamKey, (shards = new Map()));
        if (shards.has(item.shardId)) continue;
        shards.set(item.shardId, k * interval);
        const source = this.#source(item.streamKey, item.shardId);
        source.sequence = Number(item.sequence);
        source.timestampMs = item.timestamp.getTime();
        source.running = item.runningChecksum;
        found++;
        fresh = true;
      }
      start = k * interval;
      // Free slots: the beacon lists every stream. (An empty one, as SeaStreamer writes where it
      // resumes appending, says nothing.)
      if (beacon.items.length > 0 && beacon.items.length < this.#slots) return { start, counted };
      quiet = fresh ? 0 : quiet + 1;
      if (quiet > Math.ceil(found / this.#slots) + 1) return { start, counted };
    }
    // No beacon settled it: forget what was gathered and read the whole file.
    this.#sources.clear();
    this.#sorted = undefined;
    return undefined;
  }
}

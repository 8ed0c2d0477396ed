import type { SeqPos, StreamerError } from '@streamer/core';
import type { BeaconItem, FileMessage } from './format.js';
import { HEADER_SIZE } from './format.js';
import { findEnd, readBeaconAt, searchBeacons } from './locate.js';
import type { ReadOptions } from './options.js';
import { Tail } from './tail.js';
import { localWriter } from './writers.js';

/** Which messages a reader wants, and where they go. */
export interface CursorTarget {
  wants(message: { streamKey: string; shardId: number }): boolean;
  deliver(batch: FileMessage[], stop: AbortSignal): Promise<void>;
  damaged(error: StreamerError): void;
  stopped(error: StreamerError): void;
  /** Runs after reading stopped at the old position and before it starts at the new one. */
  reset(): void;
}

/** Passes a message on, or holds it back (before a rewind target, already committed, …). */
export type Gate = (message: FileMessage) => boolean;

const sourceKey = (stream: string, shard: number) => `${shard}:${stream}`;

/** What `Cursor.behind()` tells lag: bytes not read yet, a message's mean size, the shards seen. */
export interface Behind {
  bytes: number;
  meanBytes: number | undefined;
  seen: ReadonlyMap<string, ReadonlySet<number>>;
}

/**
 * A position in a stream file that moves forward as messages are read: a Tail plus the rewind,
 * seek and resume logic. Positions are found with the beacons, then the gate holds back the
 * messages between that coarse position and the exact one.
 */
export class Cursor {
  readonly #tail: Tail;
  readonly #target: CursorTarget;
  #gate: Gate | undefined;
  /** The shards of each stream this cursor has delivered: where to look in beacons when seeking. */
  readonly #seen = new Map<string, Set<number>>();
  /** Bytes per message in the file, from the last batch of several: how lag is estimated. */
  #meanBytes: number | undefined;

  private constructor(tail: Tail, target: CursorTarget) {
    this.#tail = tail;
    this.#target = target;
  }

  static async open(
    path: string,
    options: ReadOptions,
    batchSize: number,
    target: CursorTarget,
  ): Promise<Cursor> {
    let cursor: Cursor | undefined;
    const tail = await Tail.open(path, options, batchSize, {
      deliver: (batch, stop) => cursor!.#deliver(batch, stop),
      damaged: (error) => target.damaged(error),
      stopped: (error) => target.stopped(error),
    });
    cursor = new Cursor(tail, target);
    return cursor;
  }

  /** The offset after the last message written (by this process's writer too, buffered or not). */
  async end(): Promise<number> {
    return localWriter(this.#tail.path)?.offset ?? findEnd(this.#tail.handle, this.#tail.header);
  }

  /** Bytes written after what this cursor has read, its estimate of a message's size, and the shards it delivered. */
  async behind(): Promise<Behind> {
    const bytes = Math.max(0, (await this.end()) - this.#tail.offset);
    return { bytes, meanBytes: this.#meanBytes, seen: this.#seen };
  }

  async moveTo(offset: number, gate?: Gate): Promise<void> {
    await this.#tail.moveTo(offset, () => {
      this.#gate = gate;
      this.#target.reset();
    });
  }

  async rewind(to: SeqPos): Promise<void> {
    if (to === 'beginning') return this.moveTo(HEADER_SIZE);
    if (to === 'end') return this.moveTo(await this.end());
    const at = to.at;
    const end = await this.end();
    await this.#search(
      (item) => item.sequence < at,
      end,
      (m) => m.offset >= end || m.sequence >= at,
    );
  }

  async seek(to: Date): Promise<void> {
    const time = to.getTime();
    const end = await this.end();
    // Per (stream, shard): hold back until its first message at or after `to`, then pass all.
    const passed = new Set<string>();
    await this.#search(
      (item) => item.timestamp.getTime() < time,
      end,
      (m) => {
        if (m.offset >= end || m.timestamp.getTime() >= time) {
          passed.add(sourceKey(m.streamKey, m.shardId));
          return true;
        }
        return passed.size > 0 && passed.has(sourceKey(m.streamKey, m.shardId));
      },
    );
  }

  /**
   * Resumes a group: each (stream, shard) with a commit after its committed sequence, the others
   * from `from`. Starts at the earliest beacon that precedes all of those.
   */
  async resume(from: number, committed: Map<string, Map<number, bigint>>): Promise<void> {
    let start = from;
    for (const [stream, shards] of committed) {
      for (const [shard, seq] of shards) {
        const offset = await searchBeacons(this.#tail.handle, this.#tail.header, (items) => {
          const item = items.find((i) => i.streamKey === stream && i.shardId === shard);
          return item && item.sequence <= seq;
        });
        start = Math.min(start, offset);
      }
    }
    await this.moveTo(start, (m) => {
      const seq = committed.get(m.streamKey)?.get(m.shardId);
      return seq === undefined ? m.offset >= from : m.sequence > seq;
    });
  }

  async close(): Promise<void> {
    await this.#tail.close();
  }

  /** Finds the earliest beacon before the target for every stream this cursor knows, then gates. */
  async #search(before: (item: BeaconItem) => boolean, end: number, gate: Gate): Promise<void> {
    const { handle, header } = this.#tail;
    const sources = new Map<string, { streamKey: string; shardId: number }>();
    for (const [streamKey, shards] of this.#seen)
      for (const shardId of shards)
        sources.set(sourceKey(streamKey, shardId), { streamKey, shardId });
    // Streams this cursor has not read yet: take them from the last beacon.
    const last = Math.floor(end / header.beaconInterval) * header.beaconInterval;
    if (last > 0) {
      for (const item of (await readBeaconAt(handle, last, header.beaconInterval))?.items ?? []) {
        if (this.#target.wants(item)) sources.set(sourceKey(item.streamKey, item.shardId), item);
      }
    }
    let start = sources.size === 0 ? HEADER_SIZE : end;
    for (const { streamKey, shardId } of sources.values()) {
      const offset = await searchBeacons(handle, header, (items) => {
        const item = items.find((i) => i.streamKey === streamKey && i.shardId === shardId);
        return item && before(item);
      });
      start = Math.min(start, offset);
    }
    await this.moveTo(start, gate);
  }

  async #deliver(batch: FileMessage[], stop: AbortSignal): Promise<void> {
    const gate = this.#gate;
    if (batch.length > 1)
      this.#meanBytes = (batch[batch.length - 1].offset - batch[0].offset) / (batch.length - 1);
    const wanted: FileMessage[] = [];
    for (const m of batch) {
      if (!this.#target.wants(m)) continue;
      if (gate && !gate(m)) continue;
      wanted.push(m);
    }
    if (wanted.length === 0) return;
    let last: FileMessage | undefined;
    for (const m of wanted) {
      // Neighbours are mostly of one (stream, shard): noting each message is a cost per message.
      if (last !== undefined && m.shardId === last.shardId && m.streamKey === last.streamKey)
        continue;
      last = m;
      let shards = this.#seen.get(m.streamKey);
      if (!shards) this.#seen.set(m.streamKey, (shards = new Set()));
      shards.add(m.shardId);
    }
    await this.#target.deliver(wanted, stop);
  }
}

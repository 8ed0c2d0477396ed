import { type Lag, type Message, type SeqPos, StreamerError, type StreamKey } from '@streamer/core';
import {
  AbstractConsumer,
  type AckRef,
  AsyncQueue,
  publishReceive,
  type ResolvedConsumerOptions,
  receiving,
} from '@streamer/core/backend';
import { Cursor, type CursorTarget } from './cursor.js';
import type { FileMessage } from './format.js';
import { HEADER_SIZE } from './format.js';
import type { GroupMember, LoadBalancer } from './group.js';
import { fileLag } from './lag.js';
import { type GroupOffsets, loadOffsets, saveOffsets, sidecarPath } from './offsets.js';
import type { ReadOptions } from './options.js';
import { untilRoom } from './room.js';

/** Subscribing to this stream key reads every stream of the file (SeaStreamer's wildcard). */
export const WILDCARD = 'SEA_STREAMER_WILDCARD';

/**
 * Messages read at a time and held ahead of next() when batchSize asks for fewer. Measured in CPU
 * time (docs/file.md): reading 1000 at a time, a consumer read at 1.0x the speed of readMessages(),
 * 100 at a time (core's default batchSize) at 0.9x, 10,000 at 0.75-0.9x. The file is read 1 MiB
 * at a time either way; a smaller read-ahead costs a turn of the read loop per few messages.
 */
const READ_AHEAD = 1000;

/** Per (stream, shard), messages handed out and not committed yet, in order; and which are acked. */
interface Uncommitted {
  delivered: bigint[];
  head: number;
  acked: Set<bigint>;
}

/** In-process state of each resumable group's offsets file: one copy, saves one at a time. */
const groups = new Map<string, { offsets: GroupOffsets; saving: Promise<void> }>();

/**
 * A consumer of a stream file. realtime and resumable consumers read the file themselves with a
 * Cursor; loadBalanced members get their share from the group's LoadBalancer. What those call
 * is a private object (`#target`), so users of the consumer see only the Consumer API.
 */
export class FileConsumer extends AbstractConsumer {
  readonly #path: string;
  /** The read-ahead; replaced when a rewind restarts reading after the end (a closed queue stays closed). */
  #queue = new AsyncQueue<FileMessage>();
  readonly #target: CursorTarget & GroupMember;
  readonly #all: boolean;
  readonly #streams: Set<string>;
  #cursor: Cursor | undefined;
  #balancer: LoadBalancer | undefined;
  #sidecar: string | undefined;
  /** assign() or unassign() was called: messages read ahead before it are checked again. */
  #reassigned = false;
  readonly #uncommitted = new Map<string, Map<number, Uncommitted>>();

  private constructor(path: string, streams: StreamKey[], options: ResolvedConsumerOptions) {
    super(streams, options, 'file');
    this.#path = path;
    this.#all = streams.includes(WILDCARD);
    this.#streams = new Set(streams);
    const readAhead = Math.max(options.batchSize, READ_AHEAD);
    const consumer = this;
    this.#target = {
      readAhead,
      options,
      get queue() {
        return consumer.#queue;
      },
      wants: (message) => this.#wants(message),
      deliver: async (batch, stop) => {
        for (const m of batch) this.#queue.push(m);
        publishPage(options.group, batch);
        await untilRoom(this.#queue, readAhead, stop);
      },
      damaged: (error) => this.#queue.pushError(error),
      stopped: (error) => this.#queue.close(error),
      reset: () => {
        if (this.#queue.closed) this.#queue = new AsyncQueue();
        else this.#queue.clear();
        this.#uncommitted.clear();
      },
    };
  }

  /** A consumer with its reading side open: where it starts depends on the mode, `start` and stored offsets. */
  static async open(
    path: string,
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
    read: ReadOptions,
    balancer: LoadBalancer | undefined,
  ): Promise<FileConsumer> {
    const consumer = new FileConsumer(path, streams, options);
    try {
      await consumer.#open(read, balancer);
    } catch (error) {
      await consumer.end().catch(() => {}); // let go of its AbortSignal listener and group
      throw error;
    }
    return consumer;
  }

  async #open(read: ReadOptions, balancer: LoadBalancer | undefined): Promise<void> {
    if (balancer) {
      this.#balancer = balancer;
      await balancer.join(this.#target, read);
      return;
    }
    const cursor = await Cursor.open(this.#path, read, this.#target.readAhead, this.#target);
    this.#cursor = cursor;
    try {
      if (this.options.mode === 'resumable') await this.#resume(cursor);
      else
        await cursor.moveTo(this.options.start === 'earliest' ? HEADER_SIZE : await cursor.end());
    } catch (error) {
      this.#cursor = undefined;
      await cursor.close();
      throw error;
    }
  }

  #wants(message: { streamKey: string; shardId: number }): boolean {
    return (
      (this.#all || this.#streams.has(message.streamKey)) &&
      this.isAssigned(message.streamKey, message.shardId)
    );
  }

  /** Whether every message read goes out as it is: nothing to filter or track. */
  get #plain(): boolean {
    return this.#sidecar === undefined && !this.#reassigned;
  }

  protected _next(signal: AbortSignal | undefined): Promise<Message> {
    // The common case, a plain shift, without an extra async step per message.
    return this.#plain ? this.#queue.shift(signal) : this.#take(signal);
  }

  protected override _nextNow(): Message | undefined {
    for (;;) {
      const message = this.#queue.shiftNow();
      if (message === undefined || this.#plain || this.#accepted(message)) return message;
    }
  }

  /** Read by this consumer's own cursor (not a loadBalanced member's share): see fileLag. */
  protected override async _lag(): Promise<Lag[]> {
    if (!this.#cursor) return super._lag();
    const named = this.streams.filter((s) => s !== WILDCARD);
    return fileLag(named, await this.#cursor.behind(), this.#queue.items(), (stream, shard) =>
      this.#wants({ streamKey: stream, shardId: shard }),
    );
  }

  protected override _assignmentsChanged(): void {
    this.#reassigned = true;
  }

  async #take(signal: AbortSignal | undefined): Promise<Message> {
    for (;;) {
      const message = await this.#queue.shift(signal);
      if (this.#accepted(message)) return message;
    }
  }

  /** Whether a message read goes out; tracked for the commit if it does. */
  #accepted(message: FileMessage): boolean {
    // Read ahead before an unassign(): such messages are dropped here.
    if (!this.#wants(message)) return false;
    if (this.#sidecar !== undefined) this.#track(message);
    return true;
  }

  protected async _end(): Promise<void> {
    // A member's read-ahead goes back to the group first, so the others get it.
    await this.#balancer?.leave(this.#target);
    await this.#cursor?.close();
    // Last, so that a pending next() rejects just before end() resolves, not while files close.
    this.#queue.abort(new StreamerError('CONSUMER_ENDED', 'Consumer has ended'));
  }

  protected override async _rewind(to: SeqPos): Promise<void> {
    if (this.#balancer) return this.#balancer.rewind(to);
    await this.#cursor!.rewind(to);
  }

  protected override async _seek(to: Date): Promise<void> {
    if (this.#balancer) return this.#balancer.seek(to);
    await this.#cursor!.seek(to);
  }

  /** Resumable: moves each (stream, shard) past its acked prefix, then saves the offsets file. */
  protected override async _commit(acked: AckRef[]): Promise<void> {
    if (this.#sidecar === undefined) return;
    for (const header of acked) {
      this.#uncommitted.get(header.streamKey)?.get(header.shardId)?.acked.add(header.sequence);
    }
    const state = groups.get(this.#sidecar)!;
    let changed = false;
    for (const [stream, shards] of this.#uncommitted) {
      for (const [shard, entry] of shards) {
        let last: bigint | undefined;
        while (
          entry.head < entry.delivered.length &&
          entry.acked.has(entry.delivered[entry.head])
        ) {
          last = entry.delivered[entry.head];
          entry.acked.delete(last);
          entry.head++;
        }
        if (entry.head > 1024) {
          entry.delivered = entry.delivered.slice(entry.head);
          entry.head = 0;
        }
        if (last === undefined) continue;
        let positions = state.offsets.positions.get(stream);
        if (!positions) state.offsets.positions.set(stream, (positions = new Map()));
        positions.set(shard, last);
        changed = true;
      }
    }
    if (!changed) return;
    const path = this.#sidecar;
    const save = state.saving.then(() => saveOffsets(path, state.offsets));
    state.saving = save.catch(() => {});
    await save;
  }

  #track(message: FileMessage): void {
    let shards = this.#uncommitted.get(message.streamKey);
    if (!shards) this.#uncommitted.set(message.streamKey, (shards = new Map()));
    let entry = shards.get(message.shardId);
    if (!entry) shards.set(message.shardId, (entry = { delivered: [], head: 0, acked: new Set() }));
    entry.delivered.push(message.sequence);
  }

  async #resume(cursor: Cursor): Promise<void> {
    const path = sidecarPath(this.#path, this.options.group!);
    let state = groups.get(path);
    if (!state) {
      let offsets = await loadOffsets(path);
      if (!offsets) {
        // A new group: its starting point is saved at once, so a restart resumes from there.
        const from = this.options.start === 'earliest' ? HEADER_SIZE : await cursor.end();
        offsets = { from, positions: new Map() };
        await saveOffsets(path, offsets);
      }
      state = groups.get(path) ?? { offsets, saving: Promise.resolve() };
      groups.set(path, state);
    }
    this.#sidecar = path;
    const committed = new Map(
      [...state.offsets.positions].map(([stream, shards]) => [stream, new Map(shards)]),
    );
    await cursor.resume(state.offsets.from, committed);
  }
}

/**
 * `streamer:receive` for a batch read from the file, whose streams interleave: one event per run
 * of consecutive messages of one stream and shard.
 */
function publishPage(group: string | undefined, batch: FileMessage[]): void {
  if (!receiving()) return;
  let start = 0;
  for (let i = 1; i <= batch.length; i++) {
    const first = batch[start];
    if (
      i < batch.length &&
      batch[i].streamKey === first.streamKey &&
      batch[i].shardId === first.shardId
    )
      continue;
    publishReceive('file', group, first.streamKey, first.shardId, i - start);
    start = i;
  }
}

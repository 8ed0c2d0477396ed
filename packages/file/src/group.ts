import type { SeqPos, StreamerError } from '@streamer/core';
import type { AsyncQueue, ResolvedConsumerOptions } from '@streamer/core/backend';
import { Cursor, type CursorTarget } from './cursor.js';
import type { FileMessage } from './format.js';
import { HEADER_SIZE } from './format.js';
import type { ReadOptions } from './options.js';
import { untilRoom } from './room.js';

export interface GroupMember {
  readonly queue: AsyncQueue<FileMessage>;
  readonly readAhead: number;
  readonly options: ResolvedConsumerOptions;
  wants(message: { streamKey: string; shardId: number }): boolean;
  /** Drops the read-ahead (the group's position moved). */
  reset(): void;
}

/** Load balancers by file and group name: members of one group in this process share one. */
const balancers = new Map<string, LoadBalancer>();

/**
 * A loadBalanced group within this process: one reader for the group, and each message goes to
 * one member, chosen as `sequence % members` among the members that read its stream and shard.
 * Members join and leave at any time; a leaving member's unread messages go to the others.
 */
export class LoadBalancer implements CursorTarget {
  readonly #key: string;
  readonly #path: string;
  #members: GroupMember[] = [];
  #cursor: Promise<Cursor> | undefined;
  /** Why reading stopped for good (STREAM_ENDED, …): members joining later learn it too. */
  #stopped: StreamerError | undefined;

  private constructor(key: string, path: string) {
    this.#key = key;
    this.#path = path;
  }

  static for(path: string, group: string): LoadBalancer {
    const key = `${path}\u0000${group}`;
    let balancer = balancers.get(key);
    if (!balancer) balancers.set(key, (balancer = new LoadBalancer(key, path)));
    return balancer;
  }

  /** Adds a member; the first one opens the reader, starting where its `start` option says. */
  async join(member: GroupMember, read: ReadOptions): Promise<void> {
    this.#members.push(member);
    if (this.#stopped) member.queue.close(this.#stopped);
    if (!this.#cursor) {
      this.#cursor = (async () => {
        const cursor = await Cursor.open(this.#path, read, member.options.batchSize, this);
        const start = member.options.start === 'earliest' ? HEADER_SIZE : await cursor.end();
        await cursor.moveTo(start);
        return cursor;
      })();
    }
    try {
      await this.#cursor;
    } catch (error) {
      await this.leave(member);
      throw error;
    }
  }

  /** Removes a member and hands its unread messages to the others; the last one closes the reader. */
  async leave(member: GroupMember): Promise<void> {
    const index = this.#members.indexOf(member);
    if (index < 0) return;
    this.#members.splice(index, 1);
    const unread: FileMessage[] = [];
    while (member.queue.length > 0) {
      try {
        unread.push(await member.queue.shift());
      } catch {
        // a queued error is that member's to see; it is leaving
      }
    }
    if (this.#members.length > 0) {
      this.#dispatch(unread);
      return;
    }
    balancers.delete(this.#key);
    const cursor = this.#cursor;
    this.#cursor = undefined;
    await (await cursor?.catch(() => undefined))?.close();
  }

  async rewind(to: SeqPos): Promise<void> {
    await (await this.#cursor)?.rewind(to);
  }

  async seek(to: Date): Promise<void> {
    await (await this.#cursor)?.seek(to);
  }

  wants(message: { streamKey: string; shardId: number }): boolean {
    return this.#members.some((member) => member.wants(message));
  }

  async deliver(batch: FileMessage[], stop: AbortSignal): Promise<void> {
    this.#dispatch(batch);
    for (const member of this.#members) await untilRoom(member.queue, member.readAhead, stop);
  }

  damaged(error: StreamerError): void {
    this.#members[0]?.queue.pushError(error);
  }

  stopped(error: StreamerError): void {
    this.#stopped = error;
    for (const member of this.#members) member.queue.close(error);
  }

  reset(): void {
    this.#stopped = undefined;
    for (const member of this.#members) member.reset();
  }

  #dispatch(batch: FileMessage[]): void {
    const members = this.#members;
    for (const message of batch) {
      const candidates = members.length === 1 ? members : members.filter((m) => m.wants(message));
      if (candidates.length === 0) continue;
      const pick = Number(message.sequence % BigInt(candidates.length));
      candidates[pick]!.queue.push(message);
    }
  }
}

import type { SeqPos, StreamerError } from '@streamer/core';
import {
  InProcessGroup,
  type GroupMember as Member,
  type ResolvedConsumerOptions,
} from '@streamer/core/backend';
import { Cursor, type CursorTarget } from './cursor.js';
import type { FileMessage } from './format.js';
import { HEADER_SIZE } from './format.js';
import type { ReadOptions } from './options.js';
import { untilRoom } from './room.js';

export interface GroupMember extends Member<FileMessage> {
  wants(message: { streamKey: string; shardId: number }): boolean;
  readonly readAhead: number;
  readonly options: ResolvedConsumerOptions;
  /** Drops the read-ahead (the group's position moved). */
  reset(): void;
}

/** Load balancers by file and group name: members of one group in this process share one. */
const balancers = new Map<string, LoadBalancer>();

/**
 * A loadBalanced group within this process: one reader for the group, whose messages the
 * members share as an InProcessGroup does (`sequence % members`; a leaving member's unread
 * messages go to the others).
 */
export class LoadBalancer implements CursorTarget {
  readonly #key: string;
  readonly #path: string;
  readonly #group = new InProcessGroup<FileMessage, GroupMember>();
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
    this.#group.join(member);
    if (this.#stopped) member.queue.close(this.#stopped);
    if (!this.#cursor) {
      this.#cursor = (async () => {
        const cursor = await Cursor.open(this.#path, read, member.readAhead, this);
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
    if (!(await this.#group.leave(member)) || this.#group.members.length > 0) return;
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
    return this.#group.members.some((member) => member.wants(message));
  }

  async deliver(batch: FileMessage[], stop: AbortSignal): Promise<void> {
    for (const message of batch) this.#group.dispatch(message);
    for (const member of this.#group.members) await untilRoom(member.queue, member.readAhead, stop);
  }

  damaged(error: StreamerError): void {
    this.#group.members[0]?.queue.pushError(error);
  }

  stopped(error: StreamerError): void {
    this.#stopped = error;
    for (const member of this.#group.members) member.queue.close(error);
  }

  reset(): void {
    this.#stopped = undefined;
    for (const member of this.#group.members) member.reset();
  }
}

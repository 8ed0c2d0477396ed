import type { Message, Streamer, StreamKey } from '@streamer/core';
import { entryIdToSequence, type RedisStreamer } from '@streamer/redis';

/**
 * Where `--no-follow` stops on Redis, whose consumers wait for new entries forever: the last entry
 * of every shard when the command starts. (A file consumer ends by itself with `follow: false`.)
 */
export class StoredEnd {
  /** `stream:shard` → the sequence of its last stored entry, for the shards not yet read to it. */
  readonly #left = new Map<string, bigint>();

  /**
   * The stored end of `streams` on a Redis streamer, or undefined on other backends. `start` and
   * `since` say where the consumer begins: a shard with nothing stored from there is already done.
   */
  static async of(
    streamer: Streamer,
    streams: StreamKey[],
    start: 'earliest' | 'latest',
    since: Date | undefined,
  ): Promise<StoredEnd | undefined> {
    if (streamer.backend !== 'redis') return undefined;
    const end = new StoredEnd();
    if (start === 'latest') return end; // nothing stored is read
    for (const stream of streams) {
      const info = await (streamer as RedisStreamer).streamInfo(stream);
      for (const shard of info.shards) {
        if (shard.lastId === undefined) continue;
        const last = entryIdToSequence(shard.lastId);
        // A Redis sequence holds the entry's milliseconds above its low 16 bits.
        if (since !== undefined && last >> 16n < BigInt(since.getTime())) continue;
        end.#left.set(`${stream}:${shard.shard}`, last);
      }
    }
    return end;
  }

  get done(): boolean {
    return this.#left.size === 0;
  }

  /** True for a message stored before the start; its shard is done once its last one is taken. */
  take(m: Message): boolean {
    const key = `${m.streamKey}:${m.shardId}`;
    const last = this.#left.get(key);
    if (last === undefined || m.sequence > last) return false;
    if (m.sequence === last) this.#left.delete(key);
    return true;
  }
}

/** The messages of `messages` that were stored at the start, ending after the last of them. */
export async function* storedOnly(
  messages: AsyncIterable<Message>,
  end: StoredEnd,
): AsyncGenerator<Message> {
  if (end.done) return;
  for await (const m of messages) {
    if (!end.take(m)) continue;
    yield m;
    if (end.done) return;
  }
}

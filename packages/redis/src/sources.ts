import type { ShardId, StreamKey } from '@streamer/core';
import { streamKeys } from './discovery.js';
import { createGroup, type RawEntry } from './groups.js';
import { parseShardKey } from './layout.js';
import type { Topology } from './topology.js';

/** One Redis key a consumer reads. */
export interface Source {
  key: string;
  stream: StreamKey;
  shard: ShardId;
  /**
   * Realtime: the last id read (XREAD reads after it; never `$`, which would skip what arrived
   * between two reads: SeaStreamer's #47/#48). Groups: `>` for new entries, or the last pending
   * id while this member's own pending list is replayed.
   */
  cursor: string;
  replaying: boolean;
  /** Groups: the last id put in the queue by a read, where a replay after a lost read starts. */
  pushed: string;
  /**
   * Groups: ids after `pushed` that failover claimed and queued. They are in our pending list
   * too, so a replay would hand them out again; it skips them instead.
   */
  readonly claimed: Set<string>;
}

/**
 * The keys a consumer reads, found by discovery: every stream's own key and its shards `name:N`,
 * on whichever node of a cluster holds them. A new key is anchored when found: realtime at its
 * last entry (`latest`) or its start, a group by creating the group there.
 */
export class Sources {
  readonly byKey = new Map<string, Source>();
  readonly #redis: Topology;
  readonly #streams: readonly StreamKey[];
  readonly #group: string | undefined;
  readonly #createIfNotExists: boolean;
  #discovering: Promise<unknown> = Promise.resolve();

  constructor(
    redis: Topology,
    streams: readonly StreamKey[],
    group: string | undefined,
    createIfNotExists: boolean,
  ) {
    this.#redis = redis;
    this.#streams = streams;
    this.#group = group;
    this.#createIfNotExists = createIfNotExists;
  }

  /** Looks for new keys; resolves with the sources it added. */
  discover(start: 'earliest' | 'latest'): Promise<Source[]> {
    // One at a time: two overlapping runs would both add a new key, the second with a new cursor.
    const run = this.#discovering.then(() => this.#discoverNow(start));
    this.#discovering = run.catch(() => {});
    return run;
  }

  async #discoverNow(start: 'earliest' | 'latest'): Promise<Source[]> {
    const found = await Promise.all(this.#streams.map((s) => streamKeys(this.#redis, s)));
    const added: Source[] = [];
    for (const [i, stream] of this.#streams.entries()) {
      const keys = found[i];
      // Realtime reads the plain key even before it exists; a group needs a stream to live on.
      if (!keys.includes(stream) && (this.#group === undefined || keys.length === 0))
        keys.unshift(stream);
      for (const key of keys) {
        if (this.byKey.has(key)) continue;
        const source: Source = {
          key,
          ...parseShardKey(key),
          stream,
          cursor: '0-0',
          replaying: this.#group !== undefined,
          pushed: '0-0',
          claimed: new Set(),
        };
        if (this.#group === undefined) {
          if (start === 'latest') source.cursor = await this.lastId(key);
        } else {
          await this.createGroup(key, start === 'latest' ? '$' : '0');
          source.cursor = '0';
        }
        this.byKey.set(key, source);
        added.push(source);
      }
    }
    return added;
  }

  createGroup(key: string, id: string): Promise<void> {
    return createGroup(this.#redis, key, this.#group!, id, this.#createIfNotExists);
  }

  /** The id of the last entry of `key` ('0-0' when it has none). */
  async lastId(key: string): Promise<string> {
    const last = await this.#redis.send<RawEntry[]>(key, [
      'XREVRANGE',
      key,
      '+',
      '-',
      'COUNT',
      '1',
    ]);
    return last?.[0]?.[0].toString() ?? '0-0';
  }

  /** The keys a message of (stream, shard) can come from: shard 0 is `name` or `name:0`. */
  keysOf(stream: StreamKey, shard: ShardId): string[] {
    const keys: string[] = [];
    for (const source of this.byKey.values()) {
      if (source.stream === stream && source.shard === shard) keys.push(source.key);
    }
    return keys;
  }

  /** The keys read, for error messages. */
  names(): string {
    const keys = this.byKey.size > 0 ? [...this.byKey.keys()] : this.#streams;
    return keys.map((key) => JSON.stringify(key)).join(', ');
  }
}

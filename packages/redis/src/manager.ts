import { type Message, type StreamKey, validateStreamKey } from '@streamer/core';
import { describeValue, invalidArgument, positiveInteger } from '@streamer/core/backend';
import { toStreamerError } from './connection.js';
import { scanStreams, streamKeys } from './discovery.js';
import { compareEntryIds } from './entry-id.js';
import type { RawEntry } from './groups.js';
import { groupLag, record } from './lag.js';
import { decodeEntry, parseShardKey } from './layout.js';
import type { Topology } from './topology.js';
import { type TrimOptions, trimArgs } from './trim.js';

export interface ShardInfo {
  shard: number;
  key: string;
  length: number;
  firstId?: string;
  lastId?: string;
}

export interface GroupInfo {
  name: string;
  /** Members, the most any shard has. */
  consumers: number;
  /** Entries delivered and not yet acked, over every shard. */
  pending: number;
  /** Entries not yet delivered to the group, over every shard; absent when Redis cannot tell. */
  lag?: number;
  /** The group's position on its furthest shard. */
  lastDeliveredId: string;
}

export interface StreamInfo {
  stream: string;
  /** Entries over every shard. */
  length: number;
  shards: ShardInfo[];
  groups: GroupInfo[];
}

export interface ReadRangeOptions {
  /** From this time on (inclusive). Default: the start. */
  since?: Date;
  /** Up to this time (inclusive). Default: the end. */
  until?: Date;
  /** Entries per XRANGE. Default 100. */
  batchSize?: number;
}

/** The options of `streamer.trim()`: the same as a producer's trim options. */
export type StreamTrimOptions = TrimOptions;

function validDate(name: string, value: unknown): Date | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date && !Number.isNaN(value.getTime()) && value.getTime() >= 0) return value;
  throw invalidArgument(name, value, 'a valid Date after 1970');
}

/** What `streamer listStreams/info/dump/trim` needs, without any Redis command in user code. */
export class RedisManager {
  constructor(
    readonly redis: Topology,
    readonly messageField: string,
  ) {}

  /** Logical stream names (shard keys `name:N` folded into `name`), sorted. */
  async listStreams(pattern = '*'): Promise<string[]> {
    if (typeof pattern !== 'string' || pattern === '')
      throw invalidArgument('pattern', pattern, 'a non-empty SCAN pattern such as "orders*"');
    try {
      const keys = await scanStreams(this.redis, pattern);
      return [...new Set(keys.map((key) => parseShardKey(key).stream))].sort();
    } catch (error) {
      throw toStreamerError(error, `Listing streams matching ${describeValue(pattern)} failed`);
    }
  }

  async streamInfo(stream: StreamKey): Promise<StreamInfo> {
    validateStreamKey(stream);
    try {
      const keys = await streamKeys(this.redis, stream);
      const shards = await Promise.all(keys.map((key) => this.#shardInfo(key)));
      const groups = new Map<string, GroupInfo>();
      for (const key of keys) {
        const list = await this.redis.send<unknown[][]>(key, ['XINFO', 'GROUPS', key]);
        for (const raw of list) {
          const g = record(raw);
          const name = String(g.name);
          const lag = groupLag(g);
          const id = String(g['last-delivered-id']);
          const seen = groups.get(name);
          if (!seen) {
            groups.set(name, {
              name,
              consumers: Number(g.consumers),
              pending: Number(g.pending),
              ...(lag === undefined ? {} : { lag }),
              lastDeliveredId: id,
            });
            continue;
          }
          seen.consumers = Math.max(seen.consumers, Number(g.consumers));
          seen.pending += Number(g.pending);
          if (lag === undefined || seen.lag === undefined) delete seen.lag;
          else seen.lag += lag;
          if (compareEntryIds(id, seen.lastDeliveredId) > 0) seen.lastDeliveredId = id;
        }
      }
      return {
        stream,
        length: shards.reduce((sum, s) => sum + s.length, 0),
        shards,
        groups: [...groups.values()].sort((a, b) => a.name.localeCompare(b.name)),
      };
    } catch (error) {
      throw toStreamerError(error, `Reading the info of stream ${describeValue(stream)} failed`);
    }
  }

  async #shardInfo(key: string): Promise<ShardInfo> {
    const [length, first, last] = await Promise.all([
      this.redis.send<number>(key, ['XLEN', key]),
      this.redis.send<RawEntry[]>(key, ['XRANGE', key, '-', '+', 'COUNT', '1']),
      this.redis.send<RawEntry[]>(key, ['XREVRANGE', key, '+', '-', 'COUNT', '1']),
    ]);
    const info: ShardInfo = { shard: parseShardKey(key).shard, key, length: Number(length) };
    if (first?.[0]) info.firstId = first[0][0].toString();
    if (last?.[0]) info.lastId = last[0][0].toString();
    return info;
  }

  /** Every message of every shard between `since` and `until`, merged in id (time) order. */
  readRange(stream: StreamKey, options: ReadRangeOptions = {}): AsyncIterable<Message> {
    validateStreamKey(stream);
    if (typeof options !== 'object' || options === null)
      throw invalidArgument('readRange options', options, 'an object');
    const since = validDate('since', options.since);
    const until = validDate('until', options.until);
    const count = positiveInteger('batchSize', options.batchSize, 100);
    const manager = this;
    return {
      async *[Symbol.asyncIterator]() {
        const keys = await streamKeys(manager.redis, stream);
        const cursors = keys.map((key) => ({
          key,
          shard: parseShardKey(key).shard,
          start: since ? String(since.getTime()) : '-',
          page: [] as RawEntry[],
          done: false,
        }));
        const end = until ? String(until.getTime()) : '+';
        const field = Buffer.from(manager.messageField);
        for (;;) {
          for (const c of cursors) {
            if (c.page.length > 0 || c.done) continue;
            const page =
              (await manager.redis.send<RawEntry[]>(c.key, [
                'XRANGE',
                c.key,
                c.start,
                end,
                'COUNT',
                String(count),
              ])) ?? [];
            c.page = page;
            if (page.length < count) c.done = true;
            if (page.length > 0) c.start = `(${page[page.length - 1][0].toString()}`;
          }
          let next: (typeof cursors)[number] | undefined;
          for (const c of cursors) {
            if (c.page.length === 0) continue;
            if (!next || compareEntryIds(c.page[0][0].toString(), next.page[0][0].toString()) < 0)
              next = c;
          }
          if (!next) return;
          const [id, fields] = next.page.shift()!;
          yield decodeEntry(next.key, stream, next.shard, id.toString(), fields, field);
        }
      },
    };
  }

  /** XTRIM on every shard (the producer's TrimOptions); resolves with how many entries were removed. */
  async trim(stream: StreamKey, options: StreamTrimOptions): Promise<number> {
    validateStreamKey(stream);
    if (typeof options !== 'object' || options === null)
      throw invalidArgument('trim options', options, 'an object');
    const args = trimArgs(options);
    if (args.length === 0)
      throw invalidArgument(
        'trim options',
        options,
        'an object with maxLen, minTimestamp or minId',
      );
    try {
      const keys = await streamKeys(this.redis, stream);
      const removed = await Promise.all(
        keys.map((key) => this.redis.send<number>(key, ['XTRIM', key, ...args])),
      );
      return removed.reduce((sum, n) => sum + Number(n), 0);
    } catch (error) {
      throw toStreamerError(error, `Trimming stream ${describeValue(stream)} failed`);
    }
  }
}

import type { Lag } from '@streamer/core';
import type { RedisMessage } from './layout.js';
import type { Source } from './sources.js';
import type { Topology } from './topology.js';

/** A flat RESP3 map reply (as our type mapping returns it) as an object of strings and numbers. */
export function record(reply: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const value = reply[i + 1];
    out[String(reply[i])] = Buffer.isBuffer(value) ? value.toString() : value;
  }
  return out;
}

/**
 * A group's lag from its XINFO GROUPS record: the server's `lag` (7.0+) where it has one, else
 * entries added minus `entries-read` (when `entriesAdded` is known), else undefined. What
 * `streamer info` shows and `consumer.lag()` reports.
 */
export function groupLag(
  group: Record<string, unknown>,
  entriesAdded?: number,
): number | undefined {
  if (typeof group.lag === 'number') return group.lag;
  const read = group['entries-read'];
  if (typeof read === 'number' && entriesAdded !== undefined)
    return Math.max(0, entriesAdded - read);
  return undefined;
}

/** Realtime lag is counted with XRANGE, up to this many entries; more is reported as undefined. */
const MAX_COUNTED = 1000;

/**
 * Per source: entries after what this consumer (its group) has read, plus what it read ahead and
 * has not handed out (`queued`).
 */
export async function sourcesLag(
  redis: Topology,
  sources: Source[],
  group: string | undefined,
  queued: Iterable<RedisMessage>,
): Promise<Lag[]> {
  const buffered = new Map<string, number>();
  for (const m of queued) buffered.set(m.redisKey, (buffered.get(m.redisKey) ?? 0) + 1);
  return Promise.all(
    sources.map(async (source): Promise<Lag> => {
      const stored =
        group === undefined
          ? await realtimeLag(redis, source)
          : await storedGroupLag(redis, source.key, group);
      const lag = stored === undefined ? undefined : stored + (buffered.get(source.key) ?? 0);
      return { stream: source.stream, shard: source.shard, lag };
    }),
  );
}

async function storedGroupLag(
  redis: Topology,
  key: string,
  group: string,
): Promise<number | undefined> {
  const groups = await redis.send<unknown[][]>(key, ['XINFO', 'GROUPS', key]);
  const found = groups.map(record).find((g) => String(g.name) === group);
  if (!found) return undefined;
  const quick = groupLag(found);
  if (quick !== undefined) return quick;
  const stream = record(await redis.send<unknown[]>(key, ['XINFO', 'STREAM', key]));
  const added = stream['entries-added'];
  return groupLag(found, typeof added === 'number' ? added : undefined);
}

async function realtimeLag(redis: Topology, source: Source): Promise<number | undefined> {
  const after = await redis.send<unknown[]>(source.key, [
    'XRANGE',
    source.key,
    `(${source.cursor}`,
    '+',
    'COUNT',
    String(MAX_COUNTED + 1),
  ]);
  return after.length > MAX_COUNTED ? undefined : after.length;
}

import { StreamerError } from '@streamer/core';
import type { Topology } from './topology.js';

/**
 * Creates `group` on `key` at `id` (`$` = the end, `0` = the start). An existing group keeps its
 * position. Without `createIfNotExists` an absent key is an error: the group cannot exist without it.
 */
export async function createGroup(
  redis: Topology,
  key: string,
  group: string,
  id: string,
  createIfNotExists: boolean,
): Promise<void> {
  const args = ['XGROUP', 'CREATE', key, group, id];
  if (createIfNotExists) args.push('MKSTREAM');
  try {
    await redis.send(key, args);
  } catch (error) {
    const message = (error as Error)?.message ?? '';
    if (message.startsWith('BUSYGROUP')) return;
    if (message.includes('requires the key to exist')) {
      throw new StreamerError(
        'STREAM_NOT_FOUND',
        `Cannot create consumer group ${JSON.stringify(group)}: stream key ${JSON.stringify(key)} does not exist (pass createIfNotExists: true to create it)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Moves the group's last-delivered id: every member reads after `id` next; pending entries stay pending. */
export async function setGroupId(redis: Topology, key: string, group: string, id: string) {
  await redis.send(key, ['XGROUP', 'SETID', key, group, id]);
}

/**
 * Ids per XACK. A timed commit can cover tens of thousands: as one command, node-redis spent
 * three times as long encoding it as it does the same ids in pieces, and Redis stalled every
 * read behind it for milliseconds (measured: 9 ms for 33k ids).
 */
const ACK_CHUNK = 1000;

/** XACKs many ids of one key, a thousand per command, pipelined. */
export async function ackEntries(redis: Topology, key: string, group: string, ids: string[]) {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < ids.length; i += ACK_CHUNK)
    sends.push(redis.send(key, ['XACK', key, group, ...ids.slice(i, i + ACK_CHUNK)]));
  await Promise.all(sends);
}

export type RawEntry = [Buffer, Buffer[] | null];

/** Pending entries taken over by `takePending`, with their delivery counts and the next page. */
export interface PendingPage {
  entries: RawEntry[];
  /** Redis' times-delivered of each entry, as it was before this take: it counts none. */
  counts: number[];
  /** The last pending id looked at, to start the next page after; undefined when there was none. */
  last: string | undefined;
  /** Fewer pending entries than asked for: this was the last page. */
  end: boolean;
}

/**
 * One page of pending entries of `key` from `start` (`-`, or `(id` to start after it), made
 * `consumer`'s: its own (`idleMs` undefined: a restarted member replaying its list), or other
 * members' left idle for at least `idleMs` (failover). Neither counts a delivery: XREADGROUP of
 * pending ids and a plain XCLAIM would each add one to every entry of the page, read ahead or
 * not, so a restarted member's innocent messages would climb towards maxDeliveries with every
 * crash of a poison message. Instead XPENDING reads the counts, XCLAIM JUSTID takes the entries
 * (its idle check skips one its owner acked or another member took meanwhile; it counts none),
 * XRANGE fetches them, and the consumer counts a delivery when it hands one out.
 *
 * Not XAUTOCLAIM: it claims the caller's own idle entries too, which would hand a slow member
 * its messages twice.
 */
export async function takePending(
  redis: Topology,
  key: string,
  group: string,
  consumer: string,
  start: string,
  count: number,
  idleMs?: number,
): Promise<PendingPage> {
  const args = ['XPENDING', key, group];
  if (idleMs !== undefined) args.push('IDLE', String(Math.floor(idleMs)));
  args.push(start, '+', String(count));
  if (idleMs === undefined) args.push(consumer);
  const page = await redis.send<[Buffer, Buffer, number, number][]>(key, args);
  const last = page.length > 0 ? page[page.length - 1][0].toString() : undefined;
  const mine = idleMs === undefined;
  const wanted = page.filter(([, owner]) => mine === (owner.toString() === consumer));
  const result: PendingPage = { entries: [], counts: [], last, end: page.length < count };
  if (wanted.length === 0) return result;
  // Our own entries: idle at least as long as XPENDING saw, unless someone took one since.
  const minIdle = mine ? Math.min(...wanted.map(([, , idle]) => Number(idle))) : idleMs;
  const claim = ['XCLAIM', key, group, consumer, String(Math.floor(minIdle))];
  for (const [id] of wanted) claim.push(id.toString());
  claim.push('JUSTID');
  const taken = new Set((await redis.send<Buffer[]>(key, claim)).map(String));
  const kept = wanted.filter(([id]) => taken.has(id.toString()));
  // One XRANGE per id (node-redis pipelines them): a range over the page would bring every
  // other member's entries in between.
  const fetched = await Promise.all(
    kept.map(([id]) => redis.send<RawEntry[] | null>(key, ['XRANGE', key, id, id])),
  );
  for (const [i, [id, , , delivered]] of kept.entries()) {
    // Deleted while pending: no fields, which the reader acks and drops.
    result.entries.push(fetched[i]?.[0] ?? [id, null]);
    result.counts.push(Number(delivered));
  }
  return result;
}

/**
 * Records that our pending entries were handed out: sets their times-delivered to `count`, and
 * their idle time to 0, as a read would. Once per message taken from the pending list, when a
 * handler gets it, not once per page read.
 */
export async function countDelivery(
  redis: Topology,
  key: string,
  group: string,
  consumer: string,
  ids: string[],
  count: number,
) {
  await redis.send(key, [
    'XCLAIM',
    key,
    group,
    consumer,
    '0',
    ...ids,
    'RETRYCOUNT',
    String(count),
    'JUSTID',
  ]);
}

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

/** One XACK for many ids of one key. */
export async function ackEntries(redis: Topology, key: string, group: string, ids: string[]) {
  if (ids.length > 0) await redis.send(key, ['XACK', key, group, ...ids]);
}

export type RawEntry = [Buffer, Buffer[] | null];

/**
 * One page of failover: claims the entries from `start` on that other members of `group` left
 * pending on `key` for at least `idleMs`, with `consumer` as their new owner. Resolves with them
 * and where the next page starts (undefined after the last). Not XAUTOCLAIM: it claims the
 * caller's own idle entries too, which would hand a slow member its messages twice. XCLAIM checks
 * the idle time again, so an entry its owner acks meanwhile is not taken.
 */
export async function claimIdlePage(
  redis: Topology,
  key: string,
  group: string,
  consumer: string,
  idleMs: number,
  count: number,
  start: string,
): Promise<{ entries: RawEntry[]; next: string | undefined }> {
  const idle = String(Math.floor(idleMs));
  const page = await redis.send<[Buffer, Buffer, number, number][]>(key, [
    'XPENDING',
    key,
    group,
    'IDLE',
    idle,
    start,
    '+',
    String(count),
  ]);
  const ids = page.filter(([, owner]) => owner.toString() !== consumer).map(([id]) => id);
  const entries: RawEntry[] = [];
  if (ids.length > 0) {
    const claimed = await redis.send<(RawEntry | null)[]>(key, [
      'XCLAIM',
      key,
      group,
      consumer,
      idle,
      ...ids,
    ]);
    for (const entry of claimed) if (entry && entry[1] !== null) entries.push(entry);
  }
  const next = page.length < count ? undefined : `(${page[page.length - 1][0].toString()}`;
  return { entries, next };
}

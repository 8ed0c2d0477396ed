import { StreamerError } from '@streamer/core';
import { type RedisClient, send } from './connection.js';

/**
 * Creates `group` on `key` at `id` (`$` = the end, `0` = the start). An existing group keeps its
 * position. Without `mkstream` an absent key is an error: the group cannot exist without it.
 */
export async function createGroup(
  client: RedisClient,
  key: string,
  group: string,
  id: string,
  mkstream: boolean,
): Promise<void> {
  const args = ['XGROUP', 'CREATE', key, group, id];
  if (mkstream) args.push('MKSTREAM');
  try {
    await send(client, args);
  } catch (error) {
    const message = (error as Error)?.message ?? '';
    if (message.startsWith('BUSYGROUP')) return;
    if (message.includes('requires the key to exist')) {
      throw new StreamerError(
        'BACKEND',
        `Cannot create consumer group ${JSON.stringify(group)}: stream key ${JSON.stringify(key)} does not exist (pass mkstream: true to create it)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Moves the group's last-delivered id: every member reads after `id` next; pending entries stay pending. */
export async function setGroupId(client: RedisClient, key: string, group: string, id: string) {
  await send(client, ['XGROUP', 'SETID', key, group, id]);
}

/** One XACK for many ids of one key. */
export async function ackEntries(client: RedisClient, key: string, group: string, ids: string[]) {
  if (ids.length > 0) await send(client, ['XACK', key, group, ...ids]);
}

export type RawEntry = [Buffer, Buffer[] | null];

/**
 * Claims entries of `key` pending in `group` for at least `idleMs` to `consumer` (the new owner),
 * page by page until the whole pending list was scanned.
 */
export async function autoClaim(
  client: RedisClient,
  key: string,
  group: string,
  consumer: string,
  idleMs: number,
  count: number,
): Promise<RawEntry[]> {
  const claimed: RawEntry[] = [];
  let cursor = '0-0';
  do {
    const [next, entries] = await send<[Buffer, RawEntry[]]>(client, [
      'XAUTOCLAIM',
      key,
      group,
      consumer,
      String(Math.floor(idleMs)),
      cursor,
      'COUNT',
      String(count),
    ]);
    cursor = next.toString();
    for (const entry of entries) if (entry[1] !== null) claimed.push(entry);
  } while (cursor !== '0-0');
  return claimed;
}

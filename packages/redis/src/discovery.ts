import type { StreamKey } from '@streamer/core';
import { type RedisClient, send } from './connection.js';

/**
 * Every stream key matching `pattern`, by `SCAN … TYPE stream` (never KEYS, which blocks the
 * server on a big keyspace).
 */
export async function scanStreams(client: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await send<[Buffer, Buffer[]]>(client, [
      'SCAN',
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      '1000',
      'TYPE',
      'stream',
    ]);
    cursor = next.toString();
    for (const key of page) keys.push(key.toString());
  } while (cursor !== '0');
  return keys;
}

/**
 * The Redis keys of a logical stream: `stream` itself when it holds a stream, and its shards
 * `stream:N`. Stream keys hold none of SCAN's glob characters, so the pattern is literal.
 */
export async function streamKeys(client: RedisClient, stream: StreamKey): Promise<string[]> {
  const [type, shards] = await Promise.all([
    send<string | Buffer>(client, ['TYPE', stream]),
    scanStreams(client, `${stream}:*`),
  ]);
  const suffix = /^:(0|[1-9]\d{0,15})$/;
  const keys = shards.filter((key) => suffix.test(key.slice(stream.length)));
  keys.sort((a, b) => Number(a.slice(stream.length + 1)) - Number(b.slice(stream.length + 1)));
  if (String(type) === 'stream') keys.unshift(stream);
  return keys;
}

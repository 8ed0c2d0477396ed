import type { StreamKey } from '@streamer/core';
import type { RedisClient } from './connection.js';
import type { Topology } from './topology.js';

/**
 * Every stream key matching `pattern` on every master (a cluster's keys are spread over them), by
 * `SCAN … TYPE stream` (never KEYS, which blocks the server on a big keyspace).
 */
export async function scanStreams(redis: Topology, pattern: string): Promise<string[]> {
  const found = await Promise.all((await redis.masters()).map((node) => scanNode(node, pattern)));
  return found.flat();
}

async function scanNode(node: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = (await node.sendCommand([
      'SCAN',
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      '1000',
      'TYPE',
      'stream',
    ])) as unknown as [Buffer, Buffer[]];
    cursor = next.toString();
    for (const key of page) keys.push(key.toString());
  } while (cursor !== '0');
  return keys;
}

/**
 * The Redis keys of a logical stream: `stream` itself when it holds a stream, and its shards
 * `stream:N`. Stream keys hold none of SCAN's glob characters, so the pattern is literal.
 */
export async function streamKeys(redis: Topology, stream: StreamKey): Promise<string[]> {
  const [type, shards] = await Promise.all([
    redis.send<string | Buffer>(stream, ['TYPE', stream]),
    scanStreams(redis, `${stream}:*`),
  ]);
  const suffix = /^:(0|[1-9]\d{0,15})$/;
  const keys = [...new Set(shards)].filter((key) => suffix.test(key.slice(stream.length)));
  keys.sort((a, b) => Number(a.slice(stream.length + 1)) - Number(b.slice(stream.length + 1)));
  if (String(type) === 'stream') keys.unshift(stream);
  return keys;
}

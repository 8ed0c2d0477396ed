import { toBytes } from './message.js';

/**
 * A stable 32-bit hash (FNV-1a over the UTF-8 bytes) for picking a shard by key. Every backend and
 * every process uses it, so the same key lands on the same shard wherever it is sent from.
 */
export function stableHash(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of toBytes(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The shard a send goes to: `shard` wins, then `key` hashed, then the round-robin counter. */
export function pickShard(
  shards: number,
  shard: number | undefined,
  key: string | undefined,
  counter: number,
): number {
  if (shard !== undefined) return shard;
  if (shards <= 1) return 0;
  if (key !== undefined) return stableHash(key) % shards;
  return counter % shards;
}

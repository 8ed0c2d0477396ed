import type { Lag, ShardId, StreamKey } from '@streamer/core';
import type { Behind } from './cursor.js';
import type { FileMessage } from './format.js';

/**
 * A file reader's lag per stream and shard: what it read ahead and has not handed out (exact),
 * plus, while bytes are written after its position, those bytes over the mean message size
 * (`estimated`: counting them would mean reading them, and they may belong to any stream, so
 * each stream gets the whole estimate as its upper bound).
 */
export function fileLag(
  named: readonly StreamKey[],
  behind: Behind,
  queued: Iterable<FileMessage>,
  assigned: (stream: StreamKey, shard: ShardId) => boolean,
): Lag[] {
  const counts = new Map<StreamKey, Map<ShardId, number>>();
  const count = (stream: StreamKey, shard: ShardId, n: number) => {
    let shards = counts.get(stream);
    if (!shards) counts.set(stream, (shards = new Map()));
    shards.set(shard, (shards.get(shard) ?? 0) + n);
  };
  for (const stream of named) count(stream, 0, 0);
  for (const [stream, shards] of behind.seen) for (const shard of shards) count(stream, shard, 0);
  for (const m of queued) count(m.streamKey, m.shardId, 1);
  const { bytes, meanBytes } = behind;
  const unread = bytes === 0 ? 0 : meanBytes ? Math.ceil(bytes / meanBytes) : undefined;
  const lags: Lag[] = [];
  for (const [stream, shards] of counts) {
    for (const [shard, n] of shards) {
      if (!assigned(stream, shard)) continue;
      const lag = unread === undefined ? undefined : n + unread;
      lags.push(bytes === 0 ? { stream, shard, lag } : { stream, shard, lag, estimated: true });
    }
  }
  return lags;
}

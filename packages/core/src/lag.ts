import type { Lag, Message } from './types.js';

/**
 * The backend's lag plus what a run took and has not handed to a handler yet: from the
 * application's side, those are not given yet either.
 */
export function totalLag(lags: Lag[], queued: Iterable<Message> | undefined): Lag[] {
  if (queued === undefined) return lags;
  const byShard = new Map<string, Lag>();
  for (const lag of lags) byShard.set(`${lag.shard}:${lag.stream}`, lag);
  for (const message of queued) {
    const lag = byShard.get(`${message.shardId}:${message.streamKey}`);
    if (lag?.lag !== undefined) lag.lag++;
  }
  return lags;
}

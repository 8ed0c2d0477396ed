import { isConnectionError, toStreamerError } from './connection.js';
import { compareEntryIds } from './entry-id.js';
import { takePending } from './groups.js';
import { decodeEntry } from './layout.js';
import type { ReadContext } from './reader.js';
import type { Source } from './sources.js';

/**
 * loadBalanced failover, one round: takes over the entries other members left pending for
 * autoClaimIdleMs on `sources`, a page at a time and only as fast as they are consumed, so a dead
 * member's backlog never floods memory. Claimed entries join our pending list; each source
 * remembers the ones after its read position, so a replay of that list does not hand them out
 * again.
 */
export async function claimIdle(ctx: ReadContext, sources: Source[]): Promise<void> {
  const { batchSize, autoClaimIdleMs, consumerId, group } = ctx.options;
  for (const source of sources) {
    try {
      for (let start: string | undefined = '-'; start !== undefined; ) {
        await ctx.queue.untilShorterThan(batchSize);
        if (ctx.signal.aborted || ctx.queue.closed) return;
        const page = await takePending(
          ctx.redis,
          source.key,
          group!,
          consumerId,
          start,
          batchSize,
          autoClaimIdleMs,
        );
        if (ctx.signal.aborted) return; // claimed but not handed out: they go to the next claimer
        for (const [i, [rawId, fields]] of page.entries.entries()) {
          if (fields === null) continue; // deleted while pending: XCLAIM dropped it
          const id = rawId.toString();
          if (compareEntryIds(id, source.pushed) > 0) source.claimed.add(id);
          const count = page.counts[i] + 1; // recorded when handed out (RedisConsumer._delivering)
          ctx.queue.push(
            decodeEntry(
              source.key,
              source.stream,
              source.shard,
              id,
              fields,
              ctx.messageField,
              count,
            ),
          );
        }
        start = page.end ? undefined : `(${page.last}`;
      }
    } catch (error) {
      // Redis away: the next round claims again. Anything else is for the user to see.
      if (!isConnectionError(error)) return ctx.fail(error);
      ctx.report(
        toStreamerError(error, `Claiming idle entries of ${JSON.stringify(source.key)} failed`),
      );
    }
  }
}

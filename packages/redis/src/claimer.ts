import { isConnectionError, toStreamerError } from './connection.js';
import { compareEntryIds } from './entry-id.js';
import { claimIdlePage } from './groups.js';
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
        const page = await claimIdlePage(
          ctx.redis,
          source.key,
          group!,
          consumerId,
          autoClaimIdleMs,
          batchSize,
          start,
        );
        if (ctx.signal.aborted) return; // claimed but not handed out: they go to the next claimer
        for (const [rawId, fields] of page.entries) {
          const id = rawId.toString();
          if (compareEntryIds(id, source.pushed) > 0) source.claimed.add(id);
          ctx.queue.push(
            decodeEntry(source.key, source.stream, source.shard, id, fields, ctx.messageField),
          );
        }
        start = page.next;
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

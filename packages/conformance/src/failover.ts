import type { ConsumerOptions } from '@streamer/core';
import { describe, expect } from 'vitest';
import { type ConformanceContext, filledStream, freshKey, range, texts } from './context.js';

/**
 * Failover: a dead loadBalanced member's unacked messages go to a live one. Where `failover` is
 * false the autoClaim options are accepted and ignored (one options object serves every
 * backend): what a member took and never acked is not handed out again.
 */
export function failoverTests(ctx: ConformanceContext): void {
  const { test, consumer, take, expectQuiet } = ctx;

  describe('failover', () => {
    test("a dead member's unacked messages are claimed by a live one", {
      loadBalanced: true,
      failover: true,
    }, async (s) => {
      const base: ConsumerOptions = {
        mode: 'loadBalanced',
        group: freshKey('g'),
        start: 'earliest',
        autoCommit: 'disabled',
        batchSize: 1,
        autoClaimIdleMs: 200,
        autoClaimIntervalMs: 50,
      };
      const key = await filledStream(s, 'failover', 5);
      const alpha = await consumer(s, key, { ...base, consumerId: 'alpha' });
      expect(texts(await take(alpha, 5))).toEqual(range(5));
      await alpha.end(); // dies without acking
      const beta = await consumer(s, key, { ...base, consumerId: 'beta' });
      const claimed = await take(beta, 5);
      expect(texts(claimed).sort()).toEqual(range(5));
      for (const m of claimed) beta.ack(m);
      await beta.commit();
      await expectQuiet(beta);
    });
  });
}

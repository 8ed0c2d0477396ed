import type { ConsumerOptions } from '@streamer/core';
import { describe, expect } from 'vitest';
import { type ConformanceContext, expectCode, freshKey, range } from './context.js';

/** loadBalanced groups: the members of a group share a stream's messages. */
export function loadBalancedTests(ctx: ConformanceContext): void {
  const { test, consumer, quietMs } = ctx;

  describe('loadBalanced', () => {
    test('two members together get every message exactly once, both some', {
      loadBalanced: true,
    }, async (s) => {
      const key = freshKey('lb');
      const group = freshKey('g');
      const opts: ConsumerOptions = {
        mode: 'loadBalanced',
        group,
        start: 'earliest',
        batchSize: 1,
      };
      const a = await consumer(s, key, opts);
      const b = await consumer(s, key, opts);
      const p = await s.createProducer(key);
      for (const t of range(200)) p.send(t);
      await p.flush();
      const seen: string[] = [];
      const counts = [0, 0];
      await Promise.all(
        [a, b].map(async (c, i) => {
          while (seen.length < 200) {
            try {
              const m = await c.next({ signal: AbortSignal.timeout(quietMs * 3) });
              seen.push(m.text());
              counts[i]++;
              c.ack(m);
            } catch (error) {
              if ((error as { code?: string }).code !== 'TIMEOUT') throw error;
              if (seen.length >= 200) return;
            }
          }
        }),
      );
      expect([...seen].sort()).toEqual(range(200).sort());
      expect(counts[0]).toBeGreaterThan(0);
      expect(counts[1]).toBeGreaterThan(0);
    });

    test('without loadBalanced: a loadBalanced consumer is refused UNSUPPORTED, naming the backend', {
      loadBalanced: false,
    }, async (s) => {
      const error = await expectCode(
        s.createConsumer(freshKey('nolb'), { mode: 'loadBalanced', group: 'g' }),
        'UNSUPPORTED',
      );
      expect(error.message).toContain(s.backend);
    });
  });
}

import { describe, expect } from 'vitest';
import { type ConformanceContext, expectCode, freshKey } from './context.js';

/** Bad arguments fail fast with a code, before any I/O, and name the bad value. */
export function badInputTests(ctx: ConformanceContext): void {
  const { test, fromNow } = ctx;

  describe('bad input', () => {
    test('invalid stream keys reject INVALID_STREAM_KEY before any I/O', {}, async (s) => {
      for (const bad of ['', 'has space', 'a/b', 'x'.repeat(250), 'SEA_STREAMER_INTERNAL', 42]) {
        await expectCode(s.createProducer(bad as string), 'INVALID_STREAM_KEY');
        await expectCode(s.createConsumer(bad as string), 'INVALID_STREAM_KEY');
      }
      await expectCode(s.createConsumer([]), 'INVALID_ARGUMENT');
      const p = await s.createProducer();
      await expectCode(p.sendTo('no spaces allowed', 'x'), 'INVALID_STREAM_KEY');
      await p.flush().catch(() => {});
    });

    test('groups are refused in realtime mode and required in resumable mode', {
      realtime: true,
    }, async (s) => {
      const key = freshKey('bad');
      await expectCode(s.createConsumer(key, { group: 'g' }), 'GROUP_NOT_ALLOWED');
      await expectCode(
        s.createConsumer(key, { mode: 'realtime', consumerId: 'x' }),
        'GROUP_NOT_ALLOWED',
      );
      if (s.supports.resumable)
        await expectCode(s.createConsumer(key, { mode: 'resumable' }), 'GROUP_REQUIRED');
      for (const mode of ['resumable', 'loadBalanced'] as const) {
        if (!s.supports[mode])
          await expectCode(s.createConsumer(key, { mode, group: 'g' }), 'UNSUPPORTED');
      }
    });

    test('bad options and arguments name the bad value', { realtime: true }, async (s) => {
      const key = freshKey('bad');
      const mode = 'sideways' as 'realtime';
      const error = await s.createConsumer(key, { mode }).catch((e) => e);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('sideways');
      await expectCode(s.createConsumer(key, { batchSize: 0 }), 'INVALID_ARGUMENT');
      await expectCode(s.createConsumer(key, { start: 'middle' as 'latest' }), 'INVALID_ARGUMENT');
      const p = await s.createProducer(key);
      await expectCode(p.send(42 as unknown as string), 'INVALID_ARGUMENT');
      await expectCode(p.send('x', { shard: -1 }), 'INVALID_ARGUMENT');
      await expectCode(p.send('x', { timestamp: new Date(Number.NaN) }), 'INVALID_ARGUMENT');
      await p.flush().catch(() => {});
      const c = await fromNow(s, key);
      await expectCode(c.rewind({ at: -1n }), 'INVALID_ARGUMENT');
      await expectCode(c.rewind('middle' as 'end'), 'INVALID_ARGUMENT');
      await expectCode(c.seek(new Date('nope')), 'INVALID_ARGUMENT');
    });
  });
}

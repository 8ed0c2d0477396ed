import type { ConsumerOptions, Receipt, Streamer, StreamKey } from '@streamer/core';
import { describe, expect } from 'vitest';
import { type ConformanceContext, expectCode, freshKey, range, texts } from './context.js';

/** Rewind to a sequence and seek to a time, in realtime and resumable modes; inclusive everywhere. */
export function rewindAndSeekTests(ctx: ConformanceContext): void {
  const { test, consumer, take, expectQuiet } = ctx;

  /** 30 messages a second apart (where the backend stores timestamps), and their receipts. */
  async function thirty(s: Streamer, key: StreamKey) {
    const p = await s.createProducer(key);
    const base = Date.now() - 60_000;
    const receipts: Receipt[] = [];
    for (let i = 0; i < 30; i++) {
      receipts.push(
        await p.send(
          `m${i}`,
          s.supports.timestamps ? { timestamp: new Date(base + i * 1000) } : {},
        ),
      );
    }
    return { p, receipts };
  }

  describe('rewind and seek', () => {
    for (const mode of ['realtime', 'resumable'] as const) {
      const opts = (): ConsumerOptions =>
        mode === 'realtime'
          ? { start: 'earliest' }
          : { mode, group: freshKey('g'), start: 'earliest' };

      test(`${mode}: rewind('beginning'), rewind({ at }) inclusive, rewind('end')`, {
        rewind: true,
        history: true,
        [mode]: true,
      }, async (s) => {
        const key = freshKey('rewind');
        const { p, receipts } = await thirty(s, key);
        const c = await consumer(s, key, { ...opts(), batchSize: 5 });
        expect(texts(await take(c, 10))).toEqual(range(10));
        await c.rewind('beginning');
        expect(texts(await take(c, 10))).toEqual(range(10));
        await c.rewind({ at: receipts[20].sequence });
        expect(texts(await take(c, 3))).toEqual(['m20', 'm21', 'm22']);
        await c.rewind('end');
        await p.send('after-end');
        expect(texts(await take(c, 1))).toEqual(['after-end']);
      });

      test(`${mode}: seek(date) goes to the first message at or after it`, {
        seek: true,
        history: true,
        [mode]: true,
      }, async (s) => {
        const key = freshKey('seek');
        const { receipts } = await thirty(s, key);
        const c = await consumer(s, key, { ...opts(), batchSize: 5 });
        await c.seek(receipts[17].timestamp);
        const [first] = await take(c, 1);
        // Without stored timestamps several messages share a millisecond: the first of them comes next.
        const expected = receipts.findIndex(
          (r) => r.timestamp.getTime() >= receipts[17].timestamp.getTime(),
        );
        expect(first!.text()).toBe(`m${expected}`);
        await c.seek(new Date(receipts[29].timestamp.getTime() + 1));
        await expectQuiet(c);
      });
    }

    test('without rewind: rewind() rejects UNSUPPORTED, naming the backend', {
      rewind: false,
      realtime: true,
    }, async (s) => {
      const c = await consumer(s, freshKey('norewind'));
      const error = await expectCode(c.rewind('beginning'), 'UNSUPPORTED');
      expect(error.message).toContain(s.backend);
    });

    test('without seek: seek() rejects UNSUPPORTED, naming the backend', {
      seek: false,
      realtime: true,
    }, async (s) => {
      const c = await consumer(s, freshKey('noseek'));
      const error = await expectCode(c.seek(new Date()), 'UNSUPPORTED');
      expect(error.message).toContain(s.backend);
    });
  });
}

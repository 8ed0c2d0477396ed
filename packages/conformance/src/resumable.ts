import { describe, expect } from 'vitest';
import {
  type ConformanceContext,
  expectCode,
  filledStream,
  freshKey,
  range,
  resumable,
  texts,
} from './context.js';

/** Resumable consumers: a group remembers what was committed, across connections. */
export function resumableTests(ctx: ConformanceContext): void {
  const { test, open, consumer, take } = ctx;

  describe('resumable', () => {
    test('a consumer resumes after the last commit; unacked messages come back', {
      resumable: true,
    }, async (s1) => {
      const key = await filledStream(s1, 'resume', 10);
      const opts = resumable('disabled');
      const c1 = await consumer(s1, key, opts);
      const first = await take(c1, 6);
      expect(texts(first)).toEqual(range(6));
      for (const m of first.slice(0, 4)) c1.ack(m);
      await c1.commit();
      await c1.end();
      await s1.disconnect();

      const s2 = await open();
      const c2 = await consumer(s2, key, opts);
      expect(texts(await take(c2, 6))).toEqual(range(10).slice(4));
      const p2 = await s2.createProducer(key);
      await p2.send('new');
      await p2.send('new2');
      const rest = texts(await take(c2, 2));
      expect(rest).toEqual(['new', 'new2']);
    });

    test('ack() takes a header rebuilt from its fields, as after a round trip through JSON', {
      resumable: true,
    }, async (s) => {
      const key = await filledStream(s, 'rebuilt', 5);
      const opts = resumable('disabled');
      const c1 = await consumer(s, key, opts);
      for (const m of await take(c1, 3)) {
        const { streamKey, shardId, sequence, timestamp } = JSON.parse(
          JSON.stringify({ ...m, sequence: String(m.sequence) }),
        );
        c1.ack({
          streamKey,
          shardId,
          sequence: BigInt(sequence),
          timestamp: new Date(timestamp),
        });
      }
      await c1.end();
      const c2 = await consumer(s, key, opts);
      expect(texts(await take(c2, 2))).toEqual(range(5).slice(3));
      await c2.end();
      await s.disconnect();
    });

    test("autoCommit 'delayed' commits what was delivered when the consumer ends", {
      resumable: true,
    }, async (s) => {
      const key = await filledStream(s, 'delayed', 8);
      const opts = resumable('delayed');
      const c1 = await consumer(s, key, opts);
      expect(texts(await take(c1, 5))).toEqual(range(5));
      await c1.end();
      const c2 = await consumer(s, key, opts);
      expect(texts(await take(c2, 3))).toEqual(range(8).slice(5));
    });

    test("a new group with 'latest' starts at the end, with 'earliest' at the start", {
      resumable: true,
    }, async (s) => {
      const key = freshKey('newgroup');
      const p = await s.createProducer(key);
      await p.send('old');
      const late = await consumer(s, key, {
        mode: 'resumable',
        group: freshKey('g'),
        start: 'latest',
      });
      const early = await consumer(s, key, {
        mode: 'resumable',
        group: freshKey('g'),
        start: 'earliest',
      });
      await p.send('new');
      expect(texts(await take(late, 1))).toEqual(['new']);
      expect(texts(await take(early, 2))).toEqual(['old', 'new']);
    });

    test("autoCommit 'rolling' refuses a manual commit(); 'disabled' accepts it", {
      resumable: true,
    }, async (s) => {
      const key = freshKey('rolling');
      const rolling = await consumer(s, key, {
        mode: 'resumable',
        group: freshKey('g'),
        autoCommit: 'rolling',
      });
      await expectCode(rolling.commit(), 'UNSUPPORTED');
      const disabled = await consumer(s, key, {
        mode: 'resumable',
        group: freshKey('g'),
        autoCommit: 'disabled',
      });
      await disabled.commit();
    });

    test('without resumable: a resumable consumer is refused UNSUPPORTED, naming the backend', {
      resumable: false,
    }, async (s) => {
      const error = await expectCode(
        s.createConsumer(freshKey('noresume'), { mode: 'resumable', group: 'g' }),
        'UNSUPPORTED',
      );
      expect(error.message).toContain(s.backend);
    });
  });
}

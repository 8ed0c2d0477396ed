import { describe, expect } from 'vitest';
import { type ConformanceContext, expectCode, freshKey, range, texts } from './context.js';

/** Realtime consumers: where they start, several streams, fairness, iteration, ending. */
export function realtimeTests(ctx: ConformanceContext): void {
  const { test, consumer, fromNow, take, expectQuiet } = ctx;

  describe('realtime', () => {
    test("'latest' sees only what is sent after it started", { realtime: true }, async (s) => {
      const key = freshKey('latest');
      const p = await s.createProducer(key);
      for (const t of range(3, 'old')) await p.send(t);
      const c = await consumer(s, key, { start: 'latest' });
      for (const t of range(3, 'new')) await p.send(t);
      expect(texts(await take(c, 3))).toEqual(range(3, 'new'));
      await expectQuiet(c);
    });

    test("'earliest' sees the history, then live messages", {
      realtime: true,
      history: true,
    }, async (s) => {
      const key = freshKey('earliest');
      const p = await s.createProducer(key);
      for (const t of range(3, 'old')) await p.send(t);
      const c = await consumer(s, key, { start: 'earliest' });
      expect(texts(await take(c, 3))).toEqual(range(3, 'old'));
      for (const t of range(3, 'new')) await p.send(t);
      expect(texts(await take(c, 3))).toEqual(range(3, 'new'));
    });

    test("without history: 'earliest' is accepted and starts where 'latest' does", {
      realtime: true,
      history: false,
    }, async (s) => {
      const key = freshKey('nohistory');
      const p = await s.createProducer(key);
      await p.send('before');
      const c = await consumer(s, key, { start: 'earliest' });
      await p.send('after');
      expect(texts(await take(c, 1))).toEqual(['after']);
      await expectQuiet(c);
    });

    test('one consumer reads several streams, each in order', { realtime: true }, async (s) => {
      const keys = [freshKey('x'), freshKey('y'), freshKey('z')];
      const c = await fromNow(s, keys);
      const p = await s.createProducer();
      for (let i = 0; i < 20; i++) for (const key of keys) p.sendTo(key, `${key}/${i}`);
      await p.flush();
      const got = await take(c, 60);
      for (const key of keys) {
        expect(got.filter((m) => m.streamKey === key).map((m) => m.text())).toEqual(
          range(20).map((_, i) => `${key}/${i}`),
        );
      }
    });

    test('a stream that appears after the consumer started is read', {
      realtime: true,
    }, async (s) => {
      const [a, b] = [freshKey('old'), freshKey('new')];
      const p = await s.createProducer();
      await p.sendTo(a, 'a0');
      const c = await consumer(s, [a, b], { start: 'latest' });
      await p.sendTo(b, 'b0');
      await p.sendTo(a, 'a1');
      await p.sendTo(b, 'b1');
      const got = await take(c, 3);
      expect(texts(got).sort()).toEqual(['a1', 'b0', 'b1']);
    });

    test('a quiet stream is not starved by a busy one', { realtime: true }, async (s) => {
      const [busy, quiet] = [freshKey('busy'), freshKey('quiet')];
      const c = await fromNow(s, [busy, quiet], { batchSize: 5 });
      const p = await s.createProducer();
      for (let i = 0; i < 500; i++) p.sendTo(busy, `b${i}`);
      await p.sendTo(quiet, 'q0');
      for (let i = 500; i < 1000; i++) p.sendTo(busy, `b${i}`);
      await p.flush();
      const got = await take(c, 1001);
      expect(got.filter((m) => m.streamKey === quiet).map((m) => m.text())).toEqual(['q0']);
      expect(texts(got.filter((m) => m.streamKey === busy))).toEqual(range(1000, 'b'));
    });

    test('async iteration yields messages and break ends the consumer', {
      realtime: true,
    }, async (s) => {
      const key = freshKey('iter');
      const c = await fromNow(s, key);
      const p = await s.createProducer(key);
      for (const t of range(5)) p.send(t);
      await p.flush();
      const seen: string[] = [];
      for await (const m of c) {
        seen.push(m.text());
        if (seen.length === 3) break;
      }
      expect(seen).toEqual(range(3));
      await expectCode(c.next(), 'CONSUMER_ENDED');
    });

    test('an aborted signal ends the consumer and rejects a waiting next() with ABORTED', {
      realtime: true,
    }, async (s) => {
      const controller = new AbortController();
      const c = await fromNow(s, freshKey('abort'), { signal: controller.signal });
      const waiting = c.next();
      setTimeout(() => controller.abort(), 20);
      const error = await waiting.catch((e) => e);
      expect(error.code).toBe('ABORTED');
      expect(error.name).toBe('AbortError');
      await expectCode(c.next(), 'ABORTED');
    });

    test('next({ signal }) gives up without taking a message: the next call gets it', {
      realtime: true,
    }, async (s) => {
      const key = freshKey('timeout');
      const c = await fromNow(s, key);
      await expectCode(c.next({ signal: AbortSignal.timeout(50) }), 'TIMEOUT');
      await expectCode(c.next({ signal: AbortSignal.abort() }), 'ABORTED');
      const p = await s.createProducer(key);
      await p.send('after');
      expect(texts(await take(c, 1))).toEqual(['after']);
    });

    test('end() is idempotent, and next() after it rejects CONSUMER_ENDED', {
      realtime: true,
    }, async (s) => {
      const c = await fromNow(s, freshKey('cend'));
      const waiting = c.next();
      waiting.catch(() => {}); // rejects while end() runs; checked below
      await Promise.all([c.end(), c.end()]);
      await expectCode(waiting, 'CONSUMER_ENDED');
      await expectCode(c.next(), 'CONSUMER_ENDED');
      await c[Symbol.asyncDispose]();
    });

    test('disconnect() ends every consumer and producer of the streamer', {
      realtime: true,
    }, async (s) => {
      const c = await fromNow(s, freshKey('disc'));
      const p = await s.createProducer(freshKey('disc'));
      const waiting = c.next();
      waiting.catch(() => {}); // rejects while disconnect() runs; checked below
      await s.disconnect();
      await expectCode(waiting, 'CONSUMER_ENDED');
      await expectCode(p.send('x'), 'PRODUCER_ENDED');
      await expectCode(s.createProducer(), 'DISCONNECTED');
      await s.disconnect();
    });
  });
}

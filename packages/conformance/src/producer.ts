import type { Receipt } from '@streamer/core';
import { describe, expect } from 'vitest';
import { type ConformanceContext, expectCode, freshKey, range, texts } from './context.js';

/** Producers: receipts, order, flush as a barrier, end, failed sends, anchoring, payloads. */
export function producerTests(ctx: ConformanceContext): void {
  const { test, fromNow, take, expectQuiet } = ctx;

  describe('producer', () => {
    test('receipts carry the stream key, shard 0 and strictly increasing sequences', {}, async (s) => {
      const key = freshKey('receipt');
      const p = await s.createProducer(key);
      expect(p.anchor).toBe(key);
      const receipts: Receipt[] = [];
      for (let i = 0; i < 5; i++) receipts.push(await p.send(`r${i}`));
      for (const [i, r] of receipts.entries()) {
        expect(r.streamKey).toBe(key);
        expect(r.shardId).toBe(0);
        expect(typeof r.sequence).toBe('bigint');
        expect(r.timestamp).toBeInstanceOf(Date);
        if (i > 0) expect(r.sequence > receipts[i - 1].sequence).toBe(true);
      }
      await p.end();
    });

    test('keeps per-stream order for un-awaited sends and delivers them all', {
      realtime: true,
    }, async (s) => {
      const key = freshKey('order');
      const c = await fromNow(s, key);
      const p = await s.createProducer(key);
      const sends = range(2000).map((t) => p.send(t));
      await p.flush();
      const receipts = await Promise.all(sends);
      for (let i = 1; i < receipts.length; i++)
        expect(receipts[i].sequence > receipts[i - 1].sequence).toBe(true);
      const got = await take(c, 2000);
      expect(texts(got)).toEqual(range(2000));
      expect(got.map((m) => m.sequence)).toEqual(receipts.map((r) => r.sequence));
      await expectQuiet(c);
    });

    test('flush() is a barrier: every send before it has its receipt when it resolves', {}, async (s) => {
      const p = await s.createProducer(freshKey('flush'));
      let settled = 0;
      for (let i = 0; i < 500; i++) p.send(`f${i}`).then(() => settled++);
      await p.flush();
      await Promise.resolve(); // let the receipts' own handlers run
      expect(settled).toBe(500);
      expect(p.pending).toBe(0);
    });

    test('end() is idempotent and later sends reject PRODUCER_ENDED', {}, async (s) => {
      const p = await s.createProducer(freshKey('end'));
      const receipt = p.send('last');
      await Promise.all([p.end(), p.end()]);
      await expect(receipt).resolves.toMatchObject({ shardId: 0 });
      await p.end();
      await expectCode(p.send('late'), 'PRODUCER_ENDED');
      await expectCode(p.sendTo(freshKey(), 'late'), 'PRODUCER_ENDED');
    });

    test('an un-awaited failed send does not crash, and flush() reports it', {}, async (s) => {
      const p = await s.createProducer();
      p.sendTo('not a valid key!', 'x');
      await expectCode(p.flush(), 'INVALID_STREAM_KEY');
      await p.flush(); // reported once
    });

    test('sendTo writes to any stream, and anchorTo anchors once', {
      realtime: true,
    }, async (s) => {
      const [a, b] = [freshKey('a'), freshKey('b')];
      const c = await fromNow(s, [a, b]);
      const p = await s.createProducer();
      expect(p.anchor).toBeUndefined();
      await expectCode(p.send('x'), 'NOT_ANCHORED');
      await p.flush().catch(() => {});
      await p.sendTo(a, 'to-a');
      p.anchorTo(b);
      await expectCode(() => p.anchorTo(a), 'ALREADY_ANCHORED');
      await p.send('to-b');
      const got = await take(c, 2);
      expect(got.map((m) => [m.streamKey, m.text()]).sort()).toEqual([
        [a, 'to-a'],
        [b, 'to-b'],
      ]);
    });

    test('sends empty and text payloads; text() and json() decode them', {
      realtime: true,
    }, async (s) => {
      const key = freshKey('text');
      const c = await fromNow(s, key);
      const p = await s.createProducer(key);
      await p.send('');
      await p.send('{"n":1}');
      await p.send('héllo wörld ✓');
      const [m1, m2, m3] = await take(c, 3);
      expect(m1!.payload.length).toBe(0);
      expect(m2!.json()).toEqual({ n: 1 });
      expect(m3!.text()).toBe('héllo wörld ✓');
      await expectCode(() => m3!.json(), 'INVALID_PAYLOAD');
    });

    test('sends binary payloads byte for byte', {
      realtime: true,
      binaryPayloads: true,
    }, async (s) => {
      const key = freshKey('bin');
      const c = await fromNow(s, key);
      const p = await s.createProducer(key);
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await p.send(bytes);
      await p.send(new Uint8Array(0));
      const [m1, m2] = await take(c, 2);
      expect(Buffer.from(m1!.payload).equals(Buffer.from(bytes))).toBe(true);
      expect(m2!.payload.length).toBe(0);
      await expectCode(() => m1!.text(), 'INVALID_PAYLOAD');
    });

    test('without binaryPayloads: bytes that are not UTF-8 reject INVALID_PAYLOAD', {
      binaryPayloads: false,
    }, async (s) => {
      const p = await s.createProducer(freshKey('nobin'));
      await expectCode(p.send(Uint8Array.of(0x68, 0xff)), 'INVALID_PAYLOAD');
      await p.flush().catch(() => {});
      await p.send(new TextEncoder().encode('UTF-8 bytes are text ✓'));
    });
  });
}

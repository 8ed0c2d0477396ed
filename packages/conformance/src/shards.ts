import type { Receipt } from '@streamer/core';
import { describe, expect } from 'vitest';
import { type ConformanceContext, expectCode, freshKey, range, texts } from './context.js';

/** Shards: how sends spread over them, per-shard order, and consumers limited to some. */
export function shardTests(ctx: ConformanceContext): void {
  const { test, consumer, fromNow, take } = ctx;

  describe('shards', () => {
    test('round robin over shards keeps the stream key; a key always lands on one shard', {
      shards: true,
      realtime: true,
    }, async (s) => {
      const key = freshKey('shards');
      const c = await fromNow(s, key);
      const p = await s.createProducer(key, { shards: 3 });
      const receipts: Receipt[] = [];
      for (let i = 0; i < 9; i++) receipts.push(await p.send(`s${i}`));
      expect(receipts.map((r) => r.shardId)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
      expect(receipts.every((r) => r.streamKey === key)).toBe(true);
      const keyed = await Promise.all(range(6).map(() => p.send('k', { key: 'customer-42' })));
      expect(new Set(keyed.map((r) => r.shardId)).size).toBe(1);
      const explicit = await p.send('e', { shard: 2 });
      expect(explicit.shardId).toBe(2);
      const got = await take(c, 16);
      for (const shard of [0, 1, 2]) {
        const seqs = got.filter((m) => m.shardId === shard).map((m) => m.sequence);
        for (let i = 1; i < seqs.length; i++) expect(seqs[i] > seqs[i - 1]).toBe(true);
      }
      expect(texts(got.filter((m) => m.text().startsWith('s'))).sort()).toEqual(
        range(9, 's').sort(),
      );
    });

    test('assign() limits a consumer to some shards', {
      shards: true,
      history: true,
      realtime: true,
    }, async (s) => {
      const key = freshKey('assign');
      const p = await s.createProducer(key, { shards: 2 });
      for (let i = 0; i < 6; i++) await p.send(`a${i}`);
      const c = await consumer(s, key, { start: 'earliest' });
      c.assign(key, 1);
      const got = await take(c, 3);
      expect(got.map((m) => m.shardId)).toEqual([1, 1, 1]);
      expect(texts(got)).toEqual(['a1', 'a3', 'a5']);
      await expectCode(() => c.assign('other-stream', 0), 'INVALID_ARGUMENT');
      c.unassign(key, 1);
      await expectCode(() => c.unassign(key, 1), 'INVALID_ARGUMENT');
    });

    test('without shards: more than one shard, or a send to shard 1, rejects UNSUPPORTED; a key lands on shard 0', {
      shards: false,
    }, async (s) => {
      const key = freshKey('noshards');
      const error = await expectCode(s.createProducer(key, { shards: 2 }), 'UNSUPPORTED');
      expect(error.message).toContain(s.backend);
      const p = await s.createProducer(key);
      expect((await expectCode(p.send('x', { shard: 1 }), 'UNSUPPORTED')).message).toContain(
        s.backend,
      );
      await p.flush().catch(() => {});
      expect((await p.send('x', { shard: 0 })).shardId).toBe(0);
      expect((await p.send('x', { key: 'customer-42' })).shardId).toBe(0);
    });
  });
}

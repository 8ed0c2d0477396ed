// On a single server and on a Redis Cluster (the shared throwaway one): every scenario of docs/spec/redis-scenarios.md, numbered as there, against a real Redis.
import type { Consumer, ConsumerOptions, Message, Receipt, Streamer } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { entryIdToSequence, formatEntryId, parseEntryId, sequenceToEntryId } from '../src/index.js';
import { clusterUrl } from './support/cluster-helpers.js';
import {
  freshKey,
  maybeNext,
  range,
  redisCli,
  redisUrl,
  streamers,
  take,
  texts,
} from './support/helpers.js';

const streamer = streamers();

/** redis-cli on the key's node: `-c` follows the cluster's redirects. */
function cliFor(url: () => string) {
  return (...args: string[]) => {
    const [first] = url().slice('redis://'.length).split(',');
    return url().includes(',')
      ? redisCli(`redis://${first}`, '-c', ...args)
      : redisCli(url(), ...args);
  };
}

describe.each([
  ['single server', redisUrl],
  ['cluster', clusterUrl],
] as const)('%s', (_topology, url) => {
  const cli = cliFor(url);

  async function sendAll(s: Streamer, key: string, items: string[]): Promise<Receipt[]> {
    const p = await s.createProducer(key);
    const receipts = await Promise.all(items.map((t) => p.send(t)));
    await p.end();
    return receipts;
  }

  describe('consumer groups and MKSTREAM', () => {
    it('1. mkstream: false on an absent key: the first next() rejects naming the key', async () => {
      const s = await streamer(url());
      const key = freshKey('nomk');
      const c = await s.createConsumer(key, {
        mode: 'resumable',
        group: 'g',
        mkstream: false,
      } as ConsumerOptions);
      const error = await c.next({ signal: AbortSignal.timeout(5000) }).catch((e) => e);
      expect(error.code).toBe('STREAM_NOT_FOUND');
      expect(error.message).toContain(key);
      expect(error.message).toContain('createIfNotExists');
    });

    it('2. mkstream: true: a group made before any producer gets the first five in order', async () => {
      const s = await streamer(url());
      const key = freshKey('mk');
      const c = await s.createConsumer(key, {
        mode: 'resumable',
        group: 'g',
        mkstream: true,
      } as ConsumerOptions);
      await sendAll(s, key, range(5));
      expect(texts(await take(c, 5))).toEqual(range(5));
    });

    it('3. receipts of sends 0..4 have strictly increasing sequences', async () => {
      const s = await streamer(url());
      const receipts = await sendAll(s, freshKey('inc'), range(5));
      for (let i = 1; i < 5; i++)
        expect(receipts[i].sequence > receipts[i - 1].sequence).toBe(true);
    });
  });

  describe('realtime', () => {
    it('4. receipts carry the stream key, shard 0 and increasing sequences', async () => {
      const s = await streamer(url());
      const key = freshKey('rc');
      const receipts = await sendAll(s, key, range(3));
      expect(receipts.map((r) => [r.streamKey, r.shardId])).toEqual([
        [key, 0],
        [key, 0],
        [key, 0],
      ]);
      expect(receipts[2].sequence > receipts[1].sequence).toBe(true);
    });

    it('5-8. latest, earliest with an absent stream, a second consumer, the late stream', async () => {
      const s = await streamer(url());
      const [a, b] = [freshKey('a'), freshKey('b')];
      const p = await s.createProducer();
      for (const t of range(3, 'old')) await p.sendTo(a, t);
      const latest = await s.createConsumer(a, { start: 'latest' });
      const earliest = await s.createConsumer([a, b], { start: 'earliest' });
      await p.sendTo(a, 'new0');
      // 5: only what came after it started
      expect(texts(await take(latest, 1))).toEqual(['new0']);
      expect(await maybeNext(latest)).toBeUndefined();
      // 6: the whole history of a, then live
      expect(texts(await take(earliest, 4))).toEqual([...range(3, 'old'), 'new0']);
      // 7: after one consumer ends, the other keeps receiving
      await latest.end();
      await p.sendTo(a, 'new1');
      expect(texts(await take(earliest, 1))).toEqual(['new1']);
      // 8: the formerly absent stream b
      await p.sendTo(b, 'b0');
      const [m] = await take(earliest, 1);
      expect([m!.streamKey, m!.text()]).toEqual([b, 'b0']);
    });
  });

  describe('realtime, several streams (the starvation cases)', () => {
    async function setup(start: 'earliest' | 'latest', quietCount = 1, history = false) {
      const s = await streamer(url());
      const busy = freshKey('busy');
      const quiet = Array.from({ length: quietCount }, () => freshKey('quiet'));
      const p = await s.createProducer();
      if (history) {
        await p.sendTo(busy, 'busy-old');
        for (const q of quiet) await p.sendTo(q, `${q}-old`);
      }
      const c = await s.createConsumer([busy, ...quiet], { start, batchSize: 1 });
      return { s, busy, quiet, p, c };
    }

    /** A busy message read, then quiet messages sent in the gap before the next read, then more busy. */
    async function round(p: Awaited<ReturnType<typeof setup>>, n: number) {
      await p.p.sendTo(p.busy, `busy-${n}-a`);
      const first = await take(p.c, 1);
      for (const q of p.quiet) await p.p.sendTo(q, `${q}-${n}`);
      await p.p.sendTo(p.busy, `busy-${n}-b`);
      const rest = await take(p.c, p.quiet.length + 1);
      return texts([...first, ...rest]);
    }

    it('9. a message to a quiet stream sent in the gap between reads is delivered', async () => {
      const t = await setup('latest');
      const got = await round(t, 0);
      expect(got.sort()).toEqual(['busy-0-a', 'busy-0-b', `${t.quiet[0]}-0`].sort());
    });

    it('10. one busy and three quiet streams: every quiet gap message is delivered', async () => {
      const t = await setup('latest', 3);
      const got = await round(t, 0);
      for (const q of t.quiet) expect(got).toContain(`${q}-0`);
      expect(got).toHaveLength(5);
    });

    it('11-12. latest replays no history; a quiet stream with history gives exactly the new one', async () => {
      const t = await setup('latest', 1, true);
      const got = await round(t, 0);
      expect(got.filter((x) => x.endsWith('-old'))).toEqual([]);
      expect(got.filter((x) => x.startsWith(t.quiet[0]))).toEqual([`${t.quiet[0]}-0`]);
      expect(await maybeNext(t.c)).toBeUndefined();
    });

    it('13. streams created after the consumer subscribed deliver every entry, the first included', async () => {
      const t = await setup('latest', 2);
      for (const q of t.quiet) for (const x of range(3, `${q}-`)) await t.p.sendTo(q, x);
      const got = texts(await take(t.c, 6));
      for (const q of t.quiet)
        expect(got.filter((x) => x.startsWith(q))).toEqual(range(3, `${q}-`));
    });

    it('14. the starvation pattern repeated for five rounds loses nothing', async () => {
      const t = await setup('latest', 3);
      for (let n = 0; n < 5; n++) {
        const got = await round(t, n);
        for (const q of t.quiet) expect(got).toContain(`${q}-${n}`);
      }
      expect(await maybeNext(t.c)).toBeUndefined();
    });

    it('15. earliest gets the history plus the gap message', async () => {
      const t = await setup('earliest', 1, true);
      const history = texts(await take(t.c, 2)).sort();
      expect(history).toEqual(['busy-old', `${t.quiet[0]}-old`].sort());
      const got = await round(t, 0);
      expect(got).toContain(`${t.quiet[0]}-0`);
    });

    it('16. a subscribed key holding a string: next() rejects naming WRONGTYPE and the key', async () => {
      const s = await streamer(url());
      const [good, bad] = [freshKey('good'), freshKey('str')];
      await cli('SET', bad, 'plain');
      try {
        const c = await s.createConsumer([good, bad]);
        const error = await c.next({ signal: AbortSignal.timeout(3000) }).catch((e) => e);
        expect(error.message).toContain('WRONGTYPE');
        expect(error.message).toContain(bad);
      } finally {
        await cli('DEL', bad);
      }
    });
  });

  describe('resumable and autoCommit', () => {
    for (const autoCommit of ['immediate', 'delayed'] as const) {
      for (const mode of ['resumable', 'loadBalanced'] as const) {
        it(`17. ${autoCommit}, ${mode}: anchored after an abandoned next(), history for a new group, resume after end()`, async () => {
          const s = await streamer(url());
          const key = freshKey('r17');
          const group = freshKey('g');
          const base = {
            mode,
            group,
            consumerId: 'one',
            autoCommit,
            autoCommitDelayMs: 0,
          } as const;
          const p = await s.createProducer(key);
          for (const t of range(3, 'old')) await p.send(t);
          const c = await s.createConsumer(key, { ...base, start: 'latest' });
          expect(await maybeNext(c, 200)).toBeUndefined(); // abandoned
          for (const t of range(3, 'new')) await p.send(t);
          expect(texts(await take(c, 2))).toEqual(['new0', 'new1']);
          const other = await s.createConsumer(key, {
            mode,
            group: freshKey('g'),
            start: 'earliest',
            autoCommit,
          });
          expect(texts(await take(other, 6))).toEqual([...range(3, 'old'), ...range(3, 'new')]);
          await c.end();
          const again = await s.createConsumer(key, { ...base, start: 'latest' });
          await p.send('newest');
          expect(texts(await take(again, 2))).toEqual(['new2', 'newest']);
          expect(await maybeNext(again)).toBeUndefined();
        });
      }
    }

    for (const autoCommit of ['rolling', 'disabled'] as const) {
      it(`18. ${autoCommit}: uncommitted work comes back, committed does not`, async () => {
        const s = await streamer(url());
        const key = freshKey('r18');
        await sendAll(s, key, range(5));
        const opts = (group: string): ConsumerOptions => ({
          mode: 'resumable',
          group,
          start: 'earliest',
          autoCommit,
          autoCommitIntervalMs: 0,
        });
        // A group that acks but never commits reads everything again: a second member with the
        // same id, made while the first is alive (end() would commit its acks), replays them all.
        // Only for 'disabled': 'rolling' commits acks by itself.
        if (autoCommit === 'disabled') {
          const lazy = freshKey('lazy');
          const c1 = await s.createConsumer(key, { ...opts(lazy), consumerId: 'same' });
          for (const m of await take(c1, 5)) c1.ack(m);
          const c2 = await s.createConsumer(key, { ...opts(lazy), consumerId: 'same' });
          expect(texts(await take(c2, 5))).toEqual(range(5));
        }
        const s3 = await streamer(url());
        const committing = freshKey('commit');
        const never = freshKey('never');
        const c = await s3.createConsumer(key, opts(committing));
        const n = await s3.createConsumer(key, opts(never));
        const five = await take(c, 5);
        await take(n, 5);
        for (const m of five.slice(0, 4)) c.ack(m);
        if (autoCommit === 'rolling')
          await expect(c.commit()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
        else await c.commit();
        await s3.disconnect();
        const s4 = await streamer(url());
        const back = await s4.createConsumer(key, opts(committing));
        expect(texts(await take(back, 1))).toEqual(['m4']);
        await sendAll(s4, key, ['later']);
        expect(texts(await take(back, 1))).toEqual(['later']);
        const neverBack = await s4.createConsumer(key, opts(never));
        expect(texts(await take(neverBack, 6))).toEqual([...range(5), 'later']);
      });
    }
  });

  describe('load balanced', () => {
    it('19-20. two members share the default group with different ids; each message once, both some', async () => {
      const s = await streamer(url());
      const key = freshKey('lb');
      const opts: ConsumerOptions = { mode: 'loadBalanced', start: 'earliest', batchSize: 1 };
      const a = await s.createConsumer(key, opts);
      const b = await s.createConsumer(key, opts);
      await sendAll(s, key, range(100));
      const seen: string[] = [];
      const counts = [0, 0];
      await Promise.all(
        [a, b].map(async (c, i) => {
          for (;;) {
            const m = await maybeNext(c, 500);
            if (!m) return;
            seen.push(m.text());
            counts[i]++;
          }
        }),
      );
      expect(seen.sort()).toEqual(range(100).sort());
      expect(counts[0]).toBeGreaterThan(0);
      expect(counts[1]).toBeGreaterThan(0);
      const info = await s.streamInfo(key);
      expect(info.groups.map((g) => [g.name, g.consumers])).toEqual([['default', 2]]);
    });

    it('21. failover: beta claims what alpha left unacked, as its new owner', async () => {
      const s = await streamer(url());
      const key = freshKey('fo');
      const group = freshKey('g');
      const base: ConsumerOptions = {
        mode: 'loadBalanced',
        group,
        start: 'earliest',
        autoCommit: 'disabled',
        batchSize: 1,
        autoClaimIdleMs: 1000,
        autoClaimIntervalMs: 100,
      };
      await sendAll(s, key, range(5, 'a'));
      // alpha never claims: only beta's claims are under test.
      const alpha = await s.createConsumer(key, {
        ...base,
        consumerId: 'alpha',
        autoClaimIntervalMs: 600_000,
      });
      expect(texts(await take(alpha, 5))).toEqual(range(5, 'a'));
      const beta = await s.createConsumer(key, { ...base, consumerId: 'beta' });
      await sendAll(s, key, range(5, 'b'));
      const got: Message[] = [];
      for (let m = await maybeNext(beta, 300); m; m = await maybeNext(beta, 300)) got.push(m);
      expect(texts(got).filter((t) => t.startsWith('b')).length).toBeGreaterThan(0);
      for (const m of got) beta.ack(m);
      await beta.commit();
      await alpha.end();
      // alpha's five (and a b-message alpha read ahead, if any) come to beta once idle long enough.
      while (got.length < 10) {
        const [m] = await take(beta, 1);
        got.push(m!);
        beta.ack(m!);
      }
      expect(texts(got).sort()).toEqual([...range(5, 'a'), ...range(5, 'b')].sort());
      await beta.commit();
      const owners = await cli('XPENDING', key, group, '-', '+', '10');
      expect(owners.trim()).toBe(''); // all acked: nothing pending, for alpha or anyone
      const alpha2 = await s.createConsumer(key, { ...base, consumerId: 'alpha' });
      expect(await maybeNext(alpha2)).toBeUndefined();
      await sendAll(s, key, range(20, 'c'));
      const shared: string[] = [];
      await Promise.all(
        [alpha2, beta].map(async (c) => {
          for (let m = await maybeNext(c, 500); m; m = await maybeNext(c, 500)) {
            shared.push(m.text());
            c.ack(m);
          }
        }),
      );
      expect(shared.sort()).toEqual(range(20, 'c').sort());
    });
  });

  describe('seek and rewind', () => {
    for (const batchSize of [1, 5, 25]) {
      for (const mode of ['realtime', 'resumable'] as const) {
        it(`22-26. ${mode}, batch ${batchSize}`, async () => {
          const s = await streamer(url());
          const key = freshKey('sr');
          const p = await s.createProducer(key);
          const base = Date.now() - 100_000;
          const receipts: Receipt[] = [];
          for (let i = 0; i < 40; i++)
            receipts.push(await p.send(`m${i}`, { timestamp: new Date(base + i * 1000) }));
          const opts: ConsumerOptions =
            mode === 'realtime'
              ? { start: 'earliest', batchSize }
              : { mode, group: freshKey('g'), start: 'earliest', batchSize };
          const c: Consumer = await s.createConsumer(key, opts);
          expect(texts(await take(c, 10))).toEqual(range(10)); // 22
          await c.rewind('beginning'); // 23
          expect(texts(await take(c, 10))).toEqual(range(10));
          await c.rewind({ at: receipts[29].sequence }); // 24
          expect(texts(await take(c, 3))).toEqual(['m29', 'm30', 'm31']);
          await c.rewind('beginning');
          await c.seek(receipts[29].timestamp); // 25
          expect(texts(await take(c, 2))).toEqual(['m29', 'm30']);
          await c.seek(new Date(receipts[29].timestamp.getTime() - 1));
          expect(texts(await take(c, 1))).toEqual(['m29']);
          await c.rewind('end'); // 26
          expect(await maybeNext(c, 200)).toBeUndefined();
          await p.send('after-0');
          await p.send('after-1');
          expect(texts(await take(c, 2))).toEqual(['after-0', 'after-1']);
          expect(await maybeNext(c, 200)).toBeUndefined();
        });
      }
    }
  });

  describe('sharding', () => {
    it('27-28. round robin over three shards, keys name:0..2; a key sticks to one shard', async () => {
      const s = await streamer(url());
      const key = freshKey('sh');
      const p = await s.createProducer(key, { shards: 3 });
      const receipts = await Promise.all(range(9).map((t) => p.send(t)));
      receipts.forEach((r, i) => {
        expect(r.streamKey).toBe(key);
        expect(r.shardId).toBe(i % 3);
      });
      for (const n of [0, 1, 2]) expect(await cli('XLEN', `${key}:${n}`)).toBe('3\n');
      expect(await cli('EXISTS', key)).toBe('0\n');
      const keyed = await Promise.all(range(10).map(() => p.send('k', { key: 'customer-7' })));
      expect(new Set(keyed.map((r) => r.shardId)).size).toBe(1);
    });

    it('29. an earliest consumer on the logical key finds every shard, then a new one', async () => {
      const s = await streamer(url());
      const key = freshKey('sd');
      const p = await s.createProducer(key, { shards: 3 });
      await Promise.all(range(6).map((t) => p.send(t)));
      const c = await s.createConsumer(key, {
        start: 'earliest',
        discoverIntervalMs: 100,
      } as ConsumerOptions);
      expect(texts(await take(c, 6)).sort()).toEqual(range(6));
      await p.send('live', { shard: 1 });
      expect(texts(await take(c, 1))).toEqual(['live']);
      const wider = await s.createProducer(key, { shards: 5 });
      await wider.send('on-4', { shard: 4 });
      const [m] = await take(c, 1);
      expect([m!.shardId, m!.text()]).toEqual([4, 'on-4']);
    });
  });
});

describe('entry ids', () => {
  it('30. parse to (ms << 16) | n and back; malformed ids are rejected clearly', () => {
    expect(entryIdToSequence('0-0')).toBe(0n);
    expect(entryIdToSequence('1678280595282-7')).toBe((1678280595282n << 16n) | 7n);
    const largest = `${(1n << 48n) - 1n}-65535`;
    expect(entryIdToSequence(largest)).toBe((1n << 64n) - 1n);
    for (const id of ['0-0', '1678280595282-7', largest]) {
      expect(sequenceToEntryId(entryIdToSequence(id))).toBe(id);
      expect(formatEntryId(parseEntryId(id))).toBe(id);
    }
    for (const bad of [
      '',
      '12',
      '1-',
      '-1',
      'a-1',
      '1-b',
      '1-2-3',
      '1.5-0',
      ' 1-0',
      '-1-0',
      '1-65536',
      `${1n << 48n}-0`,
    ]) {
      expect(() => parseEntryId(bad), bad).toThrow(/entry id/);
      try {
        parseEntryId(bad);
      } catch (error) {
        expect((error as { code: string }).code).toBe('CORRUPT_DATA');
        expect((error as Error).message).toContain(JSON.stringify(bad));
      }
    }
  });
});

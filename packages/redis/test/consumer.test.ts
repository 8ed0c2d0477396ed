import type { ConsumerOptions } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { cli, freshKey, maybeNext, range, streamers, take, texts } from './support/helpers.js';

const streamer = streamers();

// A read that blocks for ten minutes unless interrupted: longer than any test may take.
const blocking = { discoverIntervalMs: 600_000 } as ConsumerOptions;

describe('consumer', () => {
  for (const mode of ['realtime', 'resumable'] as const) {
    it(`${mode}: end() and break interrupt a read blocked in Redis`, async () => {
      const s = await streamer();
      const key = freshKey('block');
      const opts = { ...blocking, ...(mode === 'realtime' ? {} : { mode, group: 'g' }) };
      const c = await s.createConsumer(key, opts);
      const waiting = c.next();
      await new Promise((resolve) => setTimeout(resolve, 100)); // the read is blocked now
      await c.end();
      await expect(waiting).rejects.toMatchObject({ code: 'CONSUMER_ENDED' });
      const d = await s.createConsumer(key, opts);
      await (await s.createProducer(key)).send('one');
      for await (const m of d) {
        expect(m.text()).toBe('one');
        break;
      }
      await expect(d.next()).rejects.toMatchObject({ code: 'CONSUMER_ENDED' });
      // Both read connections are gone from the server.
      expect(await cli('CLIENT', 'LIST')).not.toMatch(/cmd=xread(group)? .*/);
    });
  }

  it('a group whose stream was deleted heals: the group is recreated and reading goes on', async () => {
    const s = await streamer();
    const key = freshKey('nogroup');
    const c = await s.createConsumer(key, { mode: 'resumable', group: 'g', start: 'earliest' });
    const p = await s.createProducer(key);
    await p.send('before');
    expect(texts(await take(c, 1))).toEqual(['before']);
    await cli('DEL', key);
    await p.send('after');
    expect(texts(await take(c, 1))).toEqual(['after']);
    expect(await cli('XINFO', 'GROUPS', key)).toContain('g');
  });

  it('group seek moves the whole group: another member reads from there too', async () => {
    const s = await streamer();
    const key = freshKey('gseek');
    const p = await s.createProducer(key);
    const receipts = [];
    for (const t of range(10)) receipts.push(await p.send(t));
    const opts = { mode: 'loadBalanced', group: 'g', start: 'earliest', batchSize: 1 } as const;
    const a = await s.createConsumer(key, { ...opts, consumerId: 'a' });
    await a.rewind({ at: receipts[7].sequence });
    await a.end(); // commits what it was handed: nothing
    const b = await s.createConsumer(key, { ...opts, consumerId: 'b' });
    expect(texts(await take(b, 3))).toEqual(['m7', 'm8', 'm9']);
  });

  it('assign() after reading ahead still hands out only the assigned shard', async () => {
    const s = await streamer();
    const key = freshKey('assign');
    const p = await s.createProducer(key, { shards: 2 });
    await Promise.all(range(40).map((t) => p.send(t)));
    const c = await s.createConsumer(key, { start: 'earliest', batchSize: 10 });
    await maybeNext(c, 100); // let it read ahead
    c.assign(key, 1);
    const got = await take(c, 10);
    expect(new Set(got.map((m) => m.shardId))).toEqual(new Set([1]));
  });

  it('assigned only to a shard that does not exist yet: waits for it, then reads it', async () => {
    const s = await streamer();
    const key = freshKey('later');
    const c = await s.createConsumer(key, {
      start: 'earliest',
      discoverIntervalMs: 50,
    } as ConsumerOptions);
    c.assign(key, 3);
    expect(await maybeNext(c, 200)).toBeUndefined();
    const p = await s.createProducer(key, { shards: 4 });
    await p.send('on 0', { shard: 0 });
    await p.send('on 3', { shard: 3 });
    expect(texts(await take(c, 1))).toEqual(['on 3']);
  });

  it('several streamers, producers and consumers in one process', async () => {
    const [s1, s2] = [await streamer(), await streamer()];
    const key = freshKey('multi');
    const consumers = await Promise.all(
      [s1, s2, s1].map((s) => s.createConsumer(key, { start: 'earliest' })),
    );
    const producers = await Promise.all([s1, s2].map((s) => s.createProducer(key)));
    await producers[0].send('from-1');
    await producers[1].send('from-2');
    for (const c of consumers) expect(texts(await take(c, 2))).toEqual(['from-1', 'from-2']);
  });

  it('an entry id that does not fit a sequence: next() rejects CORRUPT_DATA naming it', async () => {
    const s = await streamer();
    const key = freshKey('wide');
    await cli('XADD', key, '5-70000', 'msg', 'x');
    const c = await s.createConsumer(key, { start: 'earliest' });
    const error = await c.next({ signal: AbortSignal.timeout(5000) }).catch((e) => e);
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.message).toContain('5-70000');
  });

  it("other backends' consumer options are ignored; ours are checked", async () => {
    const s = await streamer();
    const key = freshKey('opts');
    const c = await s.createConsumer(key, { follow: false, start: 'earliest' } as ConsumerOptions);
    await (await s.createProducer(key)).send('x');
    expect(texts(await take(c, 1))).toEqual(['x']);
    const error = await s
      .createConsumer(key, { discoverIntervalMs: 'often' } as ConsumerOptions)
      .catch((e) => e);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('often');
  });
});

import { describe, expect, it } from 'vitest';
import { cli, freshKey, streamers, take } from './support/helpers.js';

const streamer = streamers();

describe('producer', () => {
  it('many sends in flight over four shards: receipts in send order, increasing per shard', async () => {
    const s = await streamer();
    const key = freshKey('many');
    const p = await s.createProducer(key, { shards: 4 });
    const receipts = await Promise.all(Array.from({ length: 20_000 }, (_, i) => p.send(`m${i}`)));
    expect(receipts.map((r) => r.shardId)).toEqual(receipts.map((_, i) => i % 4));
    for (let shard = 0; shard < 4; shard++) {
      const seqs = receipts.filter((r) => r.shardId === shard).map((r) => r.sequence);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i] > seqs[i - 1]).toBe(true);
      expect(await cli('XLEN', `${key}:${shard}`)).toBe('5000\n');
    }
    const c = await s.createConsumer(key, { start: 'earliest', batchSize: 1000 });
    const got = await take(c, 20_000);
    for (let shard = 0; shard < 4; shard++) {
      const order = got.filter((m) => m.shardId === shard).map((m) => Number(m.text().slice(1)));
      expect(order).toEqual(order.slice().sort((a, b) => a - b));
    }
  });

  it('ready() waits at the high-water mark until half of it is left, then lets a batch go', async () => {
    const s = await streamer();
    const p = await s.createProducer(freshKey('hwm'), { highWaterMark: 200 });
    await p.ready(); // nothing pending: at once
    for (let i = 0; i < 200; i++) p.send(`m${i}`);
    expect(p.pending).toBe(200);
    await p.ready();
    expect(p.pending).toBeLessThanOrEqual(100);
    await p.flush();
  });

  it('the timestamp option becomes the entry id; one before the last entry is refused clearly', async () => {
    const s = await streamer();
    const key = freshKey('ts');
    const p = await s.createProducer(key);
    const at = new Date('2025-01-02T03:04:05.678Z');
    const [r1, r2] = await Promise.all([
      p.send('a', { timestamp: at }),
      p.send('b', { timestamp: at }),
    ]);
    expect(r1!.timestamp.getTime()).toBe(at.getTime());
    expect(r2!.sequence).toBe(r1!.sequence + 1n);
    expect((await cli('XRANGE', key, '-', '+')).split('\n')[0]).toBe(`${at.getTime()}-0`);
    const earlier = new Date('2020-01-01T00:00:00.000Z');
    const error = await p.send('c', { timestamp: earlier }).catch((e) => e);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('2020-01-01T00:00:00.000Z');
    expect(error.message).toContain(key);
    await p.flush().catch(() => {});
  });

  it('an id whose counter does not fit 16 bits rejects CORRUPT_DATA, naming it', async () => {
    const key = freshKey('wide');
    await cli('XADD', key, '1000-65535', 'msg', 'last that fits');
    const p = await (await streamer()).createProducer(key);
    const error = await p.send('x', { timestamp: new Date(1000) }).catch((e) => e);
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.message).toContain('1000-65536');
    await p.flush().catch(() => {});
  });

  it('a header named like the message field is refused', async () => {
    const p = await (await streamer()).createProducer(freshKey('hdr'));
    const error = await p.send('x', { headers: { msg: 'clash' } }).catch((e) => e);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('"msg"');
    await p.flush().catch(() => {});
  });

  it('trims as it writes: exact maxLen, and minTimestamp', async () => {
    const s = await streamer();
    const capped = freshKey('cap');
    const p = await s.createProducer(capped, { maxLen: 10, approximate: false } as object);
    await Promise.all(Array.from({ length: 50 }, (_, i) => p.send(`m${i}`)));
    expect(await cli('XLEN', capped)).toBe('10\n');
    const aged = freshKey('aged');
    const base = Date.now() - 60_000;
    const old = await s.createProducer(aged);
    for (let i = 0; i < 5; i++) await old.send(`old${i}`, { timestamp: new Date(base + i) });
    const fresh = await s.createProducer(aged, {
      minTimestamp: new Date(base + 3),
      approximate: false,
    } as object);
    await fresh.send('new', { timestamp: new Date(base + 10) });
    expect(await cli('XLEN', aged)).toBe('3\n'); // old3, old4, new
  });

  it('bad producer options name the bad value', async () => {
    const s = await streamer();
    const cases: [object, string][] = [
      [{ maxLen: -1 }, '-1'],
      [{ minTimestamp: 'yesterday' }, 'yesterday'],
      [{ minId: '1-2-3' }, '1-2-3'],
      [{ maxLen: 5, minId: '1-0' }, 'maxLen'],
      [{ approximate: 'yes' }, 'yes'],
    ];
    for (const [options, named] of cases) {
      const error = await s.createProducer(freshKey(), options).catch((e) => e);
      expect(error.code, JSON.stringify(options)).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain(named);
    }
  });

  it('a headers object or byte payload reused after send() does not change what was sent', async () => {
    const s = await streamer();
    const key = freshKey('reuse');
    const p = await s.createProducer(key);
    const headers: Record<string, string> = {};
    const bytes = new Uint8Array(1);
    // More than the producer writes at once (2000), so some sends wait for the window.
    const sends = [];
    for (let i = 0; i < 3000; i++) {
      headers.n = String(i);
      bytes[0] = 97 + (i % 26);
      sends.push(p.send(bytes, { headers }));
    }
    await Promise.all(sends);
    const c = await s.createConsumer(key, { start: 'earliest', batchSize: 1000 });
    const got = await take(c, 3000);
    expect(got.map((m) => m.headers.n)).toEqual(got.map((_, i) => String(i)));
    expect(got.map((m) => m.text())).toEqual(got.map((_, i) => String.fromCharCode(97 + (i % 26))));
  });
});

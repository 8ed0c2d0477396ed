import type { Message } from '@streamer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequenceToEntryId } from '../src/index.js';
import { cli, freshKey, open, take } from './support/helpers.js';

type Opened = Awaited<ReturnType<typeof open>>;
let s: Opened;
beforeAll(async () => {
  s = await open();
});
afterAll(() => s.disconnect());

describe('manager API', () => {
  it('listStreams folds shard keys into their stream and skips other types', async () => {
    const prefix = freshKey('ls');
    await (await s.createProducer(`${prefix}-plain`)).send('x');
    await (await s.createProducer(`${prefix}-sharded`, { shards: 3 })).send('x', { shard: 2 });
    await cli('SET', `${prefix}-string`, 'not a stream');
    expect(await s.listStreams(`${prefix}*`)).toEqual([`${prefix}-plain`, `${prefix}-sharded`]);
    expect(await s.listStreams()).toContain(`${prefix}-plain`);
    await expect(s.listStreams('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await cli('DEL', `${prefix}-string`);
  });

  it('streamInfo: length per shard, ids, groups with pending, lag and position', async () => {
    const key = freshKey('info');
    const p = await s.createProducer(key, { shards: 2 });
    const receipts = await Promise.all(Array.from({ length: 6 }, (_, i) => p.send(`m${i}`)));
    const c = await s.createConsumer(key, {
      mode: 'resumable',
      group: 'readers',
      start: 'earliest',
      autoCommit: 'disabled',
      batchSize: 1,
    });
    await take(c, 1);
    const info = await s.streamInfo(key);
    expect(info.stream).toBe(key);
    expect(info.length).toBe(6);
    expect(info.shards.map((x) => [x.shard, x.key, x.length])).toEqual([
      [0, `${key}:0`, 3],
      [1, `${key}:1`, 3],
    ]);
    const id = (m: { sequence: bigint }) => `${m.sequence >> 16n}-${m.sequence & 0xffffn}`;
    expect(info.shards[0].firstId).toBe(id(receipts[0]));
    expect(info.shards[1].lastId).toBe(id(receipts[5]));
    expect(info.groups).toHaveLength(1);
    const [group] = info.groups;
    expect(group!.name).toBe('readers');
    expect(group!.consumers).toBe(1);
    expect(group!.pending).toBeGreaterThanOrEqual(1);
    expect(group!.pending + (group!.lag ?? 0)).toBe(6);
    await c.end();
    await expect(s.streamInfo('bad key')).rejects.toMatchObject({ code: 'INVALID_STREAM_KEY' });
    const empty = await s.streamInfo(freshKey('none'));
    expect([empty.length, empty.shards, empty.groups]).toEqual([0, [], []]);
  });

  it('readRange pages over every shard, in time order, within since..until', async () => {
    const key = freshKey('range');
    const p = await s.createProducer(key, { shards: 3 });
    const base = Date.now() - 100_000;
    for (let i = 0; i < 30; i++) await p.send(`m${i}`, { timestamp: new Date(base + i * 10) });
    const all: Message[] = [];
    for await (const m of s.readRange(key, { batchSize: 4 })) all.push(m);
    expect(all.map((m) => m.text())).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    const some: string[] = [];
    for await (const m of s.readRange(key, {
      since: new Date(base + 50),
      until: new Date(base + 120),
      batchSize: 2,
    }))
      some.push(m.text());
    expect(some).toEqual(['m5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12']);
    expect(() => s.readRange(key, { since: new Date('nope') })).toThrow(/since/);
  });

  it('trim removes entries on every shard and says how many', async () => {
    const key = freshKey('trim');
    const p = await s.createProducer(key, { shards: 2 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => p.send(`m${i}`)));
    expect(await s.trim(key, { maxLen: 4, approximate: false })).toBe(12);
    expect((await s.streamInfo(key)).length).toBe(8);
    expect(
      await s.trim(key, { minTimestamp: new Date(Date.now() + 60_000), approximate: false }),
    ).toBe(8);
    await expect(s.trim(key, {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("trim takes the producer's TrimOptions: minId drops the entries below that id", async () => {
    const key = freshKey('trim-minid');
    const p = await s.createProducer(key);
    const receipts = await Promise.all(Array.from({ length: 5 }, (_, i) => p.send(`m${i}`)));
    const third = sequenceToEntryId(receipts[2].sequence);
    expect(await s.trim(key, { minId: third, approximate: false })).toBe(2);
    const left: string[] = [];
    for await (const m of s.readRange(key)) left.push(m.text());
    expect(left).toEqual(['m2', 'm3', 'm4']);
    await expect(s.trim(key, { minId: 'nope' })).rejects.toThrow(/minId must be .*"nope"/);
    await expect(s.trim(key, { maxLen: 1, minId: third })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

import diagnostics from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import { CHANNELS, type ReceiveEvent } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { backend } from '../src/index.js';
import { tempDir, tempFile } from './helpers.js';

const dir = tempDir('diagnostics');

async function written(streams: Record<string, number>) {
  const path = tempFile(dir);
  const streamer = await backend.connect([pathToFileURL(path)], { createIfNotExists: true });
  const producer = await streamer.createProducer();
  for (const [stream, count] of Object.entries(streams))
    for (let i = 0; i < count; i++) producer.sendTo(stream, `${stream}${i}`);
  await producer.flush();
  return streamer;
}

describe('file diagnostics', () => {
  it('publishes streamer:receive for what it reads, per stream', async () => {
    const seen: ReceiveEvent[] = [];
    const listener = (event: unknown) => seen.push(event as ReceiveEvent);
    diagnostics.subscribe(CHANNELS.receive, listener);
    try {
      const streamer = await written({ a: 3, b: 2 });
      const consumer = await streamer.createConsumer(['a', 'b'], { start: 'earliest' });
      for (let i = 0; i < 5; i++) await consumer.next();
      const counts: Record<string, number> = {};
      for (const e of seen) {
        expect(e).toMatchObject({ backend: 'file', group: undefined, shard: 0 });
        counts[e.stream] = (counts[e.stream] ?? 0) + e.count;
      }
      expect(counts).toEqual({ a: 3, b: 2 });
      await streamer.disconnect();
    } finally {
      diagnostics.unsubscribe(CHANNELS.receive, listener);
    }
  });

  it('lag counts the read-ahead exactly once the reader is at the end', async () => {
    const streamer = await written({ a: 4, b: 1 });
    const consumer = await streamer.createConsumer(['a', 'b'], { start: 'earliest' });
    await consumer.next(); // a0; the rest is read ahead
    const lags = await consumer.lag();
    expect(lags.sort((x, y) => x.stream.localeCompare(y.stream))).toEqual([
      { stream: 'a', shard: 0, lag: 3 },
      { stream: 'b', shard: 0, lag: 1 },
    ]);
    for (let i = 0; i < 4; i++) await consumer.next();
    expect((await consumer.lag()).map((l) => l.lag)).toEqual([0, 0]);
    await streamer.disconnect();
  });
});

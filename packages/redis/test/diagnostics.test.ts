// streamer:connection events across a restart of a redis-server of our own, and consumer.lag().
import diagnostics from 'node:diagnostics_channel';
import { CHANNELS, type ConnectionEvent, type ReceiveEvent } from '@streamer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshKey, streamers } from './support/helpers.js';
import { TestServer } from './support/server.js';

const open = streamers();

describe('streamer:connection', () => {
  const server = new TestServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('publishes error and reconnecting while the server is down, connect when it is back', async () => {
    const seen: ConnectionEvent[] = [];
    const listener = (event: unknown) => seen.push(event as ConnectionEvent);
    diagnostics.subscribe(CHANNELS.connection, listener);
    try {
      const streamer = await open(server.url, { reconnectInitialMs: 20, reconnectMaxMs: 200 });
      expect(seen.map((e) => e.state)).toContain('connect');
      seen.length = 0;
      await server.restart();
      const producer = await streamer.createProducer(freshKey());
      await producer.send('after the restart'); // waits for the connection to come back
      while (!seen.some((e) => e.state === 'connect'))
        await new Promise((resolve) => setTimeout(resolve, 20));
      const states = seen.map((e) => e.state);
      expect(states).toContain('reconnecting');
      expect(states.indexOf('reconnecting')).toBeLessThan(states.lastIndexOf('connect'));
      expect(seen[0]).toMatchObject({
        backend: 'redis',
        address: new URL(server.url).host.replace('localhost', '127.0.0.1'),
      });
    } finally {
      diagnostics.unsubscribe(CHANNELS.connection, listener);
    }
  });
});

describe('streamer:receive', () => {
  it('publishes each page read, with its stream, shard, group and count', async () => {
    const seen: ReceiveEvent[] = [];
    const listener = (event: unknown) => seen.push(event as ReceiveEvent);
    diagnostics.subscribe(CHANNELS.receive, listener);
    try {
      const streamer = await open();
      const stream = freshKey();
      const producer = await streamer.createProducer(stream);
      for (let i = 0; i < 7; i++) producer.send(`m${i}`);
      await producer.flush();
      const consumer = await streamer.createConsumer(stream, {
        mode: 'resumable',
        group: 'g',
        start: 'earliest',
        batchSize: 5,
      });
      for (let i = 0; i < 7; i++) await consumer.next();
      const mine = seen.filter((e) => e.stream === stream);
      expect(mine.map((e) => e.count)).toEqual([5, 2]);
      expect(mine[0]).toMatchObject({ backend: 'redis', group: 'g', shard: 0 });
    } finally {
      diagnostics.unsubscribe(CHANNELS.receive, listener);
    }
  });
});

describe('consumer.lag()', () => {
  it('counts entries after what the group was given, read-ahead included, down to 0', async () => {
    const streamer = await open();
    const stream = freshKey();
    const producer = await streamer.createProducer(stream);
    for (let i = 0; i < 10; i++) producer.send(`m${i}`);
    await producer.flush();
    const consumer = await streamer.createConsumer(stream, {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
    });
    await consumer.next(); // the page of 10 is read ahead; one is given
    expect(await consumer.lag()).toEqual([{ stream, shard: 0, lag: 9 }]);
    for (let i = 0; i < 9; i++) await consumer.next();
    expect(await consumer.lag()).toEqual([{ stream, shard: 0, lag: 0 }]);
  });

  it('counts entries after the last one a realtime consumer was given', async () => {
    const streamer = await open();
    const stream = freshKey();
    const producer = await streamer.createProducer(stream);
    for (let i = 0; i < 4; i++) producer.send(`m${i}`);
    await producer.flush();
    const consumer = await streamer.createConsumer(stream, { start: 'earliest' });
    await consumer.next();
    expect(await consumer.lag()).toEqual([{ stream, shard: 0, lag: 3 }]);
  });
});

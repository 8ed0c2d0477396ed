// Faults on a redis-server of our own (AOF fsynced on every write, so an acknowledged write
// survives kill -9): kill and restart it, kill the reader's connection, pause it.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Message, Receipt, StreamerError } from '@streamer/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisStreamer } from '../src/index.js';
import { freshKey, maybeNext, open, range, redisCli, take, texts } from './support/helpers.js';
import { TestServer } from './support/server.js';

const server = new TestServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
// A test that failed while the server was down must not fail the ones after it.
afterEach(async () => {
  if (server.pid === undefined) await server.start();
});

const options = { reconnectInitialMs: 20, reconnectMaxMs: 300 };
const cli = (...args: string[]) => redisCli(server.url, ...args);

/** The payloads stored under `key`, in id order, read with redis-cli. */
async function stored(key: string): Promise<string[]> {
  const lines = (await cli('XRANGE', key, '-', '+')).split('\n');
  // Raw output: id, field, value per entry.
  const out: string[] = [];
  for (let i = 0; i + 2 < lines.length; i += 3) out.push(lines[i + 2]);
  return out;
}

const group = { mode: 'resumable', group: 'g', start: 'earliest', batchSize: 50 } as const;

/** How many entries of `key` group g has delivered and not had acked, from XPENDING. */
async function pending(key: string): Promise<string> {
  return (await cli('XPENDING', key, 'g')).split('\n')[0];
}

/** Resolves once `condition` holds, looking every 20 ms. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Resolves after the streamer's `n`th reconnect attempt from now. */
function reconnectAttempts(s: RedisStreamer, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const listener = () => {
      if (++seen < n) return;
      s.off('reconnecting', listener);
      resolve();
    };
    s.on('reconnecting', listener);
  });
}

/** The id of the connection whose last command was `command`, from CLIENT LIST. */
async function clientIdOf(command: string): Promise<string | undefined> {
  const line = (await cli('CLIENT', 'LIST'))
    .split('\n')
    .find((l) => l.includes(` cmd=${command} `));
  return line?.match(/^id=(\d+)/)?.[1];
}

/**
 * A TCP proxy in front of the test server that can stop passing replies back: commands still
 * reach Redis and run, their replies never arrive. `cut()` then drops every client connection.
 */
async function replyEatingProxy(target: URL): Promise<{
  url: string;
  eatReplies(): void;
  cut(): void;
  close(): Promise<void>;
}> {
  let eating = false;
  const clients = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port), target.hostname);
    clients.add(client);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!eating) client.write(chunk);
    });
    const close = () => {
      clients.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    eatReplies: () => {
      eating = true;
    },
    cut: () => {
      for (const client of clients) client.destroy();
      eating = false; // the connections made from now on work
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('faults (own server)', () => {
  // Both ways of writing: batches are single script calls, run whole or not at all.
  for (const batching of ['script', 'pipeline'] as const) {
    it(`${batching}: sends stored whose replies were lost are recognised after reconnecting, not written twice`, async () => {
      const proxy = await replyEatingProxy(new URL(server.url));
      const s = await open(proxy.url, options);
      try {
        const key = freshKey('eaten');
        const p = await s.createProducer(key, { shards: 2, batching });
        await Promise.all(range(4, 'a').map((t) => p.send(t)));
        proxy.eatReplies();
        const sends = range(40).map((t) => p.send(t));
        // Every XADD ran: Redis has them all, we have no reply for any.
        for (let n = 0; n < 100; n++) {
          const lengths = await Promise.all([0, 1].map((i) => cli('XLEN', `${key}:${i}`)));
          if (lengths.every((l) => l === '22\n')) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        proxy.cut();
        const receipts = await Promise.all(sends);
        for (const shard of [0, 1]) {
          const all = [...range(4, 'a'), ...range(40)];
          expect(await stored(`${key}:${shard}`)).toEqual(all.filter((_, i) => i % 2 === shard));
        }
        // Each receipt names the entry that was stored for it.
        const c = await s.createConsumer(key, { start: 'earliest' });
        const got = await take(c, 44);
        const bySequence = new Map(got.map((m) => [`${m.shardId}/${m.sequence}`, m.text()]));
        expect(receipts.map((r) => bySequence.get(`${r.shardId}/${r.sequence}`))).toEqual(
          range(40),
        );
      } finally {
        await s.disconnect();
        await proxy.close();
      }
    });

    it(`${batching}: kill -9 and restart mid-produce: every send stored exactly once, in order per shard`, async () => {
      const s = await open(server.url, options);
      const events: string[] = [];
      s.on('reconnecting', () => events.push('reconnecting'));
      s.on('connect', () => events.push('connect'));
      s.on('error', (error) => events.push(`error ${error.code}`));
      const key = freshKey('kp');
      const p = await s.createProducer(key, {
        shards: 2,
        highWaterMark: 300,
        batching,
      });
      const sends: Promise<Receipt>[] = [];
      let restart: Promise<void> | undefined;
      for (let i = 0; i < 6000; i++) {
        await p.ready();
        sends.push(p.send(`m${i}`));
        if (i === 2500) restart = server.restart();
      }
      await restart;
      const results = await Promise.allSettled(sends);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      for (const shard of [0, 1]) {
        const expected = range(6000).filter((_, i) => i % 2 === shard);
        expect(await stored(`${key}:${shard}`)).toEqual(expected);
      }
      expect(events).toContain('reconnecting');
      expect(events).toContain('connect');
      expect(events).toContain('error CONNECT');
      await s.disconnect();
    });
  }

  it('kill -9 and restart mid-consume: realtime resumes after the last delivered id', async () => {
    const s = await open(server.url, options);
    const key = freshKey('kc');
    const p = await s.createProducer(key);
    await Promise.all(range(3000).map((t) => p.send(t)));
    const c = await s.createConsumer(key, { start: 'earliest', batchSize: 50 });
    const got = await take(c, 1000);
    await server.restart();
    got.push(...(await take(c, 2000, 10_000)));
    await p.send('after');
    got.push(...(await take(c, 1)));
    expect(texts(got)).toEqual([...range(3000), 'after']);
    await s.disconnect();
  });

  it('kill -9 and restart mid-consume: a group replays its pending list, no loss, no repeat', async () => {
    const s = await open(server.url, options);
    const key = freshKey('kg');
    const p = await s.createProducer(key);
    await Promise.all(range(2000).map((t) => p.send(t)));
    const opts = {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
      batchSize: 50,
      autoCommit: 'disabled',
    } as const;
    const c = await s.createConsumer(key, opts);
    const got = await take(c, 500);
    for (const m of got) c.ack(m);
    await c.commit();
    await server.restart();
    // The reply of a read lost to the kill left its entries in our pending list: they are
    // replayed from after the last one queued, so nothing is missing and nothing comes twice.
    for (const m of await take(c, 1500, 10_000)) {
      got.push(m);
      c.ack(m);
    }
    await c.end();
    expect(texts(got)).toEqual(range(2000));
    expect(await maybeNext(c).catch((e) => e.code)).toBe('CONSUMER_ENDED');
    expect((await cli('XPENDING', key, 'g')).split('\n')[0]).toBe('0');
    await s.disconnect();
  });

  it('kill -9 mid-consume: commit() waits for Redis to come back, then commits', async () => {
    const s = await open(server.url, options);
    const key = freshKey('kcommit');
    const p = await s.createProducer(key);
    await Promise.all(range(300).map((t) => p.send(t)));
    const c = await s.createConsumer(key, { ...group, autoCommit: 'disabled' });
    const got = await take(c, 300);
    for (const m of got) c.ack(m);
    await server.kill();
    const committing = c.commit(); // the connection is down: this waits instead of failing
    await server.start();
    await committing;
    expect(await pending(key)).toBe('0');
    await c.end();
    await s.disconnect();
  });

  it("kill -9 and restart mid-consume: autoCommit 'rolling' commits wait, none fails", async () => {
    const s = await open(server.url, options);
    const errors: string[] = [];
    s.on('error', (error) => errors.push(error.message));
    const key = freshKey('krolling');
    const p = await s.createProducer(key);
    await Promise.all(range(1000).map((t) => p.send(t)));
    const c = await s.createConsumer(key, {
      ...group,
      autoCommit: 'rolling',
      autoCommitIntervalMs: 10,
    });
    const got = await take(c, 300);
    await server.kill();
    for (const m of got) c.ack(m);
    // Timed commits of these acks run while Redis is gone.
    await reconnectAttempts(s, 3);
    await server.start();
    for (const m of await take(c, 700, 10_000)) {
      got.push(m);
      c.ack(m);
    }
    await c.end();
    expect(texts(got)).toEqual(range(1000));
    expect(await pending(key)).toBe('0');
    expect(errors.filter((message) => message.startsWith('XACK in group'))).toEqual([]);
    await s.disconnect();
  });

  it("autoCommit 'immediate': an XACK that failed while Redis was down is retried, not lost", async () => {
    const s = await open(server.url, options);
    const key = freshKey('kimmediate');
    const p = await s.createProducer(key);
    await Promise.all(range(200).map((t) => p.send(t)));
    const c = await s.createConsumer(key, { ...group, autoCommit: 'immediate' });
    const got = await take(c, 10);
    await until(async () => Number(await pending(key)) >= 40); // a page read ahead, the 10 acked
    await server.kill();
    // From the read-ahead: their acks go out while Redis is gone, and fail.
    got.push(...(await take(c, 15)));
    await reconnectAttempts(s, 3);
    await server.start();
    const ids = new Set(got.map((m) => (m as Message & { entryId: string }).entryId));
    const stillPending = async () => {
      const lines = (await cli('XPENDING', key, 'g', '-', '+', '1000')).split('\n');
      return lines.filter((line) => ids.has(line)).length;
    };
    await until(async () => (await stillPending()) === 0);
    await c.end();
    await s.disconnect();
  });

  it('a timed commit that failed while Redis was down and was repaired does not fail end()', async () => {
    const s = await open(server.url, options);
    const errors: StreamerError[] = [];
    s.on('error', (error) => errors.push(error));
    const key = freshKey('krepaired');
    const p = await s.createProducer(key);
    await Promise.all(range(100).map((t) => p.send(t)));
    const c = await s.createConsumer(key, {
      ...group,
      autoCommit: 'rolling',
      autoCommitIntervalMs: 10,
      commitTimeoutMs: 0, // a timed commit tries once: one fails while Redis is down
    });
    const got = await take(c, 100);
    await server.kill();
    for (const m of got) c.ack(m);
    await reconnectAttempts(s, 4); // timed commits of these acks fail meanwhile
    await server.start();
    await until(async () => (await pending(key)) === '0'); // a later timed commit repaired it
    await c.end();
    await s.disconnect();
    expect(errors.some((e) => e.message.startsWith('XACK in group'))).toBe(true);
  });

  it('disconnect() while end() waits for Redis to come back: both give up with CONNECT', async () => {
    const s = await open(server.url, options);
    const key = freshKey('kgiveup');
    const p = await s.createProducer(key);
    await p.send('one');
    const c = await s.createConsumer(key, { ...group, autoCommit: 'disabled' });
    c.ack((await take(c, 1))[0]);
    await server.kill();
    const ended = c.end();
    await reconnectAttempts(s, 1);
    expect(await s.disconnect().catch((e) => e.code)).toBe('CONNECT');
    expect(await ended.catch((e) => e.code)).toBe('CONNECT');
    await server.start();
    expect(await pending(key)).toBe('1'); // not committed: delivered again to this group
  });

  it('reconnecting gave up (maxReconnectAttempts): a read fails with CONNECT, not retried forever', async () => {
    const s = await open(server.url, { ...options, maxReconnectAttempts: 2 });
    const c = await s.createConsumer(freshKey('gaveup'), { start: 'earliest' });
    await server.kill();
    expect(await c.next().catch((e) => e)).toMatchObject({ code: 'CONNECT', retriable: false });
    await server.start();
    await s.disconnect();
  });

  it('CLIENT KILL of the reader connection: the consumer reconnects, no loss, no repeat', async () => {
    const s = await open(server.url, options);
    const key = freshKey('ck');
    const c = await s.createConsumer(key, { start: 'earliest' });
    const p = await s.createProducer(key);
    await p.send('before');
    expect(texts(await take(c, 1))).toEqual(['before']);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let it block in XREAD again
    const id = await clientIdOf('xread');
    expect(id).toBeDefined();
    await cli('CLIENT', 'KILL', 'ID', id!);
    await Promise.all(range(100).map((t) => p.send(t)));
    expect(texts(await take(c, 100))).toEqual(range(100));
    await s.disconnect();
  });

  it('entries claimed from a dead member and handed out are not handed out again after a dropped read', async () => {
    const s = await open(server.url, options);
    const key = freshKey('claimed');
    const p = await s.createProducer(key);
    await Promise.all(range(20).map((t) => p.send(t)));
    await cli('XGROUP', 'CREATE', key, 'lb', '0');
    // A member that read everything and died: its entries stay pending under its name.
    await cli('XREADGROUP', 'GROUP', 'lb', 'dead', 'COUNT', '100', 'STREAMS', key, '>');
    const c = await s.createConsumer(key, {
      mode: 'loadBalanced',
      group: 'lb',
      consumerId: 'alive',
      autoCommit: 'disabled',
      autoClaimIdleMs: 50,
      autoClaimIntervalMs: 50,
    });
    expect(texts(await take(c, 20)).sort()).toEqual(range(20).sort());
    await until(async () => (await clientIdOf('xreadgroup')) !== undefined);
    await cli('CLIENT', 'KILL', 'ID', (await clientIdOf('xreadgroup'))!);
    // The replay of its pending list after the drop holds the 20 it claimed: none comes again.
    await Promise.all(range(5, 'new').map((t) => p.send(t)));
    expect(texts(await take(c, 5))).toEqual(range(5, 'new'));
    expect(await maybeNext(c, 500)).toBeUndefined();
    await s.disconnect();
  });

  it('every connection killed, nobody listening for events: no crash, work goes on', async () => {
    const s = await open(server.url, options);
    const key = freshKey('nolisten');
    const c = await s.createConsumer(key, { start: 'earliest' });
    const g = await s.createConsumer(key, { mode: 'resumable', group: 'g', start: 'earliest' });
    const p = await s.createProducer(key);
    await p.send('first');
    expect(texts(await take(c, 1))).toEqual(['first']);
    expect(texts(await take(g, 1))).toEqual(['first']);
    await cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await p.send('second');
    expect(texts(await take(c, 1))).toEqual(['second']);
    expect(texts(await take(g, 1))).toEqual(['second']);
    await s.disconnect();
  });

  it('disconnect() while Redis is gone gives up waiting sends with CONNECT instead of hanging', async () => {
    const s = await open(server.url, options);
    const p = await s.createProducer(freshKey('gone'));
    await p.send('stored');
    await server.kill();
    try {
      const sends = range(10).map((t) => p.send(t));
      await new Promise((resolve) => setTimeout(resolve, 100)); // they fail and wait for Redis
      const ended = await s.disconnect().catch((e) => e);
      expect(ended.code).toBe('CONNECT');
      for (const result of await Promise.allSettled(sends)) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason.code).toBe('CONNECT');
      }
    } finally {
      await server.start();
    }
  });

  it('CLIENT PAUSE: sends wait and then complete in order', async () => {
    const s = await open(server.url, options);
    const key = freshKey('cp');
    const p = await s.createProducer(key);
    await cli('CLIENT', 'PAUSE', '300', 'WRITE');
    const receipts = await Promise.all(range(200).map((t) => p.send(t)));
    for (let i = 1; i < receipts.length; i++)
      expect(receipts[i].sequence > receipts[i - 1].sequence).toBe(true);
    expect(await stored(key)).toEqual(range(200));
    await s.disconnect();
  });
});

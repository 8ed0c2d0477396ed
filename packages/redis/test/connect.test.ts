import { createServer, type Server } from 'node:net';
import { createClient } from '@redis/client';
import { type ConsumerOptions, connect, isStreamerError, type StreamerError } from '@streamer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, fromClient, REDIS_SUPPORTS, type RedisStreamer } from '../src/index.js';
import { freshKey, open, redisCli, redisUrl, take } from './support/helpers.js';
import { freePort, TestServer } from './support/server.js';

async function failure(promise: Promise<unknown>): Promise<StreamerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStreamerError(error), `expected a StreamerError, got ${String(error)}`).toBe(true);
  return error as StreamerError;
}

describe('connect', () => {
  it('core connect() finds this backend by protocol, with an honest manifest', async () => {
    const s = await connect(redisUrl());
    expect(s.backend).toBe('redis');
    expect(s.supports).toEqual(REDIS_SUPPORTS);
    expect(typeof backend.connect).toBe('function');
    await s.disconnect();
    await s.disconnect();
  });

  it('Redis down: CONNECT naming the address', async () => {
    const port = await freePort();
    const error = await failure(connect(`redis://127.0.0.1:${port}`));
    expect(error.code).toBe('CONNECT');
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('a server that never answers the handshake: CONNECT after timeoutMs', async () => {
    const silent: Server = createServer(() => {}); // accepts, never replies
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const error = await failure(connect(`redis://127.0.0.1:${port}`, { timeoutMs: 200 }));
      expect(error.code).toBe('CONNECT');
      expect(error.message).toContain('timeoutMs 200');
    } finally {
      silent.close();
    }
  });

  it('?db= and the db option pick the database', async () => {
    const key = freshKey('db');
    const viaUrl = await open(`${redisUrl()}?db=3`);
    await (await viaUrl.createProducer(key)).send('in three');
    const viaOption = await open(redisUrl(), { db: 4 });
    await (await viaOption.createProducer(key)).send('in four');
    expect(await redisCli(redisUrl(), '-n', '3', 'XLEN', key)).toBe('1\n');
    expect(await redisCli(redisUrl(), '-n', '4', 'XLEN', key)).toBe('1\n');
    expect(await redisCli(redisUrl(), '-n', '0', 'EXISTS', key)).toBe('0\n');
    for (const db of ['3', '4']) await redisCli(redisUrl(), '-n', db, 'DEL', key);
    await Promise.all([viaUrl.disconnect(), viaOption.disconnect()]);
  });

  it('several hosts are a cluster: none answering is CONNECT, naming them', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    const error = await failure(connect(`redis://127.0.0.1:${a},127.0.0.1:${b}`));
    expect(error.code).toBe('CONNECT');
    expect(error.message).toContain(`127.0.0.1:${b}`);
  });

  it('cluster: false with several hosts is refused, naming them', async () => {
    const error = await failure(
      connect('redis://127.0.0.1:7000,127.0.0.1:7001', { cluster: false }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('127.0.0.1:7001');
  });

  it("cluster: 'auto' on a plain server connects to it as a single server", async () => {
    const s = await open(redisUrl(), { cluster: 'auto' });
    expect(s.cluster).toBe(false);
    await s.disconnect();
    const error = await failure(connect(redisUrl(), { cluster: 'yes' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('yes');
  });

  it("fromClient copies a user's client (here its database) and leaves it open", async () => {
    const mine = createClient({ url: redisUrl(), database: 6 });
    await mine.connect();
    const s = await fromClient(mine, { messageField: 'body' });
    const key = freshKey('mine');
    await (await s.createProducer(key)).send('via my client');
    await s.disconnect();
    expect(await mine.sendCommand(['XRANGE', key, '-', '+'])).toEqual([
      [expect.any(String), ['body', 'via my client']],
    ]);
    await mine.del(key);
    mine.destroy();
    await expect(fromClient({}, {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const prefixed = createClient({ url: redisUrl(), keyPrefix: 'app:' });
    await expect(fromClient(prefixed)).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it("other backends' options are ignored, so one options object serves every URL", async () => {
    const s = await open(redisUrl(), { createIfNotExists: true, follow: false });
    const p = await s.createProducer(freshKey('portable'), { beaconInterval: 1024 } as object);
    await p.send('ok');
    await s.disconnect();
  });

  it('bad options and URLs name the bad value', async () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      [redisUrl(), { db: -1 }, 'INVALID_ARGUMENT', '-1'],
      [`${redisUrl()}?db=x`, {}, 'INVALID_ARGUMENT', '"x"'],
      [`${redisUrl()}?verbose=1`, {}, 'INVALID_URL', 'verbose'],
      [redisUrl(), { timeoutMs: 0 }, 'INVALID_ARGUMENT', 'timeoutMs'],
      [redisUrl(), { reconnectMaxMs: 2 ** 31 }, 'INVALID_ARGUMENT', 'reconnectMaxMs'],
      [redisUrl(), { insecure: true }, 'INVALID_URL', 'rediss://'],
    ];
    for (const [url, options, code, named] of cases) {
      const error = await failure(connect(url, options));
      expect(error.code, JSON.stringify(options)).toBe(code);
      expect(error.message).toContain(named);
    }
  });
});

describe('credentials and ACL (own server)', () => {
  const server = new TestServer();
  let admin: string;

  beforeAll(async () => {
    await server.start();
    admin = server.url;
    await redisCli(admin, 'ACL', 'SETUSER', 'alice', 'on', '>s3cret', '~allowed-*', '+@all');
    await redisCli(admin, 'ACL', 'SETUSER', 'bob', 'on', '>pw', '~*', '+@all', '-client');
  });
  afterAll(() => server.stop());

  const connections = async () =>
    Number(/total_connections_received:(\d+)/.exec(await redisCli(admin, 'INFO', 'stats'))![1]);

  it('username and password from the URL, or from options', async () => {
    const key = `allowed-${freshKey()}`;
    const s = await open(`redis://alice:s3cret@127.0.0.1:${server.port}`);
    await (await s.createProducer(key)).send('hi');
    const t = await open(`redis://127.0.0.1:${server.port}`, {
      username: 'alice',
      password: 's3cret',
    });
    const c = await t.createConsumer(key, { start: 'earliest' });
    expect((await take(c, 1))[0].text()).toBe('hi');
    await Promise.all([s.disconnect(), t.disconnect()]);
  });

  it('a user without CLIENT (no CLIENT ID / UNBLOCK) still reads, rewinds and ends', async () => {
    const s = await open(`redis://bob:pw@127.0.0.1:${server.port}`);
    const key = freshKey('bob');
    const c = await s.createConsumer(key, {
      start: 'earliest',
      discoverIntervalMs: 200,
    } as ConsumerOptions);
    const p = await s.createProducer(key);
    await p.send('one');
    await p.send('two');
    expect((await take(c, 2)).map((m) => m.text())).toEqual(['one', 'two']);
    await c.rewind('beginning');
    expect((await take(c, 1))[0].text()).toBe('one');
    await s.disconnect();
  });

  it('a wrong password fails with CONNECT at once, without a retry storm', async () => {
    const before = await connections();
    const error = await failure(connect(`redis://alice:wrong@127.0.0.1:${server.port}`));
    expect(error.code).toBe('CONNECT');
    expect(error.message).toMatch(/WRONGPASS|invalid username-password/);
    expect(error.retriable).toBe(false); // trying again will not help
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Our one attempt, plus the INFO call measuring it.
    expect((await connections()) - before).toBeLessThanOrEqual(2);
  });

  it("a key outside the user's patterns gives a clear error naming it", async () => {
    const s = (await connect(`redis://alice:s3cret@127.0.0.1:${server.port}`)) as RedisStreamer;
    const outside = `forbidden-${freshKey()}`;
    const p = await s.createProducer(outside);
    const error = await failure(p.send('x'));
    expect(error.code).toBe('BACKEND');
    expect(error.message).toContain('NOPERM');
    expect(error.message).toContain(outside);
    await p.flush().catch(() => {});
    const c = await s.createConsumer(outside);
    const readError = await failure(c.next({ signal: AbortSignal.timeout(5000) }));
    expect(readError.message).toContain('NOPERM');
    expect(readError.message).toContain(outside);
    await s.disconnect();
  });
});

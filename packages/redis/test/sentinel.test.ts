// redis+sentinel:// URLs: options, credentials, connect errors and the manager, on one throwaway
// deployment whose data nodes and sentinels want passwords (test/support/sentinel.ts).
import { connect } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/options.js';
import { freshKey, streamers } from './support/helpers.js';
import { MASTER_SET, testSentinel } from './support/sentinel.js';
import { freePort } from './support/server.js';

const open = streamers();
const PASSWORDS = { password: 'data-secret', sentinelPassword: 'sentinel-secret' };
const deployment = testSentinel(PASSWORDS);

const config = (url: string, options: Record<string, unknown> = {}) =>
  resolveConfig([new URL(url)], options).connection;

describe('Sentinel URLs and options', () => {
  it('the hosts are sentinels (port 26379 by default); the master set comes from ?master= or the option', () => {
    const fromUrl = config('redis+sentinel://s1?master=orders');
    expect(fromUrl.seeds).toEqual([{ host: 's1', port: 26379 }]);
    expect(fromUrl.sentinel).toMatchObject({ master: 'orders' });
    expect(fromUrl.cluster).toBe(false);
    expect(config('redis+sentinel://s1?master=a', { master: 'b' }).sentinel?.master).toBe('b');
    expect(config('rediss+sentinel://s1', { master: 'b' }).tls).toMatchObject({ tls: true });
  });

  it('data-node credentials come from the URL or options, the sentinels’ from their own options', () => {
    const c = config('redis+sentinel://app:p%40ss@s1?master=m', {
      sentinelUsername: 'watcher',
      sentinelPassword: 'w',
    });
    expect(c).toMatchObject({ username: 'app', password: 'p@ss' });
    expect(c.sentinel).toMatchObject({ username: 'watcher', password: 'w' });
  });

  it('bad input names the bad value', async () => {
    expect(() => config('redis+sentinel://s1')).toThrow(
      /master set's name.*redis\+sentinel:\/\/s1/,
    );
    expect(() => config('redis://h?master=m')).toThrow(/"master"/);
    expect(() => config('redis://h', { sentinelPassword: 'x' })).toThrow(
      /sentinelPassword needs a redis\+sentinel/,
    );
    expect(() => config('redis+sentinel://s1?master=m', { cluster: true })).toThrow(
      /cluster: true/,
    );
    await expect(connect('redis+sentinel://s1?master=m', { master: 7 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('master'),
    });
  });
});

describe('connecting through Sentinel', () => {
  it('connect() finds @streamer/redis; sends and reads go to the master the sentinels name', async () => {
    const d = deployment();
    const s = await open(d.url, PASSWORDS);
    expect(s.backend).toBe('redis');
    const key = freshKey('sentinel');
    await (await s.createProducer(key)).send('hello');
    const primary = await d.masterPort();
    expect(await d.call(primary, 'XLEN', key)).toBe(1);
    const c = await s.createConsumer(key, { start: 'earliest' });
    expect((await c.next()).text()).toBe('hello');
  });

  it('the master set may be an option; the data nodes’ password may be in the URL', async () => {
    const d = deployment();
    const url = d.url.replace('?master=mymaster', '').replace('//', `//:${PASSWORDS.password}@`);
    const s = await open(url, { master: MASTER_SET, sentinelPassword: PASSWORDS.sentinelPassword });
    await (await s.createProducer(freshKey('option'))).send('x');
  });

  it('a master set no sentinel knows: CONNECT naming it, once timeoutMs is over', async () => {
    const error = await open(deployment().url.replace(MASTER_SET, 'nosuch'), {
      ...PASSWORDS,
      timeoutMs: 500,
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONNECT', retriable: true });
    expect(error.message).toContain('"nosuch"');
  });

  it('no sentinel answers: CONNECT naming the master set and the sentinels', async () => {
    const port = await freePort();
    const error = await open(`redis+sentinel://127.0.0.1:${port}?master=${MASTER_SET}`, {
      timeoutMs: 500,
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONNECT' });
    expect(error.message).toContain(`"${MASTER_SET}"`);
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('a wrong sentinel or data-node password is a CONNECT error that is not retried', async () => {
    const d = deployment();
    const badSentinel = await open(d.url, { ...PASSWORDS, sentinelPassword: 'wrong' }).catch(
      (e) => e,
    );
    expect(badSentinel).toMatchObject({ code: 'CONNECT', retriable: false });
    expect(badSentinel.message).toMatch(/sentinels .* refused/);
    const badData = await open(d.url, { ...PASSWORDS, password: 'wrong' }).catch((e) => e);
    expect(badData).toMatchObject({ code: 'CONNECT', retriable: false });
  });

  it('the manager lists and describes streams through Sentinel', async () => {
    const s = await open(deployment().url, PASSWORDS);
    const key = freshKey('manager');
    const p = await s.createProducer(key);
    await Promise.all([p.send('a'), p.send('b')]);
    expect(await s.listStreams(`${key}*`)).toEqual([key]);
    expect(await s.streamInfo(key)).toMatchObject({ length: 2 });
  });
});

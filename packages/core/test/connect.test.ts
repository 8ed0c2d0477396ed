import { describe, expect, it } from 'vitest';
import {
  BACKEND_PACKAGES,
  type Backend,
  connect,
  MEMORY_SUPPORTS,
  registerBackend,
} from '../src/index.js';

describe('connect', () => {
  it('connects to the built-in memory backend; the same name shares data', async () => {
    const a = await connect('memory://shared-name');
    const b = await connect('memory://shared-name');
    expect(a.backend).toBe('memory');
    expect(a.supports).toEqual(MEMORY_SUPPORTS);
    await (await a.createProducer('k')).send('hello');
    const consumer = await b.createConsumer('k', { start: 'earliest' });
    expect((await consumer.next()).text()).toBe('hello');
    await a.disconnect();
    await b.disconnect();
  });

  it('maps the known protocols to their packages', () => {
    expect(BACKEND_PACKAGES).toEqual({
      redis: '@streamer/redis',
      rediss: '@streamer/redis',
      'redis+sentinel': '@streamer/redis',
      'rediss+sentinel': '@streamer/redis',
      file: '@streamer/file',
      stdio: '@streamer/stdio',
    });
  });

  it('rejects an unknown protocol, listing the known ones', async () => {
    const error = await connect('kafka://broker:9092').catch((e) => e);
    expect(error.code).toBe('UNKNOWN_BACKEND');
    expect(error.message).toContain('"kafka:"');
    expect(error.message).toContain('redis');
  });

  it('rejects a malformed URL with INVALID_URL', async () => {
    await expect(connect('not a url')).rejects.toMatchObject({ code: 'INVALID_URL' });
  });

  it('uses a registered backend, passing the parsed URLs and options', async () => {
    const calls: [string[], Record<string, unknown>][] = [];
    const fake: Backend = {
      async connect(urls, options) {
        calls.push([urls.map(String), options]);
        return (await connect('memory://fake')) as never;
      },
    };
    registerBackend('fake', fake);
    const streamer = await connect('fake://h1:1,h2:2', { tls: true });
    expect(calls).toEqual([[['fake://h1:1', 'fake://h2:2'], { tls: true }]]);
    await streamer.disconnect();
  });

  it('loads a registered package name on first use and checks its export', async () => {
    registerBackend('nopkg', 'streamer-backend-that-does-not-exist');
    await expect(connect('nopkg://x')).rejects.toMatchObject({
      code: 'BACKEND_NOT_INSTALLED',
      message: expect.stringContaining('streamer-backend-that-does-not-exist'),
    });
    registerBackend('notabackend', 'vitest');
    await expect(connect('notabackend://x')).rejects.toMatchObject({ code: 'UNKNOWN_BACKEND' });
  });

  it('validates registerBackend arguments', () => {
    expect(() => registerBackend('Bad Proto', 'x')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => registerBackend('ok', {} as Backend)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

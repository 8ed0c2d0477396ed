import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Consumer, connect, type Message, type Streamer } from '@streamer/core';
import { afterEach, inject } from 'vitest';
import type { RedisStreamer } from '../../src/index.js';

export { freshKey, takeMessages as take } from '@streamer/conformance';

export const redisUrl = (): string => inject('redisUrl');

/** A streamer on the test server (or `url`), typed with the Redis extras. */
export async function open(url = redisUrl(), options: Record<string, unknown> = {}) {
  return (await connect(url, options)) as Streamer & RedisStreamer;
}

/**
 * For a test file: returns an `open` whose streamers are disconnected after each test, so a
 * failing test leaves no connection or blocked read behind.
 */
export function streamers(): typeof open {
  const opened: Streamer[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.disconnect()));
  });
  return async (...args) => {
    const s = await open(...args);
    opened.push(s);
    return s;
  };
}

/** `redis-cli` against the test server. */
export const cli = (...args: string[]): Promise<string> => redisCli(redisUrl(), ...args);

/** Resolves with what arrives within `ms`, or undefined when nothing does. */
export async function maybeNext(c: Consumer, ms = 300): Promise<Message | undefined> {
  try {
    return await c.next({ signal: AbortSignal.timeout(ms) });
  } catch (error) {
    if ((error as { code?: string }).code === 'TIMEOUT') return undefined;
    throw error;
  }
}

export const texts = (messages: Message[]) => messages.map((m) => m.text());
export const range = (n: number, prefix = 'm') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const run = promisify(execFile);

/** Runs the real redis-cli against `url`; resolves with its stdout. */
export async function redisCli(url: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-u', url, ...args]);
  return stdout;
}

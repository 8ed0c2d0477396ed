// Which failures count as a lost connection (retried) and which surface, by node-redis's own
// error types and Node's socket error codes, on errors real clients and sockets produce.
import { connect as tcpConnect } from 'node:net';
import {
  ClientClosedError,
  ClientOfflineError,
  createClient,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
} from '@redis/client';
import { StreamerError } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { isConnectionError, toStreamerError } from '../src/connection.js';
import { freshKey, redisUrl } from './support/helpers.js';
import { freePort } from './support/server.js';

async function connected() {
  const client = createClient({ url: redisUrl(), disableOfflineQueue: true });
  await client.connect();
  return client;
}

describe('error classification', () => {
  it('a connection that failed or is being re-made: CONNECT, retriable', async () => {
    const port = await freePort();
    const refused = await new Promise<Error>((resolve) =>
      tcpConnect(port, '127.0.0.1').on('error', resolve),
    );
    expect((refused as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    const lost = [
      refused,
      new ClientOfflineError(),
      new SocketClosedUnexpectedlyError(),
      new ErrorReply('LOADING Redis is loading the dataset in memory'),
      new ErrorReply("READONLY You can't write against a read only replica."),
    ];
    for (const error of lost) {
      expect(isConnectionError(error)).toBe(true);
      expect(toStreamerError(error, 'XACK failed')).toMatchObject({
        code: 'CONNECT',
        retriable: true,
        message: `XACK failed: ${error.message}`,
        cause: error,
      });
    }
  });

  it('a closed client is a lost connection too (a cluster re-routes, a reader reopens)', async () => {
    const client = await connected();
    client.destroy();
    const closed = await client.ping().catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(ClientClosedError);
    expect(isConnectionError(closed)).toBe(true);
    expect(toStreamerError(closed, 'PING')).toMatchObject({ code: 'CONNECT', retriable: true });
  });

  it('a connection its reconnect strategy gave up: as final as the strategy says', async () => {
    const port = await freePort();
    /** connect()'s failure when the reconnect strategy answers `answer` to ECONNREFUSED. */
    const givenUp = async (answer: (cause: Error) => Error) => {
      const client = createClient({
        socket: { host: '127.0.0.1', port, reconnectStrategy: (_, cause) => answer(cause) },
      });
      client.on('error', () => {});
      const error = await client.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReconnectStrategyError);
      return error;
    };
    // Ours after maxReconnectAttempts: final.
    const final = await givenUp(
      (cause) => new StreamerError('CONNECT', 'Gave up reconnecting', { cause, retriable: false }),
    );
    expect(isConnectionError(final)).toBe(false);
    expect(toStreamerError(final, 'XACK')).toMatchObject({ code: 'CONNECT', retriable: false });
    // A first connect refused (a cluster node that is down): the next command tries again.
    const refused = await givenUp((cause) => cause);
    expect(isConnectionError(refused)).toBe(true);
    expect(toStreamerError(refused, 'XACK')).toMatchObject({ code: 'CONNECT', retriable: true });
  });

  it('a programming error or a command Redis refused: BACKEND, not retried', async () => {
    const client = await connected();
    try {
      const key = freshKey('wrongtype');
      await client.set(key, 'a string');
      const refused = await client.xAdd(key, '*', { msg: 'x' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ErrorReply);
      let bug: unknown;
      try {
        (undefined as unknown as { id: string }).id;
      } catch (error) {
        bug = error;
      }
      expect(bug).toBeInstanceOf(TypeError);
      for (const error of [refused, bug, new Error('something else')]) {
        expect(isConnectionError(error)).toBe(false);
        expect(toStreamerError(error, 'XADD')).toMatchObject({ code: 'BACKEND', retriable: false });
      }
      await client.del(key);
    } finally {
      client.destroy();
    }
  });
});

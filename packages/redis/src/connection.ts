import { EventEmitter } from 'node:events';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  DisconnectsClientError,
  ErrorReply,
  MaxCommandRedirectionsError,
  RESP_TYPES,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from '@redis/client';
import { StreamerError } from '@streamer/core';
import { backoffDelay, describeValue, publishConnection } from '@streamer/core/backend';
import type { ConnectionConfig } from './options.js';

/**
 * Replies as Buffers (payloads are binary) and maps as flat arrays (XREAD's reply is a map keyed
 * by stream), and no per-command timer: node-redis arms a 5 s timeout per command by default,
 * which costs about 6x on pipelined writes. Blocking reads must not time out either.
 */
export const COMMAND_OPTIONS = {
  timeout: 0,
  typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Array },
} as const;

/**
 * Reconnects with exponential backoff and jitter, up to maxReconnectAttempts. A cluster's node
 * connections all share one; a single server's connection wraps it to fail its first connect fast.
 */
export function nodeReconnectStrategy(
  config: ConnectionConfig,
  onReconnecting: (attempt: number) => void,
) {
  return (retries: number, cause: Error): number | Error => {
    const address = `${config.host}:${config.port}`;
    if (config.maxReconnectAttempts !== undefined && retries >= config.maxReconnectAttempts) {
      const error = new StreamerError(
        'CONNECT',
        `Gave up reconnecting to ${address} after ${retries} attempts`,
        { cause, retriable: false },
      );
      publishConnection('redis', 'give-up', address, error);
      return error;
    }
    publishConnection('redis', 'reconnecting', address);
    onReconnecting(retries + 1);
    return backoffDelay(retries, {
      initialMs: config.reconnectInitialMs,
      maxMs: config.reconnectMaxMs,
    });
  };
}

function makeClient(config: ConnectionConfig, onReconnecting: (attempt: number) => void) {
  let ready = false;
  // The first connect fails fast (a wrong password must not turn into a retry storm); once a
  // connection was up, a lost one is retried with exponential backoff and jitter, unless it is a
  // reader's: readers reconnect themselves, maybe to another node of a cluster.
  const backoff = nodeReconnectStrategy(config, onReconnecting);
  const reconnectStrategy = (retries: number, cause: Error) =>
    ready && config.reconnect !== false ? backoff(retries, cause) : cause;
  const ours = {
    commandOptions: COMMAND_OPTIONS,
    // While reconnecting, commands fail at once instead of queueing: the producer retries them
    // itself in send order, and read loops back off. A queue would reorder retries.
    disableOfflineQueue: true,
  };
  const client = config.base
    ? // A user's client: its address, credentials, database and TLS, with our settings on top.
      (config.base.duplicate({
        ...ours,
        socket: {
          ...config.base.options?.socket,
          connectTimeout: config.timeoutMs,
          reconnectStrategy,
        },
      }) as ReturnType<typeof fromOptions>)
    : fromOptions(config, ours, reconnectStrategy);
  client.on('ready', () => {
    ready = true;
  });
  return client;
}

function fromOptions(
  config: ConnectionConfig,
  ours: { commandOptions: typeof COMMAND_OPTIONS; disableOfflineQueue: boolean },
  reconnectStrategy: (retries: number, cause: Error) => number | Error,
) {
  return createClient({
    username: config.username,
    password: config.password,
    database: config.db,
    socket: {
      host: config.host,
      port: config.port,
      connectTimeout: config.timeoutMs,
      ...(config.tls ?? {}),
      reconnectStrategy,
    },
    ...ours,
  });
}

export type RedisClient = ReturnType<typeof makeClient>;

export interface LifecycleEvents {
  connect: [];
  reconnecting: [attempt: number];
  error: [error: StreamerError];
}

/**
 * The streamer's lifecycle events. `error` is only emitted when someone listens, so a lost
 * connection never crashes a process that does not care.
 */
export class Lifecycle extends EventEmitter<LifecycleEvents> {
  report(error: StreamerError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** Opens a connected client; CONNECT when the server is down, refuses us, or is too slow. */
export async function openClient(
  config: ConnectionConfig,
  lifecycle: Lifecycle,
): Promise<RedisClient> {
  const client = makeClient(config, (attempt) => lifecycle.emit('reconnecting', attempt));
  let connected = false;
  const address = `${config.host}:${config.port}`;
  client.on('error', (error: Error) => {
    if (!connected) return;
    const failure = toStreamerError(error, 'Redis connection error');
    publishConnection('redis', 'error', address, failure);
    lifecycle.report(failure);
  });
  client.on('ready', () => {
    publishConnection('redis', 'connect', address);
    if (connected) lifecycle.emit('connect');
  });
  try {
    // connectTimeout covers the TCP connect only; a server that accepts and never answers the
    // handshake would hang us, so the whole connect gets the deadline.
    await withDeadline(client.connect(), config.timeoutMs);
  } catch (cause) {
    client.destroy();
    throw new StreamerError(
      'CONNECT',
      `Cannot connect to Redis at ${config.host}:${config.port}${config.db ? ` db ${config.db}` : ''}: ${(cause as Error)?.message ?? describeValue(cause)}`,
      // A refusal (WRONGPASS, NOAUTH) comes wrapped when our first-connect strategy gave up.
      { cause, retriable: !(refusal(cause) instanceof ErrorReply) },
    );
  }
  connected = true;
  return client;
}

/** The server's reply inside a connect failure, if it was one. */
function refusal(error: unknown): unknown {
  return error instanceof ReconnectStrategyError ? error.originalError : error;
}

/** `promise`, or a rejection once `ms` have passed. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within timeoutMs ${ms}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * What node-redis rejects a command with when its connection dropped or is being re-made. A
 * closed client is among them: a cluster closes the client of a node that left its slot map
 * and sends the retry to the slot's new master, and a reader whose connection dropped opens a
 * new one.
 */
const LOST = [
  ClientOfflineError,
  ClientClosedError,
  DisconnectsClientError,
  ConnectionTimeoutError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
  RootNodesUnavailableError,
  MaxCommandRedirectionsError,
];
/**
 * node-redis's cluster raises these as plain Errors: closed while rediscovering (as a closed
 * client), and an ASK to a node missing from its stale slot map (a rediscovery finds it).
 */
const LOST_CLUSTER = /^(Cluster closed|Cannot find node )/;
/** Socket errors (Node's `code`) of a connection that failed or could not be made. */
const SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
  'EAI_AGAIN',
]);
/**
 * Server replies that pass: loading the dataset, a busy script, a cluster slot moving or down, a
 * replica without its master, or a write to a master demoted to replica by a failover.
 */
const RETRIABLE_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/;

/**
 * Whether an error means the connection, not the command, failed, and may come back: worth
 * retrying. Anything else (a command Redis refused, a bug of ours such as a TypeError) is not.
 */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof StreamerError) return error.retriable;
  // A connection given up by its reconnect strategy: ours after maxReconnectAttempts (final), or a
  // first connect, refused (a cluster node that is down: the next command tries again) or not.
  if (error instanceof ReconnectStrategyError)
    return isConnectionError(
      error.originalError instanceof StreamerError ? error.originalError : error.socketError,
    );
  if (error instanceof ErrorReply) return RETRIABLE_REPLY.test(error.message);
  if (LOST.some((type) => error instanceof type)) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (typeof code === 'string' && SOCKET_CODES.has(code)) || LOST_CLUSTER.test(error.message);
}

/**
 * A node-redis error as a StreamerError: CONNECT for a lost connection (retriable) or one given
 * up for good (not retriable), BACKEND for anything else.
 */
export function toStreamerError(error: unknown, context: string): StreamerError {
  if (error instanceof StreamerError) return error;
  const message = (error as Error)?.message ?? String(error);
  const retriable = isConnectionError(error);
  if (retriable || error instanceof ReconnectStrategyError)
    return new StreamerError('CONNECT', `${context}: ${message}`, { cause: error, retriable });
  return new StreamerError('BACKEND', `${context}: ${message}`, { cause: error });
}

export function send<T = unknown>(
  client: RedisClient,
  args: (string | Buffer)[],
  options?: Parameters<RedisClient['sendCommand']>[1],
): Promise<T> {
  return client.sendCommand(args, options) as Promise<T>;
}

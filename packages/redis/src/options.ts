import {
  defineBackendOptions,
  describe,
  durationMs,
  invalidArgument,
  nonNegative,
  positiveInteger,
  StreamerError,
} from '@streamer/core';
import type { TrimOptions } from './trim.js';

/** Options of `connect('redis://…', options)`; values here win over the URL's. */
export interface RedisConnectOptions {
  username?: string;
  password?: string;
  /** Database number; also `?db=N` in the URL. Default 0. */
  db?: number;
  /** Connect timeout in ms. Default 5000. */
  timeoutMs?: number;
  /** The entry field holding the payload. Default 'msg' (SeaStreamer's). */
  messageField?: string;
  /** TLS (`rediss://`): CA certificate(s) to trust, PEM. */
  ca?: string | Buffer | (string | Buffer)[];
  /** TLS client certificate, PEM. */
  cert?: string | Buffer;
  /** TLS client key, PEM. */
  key?: string | Buffer;
  /** TLS without verifying the server certificate (testing only). Default false. */
  insecure?: boolean;
  /** First reconnect delay in ms; doubles per attempt, with jitter. Default 100. */
  reconnectInitialMs?: number;
  /** Largest reconnect delay in ms. Default 10000. */
  reconnectMaxMs?: number;
  /** Give up after this many reconnect attempts. Default: never. */
  maxReconnectAttempts?: number;
}

/** What `fromClient` needs of a node-redis client: its options, and duplicate(). */
export interface BaseClient {
  options?: { socket?: object; keyPrefix?: unknown } | undefined;
  duplicate(overrides?: object): unknown;
}

export interface ConnectionConfig {
  /** A user's client whose settings every connection copies (`fromClient`). */
  base?: BaseClient;
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
  timeoutMs: number;
  tls:
    | {
        tls: true;
        ca?: string | Buffer | (string | Buffer)[];
        cert?: string | Buffer;
        key?: string | Buffer;
        rejectUnauthorized: boolean;
      }
    | undefined;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  maxReconnectAttempts: number | undefined;
}

export interface StreamerConfig {
  connection: ConnectionConfig;
  messageField: string;
}

/** A positive whole number of milliseconds that a Node timer can hold (longer ones fire at once). */
function timerMs(name: string, value: unknown, fallback: number): number {
  return durationMs(name, positiveInteger(name, value, fallback), fallback);
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw invalidArgument(name, value, 'a string');
}

function pem(name: string, value: unknown, list: boolean): unknown {
  const ok = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  if (value === undefined || ok(value) || (list && Array.isArray(value) && value.every(ok)))
    return value;
  throw invalidArgument(name, value, 'PEM text as a string or Buffer');
}

function database(value: unknown, from: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
  throw invalidArgument(from, value, 'a non-negative integer database number');
}

/** Reads host, port, credentials and db from the URL and merges the options over them. */
export function resolveConfig(url: URL, input: Record<string, unknown>): StreamerConfig {
  const secure = url.protocol === 'rediss:';
  if (url.protocol !== 'redis:' && !secure) {
    throw new StreamerError('INVALID_URL', `Not a Redis URL: ${describe(url.href)}`);
  }
  // Options of other backends are ignored, so one options object serves every URL.
  for (const param of url.searchParams.keys()) {
    if (param !== 'db') {
      throw new StreamerError(
        'INVALID_URL',
        `Unknown parameter ${JSON.stringify(param)} in ${describe(url.href)}: only ?db= is understood`,
      );
    }
  }
  const urlDb = url.searchParams.get('db');
  const port = url.port === '' ? 6379 : Number(url.port);
  const messageField = optionalString('messageField', input.messageField) ?? 'msg';
  if (messageField === '')
    throw invalidArgument('messageField', messageField, 'a non-empty string');
  const insecure = input.insecure;
  if (insecure !== undefined && typeof insecure !== 'boolean')
    throw invalidArgument('insecure', insecure, 'a boolean');
  const hasTlsOptions =
    input.ca !== undefined || input.cert !== undefined || input.key !== undefined || insecure;
  if (hasTlsOptions && !secure) {
    throw new StreamerError(
      'INVALID_URL',
      `TLS options (ca, cert, key, insecure) need a rediss:// URL, got ${describe(url.href)}`,
    );
  }
  const maxAttempts = input.maxReconnectAttempts;
  return {
    messageField,
    connection: {
      // URL keeps IPv6 hosts in brackets; sockets want them bare.
      host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
      port,
      username:
        optionalString('username', input.username) ??
        (url.username === '' ? undefined : decodeURIComponent(url.username)),
      password:
        optionalString('password', input.password) ??
        (url.password === '' ? undefined : decodeURIComponent(url.password)),
      db:
        input.db !== undefined
          ? database(input.db, 'db')
          : urlDb !== null
            ? database(urlDb, '?db')
            : 0,
      timeoutMs: timerMs('timeoutMs', input.timeoutMs, 5000),
      tls: secure
        ? {
            tls: true,
            ca: pem('ca', input.ca, true) as string | Buffer | (string | Buffer)[] | undefined,
            cert: pem('cert', input.cert, false) as string | Buffer | undefined,
            key: pem('key', input.key, false) as string | Buffer | undefined,
            rejectUnauthorized: insecure !== true,
          }
        : undefined,
      reconnectInitialMs: timerMs('reconnectInitialMs', input.reconnectInitialMs, 100),
      reconnectMaxMs: timerMs('reconnectMaxMs', input.reconnectMaxMs, 10_000),
      maxReconnectAttempts:
        maxAttempts === undefined ? undefined : nonNegative('maxReconnectAttempts', maxAttempts, 0),
    },
  };
}

/** Producer options beyond core's: trimming on every XADD. */
export type RedisProducerOptions = TrimOptions;

/** Consumer options beyond core's. */
export interface RedisConsumerOptions {
  /**
   * Group modes: create the stream with the group when it does not exist (`MKSTREAM`). Default
   * true; false: the first `next()` rejects naming the key. The file backend's option of the same
   * name creates a missing file.
   */
  createIfNotExists?: boolean;
  /** @deprecated The old name of `createIfNotExists`; still accepted. */
  mkstream?: boolean;
  /** How often new shards (`name:N` keys) are looked for with SCAN, in ms. Default 2000. */
  discoverIntervalMs?: number;
}

defineBackendOptions('redis', {
  protocols: ['redis', 'rediss'],
  connect: [
    'username',
    'password',
    'db',
    'timeoutMs',
    'messageField',
    'ca',
    'cert',
    'key',
    'insecure',
    'reconnectInitialMs',
    'reconnectMaxMs',
    'maxReconnectAttempts',
  ],
  producer: ['maxLen', 'minTimestamp', 'minId', 'approximate'],
  consumer: ['createIfNotExists', 'mkstream', 'discoverIntervalMs'],
  // consumer.ts reads mkstream; core puts the value under both names.
  aliases: { mkstream: 'createIfNotExists' },
});

export function optionalBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw invalidArgument(name, value, 'a boolean');
}

/** Options of `fromClient(client, options)`: the address and credentials come from the client. */
export type FromClientOptions = Pick<
  RedisConnectOptions,
  'messageField' | 'timeoutMs' | 'reconnectInitialMs' | 'reconnectMaxMs' | 'maxReconnectAttempts'
>;

/** The config of connections copied from a user's node-redis client. */
export function resolveClientConfig(
  client: unknown,
  input: Record<string, unknown>,
): StreamerConfig {
  const base = client as BaseClient | undefined;
  if (typeof base?.duplicate !== 'function')
    throw invalidArgument('client', client, 'a node-redis client (from createClient())');
  if (base.options?.keyPrefix !== undefined) {
    throw new StreamerError(
      'UNSUPPORTED',
      `A client with keyPrefix ${describe(base.options.keyPrefix)} is not supported: stream keys are used as they are`,
    );
  }
  const socket = (base.options?.socket ?? {}) as { host?: string; port?: number };
  const config = resolveConfig(new URL('redis://placeholder'), input);
  config.connection.base = base;
  config.connection.host = socket.host ?? 'localhost';
  config.connection.port = socket.port ?? 6379;
  return config;
}

import { StreamerError } from '@streamer/core';
import {
  defineBackendOptions,
  describeValue,
  durationMs,
  invalidArgument,
  nonNegative,
  positiveInteger,
} from '@streamer/core/backend';
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
  /**
   * `'auto'` (default): several hosts in the URL are a cluster's seed nodes, and a single host
   * that reports `cluster_enabled:1` is a cluster too. `true` / `false` say which it is.
   */
  cluster?: 'auto' | boolean;
  /**
   * Cluster behind NAT: maps the node addresses the cluster announces (`host:port`) to the ones
   * to connect to, as node-redis' option of the same name (an object or a function).
   */
  nodeAddressMap?:
    | Record<string, { host: string; port: number }>
    | ((address: string) => { host: string; port: number } | undefined);
  /**
   * `redis+sentinel://` URLs: the name of the master set the sentinels watch; also `?master=` in
   * the URL.
   */
  master?: string;
  /** `redis+sentinel://` URLs: the user the sentinels know us as (the URL's is the data nodes'). */
  sentinelUsername?: string;
  /** `redis+sentinel://` URLs: the sentinels' password (the URL's is the data nodes'). */
  sentinelPassword?: string;
}

/** What `fromClient` needs of a node-redis client: its options, and duplicate(). */
export interface BaseClient {
  options?: { socket?: object; keyPrefix?: unknown } | undefined;
  duplicate(overrides?: object): unknown;
}

/** What `fromClient` needs of a node-redis cluster client (its options are `_options`). */
export interface BaseCluster {
  _options?: {
    rootNodes?: { socket?: { host?: string; port?: number } }[];
    defaults?: { socket?: object } & Record<string, unknown>;
    keyPrefix?: unknown;
  };
  duplicate(overrides?: object): unknown;
}

function clusterClient(client: unknown): BaseCluster | undefined {
  const c = client as { nodeClient?: unknown; masters?: unknown } | undefined;
  return typeof c?.nodeClient === 'function' && Array.isArray(c.masters)
    ? (client as BaseCluster)
    : undefined;
}

export interface ConnectionConfig {
  /** A user's client whose settings every connection copies (`fromClient`). */
  base?: BaseClient;
  /** A user's cluster client, duplicated with our settings (`fromClient`). */
  clusterBase?: BaseCluster;
  /** This connection's server. */
  host: string;
  port: number;
  /** Every host of the URL: the server, or a cluster's seed nodes. */
  seeds: { host: string; port: number }[];
  cluster: 'auto' | boolean;
  nodeAddressMap: RedisConnectOptions['nodeAddressMap'];
  /** false for readers: they reconnect themselves, maybe to another node. */
  reconnect?: false;
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
  /** Set for `redis+sentinel://` URLs: `seeds` are then the sentinels, `host`/`port` the master. */
  sentinel: SentinelConfig | undefined;
}

/** Where to ask for the master: a master set's name and the sentinels' own credentials. */
export interface SentinelConfig {
  master: string;
  username: string | undefined;
  password: string | undefined;
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

/** A URL's host and port; URL keeps IPv6 hosts in brackets, sockets want them bare. */
function address(url: URL, defaultPort: number): { host: string; port: number } {
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port === '' ? defaultPort : Number(url.port),
  };
}

/** The protocols this backend serves: TLS or not, and whether the hosts are sentinels. */
const PROTOCOLS: Record<string, { secure: boolean; sentinel: boolean }> = {
  'redis:': { secure: false, sentinel: false },
  'rediss:': { secure: true, sentinel: false },
  'redis+sentinel:': { secure: false, sentinel: true },
  'rediss+sentinel:': { secure: true, sentinel: true },
};

const SENTINEL_OPTIONS = ['master', 'sentinelUsername', 'sentinelPassword'] as const;

/** The master set's name (option over `?master=`) and the sentinels' credentials. */
function sentinelConfig(url: URL, input: Record<string, unknown>): SentinelConfig {
  const master = optionalString('master', input.master) ?? url.searchParams.get('master');
  if (!master)
    throw new StreamerError(
      'INVALID_URL',
      `A Sentinel URL needs the master set's name, as ?master=NAME or the master option: ${describeValue(url.href)}`,
    );
  return {
    master,
    username: optionalString('sentinelUsername', input.sentinelUsername),
    password: optionalString('sentinelPassword', input.sentinelPassword),
  };
}

function clusterOption(value: unknown): 'auto' | boolean {
  if (value === undefined) return 'auto';
  if (value === 'auto' || typeof value === 'boolean') return value;
  throw invalidArgument('cluster', value, "'auto', true or false");
}

function nodeAddressMap(value: unknown): RedisConnectOptions['nodeAddressMap'] {
  if (value === undefined || typeof value === 'function') return value as never;
  if (typeof value === 'object' && value !== null) return value as never;
  throw invalidArgument('nodeAddressMap', value, 'an object or a function of "host:port"');
}

/**
 * Reads hosts, credentials and db from the URLs (one per host, as core parses
 * `redis://a:1,b:2/…`; credentials and query come from the first) and merges the options over them.
 */
export function resolveConfig(urls: URL[], input: Record<string, unknown>): StreamerConfig {
  const url = urls[0];
  const protocol = PROTOCOLS[url.protocol];
  if (!protocol) {
    throw new StreamerError('INVALID_URL', `Not a Redis URL: ${describeValue(url.href)}`);
  }
  const { secure, sentinel: viaSentinel } = protocol;
  // Options of other backends are ignored, so one options object serves every URL.
  for (const param of url.searchParams.keys()) {
    if (param !== 'db' && !(viaSentinel && param === 'master')) {
      throw new StreamerError(
        'INVALID_URL',
        `Unknown parameter ${JSON.stringify(param)} in ${describeValue(url.href)}: only ?db=${viaSentinel ? ' and ?master=' : ''} ${viaSentinel ? 'are' : 'is'} understood`,
      );
    }
  }
  const urlDb = url.searchParams.get('db');
  const seeds = urls.map((u) => address(u, viaSentinel ? 26379 : 6379));
  const sentinel = viaSentinel ? sentinelConfig(url, input) : undefined;
  if (!viaSentinel) {
    for (const name of SENTINEL_OPTIONS)
      if (input[name] !== undefined)
        throw new StreamerError(
          'INVALID_URL',
          `${name} needs a redis+sentinel:// or rediss+sentinel:// URL, got ${describeValue(url.href)}`,
        );
  }
  const cluster = clusterOption(input.cluster);
  if (sentinel && input.cluster === true)
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `cluster: true cannot be used with a Sentinel URL (${describeValue(url.href)})`,
    );
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
      `TLS options (ca, cert, key, insecure) need a rediss:// or rediss+sentinel:// URL, got ${describeValue(url.href)}`,
    );
  }
  const maxAttempts = input.maxReconnectAttempts;
  return {
    messageField,
    connection: {
      ...seeds[0],
      seeds,
      cluster: sentinel ? false : cluster,
      sentinel,
      nodeAddressMap: nodeAddressMap(input.nodeAddressMap),
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

/** Producer options beyond core's: trimming on every XADD, and replica acks. */
export interface RedisProducerOptions extends TrimOptions {
  /**
   * `'leader'` (default): a send resolves once the master stored it. `'replicas'`: once
   * `replicas` replicas of that master hold it too (WAIT, one per pipelined batch per node), or it
   * rejects with a retriable NOT_REPLICATED (the message may still be stored).
   */
  acks?: 'leader' | 'replicas';
  /** With `acks: 'replicas'`: how many, or `'all'` connected to the master (at least one). Default 'all'. */
  replicas?: number | 'all';
  /** With `acks: 'replicas'`: how long WAIT waits, in ms. Default 2000. */
  replicaTimeoutMs?: number;
  /**
   * How long a send may wait, from `send()`, for Redis to be reachable again (a restart, a
   * failover, a cluster that is down) before it rejects with a retriable CONNECT. Default 120000.
   */
  deliveryTimeoutMs?: number;
  /**
   * `'script'` (default): sends of one key queued while its last write was out go as one call of
   * a server-side script that XADDs them in order (EVAL); a lone send is one XADD. Where the
   * server refuses scripts it falls back to `'pipeline'` by itself: one pipelined XADD per send.
   */
  batching?: 'script' | 'pipeline';
}

export function batchingOption(value: unknown): 'script' | 'pipeline' {
  if (value === undefined || value === 'script' || value === 'pipeline') return value ?? 'script';
  throw invalidArgument('batching', value, "'script' or 'pipeline'");
}

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
  protocols: ['redis', 'rediss', 'redis+sentinel', 'rediss+sentinel'],
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
    'cluster',
    'nodeAddressMap',
    ...SENTINEL_OPTIONS,
  ],
  producer: [
    'maxLen',
    'minTimestamp',
    'minId',
    'approximate',
    'acks',
    'replicas',
    'replicaTimeoutMs',
    'deliveryTimeoutMs',
    'batching',
  ],
  consumer: ['createIfNotExists', 'mkstream', 'discoverIntervalMs'],
  // Core puts the value under both names; consumer.ts reads createIfNotExists.
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
    throw invalidArgument(
      'client',
      client,
      'a node-redis client (from createClient() or createCluster())',
    );
  const keyPrefix = base.options?.keyPrefix ?? clusterClient(client)?._options?.keyPrefix;
  if (keyPrefix !== undefined) {
    throw new StreamerError(
      'UNSUPPORTED',
      `A client with keyPrefix ${describeValue(keyPrefix)} is not supported: stream keys are used as they are`,
    );
  }
  const config = resolveConfig([new URL('redis://placeholder')], input);
  const cluster = clusterClient(client);
  if (cluster) {
    // A createCluster() client: ours is its duplicate, with our settings over its node defaults.
    const seeds = (cluster._options?.rootNodes ?? []).map((node) => ({
      host: node.socket?.host ?? 'localhost',
      port: node.socket?.port ?? 6379,
    }));
    Object.assign(config.connection, { clusterBase: cluster, cluster: true, seeds, ...seeds[0] });
    return config;
  }
  const socket = (base.options?.socket ?? {}) as { host?: string; port?: number };
  config.connection.base = base;
  config.connection.host = socket.host ?? 'localhost';
  config.connection.port = socket.port ?? 6379;
  config.connection.seeds = [{ host: config.connection.host, port: config.connection.port }];
  return config;
}

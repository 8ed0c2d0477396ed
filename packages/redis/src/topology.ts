import { createCluster, ErrorReply } from '@redis/client';
import { StreamerError } from '@streamer/core';
import { describeValue, publishConnection } from '@streamer/core/backend';
import {
  COMMAND_OPTIONS,
  type Lifecycle,
  nodeReconnectStrategy,
  openClient,
  type RedisClient,
  toStreamerError,
  withDeadline,
} from './connection.js';
import type { ConnectionConfig } from './options.js';
import { connectedReplicas } from './replication.js';
import { slotOf } from './slot.js';

export type Args = (string | Buffer)[];

/** A connection of a consumer's own for blocking reads, and how to interrupt its read. */
export interface Reader {
  client: RedisClient;
  /** Its CLIENT ID, for CLIENT UNBLOCK; '' when the user may not run CLIENT. */
  id: string;
  /** The shared command connection of the same server, which sends the CLIENT UNBLOCK. */
  node: RedisClient;
}
export type CommandOptions = Parameters<RedisClient['sendCommand']>[1];

/**
 * Where commands go. A single server is a cluster of one: every key is in the same read group and
 * on the same node, and the rest of the backend never asks which kind it has. On a cluster,
 * node-redis routes each keyed command to its slot's master and follows MOVED and ASK itself.
 */
export interface Topology {
  readonly cluster: boolean;
  readonly isOpen: boolean;
  readonly isReady: boolean;
  /** A command about `key`, sent to the master that holds it. */
  send<T = unknown>(key: string, args: Args, options?: CommandOptions): Promise<T>;
  /**
   * The producer's XADD: on a cluster, straight to the connection of the key's master, with a
   * redirect (MOVED, ASK) rejected as it came, for the producer to retry in send order; `retry`
   * sends it through node-redis' routing instead, which follows redirects.
   */
  write<T>(key: string, args: Args, retry: boolean): Promise<T>;
  /** The shared command connection of the master holding `key` (WAIT, CLIENT UNBLOCK). */
  nodeOf(key: string): Promise<RedisClient>;
  /** The shared command connections of every master (SCAN runs on each). */
  masters(): Promise<RedisClient[]>;
  /**
   * Which read group a key belongs to: keys of one group can be read by one XREAD (the same slot
   * on a cluster; everything on a single server).
   */
  readGroupOf(key: string): number;
  /**
   * A new connection of its own to the master now holding `key`, for blocking reads (BLOCK holds
   * its socket). It does not reconnect by itself: when its node goes away, the reader asks again,
   * and may be sent to another node.
   */
  openReader(key: string): Promise<Reader>;
  /**
   * How many replicas `replicas: 'all'` waits for on `node`, a master: those connected to it, or
   * under Sentinel those the sentinels see up.
   */
  replicasOf(node: RedisClient): Promise<number>;
  destroy(): void;
}

/**
 * A single server: one shared command connection, readers are new connections to it. Under
 * Sentinel (sentinel.ts) the same, with a master whose connection is replaced on a failover.
 */
export class Single implements Topology {
  readonly cluster = false;
  protected client: RedisClient;
  protected readonly config: ConnectionConfig;
  protected readonly lifecycle: Lifecycle;

  constructor(client: RedisClient, config: ConnectionConfig, lifecycle: Lifecycle) {
    this.client = client;
    this.config = config;
    this.lifecycle = lifecycle;
  }

  get isOpen() {
    return this.client.isOpen;
  }

  get isReady() {
    return this.client.isReady;
  }

  send<T>(_key: string, args: Args, options?: CommandOptions): Promise<T> {
    return this.client.sendCommand(args, options) as Promise<T>;
  }

  write<T>(key: string, args: Args): Promise<T> {
    return this.send(key, args);
  }

  async nodeOf(): Promise<RedisClient> {
    return this.client;
  }

  async masters(): Promise<RedisClient[]> {
    return [this.client];
  }

  readGroupOf(): number {
    return 0;
  }

  async openReader(): Promise<Reader> {
    return reader(
      await openClient({ ...this.config, reconnect: false }, this.lifecycle),
      this.client,
    );
  }

  replicasOf(node: RedisClient): Promise<number> {
    return connectedReplicas(node);
  }

  destroy(): void {
    this.client.destroy();
  }
}

function makeCluster(config: ConnectionConfig, lifecycle: Lifecycle) {
  const backoff = nodeReconnectStrategy(config, (attempt) =>
    lifecycle.emit('reconnecting', attempt),
  );
  // Node connections reconnect with backoff once they were up. The first connect to a node that
  // refuses (a dead master still named in the slot map) gives up instead: node-redis would retry
  // it forever, and every command for its slots would wait on it. Given up, they fail, are
  // retried by us, and a later command connects again, to whichever node then holds the slot.
  const ready = new Set<string>();
  const reconnectStrategy = (retries: number, cause: Error) => {
    const { address, port } = cause as { address?: string; port?: number };
    if (port !== undefined && !ready.has(`${address}:${port}`)) return cause;
    return backoff(retries, cause);
  };
  const defaults = {
    username: config.username,
    password: config.password,
    socket: { connectTimeout: config.timeoutMs, ...(config.tls ?? {}), reconnectStrategy },
    // As on a single server: commands fail at once while a node is away, and the producer
    // retries them in send order.
    disableOfflineQueue: true,
  };
  const cluster = makeNodes(config, defaults);
  cluster.on('node-ready', ({ host, port }: { host: string; port: number }) =>
    ready.add(`${host}:${port}`),
  );
  return cluster;
}

/** The node-redis cluster client: the user's duplicated, or one of ours. */
function makeNodes(
  config: ConnectionConfig,
  defaults: { socket: { reconnectStrategy: unknown } } & Record<string, unknown>,
) {
  const base = config.clusterBase;
  if (base) {
    // A user's cluster: its nodes, credentials and TLS, with our settings on top.
    const theirs = base._options?.defaults ?? {};
    return base.duplicate({
      commandOptions: COMMAND_OPTIONS,
      defaults: {
        ...theirs,
        socket: { ...theirs.socket, reconnectStrategy: defaults.socket.reconnectStrategy },
        disableOfflineQueue: true,
      },
      ...CLUSTER_OPTIONS,
    }) as ReturnType<typeof makeDefaultCluster>;
  }
  return makeDefaultCluster(config, defaults);
}

const CLUSTER_OPTIONS = {
  // A node is connected when a command first needs it: a dead node in the slot map must not stop
  // connect(), or the keys of every other node from being used.
  minimizeConnections: true,
  // While a node's connection is down, ask the cluster for its slot map every 250 ms (default 5 s):
  // after a failover, commands reach the promoted replica that much sooner.
  topologyRefreshOnReconnectionAttemptStrategy: 250,
} as const;

function makeDefaultCluster(config: ConnectionConfig, defaults: object) {
  return createCluster({
    rootNodes: config.seeds.map(({ host, port }) => ({
      socket: { host, port, ...(config.tls ?? {}) },
    })),
    defaults,
    commandOptions: COMMAND_OPTIONS,
    ...CLUSTER_OPTIONS,
    ...(config.nodeAddressMap ? { nodeAddressMap: config.nodeAddressMap as never } : {}),
  });
}

type ClusterClient = ReturnType<typeof makeCluster>;
type ClusterNode = ClusterClient['masters'][number];

class Cluster implements Topology {
  readonly cluster = true;
  readonly #cluster: ClusterClient;
  readonly #config: ConnectionConfig;
  readonly #lifecycle: Lifecycle;

  constructor(cluster: ClusterClient, config: ConnectionConfig, lifecycle: Lifecycle) {
    this.#cluster = cluster;
    this.#config = config;
    this.#lifecycle = lifecycle;
  }

  get isOpen() {
    return this.#cluster.isOpen;
  }

  get isReady() {
    return this.#cluster.isReady;
  }

  send<T>(key: string, args: Args, options?: CommandOptions): Promise<T> {
    return this.#cluster.sendCommand(key, false, args, options) as Promise<T>;
  }

  /**
   * node-redis' routing costs more per command than an XADD (a hand-written createCluster()
   * pipeline ran at a quarter of one node's speed here), so writes go straight to the key's
   * master. While any routed write is out, writes are routed too: a direct one must not overtake
   * it. Redirects are not followed here: two writes of one key redirected at once could reach
   * different nodes, and the first fail while the second is stored; the producer retries both in
   * order instead.
   */
  write<T>(key: string, args: Args, retry: boolean): Promise<T> {
    const client =
      retry || this.#routed > 0 ? undefined : this.#cluster.slots[slotOf(key)]?.master.client;
    if (client?.isReady) return client.sendCommand(args, COMMAND_OPTIONS) as Promise<T>;
    this.#routed++;
    return this.send<T>(key, args).finally(() => {
      this.#routed--;
    });
  }

  /** Writes through node-redis' routing still unanswered. */
  #routed = 0;

  async nodeOf(key: string): Promise<RedisClient> {
    const slot = slotOf(key);
    const shard = this.#cluster.slots[slot];
    if (!shard)
      throw new StreamerError(
        'CONNECT',
        `No node of the cluster serves slot ${slot} (key ${JSON.stringify(key)})`,
        {
          retriable: true,
        },
      );
    return this.#node(shard.master);
  }

  async masters(): Promise<RedisClient[]> {
    return Promise.all(this.#cluster.masters.map((node) => this.#node(node)));
  }

  readGroupOf(key: string): number {
    return slotOf(key);
  }

  async openReader(key: string): Promise<Reader> {
    // A keyed command first: when our slot map is stale it answers MOVED, and node-redis
    // rediscovers the cluster before we pick the master.
    await this.send(key, ['EXISTS', key]);
    const node = await this.nodeOf(key);
    const { host, port } = (node.options?.socket ?? {}) as { host: string; port: number };
    // A copy of the node's own connection: the cluster's credentials and TLS, our settings.
    const config = { ...this.#config, base: node, host, port, reconnect: false as const };
    return reader(await openClient(config, this.#lifecycle), node);
  }

  replicasOf(node: RedisClient): Promise<number> {
    return connectedReplicas(node);
  }

  #node(node: ClusterNode): Promise<RedisClient> {
    return this.#cluster.nodeClient(node) as unknown as Promise<RedisClient>;
  }

  destroy(): void {
    this.#cluster.destroy();
  }
}

/** A reader on `client`, with its CLIENT ID; `node` is the command connection of its server. */
export async function reader(client: RedisClient, node: RedisClient): Promise<Reader> {
  // A user not allowed CLIENT (NOPERM) gets no unblocking: reads end within blockMs instead.
  const id = await client.sendCommand(['CLIENT', 'ID']).then(String, (error: Error) => {
    if (error?.message?.startsWith('NOPERM')) return '';
    client.destroy();
    throw error;
  });
  return { client, id, node };
}

/** Whether the server at `client` is a cluster node (INFO cluster: `cluster_enabled:1`). */
async function isClusterNode(client: RedisClient): Promise<boolean> {
  const info = String(await client.sendCommand(['INFO', 'cluster']));
  return /cluster_enabled:1/.test(info);
}

/**
 * Connects to a single server, a cluster, or the master a Sentinel names. `cluster: 'auto'` (the
 * default) takes several seed hosts for a cluster, and asks a single host whether it is a
 * cluster node.
 */
export async function openTopology(
  config: ConnectionConfig,
  lifecycle: Lifecycle,
): Promise<Topology> {
  // Loaded when needed: its topology extends Single, which this module must define first.
  if (config.sentinel)
    return (await import('./sentinel.js')).openSentinel(config, config.sentinel, lifecycle);
  if (config.cluster === 'auto' ? config.seeds.length === 1 : !config.cluster) {
    if (config.cluster === false && config.seeds.length > 1)
      throw new StreamerError(
        'INVALID_ARGUMENT',
        `cluster: false takes one host, got ${config.seeds.map((s) => `${s.host}:${s.port}`).join(', ')}`,
      );
    const client = await openClient(config, lifecycle);
    if (config.cluster === false || !(await isClusterNode(client).catch(() => false)))
      return new Single(client, config, lifecycle);
    client.destroy();
  }
  if (config.db !== 0)
    throw new StreamerError(
      'INVALID_ARGUMENT',
      `A Redis Cluster has only database 0, got db ${config.db}`,
    );
  const cluster = makeCluster(config, lifecycle);
  let connected = false;
  /** What a node said while we connected: node-redis' own rejection only says none answered. */
  let refusal: ErrorReply | undefined;
  const seeds = config.seeds.map((s) => `${s.host}:${s.port}`).join(', ');
  cluster.on('error', (error: Error) => {
    if (connected) {
      const failure = toStreamerError(error, 'Redis Cluster error');
      publishConnection('redis', 'error', seeds, failure);
      lifecycle.report(failure);
    } else if (error instanceof ErrorReply) refusal ??= error;
  });
  cluster.on('node-ready', ({ host, port }: { host: string; port: number }) => {
    publishConnection('redis', 'connect', `${host}:${port}`);
    if (connected) lifecycle.emit('connect');
  });
  try {
    await withDeadline(cluster.connect(), config.timeoutMs);
  } catch (cause) {
    cluster.destroy();
    throw new StreamerError(
      'CONNECT',
      `Cannot connect to the Redis Cluster at ${seeds}: ${refusal?.message ?? (cause as Error)?.message ?? describeValue(cause)}`,
      { cause: refusal ?? cause, retriable: refusal === undefined },
    );
  }
  connected = true;
  return new Cluster(cluster, config, lifecycle);
}

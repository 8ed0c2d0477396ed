import { createClient, ErrorReply } from '@redis/client';
import { StreamerError } from '@streamer/core';
import { describeValue } from '@streamer/core/backend';
import {
  isConnectionError,
  type Lifecycle,
  openClient,
  type RedisClient,
  withDeadline,
} from './connection.js';
import type { ConnectionConfig, SentinelConfig } from './options.js';
import {
  type Args,
  type CommandOptions,
  type Reader,
  reader,
  Single,
  type Topology,
} from './topology.js';

interface Address {
  host: string;
  port: number;
}

const name = ({ host, port }: Address) => `${host}:${port}`;

/** How soon after one look at the sentinels another may follow (a burst of READONLY is one). */
const CHECK_INTERVAL_MS = 100;
/** Replica flags of `SENTINEL REPLICAS` that mean it cannot take a copy of a write now. */
const DOWN_FLAGS = /(^|,)(s_down|o_down|disconnected)(,|$)/;

/** A connection to one sentinel: RESP2 (flat arrays for SENTINEL REPLICAS), no reconnecting. */
function sentinelClient(config: ConnectionConfig, sentinel: SentinelConfig, node: Address) {
  const client = createClient({
    RESP: 2,
    username: sentinel.username,
    password: sentinel.password,
    socket: {
      host: node.host,
      port: node.port,
      connectTimeout: config.timeoutMs,
      ...(config.tls ?? {}),
      reconnectStrategy: false,
    },
    disableOfflineQueue: true,
  });
  // A lost sentinel is dropped and another asked; its errors are no one else's business.
  client.on('error', () => {});
  return client;
}
type SentinelClient = ReturnType<typeof sentinelClient>;

/**
 * The sentinels of one master set: asked in turn, starting with the last one that answered, each
 * over a connection kept until it fails.
 */
class Sentinels {
  readonly #config: ConnectionConfig;
  readonly #sentinel: SentinelConfig;
  readonly #clients = new Map<string, SentinelClient>();
  /** The subscription `watch` holds, if any. */
  #watcher: SentinelClient | undefined;
  #first = 0;

  constructor(config: ConnectionConfig, sentinel: SentinelConfig) {
    this.#config = config;
    this.#sentinel = sentinel;
  }

  get list(): string {
    return this.#config.seeds.map(name).join(', ');
  }

  /** The reply of the first sentinel that answers `args`; rejects with the last failure. */
  async ask<T>(args: string[]): Promise<T> {
    const seeds = this.#config.seeds;
    let failure: unknown;
    for (let i = 0; i < seeds.length; i++) {
      const index = (this.#first + i) % seeds.length;
      try {
        const client = await this.#client(seeds[index]);
        const reply = await withDeadline(client.sendCommand(args), this.#config.timeoutMs);
        this.#first = index;
        return reply as T;
      } catch (error) {
        failure = error;
        this.#drop(seeds[index]);
        // A refusal (bad sentinel credentials, an unknown command) is the same on every sentinel.
        if (error instanceof ErrorReply && !isConnectionError(error)) throw error;
      }
    }
    throw failure;
  }

  /** The address the sentinels give for the master set now, or undefined if none names one. */
  async master(): Promise<Address | undefined> {
    const reply = await this.ask<string[] | null>([
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.#sentinel.master,
    ]);
    return reply ? { host: String(reply[0]), port: Number(reply[1]) } : undefined;
  }

  /**
   * Subscribes to `+switch-master` on a sentinel that answers, and calls `onChange` on each
   * message, and when the subscription is lost (after which it subscribes again, anywhere).
   */
  async watch(onChange: () => void, stopped: () => boolean): Promise<void> {
    const seeds = this.#config.seeds;
    for (let i = 0; !stopped(); i++) {
      const node = seeds[(this.#first + i) % seeds.length];
      const client = sentinelClient(this.#config, this.#sentinel, node);
      try {
        await withDeadline(client.connect(), this.#config.timeoutMs);
        await client.subscribe('+switch-master', (message) => {
          if (String(message).split(' ')[0] === this.#sentinel.master) onChange();
        });
      } catch {
        client.destroy();
        await pause(CHECK_INTERVAL_MS);
        continue;
      }
      this.#watcher = client;
      if (stopped()) {
        client.destroy();
        break;
      }
      await new Promise((resolve) => client.once('end', resolve));
      this.#watcher = undefined;
      // Switches announced while no one listened: the next look at the sentinels finds them.
      onChange();
    }
  }

  async #client(node: Address): Promise<SentinelClient> {
    let client = this.#clients.get(name(node));
    if (!client?.isOpen) {
      client = sentinelClient(this.#config, this.#sentinel, node);
      this.#clients.set(name(node), client);
      await withDeadline(client.connect(), this.#config.timeoutMs);
    }
    return client;
  }

  #drop(node: Address): void {
    this.#clients.get(name(node))?.destroy();
    this.#clients.delete(name(node));
  }

  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
    this.#watcher?.destroy();
  }
}

// Not core's sleep(), whose timer is unref'd: a connect() waiting between sentinels' answers must
// hold the process open until it settles.
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A master found through Sentinel: the rest of the backend sees a single server (one shared
 * command connection, readers of their own) whose address changes in a failover. A look at the
 * sentinels follows every `+switch-master`, every error of the master connection (each failed
 * reconnect too, so a missed message is found at the reconnect pace) and every READONLY. When
 * they name another master, commands move to a new connection to it and every reader is
 * closed, so a blocked read starts again there.
 */
class SentinelTopology extends Single {
  readonly #sentinel: SentinelConfig;
  readonly #sentinels: Sentinels;
  readonly #readers = new Set<RedisClient>();
  #master: Address;
  #destroyed = false;
  /** A look at the sentinels in progress, or waiting for CHECK_INTERVAL_MS. */
  #checking = false;
  #again = false;

  constructor(
    config: ConnectionConfig,
    sentinel: SentinelConfig,
    sentinels: Sentinels,
    lifecycle: Lifecycle,
    master: { client: RedisClient; address: Address },
  ) {
    super(master.client, config, lifecycle);
    this.#sentinel = sentinel;
    this.#sentinels = sentinels;
    this.#watch(master.client);
    this.#master = master.address;
    sentinels.watch(
      () => this.#check(),
      () => this.#destroyed,
    );
  }

  override send<T>(_key: string, args: Args, options?: CommandOptions): Promise<T> {
    return (this.client.sendCommand(args, options) as Promise<T>).catch((error: unknown) => {
      // READONLY: our master was demoted (the connection itself is fine, so no error event).
      if (isConnectionError(error)) this.#check();
      throw error;
    });
  }

  override async openReader(): Promise<Reader> {
    const node = this.client;
    const config = { ...this.config, ...this.#master, reconnect: false as const };
    const client = await openClient(config, this.lifecycle).catch((error: unknown) => {
      this.#check();
      throw error;
    });
    if (node !== this.client || this.#destroyed) {
      // The master changed while we connected: read from the new one.
      client.destroy();
      throw new StreamerError('CONNECT', `${name(this.#master)} is no longer the master`, {
        retriable: true,
      });
    }
    this.#readers.add(client);
    client.on('end', () => this.#readers.delete(client));
    return reader(client, node);
  }

  /**
   * The replicas the sentinels see up (at least one), not those connected to the master: while a
   * planned failover promotes one replica, the old master still has the others connected and
   * takes writes that the promotion loses; it cannot get a WAIT for all of them.
   */
  override async replicasOf(node: RedisClient): Promise<number> {
    if (node !== this.client)
      throw new StreamerError(
        'CONNECT',
        `${name(this.#master)} replaced the master that took the write`,
        { retriable: true },
      );
    const replicas = await this.#sentinels.ask<string[][]>([
      'SENTINEL',
      'REPLICAS',
      this.#sentinel.master,
    ]);
    const up = replicas.filter((fields) => {
      const flags = fields[fields.indexOf('flags') + 1] ?? '';
      return !DOWN_FLAGS.test(String(flags));
    });
    return Math.max(1, up.length);
  }

  override destroy(): void {
    this.#destroyed = true;
    this.client.destroy();
    for (const client of this.#readers) client.destroy();
    this.#sentinels.destroy();
  }

  #watch(client: RedisClient): void {
    client.on('error', () => this.#check());
  }

  /** Looks at the sentinels soon, at most once per CHECK_INTERVAL_MS; switches if they say so. */
  #check(): void {
    if (this.#destroyed) return;
    if (this.#checking) {
      this.#again = true;
      return;
    }
    this.#checking = true;
    this.#follow()
      .catch((error: unknown) => {
        // No sentinel answered, or the named master did not: the next error or message retries.
        this.#again = true;
        this.lifecycle.report(
          new StreamerError(
            'CONNECT',
            `Looking for the master of ${JSON.stringify(this.#sentinel.master)} failed: ${(error as Error)?.message ?? describeValue(error)}`,
            { cause: error, retriable: true },
          ),
        );
      })
      .then(() => pause(CHECK_INTERVAL_MS))
      .then(() => {
        this.#checking = false;
        if (this.#again) {
          this.#again = false;
          this.#check();
        }
      });
  }

  async #follow(): Promise<void> {
    const address = await this.#sentinels.master();
    if (!address || this.#destroyed) return;
    if (name(address) === name(this.#master)) return;
    const client = await openMaster({ ...this.config, ...address }, this.lifecycle);
    if (this.#destroyed) {
      client.destroy();
      return;
    }
    const old = this.client;
    this.#watch(client);
    this.client = client;
    this.#master = address;
    // Commands still out on the old master fail as lost, and are retried here by their owners.
    old.destroy();
    for (const reader of this.#readers) reader.destroy();
    this.#readers.clear();
    this.lifecycle.emit('connect');
  }
}

/** A connection to the master at config's host and port, refused unless it says it is one. */
async function openMaster(config: ConnectionConfig, lifecycle: Lifecycle): Promise<RedisClient> {
  const client = await openClient(config, lifecycle);
  const reply = await client.sendCommand(['ROLE']).catch((error: unknown) => {
    client.destroy();
    throw error;
  });
  const role = String((reply as unknown as unknown[])[0]);
  if (role !== 'master') {
    client.destroy();
    throw new StreamerError(
      'CONNECT',
      `${config.host}:${config.port} is not a master (yet): ROLE says ${role}`,
      { retriable: true },
    );
  }
  return client;
}

/**
 * Asks the sentinels for the master until one names a master that says it is one, within
 * timeoutMs; then connects to it and follows it through failovers.
 */
export async function openSentinel(
  config: ConnectionConfig,
  sentinel: SentinelConfig,
  lifecycle: Lifecycle,
): Promise<Topology> {
  const sentinels = new Sentinels(config, sentinel);
  const deadline = Date.now() + config.timeoutMs;
  let reason = 'none knows it';
  for (;;) {
    try {
      const address = await sentinels.master();
      if (address) {
        const client = await openMaster({ ...config, ...address }, lifecycle);
        return new SentinelTopology(config, sentinel, sentinels, lifecycle, { client, address });
      }
    } catch (error) {
      reason = (error as Error)?.message ?? describeValue(error);
      // The master refused us (WRONGPASS): no point asking again.
      if (error instanceof StreamerError && !error.retriable) {
        sentinels.destroy();
        throw error;
      }
      if (error instanceof ErrorReply && !isConnectionError(error)) {
        sentinels.destroy();
        throw new StreamerError(
          'CONNECT',
          `The sentinels at ${sentinels.list} refused us: ${reason}`,
          { cause: error, retriable: false },
        );
      }
    }
    if (Date.now() + CHECK_INTERVAL_MS > deadline) break;
    await pause(CHECK_INTERVAL_MS);
  }
  sentinels.destroy();
  throw new StreamerError(
    'CONNECT',
    `No sentinel at ${sentinels.list} named a master for master set ${JSON.stringify(sentinel.master)} within timeoutMs ${config.timeoutMs} (${reason})`,
    { retriable: true },
  );
}

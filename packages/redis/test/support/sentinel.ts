import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { until } from './cluster.js';
import { forThisFile } from './per-file.js';
import {
  alive,
  dirs,
  freePort,
  hasRedisServer,
  INSTALL_HINT,
  killChild,
  untilReady,
} from './server.js';

const HOST = '127.0.0.1';
/** The master set's name the sentinels monitor. */
export const MASTER_SET = 'mymaster';

interface Process {
  port: number;
  dir: string;
  child: ChildProcess | undefined;
}

/** Runs one command on one process over a short-lived plain connection. */
async function call(port: number, password: string | undefined, ...args: string[]) {
  const client = createClient({
    RESP: 2,
    password,
    socket: { host: HOST, port, reconnectStrategy: false, connectTimeout: 2000 },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

export interface SentinelOptions {
  /** How long until a silent primary counts as down. Default 1000. */
  downAfterMs?: number;
  /** `requirepass` (and `masterauth`) of the data nodes, which the sentinels are given too. */
  password?: string;
  /** `requirepass` of the sentinels. */
  sentinelPassword?: string;
}

/**
 * A throwaway Sentinel deployment on loopback: a primary, two replicas (`--replicaof`) and three
 * sentinels (quorum 2), one redis-server child process each (tracked by pid), each in its own
 * directory, with AOF fsynced on every write. A silent primary counts as down after
 * `downAfterMs`.
 */
export class TestSentinel {
  readonly dir: string;
  readonly #data: Process[] = [];
  readonly #sentinels: Process[] = [];
  readonly options: Required<Omit<SentinelOptions, 'password' | 'sentinelPassword'>> &
    SentinelOptions;

  constructor(options: SentinelOptions = {}) {
    this.options = { downAfterMs: 1000, ...options };
    this.dir = mkdtempSync(join(tmpdir(), 'streamer-sentinel-'));
    dirs.add(this.dir);
  }

  /** `redis+sentinel://s1,s2,s3?master=mymaster`; append `/keys` for a stream URL. */
  get url(): string {
    const hosts = this.#sentinels.map((s) => `${HOST}:${s.port}`).join(',');
    return `redis+sentinel://${hosts}?master=${MASTER_SET}`;
  }

  /** `redis+sentinel://s1,s2,s3/keys?master=mymaster`. */
  streamUrl(keys: string): string {
    return this.url.replace('?', `/${keys}?`);
  }

  get sentinelPorts(): number[] {
    return this.#sentinels.map((s) => s.port);
  }

  /** Every pid of this deployment still running. */
  get pids(): number[] {
    return [...this.#data, ...this.#sentinels].flatMap((p) => (p.child?.pid ? [p.child.pid] : []));
  }

  async start(): Promise<this> {
    if (!hasRedisServer()) throw new Error(INSTALL_HINT.replace(' and REDIS_URL is not set', ''));
    try {
      for (let i = 0; i < 3; i++) this.#data.push(await this.#new('data'));
      const [primary, ...replicas] = this.#data;
      await this.#spawnData(primary!, undefined);
      await Promise.all(replicas.map((r) => this.#spawnData(r, primary!.port)));
      for (let i = 0; i < 3; i++) this.#sentinels.push(await this.#new('sentinel'));
      await Promise.all(this.#sentinels.map((s) => this.#spawnSentinel(s, primary!.port)));
      await this.settled();
    } catch (error) {
      await this.stop();
      throw error;
    }
    return this;
  }

  /** Kills exactly this deployment's processes and removes its directory. */
  async stop(): Promise<void> {
    await Promise.all([...this.#data, ...this.#sentinels].map((p) => kill(p)));
    rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }

  /** The primary's port as the first sentinel that answers names it. */
  async masterPort(): Promise<number> {
    for (const s of this.#sentinels) {
      if (!s.child) continue;
      const port = await this.#namedPort(s.port).catch(() => undefined);
      if (port) return Number(port);
    }
    throw new Error('no sentinel names a master');
  }

  /** The ports of the data nodes other than the primary. */
  async replicaPorts(): Promise<number[]> {
    const primary = await this.masterPort();
    return this.#data.filter((p) => p.child && p.port !== primary).map((p) => p.port);
  }

  /** Runs a command on the data node at `port`. */
  call(port: number, ...args: string[]): Promise<unknown> {
    return call(port, this.options.password, ...args);
  }

  #askSentinel(port: number, ...args: string[]): Promise<unknown> {
    return call(port, this.options.sentinelPassword, ...args);
  }

  /**
   * SENTINEL FAILOVER: a planned switchover to a replica. The old primary takes writes until it
   * is told to follow the new one; here it is told as soon as every sentinel names the new one
   * (the sentinels would take seconds longer), after `meanwhile` ran. Resolves with the new
   * primary's port, settled.
   */
  async failover(
    meanwhile?: (ports: { old: number; promoted: number }) => Promise<unknown>,
  ): Promise<number> {
    const old = await this.masterPort();
    await this.#askSentinel(this.#sentinels[0]!.port, 'SENTINEL', 'FAILOVER', MASTER_SET);
    const promoted = await this.#promotedFrom(old);
    await meanwhile?.({ old, promoted });
    await this.call(old, 'REPLICAOF', HOST, String(promoted));
    await this.settled();
    return promoted;
  }

  /**
   * kill -9 of the primary: an unplanned failover. Once the sentinels promoted a replica, the old
   * primary starts again from its AOF as a replica of the new one. Resolves with the new port.
   */
  async killMaster(): Promise<number> {
    const old = await this.masterPort();
    const node = this.#data.find((p) => p.port === old)!;
    await kill(node);
    const promoted = await this.#promotedFrom(old);
    await this.#spawnData(node, promoted);
    await this.settled();
    return promoted;
  }

  /** kill -9 of one sentinel; `restartSentinel` brings it back with its rewritten config. */
  async killSentinel(index: number): Promise<void> {
    await kill(this.#sentinels[index]!);
  }

  async restartSentinel(index: number): Promise<void> {
    await this.#runSentinel(this.#sentinels[index]!);
  }

  /**
   * Waits until every running sentinel names the same primary, and knows the two replicas and the
   * other sentinels, none of them down, and the primary has both replicas online.
   */
  async settled(): Promise<void> {
    let why = '';
    await until(
      'the Sentinel deployment to settle',
      async () => {
        const running = this.#sentinels.filter((s) => s.child);
        const masters = new Set<string>();
        for (const s of running) {
          masters.add(String(await this.#namedPort(s.port)));
          const replicas = (await this.#askSentinel(
            s.port,
            'SENTINEL',
            'REPLICAS',
            MASTER_SET,
          )) as string[][];
          const up = replicas.filter((r) => !/down|disconnected/.test(field(r, 'flags')));
          if (up.length !== 2) return !(why = `sentinel ${s.port} sees ${up.length} replicas up`);
          const peers = (await this.#askSentinel(
            s.port,
            'SENTINEL',
            'SENTINELS',
            MASTER_SET,
          )) as string[][];
          if (peers.length < running.length - 1)
            return !(why = `sentinel ${s.port} knows ${peers.length} other sentinels`);
        }
        if (masters.size !== 1) return !(why = `sentinels name ${[...masters].join(', ')}`);
        const port = Number([...masters][0]);
        const info = String(await this.call(port, 'INFO', 'replication'));
        const online = info.match(/state=online/g)?.length ?? 0;
        if (!info.includes('role:master') || online < 2)
          return !(why = `${port}: ${online} replicas online`);
        return true;
      },
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${why}`);
    });
  }

  /** The port of the primary the sentinel at `port` names (undefined: none). */
  async #namedPort(port: number): Promise<string | undefined> {
    const addr = (await this.#askSentinel(
      port,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      MASTER_SET,
    )) as string[] | null;
    return addr?.[1];
  }

  /** Waits until every running sentinel names a primary other than `old`; returns its port. */
  async #promotedFrom(old: number): Promise<number> {
    let promoted = 0;
    await until(`a new primary in place of ${old}`, async () => {
      const named = new Set<number>();
      for (const s of this.#sentinels.filter((p) => p.child)) {
        named.add(Number(await this.#namedPort(s.port)));
      }
      promoted = [...named][0]!;
      if (named.size !== 1 || promoted === old) return false;
      return String(await this.call(promoted, 'ROLE')).startsWith('master');
    });
    return promoted;
  }

  async #new(kind: string): Promise<Process> {
    const port = await freePort();
    const dir = join(this.dir, `${kind}-${port}`);
    mkdirSync(dir);
    return { port, dir, child: undefined };
  }

  async #spawnData(node: Process, replicaOf: number | undefined): Promise<void> {
    const { password } = this.options;
    await run(node, [
      ...['--port', String(node.port), '--bind', HOST, '--dir', node.dir],
      ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      // A replica's first sync otherwise waits 5 s for more replicas to share the transfer.
      ...['--repl-diskless-sync-delay', '0'],
      ...(replicaOf === undefined ? [] : ['--replicaof', HOST, String(replicaOf)]),
      ...(password ? ['--requirepass', password, '--masterauth', password] : []),
    ]);
  }

  async #spawnSentinel(sentinel: Process, primary: number): Promise<void> {
    const conf = [
      `port ${sentinel.port}`,
      `bind ${HOST}`,
      `dir ${sentinel.dir}`,
      `sentinel monitor ${MASTER_SET} ${HOST} ${primary} 2`,
      `sentinel down-after-milliseconds ${MASTER_SET} ${this.options.downAfterMs}`,
      `sentinel failover-timeout ${MASTER_SET} 3000`,
      `sentinel parallel-syncs ${MASTER_SET} 2`,
    ];
    const { password, sentinelPassword } = this.options;
    if (password) conf.push(`sentinel auth-pass ${MASTER_SET} ${password}`);
    if (sentinelPassword)
      conf.push(`requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`);
    writeFileSync(join(sentinel.dir, 'sentinel.conf'), `${conf.join('\n')}\n`);
    await this.#runSentinel(sentinel);
  }

  async #runSentinel(sentinel: Process): Promise<void> {
    await run(sentinel, [join(sentinel.dir, 'sentinel.conf'), '--sentinel'], 'Sentinel ID is');
  }
}

/** Starts redis-server with `args` for `node`, tracked until it exits. */
async function run(node: Process, args: string[], ready?: string): Promise<void> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  node.child = child;
  alive.add(child);
  child.once('exit', () => {
    alive.delete(child);
    if (node.child === child) node.child = undefined;
  });
  await untilReady(child, ready).catch((error) => {
    node.child = undefined;
    throw error;
  });
}

async function kill(node: Process): Promise<void> {
  if (await killChild(node.child)) node.child = undefined;
}

/** A field of a SENTINEL REPLICAS / SENTINELS entry (a flat list of names and values). */
function field(entry: string[], name: string): string {
  return String(entry[entry.indexOf(name) + 1] ?? '');
}

/**
 * For a test file: one Sentinel deployment started before its tests and stopped after them.
 * Returns a getter, valid once beforeAll ran.
 */
export function testSentinel(options?: SentinelOptions): () => TestSentinel {
  return forThisFile('Sentinel deployment', () => new TestSentinel(options));
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@redis/client';
import { slotOf } from '../../src/slot.js';
import {
  alive,
  dirs,
  hasRedisServer,
  INSTALL_HINT,
  killChild,
  type ServerExited,
  untilReady,
} from './server.js';

const run = promisify(execFile);

/** A plain connection to one node. No reconnecting: a dead node must fail fast, so that the
 * waits below ask another node. */
const nodeClient = (port: number) =>
  createClient({ socket: { host: HOST, port, reconnectStrategy: false, connectTimeout: 2000 } });
type Client = ReturnType<typeof nodeClient>;
const HOST = '127.0.0.1';

/** The product's slot function: the harness test checks it against CLUSTER KEYSLOT. */
export { slotOf };

export interface ClusterOptions {
  /** Masters (at least 3: `redis-cli --cluster create` refuses fewer). Default 3. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicas?: number;
  /** `--cluster-node-timeout`: how long until a silent master counts as failed. Default 1000. */
  nodeTimeoutMs?: number;
  /**
   * Extra redis-server arguments for every node, e.g. ['--cluster-require-full-coverage', 'no'],
   * or a function of the node's port (for a second port of its own, such as --tls-port).
   */
  extraArgs?: string[] | ((port: number) => string[]);
}

export interface ClusterNode {
  /** `127.0.0.1:port` */
  address: string;
  port: number;
  /** The cluster node id (40 hex chars). */
  id: string;
  role: 'master' | 'replica';
  /** The master's address, for a replica. */
  masterAddress: string | undefined;
  /** The redis-server's pid; undefined while killed. */
  pid: number | undefined;
  /** Slot ranges `[first, last]` this node serves. */
  slots: Array<[number, number]>;
  /** Marked `fail` by the cluster (or killed by us). */
  failed: boolean;
}

/** A step of `migrateSlot`, passed to its `onStep` before the migration goes on. */
export type MigrationStep =
  /** Target set IMPORTING; the source still owns the slot. */
  | 'importing'
  /** Source set MIGRATING: keys not on the source now get -ASK. */
  | 'migrating'
  /** One batch of keys was MIGRATEd (possibly several times). */
  | 'batch'
  /** Every key is on the target but the slot is not reassigned yet: every command gets -ASK. */
  | 'moved'
  /** SETSLOT NODE went to every master: clients now get -MOVED from the source. */
  | 'assigned';

interface Node {
  port: number;
  dir: string;
  child: ChildProcess | undefined;
  client: Client | undefined;
  connected: Promise<void> | undefined;
}

interface Parsed {
  id: string;
  address: string;
  flags: string[];
  masterId: string;
  slots: Array<[number, number]>;
}

class PortInUse extends Error {}

/**
 * A throwaway Redis Cluster on loopback: `masters` masters with `replicas` replicas each, one
 * redis-server child process per node (tracked by pid), each in its own directory under one temp
 * dir, with AOF fsynced on every write so an acknowledged write survives kill -9.
 */
export class TestCluster {
  readonly dir: string;
  readonly options: Required<ClusterOptions>;
  /** Nodes by address, in start order: the first `masters` were created as masters. */
  readonly #nodes = new Map<string, Node>();
  #seeds: string[] = [];

  constructor(options: ClusterOptions = {}) {
    this.options = { masters: 3, replicas: 1, nodeTimeoutMs: 1000, extraArgs: [], ...options };
    if (this.options.masters < 3) throw new Error('redis-cli --cluster create needs 3 masters');
    this.dir = mkdtempSync(join(tmpdir(), 'streamer-cluster-'));
    dirs.add(this.dir);
  }

  /** `redis://127.0.0.1:p1,127.0.0.1:p2,…`: the masters the cluster was created with, as seeds. */
  get url(): string {
    return `redis://${this.#seeds.join(',')}`;
  }

  /** The seeds as node-redis `createCluster({ rootNodes })` wants them. */
  get rootNodes(): Array<{ url: string }> {
    return this.#seeds.map((address) => ({ url: `redis://${address}` }));
  }

  /** Every pid this cluster started and that is still running. */
  get pids(): number[] {
    return [...this.#nodes.values()].flatMap((n) => (n.child?.pid ? [n.child.pid] : []));
  }

  async start(): Promise<this> {
    if (!hasRedisServer()) throw new Error(INSTALL_HINT.replace(' and REDIS_URL is not set', ''));
    const { masters, replicas } = this.options;
    try {
      const started = await Promise.all(
        Array.from({ length: masters * (1 + replicas) }, () => this.#startNewNode()),
      );
      this.#seeds = started.slice(0, masters);
      await run('redis-cli', [
        '--cluster',
        'create',
        ...started,
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await this.#settled();
    } catch (error) {
      await this.stop();
      throw error;
    }
    return this;
  }

  /** Kills exactly this cluster's redis-servers and removes its directory. */
  async stop(): Promise<void> {
    await Promise.all([...this.#nodes.keys()].map((address) => this.#kill(address)));
    rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }

  /** The cluster as a live node sees it (CLUSTER NODES), with our pids. */
  async nodes(): Promise<ClusterNode[]> {
    for (const [address, node] of this.#nodes) {
      if (!node.child) continue;
      try {
        const parsed = parseNodes(await this.call(address, 'CLUSTER', 'NODES'));
        const byId = new Map(parsed.map((p) => [p.id, p]));
        return parsed.map((p) => ({
          address: p.address,
          port: Number(p.address.split(':')[1]),
          id: p.id,
          role: p.flags.includes('master') ? 'master' : 'replica',
          masterAddress: byId.get(p.masterId)?.address,
          pid: this.#nodes.get(p.address)?.child?.pid,
          slots: p.slots,
          failed: p.flags.includes('fail') || !this.#nodes.get(p.address)?.child,
        }));
      } catch {
        // That node is going away; ask the next one.
      }
    }
    throw new Error('no node of the cluster answers');
  }

  async masters(): Promise<ClusterNode[]> {
    return (await this.nodes()).filter((n) => n.role === 'master' && !n.failed);
  }

  /** The address of the master serving `key`'s slot now. */
  async masterOf(key: string): Promise<string> {
    const slot = slotOf(key);
    const owner = (await this.masters()).find((n) =>
      n.slots.some(([a, b]) => slot >= a && slot <= b),
    );
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner.address;
  }

  /** Runs one command on one node over a plain (non-cluster) connection kept per node. */
  async call(address: string, ...args: string[]): Promise<string> {
    return String(await (await this.#client(address)).sendCommand(args));
  }

  async #client(address: string): Promise<Client> {
    const node = this.#node(address);
    if (!node.client?.isOpen) {
      const client = nodeClient(node.port);
      client.on('error', () => {});
      node.client = client;
      node.connected = client.connect().then(() => undefined);
    }
    await node.connected;
    return node.client;
  }

  /**
   * Moves `slot` to the master at `to` the way `redis-cli --cluster reshard` does. `onStep` is
   * awaited after each step, so a test can act while the slot is half migrated (ASK).
   */
  async migrateSlot(
    slot: number,
    to: string,
    { onStep, batch = 100 }: { onStep?: (step: MigrationStep) => unknown; batch?: number } = {},
  ): Promise<void> {
    const masters = await this.masters();
    const source = masters.find((n) => n.slots.some(([a, b]) => slot >= a && slot <= b));
    const target = masters.find((n) => n.address === to);
    if (!source || !target) throw new Error(`slot ${slot} or master ${to} not found`);
    if (source.address === to) return;
    await this.call(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id);
    await onStep?.('importing');
    await this.call(source.address, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
    await onStep?.('migrating');
    for (;;) {
      const keys = await this.#keysInSlot(source.address, slot, batch);
      if (keys.length === 0) break;
      await this.call(
        source.address,
        ...['MIGRATE', HOST, String(target.port), '', '0', '10000', 'KEYS', ...keys],
      );
      await onStep?.('batch');
    }
    await onStep?.('moved');
    // Target first, then the source, then the rest, as the Redis docs say: the target must own
    // the slot before the source stops redirecting with ASK.
    const order = [target, source, ...masters.filter((n) => n !== target && n !== source)];
    for (const n of order) {
      await this.call(n.address, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id);
    }
    await onStep?.('assigned');
    await this.#settled();
  }

  /** kill -9 a master; resolves with the replica promoted in its place, once the cluster is ok. */
  async killMaster(address: string): Promise<string> {
    const before = (await this.nodes()).find((n) => n.address === address);
    if (before?.role !== 'master') throw new Error(`${address} is not a master`);
    await this.#kill(address);
    // The replica votes itself in after about 2 × node timeout; wait for the promotion.
    let promoted = '';
    await until(`a replica of ${address} promoted`, async () => {
      const now = await this.masters();
      const heir = now.find((n) => n.slots.some(([a]) => a === before.slots[0]?.[0]));
      promoted = heir && heir.address !== address ? heir.address : '';
      return promoted !== '';
    });
    await this.#settled();
    return promoted;
  }

  /** kill -9 any node (also the last replica of a master: that is how to get CLUSTERDOWN). */
  async killNode(address: string): Promise<void> {
    await this.#kill(address);
  }

  /** Starts a killed node again from its own dir (nodes.conf, AOF): it rejoins, as a replica. */
  async restartNode(address: string): Promise<void> {
    const node = this.#node(address);
    if (node.child) throw new Error(`${address} is running`);
    await this.#spawn(node);
    await this.#settled();
  }

  /** CLUSTER FAILOVER on a replica: a planned switchover, no write lost; waits until done. */
  async failover(replicaAddress: string): Promise<void> {
    await this.call(replicaAddress, 'CLUSTER', 'FAILOVER');
    await until(`${replicaAddress} master`, async () =>
      (await this.call(replicaAddress, 'INFO', 'replication')).includes('role:master'),
    );
    await this.#settled();
  }

  /** Picks free ports and starts one node there; tries again when someone else took them. */
  async #startNewNode(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const port = await freeClusterPort(this.#nodes);
      const address = `${HOST}:${port}`;
      const node: Node = {
        port,
        dir: join(this.dir, String(port)),
        child: undefined,
        client: undefined,
        connected: undefined,
      };
      mkdirSync(node.dir);
      this.#nodes.set(address, node);
      try {
        await this.#spawn(node);
        return address;
      } catch (error) {
        this.#nodes.delete(address);
        rmSync(node.dir, { recursive: true, force: true });
        if (!(error instanceof PortInUse) || attempt >= 10) throw error;
      }
    }
  }

  async #spawn(node: Node): Promise<void> {
    const { nodeTimeoutMs, extraArgs } = this.options;
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(node.port), '--bind', HOST, '--dir', node.dir],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
        ...['--cluster-node-timeout', String(nodeTimeoutMs)],
        ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
        // A replica's first sync otherwise waits 5 s for more replicas to share the transfer.
        ...['--repl-diskless-sync-delay', '0'],
        ...(typeof extraArgs === 'function' ? extraArgs(node.port) : extraArgs),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    node.child = child;
    alive.add(child);
    child.once('exit', () => alive.delete(child));
    await untilReady(child).catch((error: ServerExited) => {
      node.child = undefined;
      throw error.output.includes('Address already in use')
        ? new PortInUse(`port ${node.port} or ${node.port + 10000} in use`)
        : error;
    });
    // A node that dies on its own (or by our kill) no longer counts as running.
    child.once('exit', () => {
      if (node.child === child) node.child = undefined;
    });
  }

  async #kill(address: string): Promise<void> {
    const node = this.#node(address);
    if (node.client?.isOpen) node.client.destroy();
    node.client = undefined;
    if (await killChild(node.child)) node.child = undefined;
  }

  #node(address: string): Node {
    const node = this.#nodes.get(address);
    if (!node) throw new Error(`${address} is not a node of this cluster`);
    return node;
  }

  async #keysInSlot(address: string, slot: number, count: number): Promise<string[]> {
    const client = await this.#client(address);
    return (await client.sendCommand([
      'CLUSTER',
      'GETKEYSINSLOT',
      String(slot),
      String(count),
    ])) as string[];
  }

  /**
   * Waits until every running node says cluster_state:ok and sees the same masters with the same
   * slots, and every master with slots has its replicas attached and online.
   */
  async #settled(): Promise<void> {
    const addresses = () => [...this.#nodes].filter(([, n]) => n.child).map(([a]) => a);
    let why = '';
    await until('the cluster to settle', async () => {
      const views = await Promise.all(
        addresses().map(async (address) => ({
          address,
          info: await this.call(address, 'CLUSTER', 'INFO'),
          nodes: parseNodes(await this.call(address, 'CLUSTER', 'NODES')),
        })),
      );
      const notOk = views.find((v) => !v.info.includes('cluster_state:ok'));
      if (notOk) return !(why = `${notOk.address} not cluster_state:ok`);
      const running = (n: Parsed) => this.#nodes.get(n.address)?.child !== undefined;
      const maps = views.map((v) => topology(v.nodes.filter(running)));
      const differs = views.find((_, i) => maps[i] !== maps[0]);
      if (differs) return !(why = `${differs.address} sees ${maps[views.indexOf(differs)]}`);
      const nodes = views[0].nodes.filter(running);
      for (const master of nodes.filter((n) => n.slots.length > 0)) {
        const live = nodes.filter((n) => n.masterId === master.id);
        const info = await this.call(master.address, 'INFO', 'replication');
        const online = info.match(/state=online/g)?.length ?? 0;
        if (online < live.length) return !(why = `${master.address}: ${online} online replicas`);
      }
      return true;
    }).catch((error: Error) => {
      throw new Error(`${error.message}: ${why}`);
    });
  }
}

/** A port p where p and p + 10000 (the cluster bus) are free, out of the ephemeral range. */
async function freeClusterPort(taken: Map<string, Node>): Promise<number> {
  for (;;) {
    // 12000–22000: neither p nor p + 10000 is an ephemeral port (32768+) a client could hold.
    const port = 12000 + Math.floor(Math.random() * 10000);
    if (taken.has(`${HOST}:${port}`)) continue;
    if ((await canBind(port)) && (await canBind(port + 10000))) return port;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** CLUSTER NODES, parsed; importing/migrating markers (`[slot->-id]`) are left out. */
function parseNodes(text: string): Parsed[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, masterId, , , , , ...slots] = line.trim().split(' ');
      return {
        id: id!,
        address: addr!.split('@')[0],
        flags: flags!.split(','),
        masterId: masterId!,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b = a] = s.split('-').map(Number);
            return [a!, b!] as [number, number];
          }),
      };
    });
}

/** One string per view: each node's role, master and slots, so that views compare with ===. */
function topology(nodes: Parsed[]): string {
  const byId = new Map(nodes.map((n) => [n.id, n.address]));
  return nodes
    .map((n) => {
      const role = n.flags.includes('master') ? 'master' : `replica of ${byId.get(n.masterId)}`;
      return `${n.address} ${role} ${n.slots.map(([a, b]) => `${a}-${b}`).join(',')}`;
    })
    .sort()
    .join('; ');
}

/** Polls `check` every 50 ms until it holds; errors while polling count as "not yet". */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

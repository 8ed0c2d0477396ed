import { StreamerError } from '@streamer/core';
import { durationMs, invalidArgument, positiveInteger } from '@streamer/core/backend';
import { isConnectionError, type RedisClient, toStreamerError } from './connection.js';
import type { Topology } from './topology.js';

/** `acks: 'replicas'`: how many replicas must hold a send, and how long to wait for them. */
export interface ReplicaAckOptions {
  replicas: number | 'all';
  timeoutMs: number;
}

/** The producer's `acks`, `replicas` and `replicaTimeoutMs`; undefined for `acks: 'leader'`. */
export function replicaAckOptions(extra: Record<string, unknown>): ReplicaAckOptions | undefined {
  const { acks, replicas, replicaTimeoutMs } = extra;
  if (acks === undefined || acks === 'leader') {
    if (replicas !== undefined || replicaTimeoutMs !== undefined)
      throw invalidArgument('acks', acks, "'replicas' when replicas or replicaTimeoutMs is set");
    return undefined;
  }
  if (acks !== 'replicas') throw invalidArgument('acks', acks, "'leader' or 'replicas'");
  return {
    replicas:
      replicas === 'all' || replicas === undefined
        ? 'all'
        : positiveInteger('replicas', replicas, 1),
    timeoutMs: durationMs(
      'replicaTimeoutMs',
      positiveInteger('replicaTimeoutMs', replicaTimeoutMs, 2000),
      2000,
    ),
  };
}

/**
 * WAIT on a master demoted to replica by a failover (refused, or unblocked by the demotion): what
 * it took may be lost.
 */
const DEMOTED = /^UNBLOCKED|WAIT cannot be used with replica/;

/** How many replicas are connected to the master at `node` now (INFO replication). */
export async function connectedReplicas(node: RedisClient): Promise<number> {
  const info = String(await node.sendCommand(['INFO', 'replication']));
  return Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
}

/** How long a master's count of replicas is trusted for `replicas: 'all'`. */
const REPLICA_COUNT_TTL_MS = 1000;

/** The sends of one master waiting for their WAIT, and what is known of its replicas. */
class NodeBatch {
  /** Confirmed by the next WAIT: their XADD replies came before it was sent. */
  waiting: { resolve(): void; reject(error: unknown): void }[] = [];
  busy = false;
  connected = 0;
  countedAt = Number.NEGATIVE_INFINITY;
}

/**
 * Confirms stored sends with WAIT on the master that took them, one WAIT per batch per node: a
 * WAIT covers every write made before it on its connection, and every XADD of a node goes over
 * that node's one shared connection (redirects included), so the sends whose replies arrived
 * while a WAIT was out are all confirmed by the next one.
 */
export class ReplicaAcks {
  readonly #redis: Topology;
  readonly #options: ReplicaAckOptions;
  readonly #nodes = new WeakMap<RedisClient, NodeBatch>();

  constructor(redis: Topology, options: ReplicaAckOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  /** Resolves once enough replicas hold what was written to `key`'s master so far. */
  async confirm(key: string): Promise<void> {
    const node = await this.#redis.nodeOf(key);
    let batch = this.#nodes.get(node);
    if (!batch) this.#nodes.set(node, (batch = new NodeBatch()));
    const done = new Promise<void>((resolve, reject) => batch.waiting.push({ resolve, reject }));
    if (!batch.busy) this.#wait(node, batch);
    return done;
  }

  async #wait(node: RedisClient, batch: NodeBatch): Promise<void> {
    batch.busy = true;
    while (batch.waiting.length > 0) {
      const sends = batch.waiting;
      batch.waiting = [];
      try {
        const needed = await this.#needed(node, batch);
        const acked = Number(
          await node.sendCommand(['WAIT', String(needed), String(this.#options.timeoutMs)]),
        );
        if (acked >= needed) for (const send of sends) send.resolve();
        else {
          batch.countedAt = Number.NEGATIVE_INFINITY; // a replica may have left: count again
          const error = new StreamerError(
            'NOT_REPLICATED',
            `${acked} of ${needed} replicas confirmed the write within replicaTimeoutMs ${this.#options.timeoutMs}: it is stored on the master and may still be lost in a failover`,
            { retriable: true },
          );
          for (const send of sends) send.reject(error);
        }
      } catch (error) {
        const failure =
          isConnectionError(error) || DEMOTED.test((error as Error)?.message ?? '')
            ? new StreamerError(
                'NOT_REPLICATED',
                `Lost the master before its replicas confirmed the write: it may or may not be stored (${(error as Error)?.message})`,
                { cause: error, retriable: true },
              )
            : toStreamerError(error, 'WAIT for replicas failed');
        for (const send of sends) send.reject(failure);
      }
    }
    batch.busy = false;
  }

  /** `replicas`, or for 'all' the master's replicas now (at least one; see replicasOf). */
  async #needed(node: RedisClient, batch: NodeBatch): Promise<number> {
    if (this.#options.replicas !== 'all') return this.#options.replicas;
    if (Date.now() - batch.countedAt > REPLICA_COUNT_TTL_MS) {
      batch.connected = await this.#redis.replicasOf(node);
      batch.countedAt = Date.now();
    }
    return Math.max(1, batch.connected);
  }
}

import { type Receipt, StreamerError, type Supports } from '@streamer/core';
import {
  AbstractProducer,
  durationMs,
  invalidArgument,
  type OutgoingMessage,
  positiveInteger,
  type ResolvedProducerOptions,
  sleep,
} from '@streamer/core/backend';
import { isConnectionError, type Lifecycle, toStreamerError } from './connection.js';
import { entrySequence } from './entry-id.js';
import type { RawEntry } from './groups.js';
import { pushFields, shardKey, wirePayload } from './layout.js';
import { ReplicaAcks, replicaAckOptions } from './replication.js';
import type { Topology } from './topology.js';
import { trimArgs } from './trim.js';

/**
 * One XADD: kept until Redis acknowledges it, so a lost connection can retry it in order. A class,
 * and without the XADD's arguments: V8 pretenures an object or array literal whose objects all
 * survive a scavenge, which a window of sends in flight easily looks like, and then runs at about
 * two thirds of its speed for the rest of the process (measured). Instances of a class are never
 * pretenured, and the arguments die once node-redis has written them.
 */
class Op {
  index: number;
  readonly key: string;
  readonly streamKey: string;
  readonly shardId: number;
  /** What the XADD carries, taken at send time: the caller may reuse its headers object. */
  readonly payload: string | Buffer;
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** `*`, or `<ms>-*` for a send with a timestamp. */
  readonly id: string;
  readonly issuedAt = Date.now();
  /** The command may have reached Redis (it failed after being written, not before). */
  maybeStored = false;
  /** Written again after a failure: through the cluster's routing, which follows redirects. */
  retry = false;
  /**
   * Set once the send waits outside the reply's own promise chain (queued for the window, or
   * held for a retry); a send answered at its first try never needs them.
   */
  resolve: ((receipt: Receipt) => void) | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;

  constructor(index: number, key: string, message: OutgoingMessage) {
    this.index = index;
    this.key = key;
    this.streamKey = message.streamKey;
    this.shardId = message.shardId;
    this.payload = wirePayload(message.payload);
    this.headers = message.headers && { ...message.headers };
    // Redis 7 takes `<ms>-*`: our timestamp, Redis' counter within the millisecond.
    this.id = message.timestamp ? `${message.timestamp.getTime()}-*` : '*';
  }
}

/**
 * XADDs on the wire per producer. 500 held the producer to about half of hand-written pipelining;
 * 2000 lets core's high-water mark (default 1000) be the limit. The window still bounds node-redis'
 * queue and how many sends a dropped connection leaves to check for when the mark is raised.
 */
const WINDOW = 2000;

/**
 * Pipelined XADD: every send is written at once on the shared connection of its key's node
 * (node-redis writes what is issued in one tick as one batch), replies come back in order. Per key
 * order holds because one connection carries every XADD of a key (on a cluster, node-redis follows
 * MOVED and ASK one command at a time, in reply order); after a lost connection, unacknowledged sends are retried in send
 * order before any later one, and sends Redis stored before the drop are recognised, not repeated.
 */
export class RedisProducer extends AbstractProducer {
  readonly #redis: Topology;
  readonly #lifecycle: Lifecycle;
  readonly #messageField: string;
  readonly #sharded: boolean;
  readonly #trim: string[];
  /** How long a send may wait for Redis to be reachable (and the cluster up) before it fails. */
  readonly #deliveryTimeoutMs: number;
  /** acks: 'replicas': confirms stored sends with WAIT before they resolve. */
  readonly #replicas: ReplicaAcks | undefined;
  #counter = 0;
  /** XADDs written and not yet answered: at most WINDOW, the rest wait in `#queued`. */
  #inFlight = 0;
  #queued: Op[] = [];
  #queuedHead = 0;
  /** While recovering from a lost connection: the sends to retry, then the newer ones. */
  #held: Op[] | undefined;
  /** The last id Redis acknowledged per key, to recognise sends stored before a drop. */
  readonly #lastIds = new Map<string, string>();
  #closed = false;
  #givenUp = false;

  constructor(
    redis: Topology,
    lifecycle: Lifecycle,
    messageField: string,
    anchor: string | undefined,
    options: ResolvedProducerOptions,
    supports: Supports,
  ) {
    super(anchor, options, supports);
    this.#redis = redis;
    this.#lifecycle = lifecycle;
    this.#messageField = messageField;
    this.#sharded = options.shards > 1;
    this.#trim = trimArgs(options.extra);
    this.#deliveryTimeoutMs = durationMs(
      'deliveryTimeoutMs',
      positiveInteger('deliveryTimeoutMs', options.extra.deliveryTimeoutMs, 120_000),
      120_000,
    );
    const replicas = replicaAckOptions(options.extra);
    this.#replicas = replicas && new ReplicaAcks(redis, replicas);
  }

  protected _send(message: OutgoingMessage): Promise<Receipt> {
    if (message.headers && this.#messageField in message.headers) {
      throw invalidArgument(
        `header ${JSON.stringify(this.#messageField)}`,
        message.headers[this.#messageField],
        'absent: that field holds the payload (see the messageField option)',
      );
    }
    const key = shardKey(message.streamKey, message.shardId, this.#sharded);
    const op = new Op(this.#counter++, key, message);
    // The common case answers with the reply's own promise chain: no promise of ours per send.
    if (this.#held === undefined && this.#inFlight < WINDOW && this.#queued.length === 0)
      return this.#issue(op);
    return new Promise((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
      this.#queued.push(op);
      this.#pump();
    });
  }

  /** Writes queued sends while fewer than WINDOW are unanswered. */
  #pump(): void {
    while (
      this.#held === undefined &&
      this.#inFlight < WINDOW &&
      this.#queuedHead < this.#queued.length
    ) {
      const op = this.#queued[this.#queuedHead];
      this.#queued[this.#queuedHead++] = undefined as unknown as Op;
      this.#issue(op).then(op.resolve, op.reject);
    }
    // Emptied in place: a new array here would be one allocation per send.
    if (this.#queuedHead > 0 && this.#queuedHead === this.#queued.length) {
      this.#queued.length = 0;
      this.#queuedHead = 0;
    }
  }

  /** Rejects the sends waiting for a lost connection, and any later one that would wait. */
  giveUpRetries(): void {
    this.#givenUp = true;
    if (this.#held) {
      this.#rejectHeld(
        new StreamerError(
          'CONNECT',
          'Redis was unreachable when the streamer disconnected: this send was not stored',
          { retriable: true },
        ),
      );
    }
  }

  protected override async _end(): Promise<void> {
    this.#closed = true;
  }

  /** Writes the XADD; the promise settles with its receipt, after any retries it needs. */
  #issue(op: Op): Promise<Receipt> {
    this.#inFlight++;
    const args: (string | Buffer)[] =
      this.#trim.length === 0 ? ['XADD', op.key, op.id] : ['XADD', op.key, ...this.#trim, op.id];
    pushFields(args, this.#messageField, op.payload, op.headers);
    return this.#redis.write(op.key, args, op.retry).then(
      (reply) => {
        this.#inFlight--;
        if (this.#queuedHead < this.#queued.length) this.#pump();
        const receipt = this.#stored(op, reply.toString());
        return this.#replicas ? this.#replicas.confirm(op.key).then(() => receipt) : receipt;
      },
      (error) => {
        this.#inFlight--;
        if (this.#queuedHead < this.#queued.length) this.#pump();
        return this.#failed(op, error);
      },
    );
  }

  /** The receipt of a stored send; rejects when its id does not fit a sequence (see entry-id.ts). */
  #stored(op: Op, id: string): Receipt {
    this.#lastIds.set(op.key, id);
    const { sequence, ms } = entrySequence(id);
    return { streamKey: op.streamKey, shardId: op.shardId, sequence, timestamp: new Date(ms) };
  }

  /**
   * A failed send: rejected with why, or, when the connection was lost or a cluster redirected
   * it, held for a retry.
   */
  #failed(op: Op, error: unknown): Promise<Receipt> {
    // A cluster's redirect: not stored, to be written again in order, to the right node.
    const redirected = /^(MOVED|ASK) /.test((error as Error)?.message ?? '');
    if ((!redirected && !isConnectionError(error)) || this.#closed || this.#givenUp)
      throw this.#explain(op, error);
    // ClientOfflineError: refused before writing. Anything else may have reached Redis.
    op.maybeStored ||= !redirected && (error as Error).name !== 'ClientOfflineError';
    const retried = new Promise<Receipt>((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
    });
    if (this.#held) this.#held.push(op);
    else {
      this.#held = [op];
      this.#recover().catch(() => {});
    }
    return retried;
  }

  async #recover(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // Let every failure of the dropped connection arrive, and the client reconnect.
      await sleep(attempt === 0 ? 10 : 100);
      if (this.#held === undefined) return; // given up meanwhile
      const oldest = Math.min(...this.#held.map((op) => op.issuedAt));
      if (Date.now() - oldest > this.#deliveryTimeoutMs) {
        this.#rejectHeld(
          new StreamerError(
            'CONNECT',
            `Redis could not take this send within deliveryTimeoutMs ${this.#deliveryTimeoutMs}: it was not stored`,
            { retriable: true },
          ),
        );
        return;
      }
      if (!this.#redis.isOpen) {
        this.#rejectHeld(
          new StreamerError(
            'CONNECT',
            'The Redis connection was closed: this send was not stored',
            {
              retriable: false,
            },
          ),
        );
        return;
      }
      if (!this.#redis.isReady) continue;
      try {
        await this.#settleStored(this.#held!);
      } catch (error) {
        // Not reachable again yet: look again later. Any other failure: the retries will say.
        if (isConnectionError(error)) continue;
      }
      if (this.#held === undefined) return; // given up meanwhile
      // Retries first, in send order; the queued sends are all newer, so they follow.
      const held = this.#held!.filter((op) => op.index >= 0).sort((a, b) => a.index - b.index);
      this.#held = undefined;
      for (const op of held) {
        op.retry = true;
        this.#issue(op).then(op.resolve, op.reject);
      }
      this.#pump();
      return;
    }
  }

  /**
   * Sends that may have been stored before the connection dropped: entries after the last
   * acknowledged id of their key whose fields match, in order, were stored by us; those resolve
   * with the stored id instead of being written twice.
   */
  async #settleStored(held: Op[]): Promise<void> {
    const byKey = new Map<string, Op[]>();
    const ordered = [...held].sort((a, b) => a.index - b.index);
    for (const op of ordered)
      if (op.maybeStored) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
    for (const [key, ops] of byKey) {
      const last = this.#lastIds.get(key);
      let i = 0;
      if (last) {
        // Everything after our last acknowledged entry, other producers' entries included, page
        // by page until each of ours is found or the entries run out (at most ten pages).
        let start = `(${last}`;
        for (let page = 0; page < 10 && i < ops.length; page++) {
          const entries = await this.#redis.send<RawEntry[]>(key, [
            'XRANGE',
            key,
            start,
            '+',
            'COUNT',
            '1000',
          ]);
          i = this.#match(ops, i, entries, 0);
          if (entries.length < 1000) break;
          start = `(${entries[entries.length - 1][0].toString()}`;
        }
      } else {
        // No acknowledged entry to start from: the key's last entries, if written lately.
        const count = String(ops.length * 2 + 16);
        const entries = await this.#redis.send<RawEntry[]>(key, [
          'XREVRANGE',
          key,
          '+',
          '-',
          'COUNT',
          count,
        ]);
        this.#match(ops, 0, entries.reverse(), ops[0].issuedAt - 60_000);
      }
    }
  }

  /** Matches `entries` in order against `ops` from `i` on; returns how many ops are matched. */
  #match(ops: Op[], i: number, entries: RawEntry[], notBeforeMs: number): number {
    let sent: (string | Buffer)[] | undefined; // the fields ops[i] wrote
    for (const [rawId, fields] of entries) {
      const op = ops[i];
      if (!op) break;
      const id = rawId.toString();
      if (Number(id.slice(0, id.indexOf('-'))) < notBeforeMs || fields === null) continue;
      if (sent === undefined) {
        sent = [];
        pushFields(sent, this.#messageField, op.payload, op.headers);
      }
      if (sameFields(fields, sent)) {
        sent = undefined;
        try {
          const receipt = this.#stored(op, id);
          if (this.#replicas)
            this.#replicas.confirm(op.key).then(() => op.resolve!(receipt), op.reject);
          else op.resolve!(receipt);
        } catch (error) {
          op.reject!(error); // stored, but its id does not fit a sequence
        }
        op.index = -1; // settled: not to be written again
        i++;
      }
    }
    return i;
  }

  #rejectHeld(error: StreamerError): void {
    for (const op of this.#held ?? []) op.reject!(error);
    for (let i = this.#queuedHead; i < this.#queued.length; i++) this.#queued[i].reject!(error);
    this.#held = undefined;
    this.#queued = [];
    this.#queuedHead = 0;
  }

  #explain(op: Op, error: unknown): StreamerError {
    const message = (error as Error)?.message ?? '';
    if (op.id !== '*' && message.includes('equal or smaller than the target stream top item')) {
      return new StreamerError(
        'INVALID_ARGUMENT',
        `timestamp ${new Date(Number(op.id.slice(0, -2))).toISOString()} is before the last entry of ${JSON.stringify(op.key)}: Redis stream ids only increase`,
        { cause: error },
      );
    }
    const failure = toStreamerError(error, `XADD to ${JSON.stringify(op.key)} failed`);
    this.#lifecycle.report(failure);
    return failure;
  }
}

function sameFields(stored: Buffer[], sent: (string | Buffer)[]): boolean {
  if (stored.length !== sent.length) return false;
  for (let i = 0; i < sent.length; i++) {
    const value = sent[i];
    if (!stored[i].equals(typeof value === 'string' ? Buffer.from(value) : value)) return false;
  }
  return true;
}

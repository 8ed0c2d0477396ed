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
import { BATCH_SCRIPT, scriptsRefused } from './batch-script.js';
import { isConnectionError, type Lifecycle, toStreamerError } from './connection.js';
import { entrySequence } from './entry-id.js';
import type { RawEntry } from './groups.js';
import { pushFields, shardKey, wirePayload } from './layout.js';
import { batchingOption } from './options.js';
import { ReplicaAcks, replicaAckOptions } from './replication.js';
import type { Topology } from './topology.js';
import { trimArgs } from './trim.js';

/**
 * One send: kept until Redis acknowledges it, so a lost connection can retry it in order. A class,
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
  /** The send's promise, settled once its call is answered, after any retries it needs. */
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
 * Sends on the wire per producer. With one XADD per send, 500 held the producer to about half of
 * hand-written pipelining; 2000 lets core's high-water mark (default 1000) be the limit. The
 * window still bounds node-redis' queue and how many sends a dropped connection leaves to check
 * for when the mark is raised.
 */
const WINDOW = 2000;

/**
 * A batch call carries at most this many sends and payload bytes: the script holds the server for
 * the whole batch (500 100-byte XADDs take under a millisecond), and half of core's high-water
 * mark lets two calls of a key be out at once. 250 to 1000 measured alike.
 */
const BATCH_COUNT = 500;
const BATCH_BYTES = 128 * 1024;

/**
 * Larger payloads go as single XADDs: there Redis, not Node, is the limit, and a script costs
 * Redis more per entry (each argument becomes a Lua string, then a Redis string again). Measured
 * against one XADD per send: 256 B 1.7x faster in a script, 512 B alike, 1 KiB 0.8x.
 */
const SCRIPT_PAYLOAD_MAX = 512;

/**
 * Script calls of one key in flight at once: with two, Node builds the next batch while Redis runs
 * the last; what is sent meanwhile queues up for the one after.
 */
const CALLS_PER_KEY = 2;

/** The sends of one key not yet written, and its script calls in flight. */
class KeyQueue {
  readonly key: string;
  ops: Op[] = [];
  head = 0;
  scripts = 0;

  constructor(key: string) {
    this.key = key;
  }
}

/**
 * Writes sends in order per key. `batching: 'script'` (default): what queued for a key while its
 * last call was out goes as one EVAL of the batch script (batch-script.ts), which XADDs them in
 * order; a lone send is a plain XADD, at once. `'pipeline'` (or where scripts are refused): one
 * XADD per send, pipelined. Either way every call of a key goes over one connection (on a
 * cluster, its master's; node-redis follows MOVED and ASK one command at a time, in reply order),
 * replies come back in order; after a lost connection, unacknowledged sends are retried in send
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
  /** Batch calls of the script; false once the server refused scripts (or by option). */
  #scripts: boolean;
  #counter = 0;
  /** Sends written and not yet answered: at most WINDOW, the rest wait in their key's queue. */
  #inFlight = 0;
  readonly #keys = new Map<string, KeyQueue>();
  /** Key queues with sends not yet written. */
  readonly #waiting = new Set<KeyQueue>();
  #flushQueued = false;
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
    this.#scripts = batchingOption(options.extra.batching) === 'script';
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
    const sent = new Promise<Receipt>((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
    });
    const queue = this.#queueOf(key);
    queue.ops.push(op);
    this.#waiting.add(queue);
    // Written once the caller's synchronous sends are queued: they make the first batch.
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
    return sent;
  }

  #queueOf(key: string): KeyQueue {
    let queue = this.#keys.get(key);
    if (queue === undefined) {
      queue = new KeyQueue(key);
      this.#keys.set(key, queue);
    }
    return queue;
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#held !== undefined) return;
    for (const queue of this.#waiting) {
      if (this.#inFlight >= WINDOW) return;
      this.#write(queue);
      if (queue.head === queue.ops.length) {
        this.#waiting.delete(queue);
        // Emptied in place: a new array here would be one allocation per batch.
        queue.ops.length = 0;
        queue.head = 0;
      }
    }
  };

  /** Writes what the window and the key's script calls in flight allow of its queued sends. */
  #write(queue: KeyQueue): void {
    const { ops } = queue;
    while (queue.head < ops.length && this.#inFlight < WINDOW) {
      const op = ops[queue.head];
      // One XADD per send by option, where scripts are refused, for a lone send, and for a large
      // payload. Never while a script call of the key is out, though: if that call were refused
      // (NOPERM), the XADD would be stored ahead of the sends it carried.
      if (
        !this.#scripts ||
        (queue.scripts === 0 &&
          (queue.head + 1 === ops.length || payloadBytes(op) >= SCRIPT_PAYLOAD_MAX))
      ) {
        this.#xadd(queue, op);
        ops[queue.head++] = undefined as unknown as Op;
        continue;
      }
      if (queue.scripts >= CALLS_PER_KEY) return;
      const limit = Math.min(
        ops.length,
        queue.head + BATCH_COUNT,
        queue.head + WINDOW - this.#inFlight,
      );
      let end = queue.head + 1;
      for (let bytes = payloadBytes(op); end < limit; end++) {
        bytes += payloadBytes(ops[end]);
        if (bytes > BATCH_BYTES) break;
      }
      this.#batch(queue, ops.slice(queue.head, end));
      ops.fill(undefined as unknown as Op, queue.head, end);
      queue.head = end;
    }
  }

  /** One send as one XADD. */
  #xadd(queue: KeyQueue, op: Op): void {
    this.#inFlight++;
    const args: (string | Buffer)[] =
      this.#trim.length === 0 ? ['XADD', op.key, op.id] : ['XADD', op.key, ...this.#trim, op.id];
    pushFields(args, this.#messageField, op.payload, op.headers);
    this.#redis.write<Buffer>(op.key, args, op.retry).then(
      (reply) => {
        this.#stored([op], [reply]);
        this.#answered(queue, 1, 0);
      },
      (error) => {
        this.#failed(op, error, false);
        this.#answered(queue, 1, 0);
      },
    );
  }

  /** Several sends of one key as one call of the batch script; its reply holds each XADD's. */
  #batch(queue: KeyQueue, ops: Op[]): void {
    this.#inFlight += ops.length;
    queue.scripts++;
    const args: (string | Buffer)[] = [
      'EVAL',
      BATCH_SCRIPT,
      '1',
      queue.key,
      this.#messageField,
      String(this.#trim.length),
    ];
    for (const arg of this.#trim) args.push(arg);
    let retry = false;
    /** Where the meta argument of the current run of plain entries is, and its length. */
    let run = -1;
    let plain = 0;
    for (const op of ops) {
      retry ||= op.retry;
      if (op.headers === undefined && op.id === '*') {
        if (run < 0) {
          run = args.length;
          args.push('');
        }
        args.push(op.payload);
        plain++;
        continue;
      }
      if (run >= 0) args[run] = `+${plain}`;
      run = -1;
      plain = 0;
      const meta = args.length;
      args.push('', op.payload);
      if (op.headers) for (const name in op.headers) args.push(name, op.headers[name]);
      args[meta] = `${op.id} ${args.length - meta - 2}`;
    }
    if (run >= 0) args[run] = `+${plain}`;
    this.#redis.write<(Buffer | Error)[]>(queue.key, args, retry).then(
      (replies) => {
        this.#stored(ops, replies);
        this.#answered(queue, ops.length, 1);
      },
      (error) => {
        const refused = scriptsRefused(error);
        if (refused) this.#scripts = false;
        for (const op of ops) this.#failed(op, error, refused);
        this.#answered(queue, ops.length, 1);
      },
    );
  }

  /**
   * A call answered, and its sends settled or held first: a later send must not be written while
   * an earlier one that failed is not yet held for its retry.
   */
  #answered(queue: KeyQueue, sends: number, scripts: number): void {
    this.#inFlight -= sends;
    queue.scripts -= scripts;
    if (this.#waiting.size > 0) this.#flush();
    // A key with nothing queued or held back is forgotten: a producer may write to many keys
    // over its life. XADDs still out need nothing of it.
    if (queue.scripts === 0 && queue.ops.length === 0) this.#keys.delete(queue.key);
  }

  /**
   * The replies of stored sends, in order: an id, or the error that one XADD of a batch got. With
   * acks: 'replicas' they resolve once WAIT confirmed them, one WAIT for the call.
   */
  #stored(ops: Op[], replies: (Buffer | string | Error)[]): void {
    const receipts: (Receipt | undefined)[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const reply = replies[i];
      if (reply instanceof Error) {
        receipts.push(undefined);
        this.#failed(op, reply, false);
        continue;
      }
      try {
        receipts.push(this.#receipt(op, reply.toString()));
      } catch (error) {
        receipts.push(undefined);
        op.reject!(error); // stored, but its id does not fit a sequence
      }
    }
    const resolve = () => {
      for (let i = 0; i < ops.length; i++) if (receipts[i]) ops[i].resolve!(receipts[i]!);
    };
    if (!this.#replicas) resolve();
    else
      this.#replicas.confirm(ops[0].key).then(resolve, (error) => {
        for (let i = 0; i < ops.length; i++) if (receipts[i]) ops[i].reject!(error);
      });
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

  /** The receipt of a stored send; throws when its id does not fit a sequence (see entry-id.ts). */
  #receipt(op: Op, id: string): Receipt {
    this.#lastIds.set(op.key, id);
    const { sequence, ms } = entrySequence(id);
    return { streamKey: op.streamKey, shardId: op.shardId, sequence, timestamp: new Date(ms) };
  }

  /**
   * A failed send: rejected with why, or held for a retry when it was not stored (a cluster's
   * redirect, a script the server lacks or refuses: `notStored`) or may have been (a lost
   * connection).
   */
  #failed(op: Op, error: unknown, notStored: boolean): void {
    notStored ||= /^(MOVED|ASK) /.test((error as Error)?.message ?? '');
    if ((!notStored && !isConnectionError(error)) || this.#closed || this.#givenUp) {
      op.reject!(this.#explain(op, error));
      return;
    }
    // ClientOfflineError: refused before writing. Anything else may have reached Redis.
    op.maybeStored ||= !notStored && (error as Error).name !== 'ClientOfflineError';
    if (this.#held) this.#held.push(op);
    else {
      this.#held = [op];
      this.#recover().catch(() => {});
    }
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
      // Retries first, in send order, ahead of the newer sends queued meanwhile.
      const held = this.#held!.filter((op) => op.index >= 0).sort((a, b) => a.index - b.index);
      this.#held = undefined;
      const retries = new Map<string, Op[]>();
      for (const op of held) {
        op.retry = true;
        const ops = retries.get(op.key);
        if (ops) ops.push(op);
        else retries.set(op.key, [op]);
      }
      for (const [key, ops] of retries) {
        const queue = this.#queueOf(key);
        queue.ops = ops.concat(queue.ops.slice(queue.head));
        queue.head = 0;
        this.#waiting.add(queue);
      }
      this.#flush();
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
        this.#stored([op], [id]);
        op.index = -1; // settled: not to be written again
        i++;
      }
    }
    return i;
  }

  #rejectHeld(error: StreamerError): void {
    for (const op of this.#held ?? []) op.reject!(error);
    for (const queue of this.#waiting)
      for (let i = queue.head; i < queue.ops.length; i++) queue.ops[i].reject!(error);
    this.#held = undefined;
    this.#waiting.clear();
    this.#keys.clear();
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

/** A send's share of a batch's byte limit: its payload, which dominates an entry's size. */
function payloadBytes(op: Op): number {
  return typeof op.payload === 'string' ? op.payload.length : op.payload.byteLength;
}

function sameFields(stored: Buffer[], sent: (string | Buffer)[]): boolean {
  if (stored.length !== sent.length) return false;
  for (let i = 0; i < sent.length; i++) {
    const value = sent[i];
    if (!stored[i].equals(typeof value === 'string' ? Buffer.from(value) : value)) return false;
  }
  return true;
}

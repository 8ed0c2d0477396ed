import { RESP_TYPES } from '@redis/client';
import { type ShardId, StreamerError, type StreamKey } from '@streamer/core';
import {
  type AsyncQueue,
  backoffDelay,
  publishReceive,
  type ResolvedConsumerOptions,
  sleep,
} from '@streamer/core/backend';
import { isConnectionError, toStreamerError } from './connection.js';
import { ackEntries, type RawEntry, takePending } from './groups.js';
import { decodeEntry, type RedisMessage } from './layout.js';
import type { Source } from './sources.js';
import type { Reader, Topology } from './topology.js';

/** XREAD/XREADGROUP reply: entries by key (see READ_OPTIONS), or null when none came. */
type ReadReply = Map<string, RawEntry[]> | null;

/**
 * XREAD's reply as a Map rather than as the client's flat array: node-redis allocates a map it
 * returns as an array at one site of its own, once per page, and each lives while the page
 * arrives. V8 ends up pretenuring that site, and an old-generation array holding each page kept
 * every page alive through the next scavenges: half the realtime read's speed went to the
 * garbage collector (measured). A Map comes from a constructor, which V8 never pretenures.
 */
const READ_OPTIONS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Map } };

/** A reply, and whether it came from replaying our own pending list. */
interface ReadResult {
  reply: ReadReply;
  replay: boolean;
  /** A replay: each entry's times-delivered, by key, in the order of the reply's entries. */
  counts?: Map<string, number[]>;
}

/** How long reads go through node-redis' ASK handling once a slot is being migrated. */
const ASK_MODE_MS = 1000;
/** How often a read in ASK mode polls when nothing came (it cannot block). */
const ASK_POLL_MS = 20;

/** What the read loops of one consumer share. */
export interface ReadContext {
  readonly redis: Topology;
  readonly options: ResolvedConsumerOptions;
  readonly queue: AsyncQueue<RedisMessage>;
  readonly messageField: Buffer;
  /**
   * How many buffered messages stop the loops from reading: a page per read group, so each group
   * keeps a read going while the others' pages are taken (one shared page left a cluster's
   * groups waiting for each other).
   */
  readonly readAhead: number;
  /** How long a read blocks; new keys and cursors are picked up at least this often. */
  readonly blockMs: number;
  readonly backoff: { initialMs: number; maxMs: number; maxAttempts: number | undefined };
  /** Aborted once the consumer ends or fails. */
  readonly signal: AbortSignal;
  /** Bumped by rewind/seek: what a read started before returns is stale. */
  readonly epoch: number;
  /** Set while rewind/seek moves the cursors: no read may start meanwhile. */
  readonly gate: Promise<void> | undefined;
  /** A read went out while messages are buffered: the consumer lets node-redis write it. */
  readIssued: boolean;
  isAssigned(stream: StreamKey, shard: ShardId): boolean;
  report(error: StreamerError): void;
  /** Ends the consumer's reading with what this read failure means. */
  fail(error: unknown): void;
  /** Creates the group again on keys deleted under us; rejects with why it cannot. */
  recreateGroups(sources: Source[]): Promise<void>;
}

/**
 * The read loop of one read group (the keys of one slot on a cluster; every key on a single
 * server): one XREAD or XREADGROUP at a time on a connection of its own, since BLOCK holds its
 * socket, filling the consumer's queue up to about one page. Realtime reads after each key's last
 * id; groups replay their own pending list, then read `>`.
 */
export class ReadLoop {
  readonly sources: Source[] = [];
  readonly #ctx: ReadContext;
  #reader: Reader | undefined;
  /** The read in flight, if any. */
  #reading: Promise<unknown> | undefined;
  /** Groups: the last read of new entries filled a page, so more are likely waiting. */
  #flowing = false;
  /** The last reply, cursors already moved past it: queued once the next read is out. */
  #unqueued: { results: ReadResult[]; epoch: number } | undefined;
  /** Wakes the loop when it has no key to read (every one unassigned) and assignments change. */
  #nudge: () => void = () => {};
  /** Until then reads go through node-redis' routing, which answers ASK with ASKING. */
  #askUntil = 0;
  readonly done: Promise<void>;

  constructor(ctx: ReadContext, first: Source) {
    this.#ctx = ctx;
    this.sources.push(first);
    this.done = this.#run();
  }

  get #group(): string | undefined {
    return this.#ctx.options.group;
  }

  /** Adds a newly found key of this read group; the next read includes it. */
  add(source: Source): void {
    this.sources.push(source);
    this.unblock();
  }

  /** Interrupts a blocked read so the loop picks up new cursors or keys at once. */
  unblock(): void {
    this.#nudge();
    const reader = this.#reader;
    if (!reader?.id) return;
    // Without permission for CLIENT UNBLOCK the read ends by itself within blockMs.
    reader.node.sendCommand(['CLIENT', 'UNBLOCK', reader.id]).catch(() => {});
  }

  /** Waits until no read is in flight, unblocking it (again, in case it had not blocked yet). */
  async quiesce(): Promise<void> {
    while (this.#reading) {
      const reading = this.#reading;
      this.unblock();
      await Promise.race([reading.catch(() => {}), sleep(20)]);
    }
  }

  /** Closes the read connection, which interrupts a blocked XREAD at once. */
  close(): void {
    this.#reader?.client.destroy();
  }

  get #stopped(): boolean {
    return this.#ctx.signal.aborted;
  }

  async #run(): Promise<void> {
    const ctx = this.#ctx;
    let attempt = 0;
    while (!this.#stopped) {
      try {
        if (ctx.queue.length >= ctx.readAhead) this.#enqueue();
        await ctx.queue.untilShorterThan(ctx.readAhead);
        if (this.#stopped) break;
        if (!this.#reader) {
          this.#enqueue();
          await this.#connect();
          continue;
        }
        // No await between this check and issuing the read: a reposition either waits for this
        // read or this read waits for it, so a read never races XGROUP SETID on the server.
        if (ctx.gate) {
          this.#enqueue();
          await ctx.gate;
          continue;
        }
        const active = this.sources.filter((s) => ctx.isAssigned(s.stream, s.shard));
        if (active.length === 0) {
          this.#enqueue();
          // Nothing here is assigned: look again after a while, or when assignments change.
          await new Promise<void>((resolve) => {
            this.#nudge = resolve;
            sleep(ctx.blockMs, ctx.signal).then(resolve, resolve);
          });
          continue;
        }
        const epoch = ctx.epoch;
        const read = this.#read(active);
        // Decoding the last page (below) can fail and end the loop before this read is awaited:
        // its own failure then matters to no one, and must not surface as an unhandled rejection.
        read.catch(() => {});
        this.#reading = read;
        // Redis serves the next page while we decode the last one (decoding first idled it).
        this.#enqueue();
        if (ctx.queue.length > 0) ctx.readIssued = true;
        const results = await read.finally(() => {
          this.#reading = undefined;
        });
        if (epoch === ctx.epoch && !this.#stopped) {
          for (const result of results) this.#advance(result);
          this.#unqueued = { results, epoch };
        }
        attempt = 0;
      } catch (error) {
        if (this.#stopped) break;
        this.#enqueue();
        const failure = await this.#recover(error, attempt++).catch((e: unknown) => e);
        if (failure === undefined) continue;
        ctx.fail(failure);
        break;
      }
    }
    this.close();
  }

  async #connect(): Promise<void> {
    const reader = await this.#ctx.redis.openReader(this.sources[0].key);
    if (this.#stopped) reader.client.destroy();
    else this.#reader = reader;
  }

  /**
   * One XREAD, or XREADGROUP. While a group's new entries come in full pages, two reads go out at
   * once (no BLOCK), so Redis fills the next page while we decode this one; XREAD cannot, as each
   * read starts after the last id of the one before.
   */
  #read(active: Source[]): Promise<ReadResult[]> {
    if (this.#group === undefined) return this.#readRealtime(active).then((r) => [r]);
    if (!this.#flowing || this.#asking || active.some((s) => s.replaying))
      return this.#readGroup(active, true).then((r) => [r]);
    return Promise.all([this.#readGroup(active, false), this.#readGroup(active, false)]);
  }

  get #asking(): boolean {
    return Date.now() < this.#askUntil;
  }

  /**
   * Sends a read on our own connection; while the slot migrates, through node-redis' routing
   * instead (it answers ASK with ASKING), which must not block: it shares the node's connection.
   */
  async #send(sources: Source[], args: string[], block: boolean): Promise<ReadReply> {
    if (!this.#asking) {
      if (block) args.splice(args.indexOf('STREAMS'), 0, 'BLOCK', String(this.#ctx.blockMs));
      return this.#reader!.client.sendCommand(args, READ_OPTIONS) as Promise<ReadReply>;
    }
    const reply = await this.#ctx.redis.send<ReadReply>(sources[0].key, args, READ_OPTIONS);
    if (!reply?.size && block) await sleep(ASK_POLL_MS, this.#ctx.signal);
    return reply;
  }

  async #readRealtime(sources: Source[]): Promise<ReadResult> {
    const args = ['XREAD', 'COUNT', String(this.#ctx.options.batchSize), 'STREAMS'];
    for (const s of sources) args.push(s.key);
    for (const s of sources) args.push(s.cursor);
    return { reply: await this.#send(sources, args, true), replay: false };
  }

  async #readGroup(active: Source[], block: boolean): Promise<ReadResult> {
    const replaying = active.filter((s) => s.replaying);
    if (replaying.length > 0) return this.#replay(replaying);
    const { batchSize, consumerId } = this.#ctx.options;
    const args = ['XREADGROUP', 'GROUP', this.#group!, consumerId, 'COUNT', String(batchSize)];
    args.push('STREAMS');
    for (const s of active) args.push(s.key);
    for (const s of active) args.push(s.cursor);
    return { reply: await this.#send(active, args, block), replay: false };
  }

  /**
   * A page of our own pending list per key, read without counting a delivery (see
   * `takePending`); a key whose list is done goes on with new entries.
   */
  async #replay(sources: Source[]): Promise<ReadResult> {
    const { batchSize, consumerId } = this.#ctx.options;
    const pages = await Promise.all(
      sources.map((s) =>
        takePending(
          this.#ctx.redis,
          s.key,
          this.#group!,
          consumerId,
          s.cursor === '0' || s.cursor === '0-0' ? '-' : `(${s.cursor}`,
          batchSize,
        ),
      ),
    );
    const reply: NonNullable<ReadReply> = new Map();
    const counts = new Map<string, number[]>();
    for (const [i, s] of sources.entries()) {
      const page = pages[i];
      reply.set(s.key, page.entries);
      counts.set(s.key, page.counts);
      if (page.last !== undefined) s.cursor = page.last;
      if (page.end) {
        s.replaying = false;
        s.cursor = '>';
      }
    }
    return { reply, replay: true, counts };
  }

  /** Moves the cursors past a reply, so the next read can go out before it is decoded. */
  #advance({ reply, replay }: ReadResult): void {
    if (!replay) this.#flowing = false;
    for (const [key, entries] of reply ?? []) {
      const source = this.sources.find((s) => s.key === key);
      if (!source || entries.length === 0) continue;
      if (this.#group === undefined) source.cursor = entries[entries.length - 1][0].toString();
      else if (entries.length >= this.#ctx.options.batchSize) this.#flowing = true;
    }
  }

  /** Decodes the reply held back by `#run` into the queue, unless a reposition made it stale. */
  #enqueue(): void {
    const unqueued = this.#unqueued;
    this.#unqueued = undefined;
    if (unqueued === undefined || unqueued.epoch !== this.#ctx.epoch || this.#stopped) return;
    for (const { reply, replay, counts } of unqueued.results)
      if (reply) this.#accept(reply, replay, counts);
  }

  #accept(reply: NonNullable<ReadReply>, replay: boolean, counts?: Map<string, number[]>): void {
    const { queue, messageField } = this.#ctx;
    const gone: [string, string][] = [];
    for (const [key, entries] of reply) {
      const source = this.sources.find((s) => s.key === key);
      if (!source || entries.length === 0) continue;
      const { claimed } = source;
      const delivered = counts?.get(key);
      // Indexed, not entries(): this runs for every entry read, and entries() makes a pair each.
      for (let j = 0; j < entries.length; j++) {
        const [rawId, fields] = entries[j];
        const id = rawId.toString();
        if (fields === null) {
          gone.push([key, id]); // deleted while pending: nothing to deliver, nothing to keep
          continue;
        }
        if (replay && claimed.size > 0 && claimed.delete(id)) continue; // already handed out
        // A replayed entry counts its next delivery, recorded when it is handed out.
        const count = delivered ? delivered[j] + 1 : 1;
        queue.push(decodeEntry(key, source.stream, source.shard, id, fields, messageField, count));
      }
      publishReceive('redis', this.#group, source.stream, source.shard, entries.length);
      source.pushed = entries[entries.length - 1][0].toString();
      // New entries come after everything claimed (claims are of entries delivered before).
      if (!replay) claimed.clear();
    }
    for (const [key, id] of gone)
      ackEntries(this.#ctx.redis, key, this.#group!, [id]).catch(() => {});
  }

  /**
   * What a failed read means: undefined to read again (after a redirect, a healed group, or a
   * lost connection once backed off), else the error for the consumer to fail with.
   */
  async #recover(error: unknown, attempt: number): Promise<unknown> {
    const message = (error as Error)?.message ?? '';
    if (message.startsWith('MOVED')) {
      // The slot has moved (resharding, failover): read from its new master.
      this.close();
      this.#reader = undefined;
      return undefined;
    }
    if (message.startsWith('ASK')) {
      // The slot is being migrated and some of our keys are already on the target.
      this.#askUntil = Date.now() + ASK_MODE_MS;
      return undefined;
    }
    const unblocked = message.startsWith('UNBLOCKED');
    if ((unblocked || message.startsWith('NOGROUP')) && this.#group !== undefined) {
      // A key was deleted (and maybe re-created) under us, while we read (UNBLOCKED) or between
      // reads (NOGROUP), or migrated to another node: recreate the group where it now is (an
      // existing group is kept) and go on.
      const failed = await this.#ctx.recreateGroups(this.sources).then(
        () => undefined,
        (e: unknown) => e,
      );
      // A node whose role is changing (READONLY) or that is gone: back off, as for any lost
      // connection, and read (and recreate) again.
      if (failed !== undefined)
        return isConnectionError(failed) ? this.#recover(failed, attempt) : failed;
    }
    if (unblocked) {
      // Also what a master demoted by CLUSTER FAILOVER answers a blocked read: read again, from
      // the node that now holds the slot.
      this.close();
      this.#reader = undefined;
      return undefined;
    }
    if (message.startsWith('NOGROUP') && this.#group !== undefined) return undefined;
    if (!isConnectionError(error)) return error;
    const { maxAttempts } = this.#ctx.backoff;
    if (maxAttempts !== undefined && attempt >= maxAttempts)
      return new StreamerError(
        'CONNECT',
        `Gave up reading after ${attempt} attempts to reconnect (maxReconnectAttempts): ${(error as Error)?.message}`,
        { cause: error, retriable: false },
      );
    this.close();
    this.#reader = undefined; // a new connection, maybe to another node
    if (this.#group !== undefined) {
      // A read whose reply was lost still moved its entries into our pending list: replay the
      // list after the last entry we queued (what came before is delivered or in the queue).
      for (const source of this.sources) {
        source.replaying = true;
        source.cursor = source.pushed;
      }
    }
    this.#ctx.report(toStreamerError(error, 'Reading from Redis failed, retrying'));
    await sleep(backoffDelay(attempt, this.#ctx.backoff), this.#ctx.signal).catch(() => {});
    return undefined;
  }
}

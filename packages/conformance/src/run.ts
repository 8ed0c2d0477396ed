import type { ConsumerOptions, Message, Run, Streamer } from '@streamer/core';
import { describe, expect } from 'vitest';
import {
  type ConformanceContext,
  expectCode,
  freshKey,
  range,
  resumable,
  texts,
} from './context.js';

/** A promise with its resolve at hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A fresh stream and a consumer of it (realtime unless `options` say otherwise), then `texts` sent to it. */
async function source(
  ctx: ConformanceContext,
  s: Streamer,
  texts: string[],
  options: ConsumerOptions = {},
  shards = 1,
) {
  const key = freshKey('run');
  // A group starts from the earliest message of a stream that exists; realtime may lack history.
  const group = options.mode !== undefined;
  const consumer = group ? undefined : await ctx.fromNow(s, key, options);
  const producer = await s.createProducer(key, { shards });
  for (const t of texts) producer.send(t);
  await producer.flush();
  return { key, consumer: consumer ?? (await ctx.consumer(s, key, options)) };
}

/** A handler counting its calls; `done` resolves once `n` of them resolved. */
function counter(n: number) {
  const seen: string[] = [];
  const all = deferred();
  return {
    seen,
    done: all.promise,
    handle: (m: Message) => {
      seen.push(m.text());
      if (seen.length === n) all.resolve();
    },
  };
}

/** consumer.run(): handlers, concurrency, ordering, retries, dead letters, pause and stop, on every backend. */
export function runTests(ctx: ConformanceContext): void {
  const { test, consumer, take, expectQuiet } = ctx;

  describe('run()', () => {
    test('concurrency is reached and never exceeded', { realtime: true }, async (s) => {
      const { consumer: c } = await source(ctx, s, range(24));
      let active = 0;
      let max = 0;
      const held: (() => void)[] = [];
      const finished = counter(24);
      const run = c.run({
        concurrency: 4,
        ordering: 'none',
        eachMessage: async (m) => {
          max = Math.max(max, ++active);
          // Each round holds 4 handlers until the 4th starts: a run that never reaches 4 hangs here.
          const release = deferred();
          held.push(release.resolve);
          if (held.length === 4) for (const r of held.splice(0)) r();
          await release.promise;
          active--;
          finished.handle(m);
        },
      });
      await finished.done;
      await run.stop();
      expect(max).toBe(4);
      expect(finished.seen.sort()).toEqual(range(24).sort());
      expect(run.stats).toMatchObject({ processed: 24, failed: 0, inFlight: 0 });
    });

    test('one shard is handled in order under concurrency 8 with 4 shards', {
      realtime: true,
      shards: true,
    }, async (s) => {
      const { consumer: c } = await source(ctx, s, range(200), {}, 4);
      const activeByShard = new Map<number, number>();
      const seqs = new Map<number, bigint[]>();
      let active = 0;
      let max = 0;
      const finished = counter(200);
      const run = c.run({
        concurrency: 8,
        eachMessage: async (m) => {
          const busy = (activeByShard.get(m.shardId) ?? 0) + 1;
          activeByShard.set(m.shardId, busy);
          expect(busy).toBe(1);
          max = Math.max(max, ++active);
          seqs.set(m.shardId, [...(seqs.get(m.shardId) ?? []), m.sequence]);
          await new Promise((r) => setImmediate(r));
          active--;
          activeByShard.set(m.shardId, busy - 1);
          finished.handle(m);
        },
      });
      await finished.done;
      await run.stop();
      expect([...seqs.keys()].sort()).toEqual([0, 1, 2, 3]);
      for (const list of seqs.values()) {
        expect(list).toEqual([...list].sort((a, b) => (a < b ? -1 : 1)));
        expect(list.length).toBe(50);
      }
      // Four shards, one handler each at a time: more than one runs, no more than four.
      expect(max).toBeGreaterThan(1);
      expect(max).toBeLessThanOrEqual(4);
    });

    test("ordering 'none' overlaps handlers within one shard", { realtime: true }, async (s) => {
      const { consumer: c } = await source(ctx, s, range(2));
      const both = deferred();
      let started = 0;
      const run = c.run({
        concurrency: 2,
        ordering: 'none',
        // The first handler waits for the second to start: without overlap, this never ends.
        eachMessage: async () => {
          if (++started === 2) both.resolve();
          await both.promise;
        },
      });
      await both.promise;
      await run.stop();
      expect(run.stats.processed).toBe(2);
    });

    test('a failed handler is retried, then succeeds, and its message is acked once', {
      resumable: true,
    }, async (s) => {
      const opts = resumable('disabled');
      const { key, consumer: c } = await source(ctx, s, ['m0'], opts);
      const attempts: number[] = [];
      const succeeded = deferred();
      const run = c.run({
        retry: { retries: 2, initialDelayMs: 1 },
        eachMessage: async (_m, { attempt }) => {
          attempts.push(attempt);
          if (attempt < 3) throw new Error(`fail ${attempt}`);
          succeeded.resolve();
        },
      });
      await succeeded.promise;
      await run.stop();
      await run.done;
      expect(attempts).toEqual([1, 2, 3]);
      expect(run.stats).toMatchObject({ processed: 1, failed: 2, retried: 2, deadLettered: 0 });
      await c.end();
      // Acked and committed by stop(): the group has nothing left.
      const again = await consumer(s, key, opts);
      await expectQuiet(again);
    });

    test('after its retries a message goes to the dead letters, with headers naming where it failed', {
      realtime: true,
    }, async (s) => {
      const { key, consumer: c } = await source(ctx, s, ['poison', 'fine']);
      const dlq = freshKey('dead');
      const dead = await ctx.fromNow(s, dlq);
      const finished = counter(1);
      const run = c.run({
        retry: { retries: 1, initialDelayMs: 1 },
        deadLetter: { stream: dlq },
        eachMessage: (m) => {
          if (m.text() === 'poison') throw new Error('cannot digest');
          finished.handle(m);
        },
      });
      const [letter] = await take(dead, 1);
      await finished.done;
      await run.stop();
      expect(letter.text()).toBe('poison');
      expect(run.stats).toMatchObject({ processed: 1, failed: 2, retried: 1, deadLettered: 1 });
      if (s.supports.headers) {
        expect(letter.headers).toMatchObject({
          'dead-letter-stream': key,
          'dead-letter-shard': '0',
          'dead-letter-delivery-count': '1',
          'dead-letter-error': 'cannot digest',
        });
        expect(BigInt(letter.headers['dead-letter-sequence'])).toBeGreaterThanOrEqual(0n);
      } else {
        // Without headers, the dead letter is the payload alone.
        expect(letter.headers).toEqual({});
      }
    });

    test('without deadLetter a failing handler stops the run with HANDLER_FAILED; the message comes back', {
      resumable: true,
    }, async (s) => {
      const opts = resumable('disabled');
      const { key, consumer: c } = await source(ctx, s, range(3), opts);
      const cause = new Error('m1 is bad');
      const run = c.run({
        eachMessage: (m) => {
          if (m.text() === 'm1') throw cause;
        },
      });
      const error = await expectCode(run.done, 'HANDLER_FAILED');
      expect(error.cause).toBe(cause);
      await c.end();
      const again = await consumer(s, key, opts);
      // m0 was acked and committed; m1 was not, nor anything after it in its shard.
      expect(texts(await take(again, 2))).toEqual(['m1', 'm2']);
    });

    test('a commit never passes a message whose handler has not finished', {
      resumable: true,
    }, async (s) => {
      const opts = resumable('disabled');
      const { key, consumer: c } = await source(ctx, s, range(6), opts);
      const others = counter(5);
      c.run({
        concurrency: 4,
        ordering: 'none',
        eachMessage: async (m, { signal }) => {
          if (m.text() !== 'm0') return others.handle(m);
          // Stuck until the run stops, then fails: m0 stays unacked.
          await new Promise((_, reject) => signal.addEventListener('abort', reject));
        },
      });
      await others.done;
      await c.end(); // stops the run, which commits what is finished
      const again = await consumer(s, key, opts);
      expect(texts(await take(again, 1))).toEqual(['m0']);
    });

    test('pause() holds new messages back; resume() goes on', { realtime: true }, async (s) => {
      const { consumer: c } = await source(ctx, s, range(4));
      const finished = counter(4);
      let run!: Run;
      run = c.run({
        eachMessage: (m) => {
          if (m.text() === 'm0') run.pause();
          finished.handle(m);
        },
      });
      await new Promise((r) => setTimeout(r, ctx.quietMs));
      expect(run.paused).toBe(true);
      expect(finished.seen).toEqual(['m0']);
      run.resume();
      expect(run.paused).toBe(false);
      await finished.done;
      await run.stop();
      expect(finished.seen).toEqual(range(4));
    });

    test('stop() waits for running handlers, commits their acks, and is idempotent', {
      resumable: true,
    }, async (s) => {
      const opts = resumable('disabled');
      const { key, consumer: c } = await source(ctx, s, ['m0'], opts);
      const started = deferred();
      const release = deferred();
      let finished = false;
      const run = c.run({
        eachMessage: async () => {
          started.resolve();
          await release.promise;
          finished = true;
        },
      });
      await started.promise;
      const stopped = run.stop();
      expect(run.stop()).toBe(stopped);
      release.resolve();
      await stopped;
      expect(finished).toBe(true);
      await run.done;
      await c.end();
      const again = await consumer(s, key, opts);
      await expectQuiet(again);
    });

    test('an aborted signal stops the run; the consumer is free again', {
      realtime: true,
    }, async (s) => {
      const { consumer: c } = await source(ctx, s, range(3));
      const abort = new AbortController();
      const run = c.run({
        signal: abort.signal,
        eachMessage: (m) => {
          if (m.text() === 'm0') abort.abort();
        },
      });
      await run.done;
      expect(run.stats.processed).toBe(1);
      // The run took m1 and perhaps m2 ahead and dropped them; next() works again.
      await c.next({ signal: AbortSignal.timeout(ctx.quietMs) }).catch(() => {});
    });

    test('a second run() and next() during a run are refused with ALREADY_RUNNING', {
      realtime: true,
    }, async (s) => {
      const { consumer: c } = await source(ctx, s, []);
      const run = c.run({ eachMessage: () => {} });
      await expectCode(() => c.run({ eachMessage: () => {} }), 'ALREADY_RUNNING');
      await expectCode(c.next(), 'ALREADY_RUNNING');
      await run.stop();
      const again = c.run({ eachMessage: () => {} });
      await again.stop();
    });

    test('a handler that throws synchronously is retried and then fails the run', {
      realtime: true,
    }, async (s) => {
      const { consumer: c } = await source(ctx, s, ['m0']);
      let calls = 0;
      const run = c.run({
        retry: { retries: 1, initialDelayMs: 1 },
        eachMessage: () => {
          calls++;
          throw new Error('sync');
        },
      });
      const error = await expectCode(run.done, 'HANDLER_FAILED');
      expect((error.cause as Error).message).toBe('sync');
      expect(calls).toBe(2);
    });

    test('end() during a run stops it first', { realtime: true }, async (s) => {
      const { consumer: c } = await source(ctx, s, ['m0']);
      const started = deferred();
      let finished = false;
      const run = c.run({
        eachMessage: async () => {
          started.resolve();
          await new Promise((r) => setImmediate(r));
          finished = true;
        },
      });
      await started.promise;
      await c.end();
      expect(finished).toBe(true);
      await run.done;
    });

    test('eachBatch gets every message once, in order per shard, and ctx.ack acks early', {
      realtime: true,
    }, async (s) => {
      const { consumer: c } = await source(ctx, s, range(30));
      const got: string[] = [];
      const all = deferred();
      const run = c.run({
        eachBatch: (batch, { ack }) => {
          ack(batch[0]);
          ack(batch[0]); // twice is once
          got.push(...texts(batch));
          if (got.length === 30) all.resolve();
        },
      });
      await all.promise;
      await run.stop();
      expect(got).toEqual(range(30));
      expect(run.stats.processed).toBe(30);
    });

    test('run() refuses bad options', { realtime: true }, async (s) => {
      const key = freshKey('run-bad');
      const c = await consumer(s, key);
      const each = () => {};
      await expectCode(() => c.run({}), 'INVALID_ARGUMENT');
      await expectCode(() => c.run({ eachMessage: each, eachBatch: each }), 'INVALID_ARGUMENT');
      await expectCode(() => c.run({ eachMessage: each, concurrency: 0 }), 'INVALID_ARGUMENT');
      await expectCode(
        () => c.run({ eachMessage: each, ordering: 'random' as 'none' }),
        'INVALID_ARGUMENT',
      );
      const typo = await expectCode(
        () => c.run({ eachMessage: each, concurency: 8 } as object),
        'INVALID_ARGUMENT',
      );
      expect(typo.message).toContain('concurency');
      await expectCode(
        () => c.run({ eachMessage: each, retry: { retries: -1 } }),
        'INVALID_ARGUMENT',
      );
      await expectCode(
        () => c.run({ eachMessage: each, deadLetter: { stream: key } }),
        'INVALID_ARGUMENT',
      );
      // Nothing was started by the refused calls: a valid run is accepted.
      await c.run({ eachMessage: each }).stop();
    });

    test("with autoCommit 'immediate' a message is acked when its handler resolves, not on delivery", {
      resumable: true,
    }, async (s) => {
      const opts = resumable('immediate');
      const { key, consumer: c } = await source(ctx, s, range(3), opts);
      const run = c.run({
        eachMessage: (m) => {
          if (m.text() === 'm1') throw new Error('m1 is bad');
        },
      });
      await expectCode(run.done, 'HANDLER_FAILED');
      await c.end();
      const again = await consumer(s, key, opts);
      // m0 was acked when its handler resolved; m1 failed, so neither it nor m2 was.
      expect(texts(await take(again, 2))).toEqual(['m1', 'm2']);
    });

    test('a message handed out again counts its deliveries, and maxDeliveries sends it to the dead letters', {
      resumable: true,
      deliveryCount: true,
    }, async (s) => {
      const opts = resumable('disabled');
      const { key, consumer: first } = await source(ctx, s, range(2), opts);
      const taken = await take(first, 1);
      expect(taken[0].deliveryCount ?? 1).toBe(1);
      await first.end(); // m0 handed out and never acked
      // A member that replays m0 and never hands it out: that replay does not count.
      await (await consumer(s, key, opts)).end();
      const dlq = freshKey('dead');
      const dead = await ctx.fromNow(s, dlq);
      const c = await consumer(s, key, opts);
      const calls: [string, number, number][] = [];
      const finished = counter(1);
      const run = c.run({
        retry: { retries: 3, initialDelayMs: 1 },
        deadLetter: { stream: dlq, maxDeliveries: 2 },
        eachMessage: (m, { deliveryCount }) => {
          calls.push([m.text(), m.deliveryCount ?? 1, deliveryCount]);
          if (m.text() === 'm0') throw new Error('m0 is bad');
          finished.handle(m);
        },
      });
      const [letter] = await take(dead, 1);
      await finished.done;
      await run.stop();
      // Its second delivery reached maxDeliveries: dead-lettered on its first failure, no retries.
      expect(calls.filter(([t]) => t === 'm0')).toEqual([['m0', 2, 2]]);
      // m1 may have been read ahead with m0 (one count more, never two): handled, not dead.
      const [[, count]] = calls.filter(([t]) => t === 'm1');
      expect(count).toBeLessThanOrEqual(2);
      expect(letter.text()).toBe('m0');
      if (s.supports.headers) expect(letter.headers['dead-letter-delivery-count']).toBe('2');
    });
  });
}

import type {
  AutoCommit,
  Consumer,
  ConsumerOptions,
  ErrorCode,
  Message,
  Receipt,
  Streamer,
  StreamKey,
  Supports,
} from '@streamer/core';
import { afterEach, describe, expect, it } from 'vitest';

export interface ConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /** Opens a streamer. Every call must reach the same data (tests reconnect to check resuming). */
  connect(): Promise<Streamer>;
  /** What the backend can do: tests for anything else are skipped. */
  supports: Supports;
  /** Merged into every createConsumer call, for backend-specific options. */
  consumerOptions?: Record<string, unknown>;
  /** How long a test waits for one message before failing. Default 5000. */
  messageTimeoutMs?: number;
  /** How long "nothing more arrives" is watched for. Default 300. */
  quietMs?: number;
}

let keyCounter = 0;

/**
 * A stream key no other test (or earlier run) uses: `t-`, then `STREAMER_TEST_RUN` and a dash
 * when that is set (so a test run can find and delete its keys afterwards), then `tag`.
 */
export function freshKey(tag = 'k'): StreamKey {
  const run = process.env.STREAMER_TEST_RUN ? `${process.env.STREAMER_TEST_RUN}-` : '';
  return `t-${run}${tag}-${Date.now().toString(36)}-${process.pid}-${++keyCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Reads `n` messages, failing (not hanging) when one takes longer than `timeoutMs`: the helper
 * the suite uses, exported for backends' own tests.
 */
export async function takeMessages(c: Consumer, n: number, timeoutMs = 5000): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    try {
      out.push(await c.next({ signal: AbortSignal.timeout(timeoutMs) }));
    } catch (error) {
      throw new Error(`received ${i} of ${n} messages, then: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return out;
}

async function expectCode(
  promise: Promise<unknown> | (() => unknown),
  code: ErrorCode,
): Promise<void> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a StreamerError ${code}`).toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toBe(code);
}

/**
 * Registers the shared conformance tests for a backend with vitest:
 *
 *     runConformance({ name: 'file', connect: () => connect(url), supports: backend.supports });
 */
export function runConformance(options: ConformanceOptions): void {
  const { supports } = options;
  const messageTimeoutMs = options.messageTimeoutMs ?? 5000;
  const quietMs = options.quietMs ?? 300;
  const opened: Streamer[] = [];

  async function open(): Promise<Streamer> {
    const streamer = await options.connect();
    opened.push(streamer);
    return streamer;
  }

  function consumer(
    streamer: Streamer,
    streams: StreamKey | StreamKey[],
    extra: ConsumerOptions = {},
  ) {
    return streamer.createConsumer(streams, {
      ...options.consumerOptions,
      ...extra,
    } as ConsumerOptions);
  }

  const take = (c: Consumer, n: number) => takeMessages(c, n, messageTimeoutMs);

  /** Asserts nothing more arrives for quietMs. */
  async function expectQuiet(c: Consumer): Promise<void> {
    let extra: Message | undefined;
    try {
      extra = await c.next({ signal: AbortSignal.timeout(quietMs) });
    } catch (error) {
      expect((error as { code?: string }).code).toBe('TIMEOUT');
    }
    expect(
      extra && { stream: extra.streamKey, seq: extra.sequence, text: extra.text() },
    ).toBeUndefined();
  }

  const texts = (messages: Message[]) => messages.map((m) => m.text());
  const range = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  /** A fresh stream holding `range(n)`, stored. */
  async function filledStream(streamer: Streamer, tag: string, n: number): Promise<StreamKey> {
    const key = freshKey(tag);
    const p = await streamer.createProducer(key);
    for (const t of range(n)) p.send(t);
    await p.flush();
    return key;
  }

  /** A resumable consumer's options, in a fresh group, from the earliest message. */
  const resumable = (autoCommit: AutoCommit): ConsumerOptions => ({
    mode: 'resumable',
    group: freshKey('g'),
    start: 'earliest',
    autoCommit,
  });

  /** A consumer that sees messages sent after this call: `earliest` where history exists, else `latest`. */
  function fromNow(
    streamer: Streamer,
    streams: StreamKey | StreamKey[],
    extra: ConsumerOptions = {},
  ) {
    return consumer(streamer, streams, {
      start: supports.history ? 'earliest' : 'latest',
      ...extra,
    });
  }

  const when = (flag: boolean) => (flag ? it : it.skip);

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.disconnect()));
  });

  describe(`conformance: ${options.name}`, () => {
    describe('producer', () => {
      it('receipts carry the stream key, shard 0 and strictly increasing sequences', async () => {
        const s = await open();
        const key = freshKey('receipt');
        const p = await s.createProducer(key);
        expect(p.anchor).toBe(key);
        const receipts: Receipt[] = [];
        for (let i = 0; i < 5; i++) receipts.push(await p.send(`r${i}`));
        for (const [i, r] of receipts.entries()) {
          expect(r.streamKey).toBe(key);
          expect(r.shardId).toBe(0);
          expect(typeof r.sequence).toBe('bigint');
          expect(r.timestamp).toBeInstanceOf(Date);
          if (i > 0) expect(r.sequence > receipts[i - 1]!.sequence).toBe(true);
        }
        await p.end();
      });

      it('keeps per-stream order for un-awaited sends and delivers them all', async () => {
        const s = await open();
        const key = freshKey('order');
        const c = await fromNow(s, key);
        const p = await s.createProducer(key);
        const sends = range(2000).map((t) => p.send(t));
        await p.flush();
        const receipts = await Promise.all(sends);
        for (let i = 1; i < receipts.length; i++)
          expect(receipts[i]!.sequence > receipts[i - 1]!.sequence).toBe(true);
        const got = await take(c, 2000);
        expect(texts(got)).toEqual(range(2000));
        expect(got.map((m) => m.sequence)).toEqual(receipts.map((r) => r.sequence));
        await expectQuiet(c);
      });

      it('flush() is a barrier: every send before it has its receipt when it resolves', async () => {
        const s = await open();
        const p = await s.createProducer(freshKey('flush'));
        let settled = 0;
        for (let i = 0; i < 500; i++) p.send(`f${i}`).then(() => settled++);
        await p.flush();
        await Promise.resolve(); // let the receipts' own handlers run
        expect(settled).toBe(500);
        expect(p.pending).toBe(0);
      });

      it('end() is idempotent and later sends reject PRODUCER_ENDED', async () => {
        const s = await open();
        const p = await s.createProducer(freshKey('end'));
        const receipt = p.send('last');
        await Promise.all([p.end(), p.end()]);
        await expect(receipt).resolves.toMatchObject({ shardId: 0 });
        await p.end();
        await expectCode(p.send('late'), 'PRODUCER_ENDED');
        await expectCode(p.sendTo(freshKey(), 'late'), 'PRODUCER_ENDED');
      });

      it('an un-awaited failed send does not crash, and flush() reports it', async () => {
        const s = await open();
        const p = await s.createProducer();
        p.sendTo('not a valid key!', 'x');
        await expectCode(p.flush(), 'INVALID_STREAM_KEY');
        await p.flush(); // reported once
      });

      it('sendTo writes to any stream, and anchorTo anchors once', async () => {
        const s = await open();
        const [a, b] = [freshKey('a'), freshKey('b')];
        const c = await fromNow(s, [a, b]);
        const p = await s.createProducer();
        expect(p.anchor).toBeUndefined();
        await expectCode(p.send('x'), 'NOT_ANCHORED');
        await p.flush().catch(() => {});
        await p.sendTo(a, 'to-a');
        p.anchorTo(b);
        await expectCode(() => p.anchorTo(a), 'ALREADY_ANCHORED');
        await p.send('to-b');
        const got = await take(c, 2);
        expect(got.map((m) => [m.streamKey, m.text()]).sort()).toEqual([
          [a, 'to-a'],
          [b, 'to-b'],
        ]);
      });

      it('sends empty and text payloads; text() and json() decode them', async () => {
        const s = await open();
        const key = freshKey('text');
        const c = await fromNow(s, key);
        const p = await s.createProducer(key);
        await p.send('');
        await p.send('{"n":1}');
        await p.send('héllo wörld ✓');
        const [m1, m2, m3] = await take(c, 3);
        expect(m1!.payload.length).toBe(0);
        expect(m2!.json()).toEqual({ n: 1 });
        expect(m3!.text()).toBe('héllo wörld ✓');
        await expectCode(() => m3!.json(), 'INVALID_PAYLOAD');
      });

      when(supports.binaryPayloads)('sends binary payloads byte for byte', async () => {
        const s = await open();
        const key = freshKey('bin');
        const c = await fromNow(s, key);
        const p = await s.createProducer(key);
        const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
        await p.send(bytes);
        await p.send(new Uint8Array(0));
        const [m1, m2] = await take(c, 2);
        expect(Buffer.from(m1!.payload).equals(Buffer.from(bytes))).toBe(true);
        expect(m2!.payload.length).toBe(0);
        await expectCode(() => m1!.text(), 'INVALID_PAYLOAD');
      });
    });

    describe('realtime', () => {
      when(supports.realtime)("'latest' sees only what is sent after it started", async () => {
        const s = await open();
        const key = freshKey('latest');
        const p = await s.createProducer(key);
        for (const t of range(3, 'old')) await p.send(t);
        const c = await consumer(s, key, { start: 'latest' });
        for (const t of range(3, 'new')) await p.send(t);
        expect(texts(await take(c, 3))).toEqual(range(3, 'new'));
        await expectQuiet(c);
      });

      when(supports.realtime && supports.history)(
        "'earliest' sees the history, then live messages",
        async () => {
          const s = await open();
          const key = freshKey('earliest');
          const p = await s.createProducer(key);
          for (const t of range(3, 'old')) await p.send(t);
          const c = await consumer(s, key, { start: 'earliest' });
          expect(texts(await take(c, 3))).toEqual(range(3, 'old'));
          for (const t of range(3, 'new')) await p.send(t);
          expect(texts(await take(c, 3))).toEqual(range(3, 'new'));
        },
      );

      when(supports.realtime)('one consumer reads several streams, each in order', async () => {
        const s = await open();
        const keys = [freshKey('x'), freshKey('y'), freshKey('z')];
        const c = await fromNow(s, keys);
        const p = await s.createProducer();
        for (let i = 0; i < 20; i++) for (const key of keys) p.sendTo(key, `${key}/${i}`);
        await p.flush();
        const got = await take(c, 60);
        for (const key of keys) {
          expect(got.filter((m) => m.streamKey === key).map((m) => m.text())).toEqual(
            range(20).map((_, i) => `${key}/${i}`),
          );
        }
      });

      when(supports.realtime)(
        'a stream that appears after the consumer started is read',
        async () => {
          const s = await open();
          const [a, b] = [freshKey('old'), freshKey('new')];
          const p = await s.createProducer();
          await p.sendTo(a, 'a0');
          const c = await consumer(s, [a, b], { start: 'latest' });
          await p.sendTo(b, 'b0');
          await p.sendTo(a, 'a1');
          await p.sendTo(b, 'b1');
          const got = await take(c, 3);
          expect(texts(got).sort()).toEqual(['a1', 'b0', 'b1']);
        },
      );

      when(supports.realtime)('a quiet stream is not starved by a busy one', async () => {
        const s = await open();
        const [busy, quiet] = [freshKey('busy'), freshKey('quiet')];
        const c = await fromNow(s, [busy, quiet], { batchSize: 5 });
        const p = await s.createProducer();
        for (let i = 0; i < 500; i++) p.sendTo(busy, `b${i}`);
        await p.sendTo(quiet, 'q0');
        for (let i = 500; i < 1000; i++) p.sendTo(busy, `b${i}`);
        await p.flush();
        const got = await take(c, 1001);
        expect(got.filter((m) => m.streamKey === quiet).map((m) => m.text())).toEqual(['q0']);
        expect(texts(got.filter((m) => m.streamKey === busy))).toEqual(range(1000, 'b'));
      });

      it('async iteration yields messages and break ends the consumer', async () => {
        const s = await open();
        const key = freshKey('iter');
        const c = await fromNow(s, key);
        const p = await s.createProducer(key);
        for (const t of range(5)) p.send(t);
        await p.flush();
        const seen: string[] = [];
        for await (const m of c) {
          seen.push(m.text());
          if (seen.length === 3) break;
        }
        expect(seen).toEqual(range(3));
        await expectCode(c.next(), 'CONSUMER_ENDED');
      });

      it('an aborted signal ends the consumer and rejects a waiting next() with ABORTED', async () => {
        const s = await open();
        const controller = new AbortController();
        const c = await fromNow(s, freshKey('abort'), { signal: controller.signal });
        const waiting = c.next();
        setTimeout(() => controller.abort(), 20);
        const error = await waiting.catch((e) => e);
        expect(error.code).toBe('ABORTED');
        expect(error.name).toBe('AbortError');
        await expectCode(c.next(), 'ABORTED');
      });

      it('next({ signal }) gives up without taking a message: the next call gets it', async () => {
        const s = await open();
        const key = freshKey('timeout');
        const c = await fromNow(s, key);
        await expectCode(c.next({ signal: AbortSignal.timeout(50) }), 'TIMEOUT');
        await expectCode(c.next({ signal: AbortSignal.abort() }), 'ABORTED');
        const p = await s.createProducer(key);
        await p.send('after');
        expect(texts(await take(c, 1))).toEqual(['after']);
      });

      it('end() is idempotent, and next() after it rejects CONSUMER_ENDED', async () => {
        const s = await open();
        const c = await fromNow(s, freshKey('cend'));
        const waiting = c.next();
        waiting.catch(() => {}); // rejects while end() runs; checked below
        await Promise.all([c.end(), c.end()]);
        await expectCode(waiting, 'CONSUMER_ENDED');
        await expectCode(c.next(), 'CONSUMER_ENDED');
        await c[Symbol.asyncDispose]();
      });

      it('disconnect() ends every consumer and producer of the streamer', async () => {
        const s = await open();
        const c = await fromNow(s, freshKey('disc'));
        const p = await s.createProducer(freshKey('disc'));
        const waiting = c.next();
        waiting.catch(() => {}); // rejects while disconnect() runs; checked below
        await s.disconnect();
        await expectCode(waiting, 'CONSUMER_ENDED');
        await expectCode(p.send('x'), 'PRODUCER_ENDED');
        await expectCode(s.createProducer(), 'DISCONNECTED');
        await s.disconnect();
      });
    });

    describe('resumable', () => {
      when(supports.resumable)(
        'a consumer resumes after the last commit; unacked messages come back',
        async () => {
          const s1 = await open();
          const key = await filledStream(s1, 'resume', 10);
          const opts = resumable('disabled');
          const c1 = await consumer(s1, key, opts);
          const first = await take(c1, 6);
          expect(texts(first)).toEqual(range(6));
          for (const m of first.slice(0, 4)) c1.ack(m);
          await c1.commit();
          await c1.end();
          await s1.disconnect();

          const s2 = await open();
          const c2 = await consumer(s2, key, opts);
          expect(texts(await take(c2, 6))).toEqual(range(10).slice(4));
          const p2 = await s2.createProducer(key);
          await p2.send('new');
          await p2.send('new2');
          const rest = texts(await take(c2, 2));
          expect(rest).toEqual(['new', 'new2']);
        },
      );

      when(supports.resumable)(
        'ack() takes a header rebuilt from its fields, as after a round trip through JSON',
        async () => {
          const s = await open();
          const key = await filledStream(s, 'rebuilt', 5);
          const opts = resumable('disabled');
          const c1 = await consumer(s, key, opts);
          for (const m of await take(c1, 3)) {
            const { streamKey, shardId, sequence, timestamp } = JSON.parse(
              JSON.stringify({ ...m, sequence: String(m.sequence) }),
            );
            c1.ack({
              streamKey,
              shardId,
              sequence: BigInt(sequence),
              timestamp: new Date(timestamp),
            });
          }
          await c1.end();
          const c2 = await consumer(s, key, opts);
          expect(texts(await take(c2, 2))).toEqual(range(5).slice(3));
          await c2.end();
          await s.disconnect();
        },
      );

      when(supports.resumable)(
        "autoCommit 'delayed' commits what was delivered when the consumer ends",
        async () => {
          const s = await open();
          const key = await filledStream(s, 'delayed', 8);
          const opts = resumable('delayed');
          const c1 = await consumer(s, key, opts);
          expect(texts(await take(c1, 5))).toEqual(range(5));
          await c1.end();
          const c2 = await consumer(s, key, opts);
          expect(texts(await take(c2, 3))).toEqual(range(8).slice(5));
        },
      );

      when(supports.resumable)(
        "a new group with 'latest' starts at the end, with 'earliest' at the start",
        async () => {
          const key = freshKey('newgroup');
          const s = await open();
          const p = await s.createProducer(key);
          await p.send('old');
          const late = await consumer(s, key, {
            mode: 'resumable',
            group: freshKey('g'),
            start: 'latest',
          });
          const early = await consumer(s, key, {
            mode: 'resumable',
            group: freshKey('g'),
            start: 'earliest',
          });
          await p.send('new');
          expect(texts(await take(late, 1))).toEqual(['new']);
          expect(texts(await take(early, 2))).toEqual(['old', 'new']);
        },
      );

      when(supports.resumable)(
        "autoCommit 'rolling' refuses a manual commit(); 'disabled' accepts it",
        async () => {
          const s = await open();
          const key = freshKey('rolling');
          const rolling = await consumer(s, key, {
            mode: 'resumable',
            group: freshKey('g'),
            autoCommit: 'rolling',
          });
          await expectCode(rolling.commit(), 'UNSUPPORTED');
          const disabled = await consumer(s, key, {
            mode: 'resumable',
            group: freshKey('g'),
            autoCommit: 'disabled',
          });
          await disabled.commit();
        },
      );
    });

    describe('loadBalanced', () => {
      when(supports.loadBalanced)(
        'two members together get every message exactly once, both some',
        async () => {
          const key = freshKey('lb');
          const group = freshKey('g');
          const s = await open();
          const opts: ConsumerOptions = {
            mode: 'loadBalanced',
            group,
            start: 'earliest',
            batchSize: 1,
          };
          const a = await consumer(s, key, opts);
          const b = await consumer(s, key, opts);
          const p = await s.createProducer(key);
          for (const t of range(200)) p.send(t);
          await p.flush();
          const seen: string[] = [];
          const counts = [0, 0];
          await Promise.all(
            [a, b].map(async (c, i) => {
              while (seen.length < 200) {
                try {
                  const m = await c.next({ signal: AbortSignal.timeout(quietMs * 3) });
                  seen.push(m.text());
                  counts[i]!++;
                  c.ack(m);
                } catch (error) {
                  if ((error as { code?: string }).code !== 'TIMEOUT') throw error;
                  if (seen.length >= 200) return;
                }
              }
            }),
          );
          expect([...seen].sort()).toEqual(range(200).sort());
          expect(counts[0]).toBeGreaterThan(0);
          expect(counts[1]).toBeGreaterThan(0);
        },
      );

      when(supports.loadBalanced && supports.failover)(
        "a dead member's unacked messages are claimed by a live one",
        async () => {
          const s = await open();
          const base: ConsumerOptions = {
            mode: 'loadBalanced',
            group: freshKey('g'),
            start: 'earliest',
            autoCommit: 'disabled',
            batchSize: 1,
            autoClaimIdleMs: 200,
            autoClaimIntervalMs: 50,
          };
          const key = await filledStream(s, 'failover', 5);
          const alpha = await consumer(s, key, { ...base, consumerId: 'alpha' });
          expect(texts(await take(alpha, 5))).toEqual(range(5));
          await alpha.end(); // dies without acking
          const beta = await consumer(s, key, { ...base, consumerId: 'beta' });
          const claimed = await take(beta, 5);
          expect(texts(claimed).sort()).toEqual(range(5));
          for (const m of claimed) beta.ack(m);
          await beta.commit();
          await expectQuiet(beta);
        },
      );
    });

    describe('rewind and seek', () => {
      async function thirty(s: Streamer, key: StreamKey) {
        const p = await s.createProducer(key);
        const base = Date.now() - 60_000;
        const receipts: Receipt[] = [];
        for (let i = 0; i < 30; i++) {
          receipts.push(
            await p.send(
              `m${i}`,
              supports.timestamps ? { timestamp: new Date(base + i * 1000) } : {},
            ),
          );
        }
        return { p, receipts };
      }

      for (const mode of ['realtime', 'resumable'] as const) {
        const gate = supports.rewind && supports.history && supports[mode];
        const opts = (): ConsumerOptions =>
          mode === 'realtime'
            ? { start: 'earliest' }
            : { mode, group: freshKey('g'), start: 'earliest' };

        when(gate)(
          `${mode}: rewind('beginning'), rewind({ at }) inclusive, rewind('end')`,
          async () => {
            const s = await open();
            const key = freshKey('rewind');
            const { p, receipts } = await thirty(s, key);
            const c = await consumer(s, key, { ...opts(), batchSize: 5 });
            expect(texts(await take(c, 10))).toEqual(range(10));
            await c.rewind('beginning');
            expect(texts(await take(c, 10))).toEqual(range(10));
            await c.rewind({ at: receipts[20]!.sequence });
            expect(texts(await take(c, 3))).toEqual(['m20', 'm21', 'm22']);
            await c.rewind('end');
            await p.send('after-end');
            expect(texts(await take(c, 1))).toEqual(['after-end']);
          },
        );

        when(gate && supports.seek)(
          `${mode}: seek(date) goes to the first message at or after it`,
          async () => {
            const s = await open();
            const key = freshKey('seek');
            const { receipts } = await thirty(s, key);
            const c = await consumer(s, key, { ...opts(), batchSize: 5 });
            await c.seek(receipts[17]!.timestamp);
            const [first] = await take(c, 1);
            // Without stored timestamps several messages share a millisecond: the first of them comes next.
            const expected = receipts.findIndex(
              (r) => r.timestamp.getTime() >= receipts[17]!.timestamp.getTime(),
            );
            expect(first!.text()).toBe(`m${expected}`);
            await c.seek(new Date(receipts[29]!.timestamp.getTime() + 1));
            await expectQuiet(c);
          },
        );
      }
    });

    describe('shards', () => {
      when(supports.shards)(
        'round robin over shards keeps the stream key; a key always lands on one shard',
        async () => {
          const s = await open();
          const key = freshKey('shards');
          const c = await fromNow(s, key);
          const p = await s.createProducer(key, { shards: 3 });
          const receipts: Receipt[] = [];
          for (let i = 0; i < 9; i++) receipts.push(await p.send(`s${i}`));
          expect(receipts.map((r) => r.shardId)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
          expect(receipts.every((r) => r.streamKey === key)).toBe(true);
          const keyed = await Promise.all(range(6).map(() => p.send('k', { key: 'customer-42' })));
          expect(new Set(keyed.map((r) => r.shardId)).size).toBe(1);
          const explicit = await p.send('e', { shard: 2 });
          expect(explicit.shardId).toBe(2);
          const got = await take(c, 16);
          for (const shard of [0, 1, 2]) {
            const seqs = got.filter((m) => m.shardId === shard).map((m) => m.sequence);
            for (let i = 1; i < seqs.length; i++) expect(seqs[i]! > seqs[i - 1]!).toBe(true);
          }
          expect(texts(got.filter((m) => m.text().startsWith('s'))).sort()).toEqual(
            range(9, 's').sort(),
          );
        },
      );

      when(supports.shards && supports.history)(
        'assign() limits a consumer to some shards',
        async () => {
          const s = await open();
          const key = freshKey('assign');
          const p = await s.createProducer(key, { shards: 2 });
          for (let i = 0; i < 6; i++) await p.send(`a${i}`);
          const c = await consumer(s, key, { start: 'earliest' });
          c.assign(key, 1);
          const got = await take(c, 3);
          expect(got.map((m) => m.shardId)).toEqual([1, 1, 1]);
          expect(texts(got)).toEqual(['a1', 'a3', 'a5']);
          await expectCode(() => c.assign('other-stream', 0), 'INVALID_ARGUMENT');
          c.unassign(key, 1);
          await expectCode(() => c.unassign(key, 1), 'INVALID_ARGUMENT');
        },
      );
    });

    describe('headers and timestamps', () => {
      when(supports.headers)('headers are stored and read back', async () => {
        const s = await open();
        const key = freshKey('headers');
        const c = await fromNow(s, key);
        const p = await s.createProducer(key);
        await p.send('h', { headers: { trace: 'abc-123', 'content-type': 'text/plain' } });
        await p.send('none');
        const [m1, m2] = await take(c, 2);
        expect(m1!.headers).toEqual({ trace: 'abc-123', 'content-type': 'text/plain' });
        expect(m2!.headers).toEqual({});
      });

      when(supports.timestamps)('the timestamp send option is stored', async () => {
        const s = await open();
        const key = freshKey('ts');
        const c = await fromNow(s, key);
        const p = await s.createProducer(key);
        const at = new Date('2024-02-29T12:34:56.789Z');
        const receipt = await p.send('t', { timestamp: at });
        expect(receipt.timestamp.getTime()).toBe(at.getTime());
        const [m] = await take(c, 1);
        expect(m!.timestamp.getTime()).toBe(at.getTime());
      });
    });

    describe('bad input', () => {
      it('invalid stream keys reject INVALID_STREAM_KEY before any I/O', async () => {
        const s = await open();
        for (const bad of ['', 'has space', 'a/b', 'x'.repeat(250), 'SEA_STREAMER_INTERNAL', 42]) {
          await expectCode(s.createProducer(bad as string), 'INVALID_STREAM_KEY');
          await expectCode(s.createConsumer(bad as string), 'INVALID_STREAM_KEY');
        }
        await expectCode(s.createConsumer([]), 'INVALID_ARGUMENT');
        const p = await s.createProducer();
        await expectCode(p.sendTo('no spaces allowed', 'x'), 'INVALID_STREAM_KEY');
        await p.flush().catch(() => {});
      });

      it('groups are refused in realtime mode and required in resumable mode', async () => {
        const s = await open();
        const key = freshKey('bad');
        await expectCode(s.createConsumer(key, { group: 'g' }), 'GROUP_NOT_ALLOWED');
        await expectCode(
          s.createConsumer(key, { mode: 'realtime', consumerId: 'x' }),
          'GROUP_NOT_ALLOWED',
        );
        if (supports.resumable)
          await expectCode(s.createConsumer(key, { mode: 'resumable' }), 'GROUP_REQUIRED');
        for (const mode of ['resumable', 'loadBalanced'] as const) {
          if (!supports[mode])
            await expectCode(s.createConsumer(key, { mode, group: 'g' }), 'UNSUPPORTED');
        }
      });

      it('bad options and arguments name the bad value', async () => {
        const s = await open();
        const key = freshKey('bad');
        const mode = 'sideways' as 'realtime';
        const error = await s.createConsumer(key, { mode }).catch((e) => e);
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(error.message).toContain('sideways');
        await expectCode(s.createConsumer(key, { batchSize: 0 }), 'INVALID_ARGUMENT');
        await expectCode(
          s.createConsumer(key, { start: 'middle' as 'latest' }),
          'INVALID_ARGUMENT',
        );
        const p = await s.createProducer(key);
        await expectCode(p.send(42 as unknown as string), 'INVALID_ARGUMENT');
        await expectCode(p.send('x', { shard: -1 }), 'INVALID_ARGUMENT');
        await expectCode(p.send('x', { timestamp: new Date(Number.NaN) }), 'INVALID_ARGUMENT');
        await p.flush().catch(() => {});
        const c = await fromNow(s, key);
        await expectCode(c.rewind({ at: -1n }), 'INVALID_ARGUMENT');
        await expectCode(c.rewind('middle' as 'end'), 'INVALID_ARGUMENT');
        await expectCode(c.seek(new Date('nope')), 'INVALID_ARGUMENT');
      });
    });
  });
}

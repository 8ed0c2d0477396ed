// How the producer writes: batches of sends as one EVAL of a server-side script, or one XADD per
// send; on a redis-server of our own, whose command statistics say which commands ran.
import type { Receipt, StreamerError } from '@streamer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshKey, open, range, redisCli } from './support/helpers.js';
import { TestServer } from './support/server.js';

const server = new TestServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
const cli = (...args: string[]) => redisCli(server.url, ...args);

/** How many times each command ran since `CONFIG RESETSTAT`. */
async function calls(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await cli('INFO', 'commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) out[match[1]] = Number(match[2]);
  }
  return out;
}

/** Every entry of `key` as redis-cli prints it: id, then its fields and values. */
async function entries(key: string): Promise<string[][]> {
  const reply = await cli('--json', 'XRANGE', key, '-', '+');
  return JSON.parse(reply).map(([id, fields]: [string, string[]]) => [id, ...fields]);
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: StreamerError) => error,
  );

describe('batched XADD (own server)', () => {
  it('a lone send is one XADD; sends queued together go as script calls, in order', async () => {
    const s = await open(server.url);
    const key = freshKey('batch');
    const p = await s.createProducer(key);
    await cli('CONFIG', 'RESETSTAT');
    await p.send('alone');
    expect(await calls()).toMatchObject({ xadd: 1 });
    expect((await calls()).eval).toBeUndefined();

    const receipts = await Promise.all(range(2000).map((t) => p.send(t)));
    const stats = await calls();
    // 2000 queued at once: batches of at most 500.
    expect(stats.eval).toBe(4);
    expect(stats.xadd).toBe(2001);
    const stored = await entries(key);
    expect(stored.map((e) => e[2])).toEqual(['alone', ...range(2000)]);
    // Each receipt names its own entry.
    expect(receipts.map((r) => r.sequence)).toEqual(
      [...receipts.map((r) => r.sequence)].sort((a, b) => (a < b ? -1 : 1)),
    );
    expect(stored.slice(1).map((e) => e[0])).toEqual(
      receipts.map((r) => `${r.sequence >> 16n}-${r.sequence & 0xffffn}`),
    );
    await s.disconnect();
  });

  it('payloads of 512 bytes or more go as single XADDs, smaller ones in scripts', async () => {
    const s = await open(server.url);
    const key = freshKey('large');
    const p = await s.createProducer(key);
    const large = 'x'.repeat(512);
    await cli('CONFIG', 'RESETSTAT');
    await Promise.all(range(1000).map((t) => p.send(`${t}${large}`)));
    expect((await calls()).eval).toBeUndefined();
    await Promise.all(range(1000).map((t) => p.send(t)));
    expect((await calls()).eval).toBe(2);
    expect((await entries(key)).map((e) => e[2])).toEqual([
      ...range(1000).map((t) => `${t}${large}`),
      ...range(1000),
    ]);
    await s.disconnect();
  });

  it("batching: 'pipeline' writes one XADD per send", async () => {
    const s = await open(server.url);
    const key = freshKey('pipe');
    const p = await s.createProducer(key, { batching: 'pipeline' });
    await cli('CONFIG', 'RESETSTAT');
    await Promise.all(range(1000).map((t) => p.send(t)));
    expect(await calls()).toEqual(expect.objectContaining({ xadd: 1000 }));
    expect((await calls()).eval).toBeUndefined();
    expect((await entries(key)).map((e) => e[2])).toEqual(range(1000));
    await s.disconnect();
  });

  it('a batch stores exactly the entries single XADDs store: fields, headers, timestamps, trimming', async () => {
    const s = await open(server.url, { messageField: 'body' });
    // Ahead of the clock: the sends Redis timestamps come after, deterministically.
    const at = Date.now() + 86_400_000;
    for (const trim of [{}, { maxLen: 100, approximate: false }]) {
      const written: string[][][] = [];
      for (const batching of ['script', 'pipeline'] as const) {
        const key = freshKey(batching);
        const p = await s.createProducer(key, { batching, ...trim });
        await Promise.all(
          range(300).map((t, i) =>
            p.send(t, {
              headers: i % 3 === 0 ? { kind: 'a', n: String(i) } : undefined,
              timestamp: i % 2 === 0 ? undefined : new Date(at + i),
            }),
          ),
        );
        written.push(await entries(key));
      }
      const [script, pipeline] = written;
      // The same entries; in the untrimmed streams the first id is the clock's, not ours.
      expect(script.slice(1)).toEqual(pipeline.slice(1));
      expect(script[0].slice(1)).toEqual(pipeline[0].slice(1));
      expect(script).toHaveLength('maxLen' in trim ? 100 : 300);
      const first = script.length - 99; // m201
      expect(script[first]).toEqual([`${at + 201}-0`, 'body', 'm201', 'kind', 'a', 'n', '201']);
      expect(script[first + 1]).toEqual([`${at + 201}-1`, 'body', 'm202']);
    }
    await s.disconnect();
  });

  it('runs of plain sends between sends with headers or timestamps keep their order and fields', async () => {
    const s = await open(server.url);
    const at = Date.now() + 86_400_000;
    const written: string[][][] = [];
    for (const batching of ['script', 'pipeline'] as const) {
      const key = freshKey(`runs-${batching}`);
      const p = await s.createProducer(key, { batching });
      // Runs of 0 to 6 plain sends, each after one with headers, a timestamp or both.
      await Promise.all(
        range(120).map((t, i) => {
          const special = (i * (i + 1)) % 7 === 0;
          return p.send(t, {
            headers: special && i % 2 === 0 ? { i: String(i) } : undefined,
            timestamp: special && i % 3 !== 0 ? new Date(at + i) : undefined,
          });
        }),
      );
      written.push((await entries(key)).map((entry) => entry.slice(1)));
    }
    expect(written[0]).toHaveLength(120);
    expect(written[0]).toEqual(written[1]);
    await s.disconnect();
  });

  it('sends that fail inside a batch fail as in a pipeline, and the others are stored', async () => {
    const s = await open(server.url);
    const outcomes: (string | undefined)[][] = [];
    for (const batching of ['script', 'pipeline'] as const) {
      const key = freshKey(batching);
      const p = await s.createProducer(key, { batching });
      const at = Date.now() + 60_000;
      // The third goes back in time: Redis stream ids only increase.
      const times = [at, at + 1, at - 5000, at + 2];
      const sends = times.map((t, i) => p.send(`t${i}`, { timestamp: new Date(t) }));
      const errors = await Promise.all(sends.map(failure));
      outcomes.push(errors.map((e) => e?.code));
      expect(errors[2]?.message).toContain('is before the last entry');
      expect((await entries(key)).map((e) => e[2])).toEqual(['t0', 't1', 't3']);
      // A failed send is kept for the next flush(), as always.
      await expect(p.flush()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

      // A key of another type: every send to it fails, the same way.
      const wrong = freshKey(`${batching}-wrong`);
      await cli('SET', wrong, 'not a stream');
      const q = await s.createProducer(wrong, { batching });
      const wrongType = await Promise.all(range(3).map((t) => failure(q.send(t))));
      outcomes.push(wrongType.map((e) => e?.code));
      for (const error of wrongType) expect(error?.message).toContain('WRONGTYPE');
      await expect(q.flush()).rejects.toMatchObject({ code: 'BACKEND' });
    }
    expect(outcomes).toEqual([
      [undefined, undefined, 'INVALID_ARGUMENT', undefined],
      ['BACKEND', 'BACKEND', 'BACKEND'],
      [undefined, undefined, 'INVALID_ARGUMENT', undefined],
      ['BACKEND', 'BACKEND', 'BACKEND'],
    ]);
    await s.disconnect();
  });

  it('a user who may XADD but not run scripts: sends fall back to XADD, no error', async () => {
    await cli('ACL', 'SETUSER', 'writer', 'on', '>pw', '~*', '+@all', '-@scripting');
    const s = await open(`redis://writer:pw@127.0.0.1:${server.port}`);
    const errors: unknown[] = [];
    s.on('error', (error) => errors.push(error));
    const key = freshKey('acl');
    const p = await s.createProducer(key);
    const first = await Promise.all(range(1000).map((t) => p.send(t)));
    const later = await Promise.all(range(1000, 'n').map((t) => p.send(t)));
    expect(first.length + later.length).toBe(2000);
    expect((await entries(key)).map((e) => e[2])).toEqual([...range(1000), ...range(1000, 'n')]);
    expect(errors).toEqual([]);
    await s.disconnect();
  });

  // Scripts go whole (EVAL): a lost script cache cannot fail one batch and let a later one through.
  it('SCRIPT FLUSH while producing: nothing lost, repeated or out of order', async () => {
    const s = await open(server.url);
    const key = freshKey('flush');
    const p = await s.createProducer(key, { shards: 2 });
    const sends: Promise<Receipt>[] = [];
    for (let i = 0; i < 20_000; i++) {
      await p.ready();
      sends.push(p.send(`m${i}`));
      if (i % 2000 === 1000) await cli('SCRIPT', 'FLUSH');
    }
    const receipts = await Promise.all(sends);
    for (const shard of [0, 1]) {
      const expected = range(20_000).filter((_, i) => i % 2 === shard);
      expect((await entries(`${key}:${shard}`)).map((e) => e[2])).toEqual(expected);
      const sequences = receipts.filter((r) => r.shardId === shard).map((r) => r.sequence);
      expect(sequences.every((q, i) => i === 0 || q > sequences[i - 1])).toBe(true);
    }
    await s.disconnect();
  });
});

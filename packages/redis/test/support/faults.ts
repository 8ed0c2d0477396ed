// Producing and reading while a topology changes under them (resharding, failovers): shared by
// the cluster and Sentinel fault tests.
import type { Consumer, ConsumerOptions, Message, Producer, Receipt } from '@streamer/core';
import { expect } from 'vitest';
import { freshKey, type open, take } from './helpers.js';

type Open = typeof open;

export const SHARDS = 4;
/** Quick enough for a test: a read group picks up a moved slot within this. */
export const FAST = { discoverIntervalMs: 200 } as ConsumerOptions;

/** Sends `count` numbered messages round the shards, a few at a time, while `during` runs. */
export async function produceDuring(
  p: Producer,
  count: number,
  during: Promise<unknown>,
): Promise<{ sent: Map<string, Receipt>; failed: Map<string, unknown> }> {
  const sent = new Map<string, Receipt>();
  const failed = new Map<string, unknown>();
  let done = false;
  during.finally(() => {
    done = true;
  });
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count || !done; i++) {
    const text = `${i % SHARDS}:${i}`;
    sends.push(
      p.send(text, { shard: i % SHARDS }).then(
        (r) => sent.set(text, r),
        (e) => failed.set(text, e),
      ),
    );
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await during;
  await Promise.all(sends);
  return { sent, failed };
}

/** Checks per-shard order (sequences only increase per shard) and returns the texts. */
export function inShardOrder(messages: Message[]): string[] {
  const last = new Map<number, bigint>();
  for (const m of messages) {
    expect(m.sequence > (last.get(m.shardId) ?? -1n), `order in shard ${m.shardId}`).toBe(true);
    last.set(m.shardId, m.sequence);
  }
  return messages.map((m) => m.text());
}

/**
 * Everything stored in the stream now, read by a fresh consumer; checks that each shard holds
 * its sends in the order they were made (`shard:i`, i increasing).
 */
export async function stored(
  open: Open,
  url: string,
  key: string,
  expected: number,
): Promise<Set<string>> {
  const s = await open(url);
  const c = await s.createConsumer(key, { start: 'earliest' });
  const texts = new Set<string>();
  const last = new Map<number, number>();
  for (;;) {
    const m = await c.next({ signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    if (!m) break;
    texts.add(m.text());
    const [shard, i] = m.text().split(':').map(Number);
    if (Number.isInteger(i)) {
      expect(i > (last.get(shard) ?? -1), `send order in shard ${shard}`).toBe(true);
      last.set(shard, i);
    }
  }
  expect(texts.size).toBeGreaterThanOrEqual(expected);
  return texts;
}

/** A sharded stream whose shards exist, with a realtime and a group consumer reading it. */
export async function running(open: Open, url: string, tag: string) {
  const s = await open(url);
  const key = freshKey(tag);
  const p = await s.createProducer(key, { shards: SHARDS });
  await Promise.all(Array.from({ length: SHARDS }, (_, n) => p.send(`seed${n}`, { shard: n })));
  const realtime = await s.createConsumer(key, { start: 'earliest', ...FAST });
  const group = await s.createConsumer(key, {
    mode: 'resumable',
    group: 'g',
    start: 'earliest',
    ...FAST,
  });
  await take(realtime, SHARDS);
  for (const m of await take(group, SHARDS)) group.ack(m);
  return { s, key, p, realtime, group };
}

/** Takes `n` messages, acking each (groups), within a generous per-message deadline. */
export async function drain(c: Consumer, n: number): Promise<Message[]> {
  const got = await take(c, n, 20_000);
  for (const m of got) c.ack(m);
  return got;
}

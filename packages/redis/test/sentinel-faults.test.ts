// Failovers under Sentinel while producers and consumers run, on one throwaway deployment for the
// file (test/support/sentinel.ts). Every failover leaves a primary with two replicas online, so
// the next test can fail it over again.
import type { Message } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { until } from './support/cluster.js';
import { drain, inShardOrder, produceDuring, running, SHARDS, stored } from './support/faults.js';
import { freshKey, streamers } from './support/helpers.js';
import { type TestSentinel, testSentinel } from './support/sentinel.js';

const streamer = streamers();
const deployment = testSentinel();

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sequences delivered more than once, keyed `shard/sequence`. */
function repeated(messages: Message[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const m of messages) {
    const id = `${m.shardId}/${m.sequence}`;
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  return twice;
}

/**
 * Produces with acks 'replicas' and acks 'leader' while `fail` runs, with a realtime and a group
 * consumer reading; checks that every send acked with 'replicas' is stored, in send order per
 * shard, and reached both consumers, neither of which delivered an entry twice.
 */
async function failWhileRunning(fail: (d: TestSentinel) => Promise<number>, tag: string) {
  const d = deployment();
  const before = await d.masterPort();
  const { s, key, realtime, group } = await running(streamer, d.url, tag);
  const safe = await s.createProducer(key, { shards: SHARDS, acks: 'replicas' });
  const leaderKey = freshKey(`${tag}-leader`);
  const leader = await s.createProducer(leaderKey, { shards: SHARDS });
  let promoted = 0;
  const failover = (async () => {
    await pause(300);
    promoted = await fail(d);
  })();
  const [safeRun, leaderRun] = await Promise.all([
    produceDuring(safe, 3000, failover),
    produceDuring(leader, 3000, failover),
  ]);
  expect(promoted).not.toBe(before);
  // Sends the new primary could not be shown to hold were rejected (retriable); every one
  // acknowledged is there.
  for (const error of safeRun.failed.values())
    expect(error).toMatchObject({ code: 'NOT_REPLICATED', retriable: true });
  const safeStored = await stored(streamer, d.url, key, safeRun.sent.size);
  expect([...safeRun.sent.keys()].filter((t) => !safeStored.has(t))).toEqual([]);
  const leaderStored = await stored(streamer, d.url, leaderKey, 0);
  const lostLeader = [...leaderRun.sent.keys()].filter((t) => !leaderStored.has(t)).length;
  console.log(
    `${tag}: acks 'replicas' ${safeRun.sent.size} acked, ${safeRun.failed.size} rejected, 0 lost; ` +
      `acks 'leader' ${leaderRun.sent.size} acked, ${leaderRun.failed.size} rejected, ${lostLeader} lost`,
  );
  // The consumers followed the failover by themselves: whatever is stored reaches them.
  const wanted = [...safeStored].filter((t) => !t.startsWith('seed'));
  const fromRealtime = await drain(realtime, wanted.length);
  expect(repeated(fromRealtime)).toEqual([]);
  inShardOrder(fromRealtime);
  expect(new Set(fromRealtime.map((m) => m.text()))).toEqual(new Set(wanted));
  await group.commit();
  const fromGroup: Message[] = [];
  const missing = new Set(wanted);
  while (missing.size > 0)
    for (const m of await drain(group, 1)) {
      fromGroup.push(m);
      missing.delete(m.text());
    }
  await group.commit();
  // What was pending at the failover may come again once (from the pending list); nothing that
  // came after it does.
  expect(repeated(fromGroup)).toEqual([]);
}

describe('Sentinel failover while producing and reading', () => {
  it("SENTINEL FAILOVER (planned): acks 'replicas' loses nothing the old primary took after the switch", {
    timeout: 120_000,
  }, async () => {
    await failWhileRunning((d) => d.failover(), 'planned');
  });

  it("kill -9 of the primary (unplanned): acks 'replicas' loses nothing; readers carry on", {
    timeout: 120_000,
  }, async () => {
    await failWhileRunning((d) => d.killMaster(), 'unplanned');
  });
});

/** A streamer on the deployment and a producer that stored one message ('before') in a fresh key. */
async function storedOne(tag: string) {
  const d = deployment();
  const s = await streamer(d.url);
  const key = freshKey(tag);
  const p = await s.createProducer(key);
  await p.send('before');
  return { d, s, key, p };
}

describe('following the sentinels', () => {
  it('+switch-master moves sends to the new primary while the old one still takes writes', async () => {
    const { d, key, p } = await storedOne('switch');
    await d.failover(async ({ old, promoted }) => {
      await until('a send to reach the new primary', async () => {
        await p.send('probe');
        return Number(await d.call(promoted, 'XLEN', key)) > 1;
      });
      // Not found by a refusal: the old primary has not been told to follow yet.
      expect(String(await d.call(old, 'ROLE'))).toMatch(/^master/);
    });
  });
});

describe("acks 'replicas' under Sentinel", () => {
  it('waits for every replica the sentinels see up, not only those still connected to the primary', async () => {
    const d = deployment();
    const s = await streamer(d.url);
    const key = freshKey('left');
    await (await s.createProducer(key, { acks: 'replicas' })).send('before');
    // What SENTINEL FAILOVER does first: a replica leaves the primary to become one itself. Until
    // the sentinels switch, the old primary still has the other replica, which the promotion
    // will resync: its copy does not make a send safe.
    const primary = await d.masterPort();
    const [replica] = await d.replicaPorts();
    await d.call(replica!, 'REPLICAOF', 'NO', 'ONE');
    try {
      await until('the primary to see one replica', async () =>
        String(await d.call(primary, 'INFO', 'replication')).includes('connected_slaves:1'),
      );
      const p = await s.createProducer(key, { acks: 'replicas', replicaTimeoutMs: 300 });
      const error = await p.send('after').catch((e) => e);
      expect(error).toMatchObject({ code: 'NOT_REPLICATED', retriable: true });
    } finally {
      await d.call(replica!, 'REPLICAOF', '127.0.0.1', String(primary));
      await d.settled();
    }
  });
});

describe('READONLY while roles change', () => {
  it('a send and a group read meeting a primary that is briefly a replica are retried, never surfaced', async () => {
    const { d, s, key, p } = await storedOne('readonly');
    const group = await s.createConsumer(key, { mode: 'resumable', group: 'g', start: 'earliest' });
    group.ack(await group.next());
    const primary = await d.masterPort();
    const [replica] = await d.replicaPorts();
    // The primary follows a replica for a moment (shorter than the sentinels take to act on it).
    await d.call(replica!, 'REPLICAOF', 'NO', 'ONE');
    await d.call(primary, 'REPLICAOF', '127.0.0.1', String(replica));
    const sent = p.send('during');
    const refused = await d.call(primary, 'XADD', key, '*', 'msg', 'x').catch((e: Error) => e);
    expect(String(refused)).toMatch(/READONLY/);
    await d.call(primary, 'REPLICAOF', 'NO', 'ONE');
    await d.call(replica!, 'REPLICAOF', '127.0.0.1', String(primary));
    await sent;
    expect((await group.next()).text()).toBe('during');
    await d.settled();
  });
});

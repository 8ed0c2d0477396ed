// Redis Cluster specifics on the shared throwaway cluster (test/support/cluster-global-setup.ts);
// tests that kill, fail over or reshard run on clusters of their own (cluster-faults.test.ts).
import diagnostics from 'node:diagnostics_channel';
import { createClient, createCluster } from '@redis/client';
import { CHANNELS, type ConnectionEvent } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { fromClient } from '../src/index.js';
import { slotOf } from '../src/slot.js';
import { clusterUrl } from './support/cluster-helpers.js';
import { freshKey, range, streamers, take, texts } from './support/helpers.js';

const streamer = streamers();
const seeds = () => clusterUrl().slice('redis://'.length).split(',');

/** A plain connection to one node, for looking at what the cluster holds. */
async function node(address: string) {
  const [host, port] = address.split(':');
  const client = createClient({ socket: { host, port: Number(port) } });
  await client.connect();
  return client;
}

/** The address of the master that serves `slot`, asked of the cluster. */
async function masterOfSlot(slot: number): Promise<string> {
  const client = await node(seeds()[0]);
  try {
    const slots = (await client.sendCommand(['CLUSTER', 'SLOTS'])) as [
      number,
      number,
      [string, number],
    ][];
    const range = slots.find(([a, b]) => slot >= a && slot <= b)!;
    return `${range[2][0]}:${range[2][1]}`;
  } finally {
    client.destroy();
  }
}

describe('streamer:connection on a cluster', () => {
  it('publishes connect for every node connection, named by its address', async () => {
    const seen: ConnectionEvent[] = [];
    const listener = (event: unknown) => seen.push(event as ConnectionEvent);
    diagnostics.subscribe(CHANNELS.connection, listener);
    try {
      const s = await streamer(clusterUrl());
      const producer = await s.createProducer(freshKey(), { shards: 6 });
      await Promise.all(range(12).map((t) => producer.send(t)));
      const connected = new Set(seen.filter((e) => e.state === 'connect').map((e) => e.address));
      // Three masters at least (the seeds' own connections too).
      expect(connected.size).toBeGreaterThanOrEqual(3);
      for (const event of seen) expect(event).toMatchObject({ backend: 'redis' });
      for (const address of connected) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      diagnostics.unsubscribe(CHANNELS.connection, listener);
    }
  });
});

describe('Redis Cluster', () => {
  it("one node's address is enough: cluster 'auto' finds it is a cluster", async () => {
    const s = await streamer(`redis://${seeds()[1]}`);
    expect(s.cluster).toBe(true);
    const key = freshKey('auto');
    const p = await s.createProducer(key, { shards: 6 });
    await Promise.all(range(12).map((t) => p.send(t)));
    const c = await s.createConsumer(key, { start: 'earliest' });
    expect(texts(await take(c, 12)).sort()).toEqual(range(12).sort());
  });

  it('a wrong password is CONNECT naming what the cluster said, not retriable', async () => {
    const [first] = seeds();
    const error = await streamer(`redis://nobody:wrong@${first}`).catch((e) => e);
    expect(error.code).toBe('CONNECT');
    expect(error.message).toMatch(/WRONGPASS/);
    expect(error.retriable).toBe(false);
  });

  it('nodeAddressMap is asked where each node the cluster announces is', async () => {
    const asked = new Set<string>();
    const s = await streamer(clusterUrl(), {
      nodeAddressMap: (address: string) => {
        asked.add(address);
        const [host, port] = address.split(':');
        return { host, port: Number(port) };
      },
    });
    const key = freshKey('nat');
    const p = await s.createProducer(key, { shards: 6 });
    await Promise.all(range(12).map((t) => p.send(t)));
    expect(asked.size).toBe(3); // every master
    for (const address of asked) expect(seeds()).toContain(address);
  });

  it('a database other than 0 is refused: a cluster has only database 0', async () => {
    const error = await streamer(`${clusterUrl()}?db=2`).catch((e) => e);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('db 2');
  });

  it('the shards of one stream spread over the masters, and are read back from all of them', async () => {
    const s = await streamer(clusterUrl());
    const key = freshKey('spread');
    const p = await s.createProducer(key, { shards: 12 });
    const receipts = await Promise.all(range(120).map((t) => p.send(t)));
    expect(new Set(receipts.map((r) => r.shardId)).size).toBe(12);
    const masters = new Set(
      await Promise.all(range(12).map((_, n) => masterOfSlot(slotOf(`${key}:${n}`)))),
    );
    expect(masters.size).toBe(3);
    for (const mode of ['realtime', 'resumable', 'loadBalanced'] as const) {
      const c = await s.createConsumer(key, {
        mode,
        start: 'earliest',
        ...(mode === 'realtime' ? {} : { group: `g-${mode}` }),
      });
      const got = await take(c, 120);
      expect(texts(got).sort(), mode).toEqual(range(120).sort());
      // Order per shard: sequences only increase within each shard.
      const last = new Map<number, bigint>();
      for (const m of got) {
        expect(m.sequence > (last.get(m.shardId) ?? -1n)).toBe(true);
        last.set(m.shardId, m.sequence);
      }
      await c.end();
    }
  });

  it('several streams in different slots in one consumer: CROSSSLOT never reaches the user', async () => {
    const s = await streamer(clusterUrl());
    // Eight keys in eight different slots: random keys share a slot now and then.
    const keys: string[] = [];
    while (keys.length < 8) {
      const key = freshKey('xs');
      if (!keys.some((k) => slotOf(k) === slotOf(key))) keys.push(key);
    }
    expect(new Set(keys.map(slotOf)).size).toBe(8);
    const realtime = await s.createConsumer(keys, { start: 'earliest' });
    const group = await s.createConsumer(keys, {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
    });
    const p = await s.createProducer();
    for (const key of keys) await p.sendTo(key, key);
    await p.flush();
    expect(texts(await take(realtime, 8)).sort()).toEqual([...keys].sort());
    expect(texts(await take(group, 8)).sort()).toEqual([...keys].sort());
  });

  it('a key holding another type: next() rejects with WRONGTYPE naming the key', async () => {
    const s = await streamer(clusterUrl());
    const good = freshKey('good');
    const bad = freshKey('bad');
    const client = await node(await masterOfSlot(slotOf(bad)));
    await client.set(bad, 'plain');
    try {
      const c = await s.createConsumer([good, bad], { start: 'earliest' });
      const error = await c.next({ signal: AbortSignal.timeout(5000) }).catch((e) => e);
      expect(error.code).toBe('BACKEND');
      expect(error.message).toContain('WRONGTYPE');
      expect(error.message).toContain(bad);
    } finally {
      await client.del(bad);
      client.destroy();
    }
  });

  it("fromClient takes a user's createCluster() client and leaves it open", async () => {
    const mine = createCluster({ rootNodes: seeds().map((a) => ({ url: `redis://${a}` })) });
    await mine.connect();
    const s = await fromClient(mine);
    expect(s.cluster).toBe(true);
    const key = freshKey('mine');
    const p = await s.createProducer(key, { shards: 3 });
    await Promise.all(range(6).map((t) => p.send(t)));
    const c = await s.createConsumer(key, { start: 'earliest' });
    expect(texts(await take(c, 6)).sort()).toEqual(range(6).sort());
    await s.disconnect();
    expect(await mine.sendCommand(`${key}:0`, true, ['XLEN', `${key}:0`])).toBe(2);
    for (let n = 0; n < 3; n++) await mine.del(`${key}:${n}`);
    mine.destroy();
  });

  it("acks: 'replicas' resolves once a replica holds the send; more than there are is NOT_REPLICATED", async () => {
    const s = await streamer(clusterUrl());
    const key = freshKey('acks');
    const p = await s.createProducer(key, { shards: 3, acks: 'replicas' });
    const receipts = await Promise.all(range(300).map((t) => p.send(t)));
    expect(receipts).toHaveLength(300);
    const tooMany = await s.createProducer(key, {
      acks: 'replicas',
      replicas: 2,
      replicaTimeoutMs: 100,
    });
    const error = await tooMany.send('x').catch((e) => e);
    expect(error.code).toBe('NOT_REPLICATED');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('1 of 2 replicas');
    await expect(s.createProducer(key, { acks: 'all' } as object)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('the manager works over every master: listStreams, streamInfo, readRange, trim', async () => {
    const s = await streamer(clusterUrl());
    const key = freshKey('mgr');
    const p = await s.createProducer(key, { shards: 6 });
    await Promise.all(range(60).map((t) => p.send(t)));
    expect(await s.listStreams(`${key}*`)).toEqual([key]);
    const info = await s.streamInfo(key);
    expect(info.length).toBe(60);
    expect(info.shards.map((sh) => sh.shard)).toEqual([0, 1, 2, 3, 4, 5]);
    const read: string[] = [];
    for await (const m of s.readRange(key)) read.push(m.text());
    expect(read.sort()).toEqual(range(60).sort());
    expect(await s.trim(key, { maxLen: 2, approximate: false })).toBe(48);
    expect((await s.streamInfo(key)).length).toBe(12);
  });
});

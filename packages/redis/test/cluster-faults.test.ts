// Resharding, master failover and a cluster that is down, while producers and consumers run, on
// throwaway clusters of this file's own (test/support/cluster.ts). Every test leaves its cluster
// with every slot served, so the next one can use it.
import type { ConsumerOptions } from '@streamer/core';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { slotOf } from '../src/slot.js';
import { makeCertificates } from './support/certificates.js';
import type { TestCluster } from './support/cluster.js';
import { testCluster } from './support/cluster-helpers.js';
import { drain, inShardOrder, produceDuring, running, SHARDS, stored } from './support/faults.js';
import { freshKey, open, streamers, take } from './support/helpers.js';

const streamer = streamers();

describe('resharding while running', () => {
  const cluster = testCluster();

  it('slots of a sharded stream move to another master: nothing lost, nothing twice, order per shard kept', async () => {
    const c = cluster();
    const { key, p, realtime, group } = await running(streamer, c.url, 'reshard');
    const masters = (await c.masters()).map((m) => m.address);
    // Shards 0 and 1 move; the first pauses at each step, so sends and reads meet ASK and MOVED.
    const migrations = (async () => {
      for (const n of [0, 1]) {
        const slot = slotOf(`${key}:${n}`);
        const from = await c.masterOf(`${key}:${n}`);
        const to = masters.find((m) => m !== from)!;
        await c.migrateSlot(slot, to, {
          onStep: () => (n === 0 ? new Promise((resolve) => setTimeout(resolve, 150)) : undefined),
        });
        expect(await c.masterOf(`${key}:${n}`)).toBe(to);
      }
    })();
    const { sent, failed } = await produceDuring(p, 4000, migrations);
    expect([...failed.values()]).toEqual([]);
    const texts = inShardOrder(await drain(realtime, sent.size));
    expect(new Set(texts).size).toBe(sent.size);
    expect(new Set(texts)).toEqual(new Set(sent.keys()));
    const fromGroup = inShardOrder(await drain(group, sent.size));
    expect(new Set(fromGroup)).toEqual(new Set(sent.keys()));
    await group.commit();
  });
});

describe('master failover while running', () => {
  const cluster = testCluster();

  it("kill -9 a master holding shards: everything acked with acks: 'replicas' survives; readers carry on", {
    timeout: 120_000,
  }, async () => {
    const c = cluster();
    const { s, key, realtime, group } = await running(streamer, c.url, 'kill');
    const safe = await s.createProducer(key, { shards: SHARDS, acks: 'replicas' });
    const leaderKey = freshKey('kill-leader');
    const leader = await s.createProducer(leaderKey, { shards: SHARDS });
    const victim = await c.masterOf(`${key}:0`);
    const kill = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await c.killMaster(victim);
    })();
    onTestFinished(() => c.restartNode(victim).catch(() => {}));
    const [safeRun, leaderRun] = await Promise.all([
      produceDuring(safe, 3000, kill),
      produceDuring(leader, 3000, kill),
    ]);
    // Sends the cluster could not confirm were rejected (NOT_REPLICATED, retriable); every one it
    // confirmed is there after the failover.
    for (const error of safeRun.failed.values())
      expect((error as { code?: string }).code).toBe('NOT_REPLICATED');
    const safeStored = await stored(streamer, c.url, key, safeRun.sent.size);
    const lostSafe = [...safeRun.sent.keys()].filter((t) => !safeStored.has(t));
    expect(lostSafe).toEqual([]);
    const leaderStored = await stored(streamer, c.url, leaderKey, 0);
    const lostLeader = [...leaderRun.sent.keys()].filter((t) => !leaderStored.has(t));
    console.log(
      `failover: acks 'replicas' ${safeRun.sent.size} acked, ${safeRun.failed.size} rejected, 0 lost; ` +
        `acks 'leader' ${leaderRun.sent.size} acked, ${leaderRun.failed.size} rejected, ${lostLeader.length} lost`,
    );
    // The readers carried on by themselves: whatever is stored reached them.
    for (const reader of [realtime, group]) {
      const missing = new Set([...safeStored].filter((t) => !t.startsWith('seed')));
      while (missing.size > 0) for (const m of await drain(reader, 1)) missing.delete(m.text());
    }
  });

  it('CLUSTER FAILOVER on a replica (a planned switchover): nothing lost at all', async () => {
    const c = cluster();
    const { key, p, realtime, group } = await running(streamer, c.url, 'switch');
    const master = await c.masterOf(`${key}:0`);
    const replica = (await c.nodes()).find((n) => n.masterAddress === master && !n.failed)!;
    const switchover = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await c.failover(replica.address);
    })();
    const { sent, failed } = await produceDuring(p, 3000, switchover);
    expect(await c.masterOf(`${key}:0`)).toBe(replica.address);
    expect([...failed.values()]).toEqual([]);
    expect(await stored(streamer, c.url, key, sent.size)).toEqual(
      new Set([...sent.keys(), ...Array.from({ length: SHARDS }, (_, n) => `seed${n}`)]),
    );
    const texts = inShardOrder(await drain(realtime, sent.size));
    expect(new Set(texts)).toEqual(new Set(sent.keys()));
    expect(new Set(inShardOrder(await drain(group, sent.size)))).toEqual(new Set(sent.keys()));
  });
});

describe('a cluster that is down (CLUSTERDOWN)', () => {
  const cluster = testCluster();

  /** Kills a master and its replica: their slots are served by no one, so the cluster is down. */
  async function takeDown(c: TestCluster, key: string): Promise<string[]> {
    const master = await c.masterOf(key);
    const replica = (await c.nodes()).find((n) => n.masterAddress === master)!;
    await c.killNode(replica.address);
    await c.killNode(master);
    return [master, replica.address];
  }

  it('while running: reads and sends wait, and go on once it is back', async () => {
    const c = cluster();
    const { s, key, p, realtime } = await running(streamer, c.url, 'down');
    const errors: string[] = [];
    s.on('error', (e) => errors.push(e.message));
    const down = await takeDown(c, `${key}:0`);
    const sends = Array.from({ length: 20 }, (_, i) => p.send(`during${i}`, { shard: i % SHARDS }));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const address of down) await c.restartNode(address);
    await Promise.all(sends);
    const texts = (await take(realtime, 20, 20_000)).map((m) => m.text());
    expect(new Set(texts)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `during${i}`)));
    expect(errors.length).toBeGreaterThan(0);
  });

  it('at connect: a consumer is a clear retriable error, a send fails after deliveryTimeoutMs', async () => {
    const c = cluster();
    const key = freshKey('down-at-connect');
    const down = await takeDown(c, key);
    try {
      const s = await streamer(c.url);
      const error = await s.createConsumer(key).catch((e) => e);
      expect(error.code).toBe('CONNECT');
      expect(error.retriable).toBe(true);
      expect(error.message).toContain(key);
      const p = await s.createProducer(key, { deliveryTimeoutMs: 1000 });
      const failure = await p.send('x').catch((e) => e);
      expect(failure.code).toBe('CONNECT');
      expect(failure.message).toContain('deliveryTimeoutMs');
    } finally {
      for (const address of down) await c.restartNode(address);
    }
  });
});

describe('an idle consumer on a cluster', () => {
  const cluster = testCluster();

  it('does not busy-poll: one blocking read per read group per discoverIntervalMs', async () => {
    const c = cluster();
    const s = await open(c.url);
    const key = freshKey('idle');
    const p = await s.createProducer(key, { shards: SHARDS });
    await Promise.all(Array.from({ length: SHARDS }, (_, n) => p.send('x', { shard: n })));
    const groups = new Set(Array.from({ length: SHARDS }, (_, n) => slotOf(`${key}:${n}`))).size;
    const consumer = await s.createConsumer(key, {
      start: 'earliest',
      discoverIntervalMs: 500,
    } as ConsumerOptions);
    await take(consumer, SHARDS);
    const count = async () => {
      let total = 0;
      for (const m of await c.masters()) {
        const stats = await c.call(m.address, 'INFO', 'commandstats');
        for (const cmd of ['xread', 'scan', 'type', 'exists'])
          total += Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      }
      return total;
    };
    const before = await count();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const sent = (await count()) - before;
    // Per 500 ms: one XREAD BLOCK per read group, and discovery's TYPE plus one SCAN per master.
    const perSecond = sent / 3;
    console.log(
      `idle consumer, ${groups} read groups on 3 masters: ${perSecond.toFixed(1)} commands/s`,
    );
    expect(perSecond).toBeGreaterThan(groups);
    expect(perSecond).toBeLessThan(2 * (groups + 1 + 3) + 5);
    await s.disconnect();
  });
});

describe('a cluster that needs a login', () => {
  const cluster = testCluster();

  it('the credentials of the URL reach every node, not only the seeds', async () => {
    const c = cluster();
    // ACLs are per node: the user goes on every node, then the open default user goes away.
    const nodes = await c.nodes();
    for (const n of nodes)
      await c.call(n.address, 'ACL', 'SETUSER', 'app', 'on', '>s3cret', '~*', '&*', '+@all');
    for (const n of nodes) await c.call(n.address, 'ACL', 'SETUSER', 'default', 'off');
    const [first, ...rest] = c.url.slice('redis://'.length).split(',');
    const anonymous = await streamer(c.url).catch((e) => e);
    expect(anonymous.code).toBe('CONNECT');
    // One seed only: the other masters are found, and logged into, by discovery.
    const s = await streamer(`redis://app:s3cret@${first}`, { cluster: true });
    const key = freshKey('acl');
    const p = await s.createProducer(key, { shards: 12 });
    await Promise.all(Array.from({ length: 24 }, (_, i) => p.send(`m${i}`)));
    const consumer = await s.createConsumer(key, {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
    });
    expect((await take(consumer, 24)).length).toBe(24);
    expect(rest.length).toBeGreaterThan(0);
  });
});

describe('a cluster over TLS', () => {
  const certs = makeCertificates();
  afterAll(() => certs.remove());
  // Each node takes TLS clients on its port + 5000 and requires a client certificate; the cluster
  // bus is TLS too. Redis tells a TLS client the nodes' TLS ports, so discovery finds them.
  const TLS_OFFSET = 5000;
  const cluster = testCluster({
    extraArgs: (port) => [
      ...['--tls-port', String(port + TLS_OFFSET), '--tls-cluster', 'yes'],
      ...['--tls-replication', 'yes', '--tls-auth-clients', 'yes'],
      ...['--tls-cert-file', certs.file('server.crt'), '--tls-key-file', certs.file('server.key')],
      ...['--tls-ca-cert-file', certs.file('ca.crt')],
    ],
  });

  it('rediss:// with a CA and a client certificate reaches every node found by discovery', async () => {
    const seed = Number(cluster().url.slice('redis://'.length).split(',')[0].split(':')[1]);
    const url = `rediss://127.0.0.1:${seed + TLS_OFFSET}`;
    const tls = {
      ca: certs.pem('ca.crt'),
      cert: certs.pem('client.crt'),
      key: certs.pem('client.key'),
    };
    const s = await streamer(url, tls);
    expect(s.cluster).toBe(true);
    const key = freshKey('tls');
    const p = await s.createProducer(key, { shards: 12 });
    await Promise.all(Array.from({ length: 24 }, (_, i) => p.send(`m${i}`)));
    const c = await s.createConsumer(key, { start: 'earliest' });
    expect((await take(c, 24)).length).toBe(24);
    // Without the client certificate, no node lets us in.
    const refused = await streamer(url, { ca: tls.ca, timeoutMs: 2000 }).catch((e) => e);
    expect(refused.code).toBe('CONNECT');
  });
});

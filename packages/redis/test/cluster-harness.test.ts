import { existsSync } from 'node:fs';
import { createCluster } from '@redis/client';
import { afterEach, describe, expect, test } from 'vitest';
import { slotOf, type TestCluster } from './support/cluster.js';
import { testCluster } from './support/cluster-helpers.js';

// Checks the cluster test helper itself, with plain node-redis. The tests share one cluster and
// run in order: each leaves it healthy (3 masters, each with a replica) for the next.
describe('TestCluster', () => {
  const cluster = testCluster();
  const newClient = (c: TestCluster) => createCluster({ rootNodes: c.rootNodes });
  const clients: Array<ReturnType<typeof newClient>> = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  const connect = async (c: TestCluster) => {
    const client = newClient(c);
    client.on('error', () => {}); // a killed node's connection errors until rediscovery
    clients.push(client);
    await client.connect();
    return client;
  };
  /** One key per master, found by asking the cluster. */
  const keyPerMaster = async (c: TestCluster) => {
    const byMaster = new Map<string, string>();
    for (let i = 0; byMaster.size < (await c.masters()).length; i++) {
      const key = `k${i}`;
      const master = await c.masterOf(key);
      if (!byMaster.has(master)) byMaster.set(master, key);
    }
    return byMaster;
  };

  test('comes up with 3 masters, a replica each, every slot served', async () => {
    const nodes = await cluster().nodes();
    const masters = nodes.filter((n) => n.role === 'master');
    const replicas = nodes.filter((n) => n.role === 'replica');
    expect(masters).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    expect(new Set(replicas.map((r) => r.masterAddress))).toEqual(
      new Set(masters.map((m) => m.address)),
    );
    expect(nodes.every((n) => n.pid !== undefined && !n.failed)).toBe(true);
    const served = masters.flatMap((m) => m.slots).reduce((sum, [a, b]) => sum + b - a + 1, 0);
    expect(served).toBe(16384);
    expect(cluster().url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    const info = await cluster().call(masters[0].address, 'INFO', 'cluster');
    expect(info).toContain('cluster_enabled:1');
  });

  test('slotOf agrees with CLUSTER KEYSLOT, hash tags included', async () => {
    const address = (await cluster().masters())[0].address;
    for (const key of [
      'foo',
      'orders:0',
      'orders:1',
      '{user1000}.following',
      'a{}b',
      '{}{x}',
      'x{',
    ]) {
      expect(slotOf(key)).toBe(Number(await cluster().call(address, 'CLUSTER', 'KEYSLOT', key)));
    }
    expect(slotOf('{user1000}.following')).toBe(slotOf('{user1000}.followers'));
  });

  test('writes reach keys on every master', async () => {
    const client = await connect(cluster());
    const keys = await keyPerMaster(cluster());
    expect(keys.size).toBe(3);
    for (const [master, key] of keys) {
      await client.xAdd(key, '*', { msg: key });
      // Straight to the master, no redirect: the key is really there.
      expect(await cluster().call(master, 'XLEN', key)).toBe('1');
    }
  });

  test('a migrated slot moves its keys; a half migrated slot answers -ASK', async () => {
    const c = cluster();
    const client = await connect(c);
    const key = 'migrated';
    for (let i = 0; i < 10; i++) await client.xAdd(key, '*', { msg: String(i) });
    const source = await c.masterOf(key);
    const target = (await c.masters()).find((m) => m.address !== source)!.address;
    let duringMove = '';
    await c.migrateSlot(slotOf(key), target, {
      batch: 1,
      onStep: async (step) => {
        if (step !== 'moved') return;
        duringMove = await c.call(source, 'XLEN', key).catch((error: Error) => error.message);
      },
    });
    expect(duringMove).toMatch(/^ASK \d+ 127\.0\.0\.1:\d+$/);
    expect(await c.masterOf(key)).toBe(target);
    expect(await c.call(target, 'XLEN', key)).toBe('10');
    expect(await c.call(source, 'XLEN', key).catch((e: Error) => e.message)).toMatch(/^MOVED /);
    expect(await client.xLen(key)).toBe(10); // node-redis follows the MOVED
  });

  test("a killed master's replica takes over, and the old master rejoins as a replica", async () => {
    const c = cluster();
    const key = 'survives';
    const master = await c.masterOf(key);
    await c.call(master, 'XADD', key, '*', 'msg', 'x');
    expect(await c.call(master, 'WAIT', '1', '5000')).toBe('1');
    const replica = (await c.nodes()).find((n) => n.masterAddress === master)!.address;
    const promoted = await c.killMaster(master);
    expect(promoted).toBe(replica);
    expect(await c.masterOf(key)).toBe(promoted);
    expect((await c.nodes()).find((n) => n.address === master)).toMatchObject({
      pid: undefined,
      failed: true,
    });
    const client = await connect(c);
    expect(await client.xLen(key)).toBe(1);
    await c.restartNode(master);
    expect((await c.nodes()).find((n) => n.address === master)).toMatchObject({
      role: 'replica',
      masterAddress: promoted,
      failed: false,
    });
  });

  test('CLUSTER FAILOVER on a replica swaps it with its master', async () => {
    const c = cluster();
    const replica = (await c.nodes()).find((n) => n.role === 'replica')!;
    const master = replica.masterAddress!;
    await c.failover(replica.address);
    const nodes = await c.nodes();
    expect(nodes.find((n) => n.address === replica.address)).toMatchObject({ role: 'master' });
    expect(nodes.find((n) => n.address === master)).toMatchObject({
      role: 'replica',
      masterAddress: replica.address,
    });
  });

  test('stop() ends every redis-server it started and removes its dir', async () => {
    const c = cluster();
    const pids = c.pids;
    expect(pids).toHaveLength(6);
    await c.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(existsSync(c.dir)).toBe(false);
  });
});

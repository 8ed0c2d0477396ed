// @streamer/redis on a Redis Cluster against a hand-written node-redis createCluster() pipeline
// doing the same sends and reads, and against the same workload on one server, in one process.
// Starts a throwaway cluster (3 masters, a replica each) and a throwaway single server.
// BENCH_N sets the message count (default 200000), BENCH_SHARDS the stream's shards (default 6).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createClient, createCluster } from '@redis/client';
import { connect } from '@streamer/core';
import '@streamer/redis';
import { median, produceRate, timed } from './measure.mjs';

const N = Number(process.env.BENCH_N ?? 200_000);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const run = promisify(execFile);

/** A free port whose cluster bus port (+10000) is free too. */
async function freePort() {
  for (;;) {
    const port = 12000 + Math.floor(Math.random() * 10000);
    const free = (p) =>
      new Promise((resolve) => {
        const server = createServer().once('error', () => resolve(false));
        server.listen(p, '127.0.0.1', () => server.close(() => resolve(true)));
      });
    if ((await free(port)) && (await free(port + 10000))) return port;
  }
}

const children = [];
const dir = mkdtempSync(join(tmpdir(), 'streamer-bench-'));
async function startNode(args) {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('Ready to accept connections')) resolve();
    });
  });
  child.stdout.resume();
  return port;
}

async function startCluster() {
  const ports = [];
  for (let i = 0; i < 6; i++) {
    ports.push(
      await startNode([
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${i}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--repl-diskless-sync-delay',
        '0',
      ]),
    );
  }
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  await run('redis-cli', [
    '--cluster',
    'create',
    ...addresses,
    '--cluster-replicas',
    '1',
    '--cluster-yes',
  ]);
  for (;;) {
    const states = await Promise.all(
      ports.map((p) =>
        run('redis-cli', ['-p', String(p), 'CLUSTER', 'INFO']).then((r) => r.stdout),
      ),
    );
    const replicas = await Promise.all(
      ports.map((p) =>
        run('redis-cli', ['-p', String(p), 'INFO', 'replication']).then((r) => r.stdout),
      ),
    );
    const online = replicas.join('').match(/state=online/g)?.length ?? 0;
    if (states.every((s) => s.includes('cluster_state:ok')) && online >= 3) break;
    await sleep(100);
  }
  return addresses.slice(0, 3);
}

let keyCounter = 0;
const freshKey = () => `bench-${process.pid}-${++keyCounter}`;
const payload = Buffer.alloc(100, 'x').toString();

/** The hand-written pipeline: XADDs round the shards, 1000 in flight, through createCluster(). */
async function rawProduce(cluster, key) {
  for (let i = 0; i < N; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) {
      const k = `${key}:${j % SHARDS}`;
      batch.push(cluster.sendCommand(k, false, ['XADD', k, '*', 'msg', payload]));
    }
    await Promise.all(batch);
  }
}

/**
 * Hand-written reads as a node-redis user writes them: one `xRead` COUNT 1000 loop per shard
 * (keys of different slots cannot share an XREAD), all shards at once.
 */
async function rawRead(cluster, key) {
  await Promise.all(
    Array.from({ length: SHARDS }, async (_, n) => {
      const k = `${key}:${n}`;
      let id = '0-0';
      for (;;) {
        const reply = await cluster.xRead({ key: k, id }, { COUNT: 1000 });
        const messages = reply?.[0]?.messages ?? [];
        if (messages.length === 0) return;
        id = messages[messages.length - 1].id;
        if (messages.length < 1000) return;
      }
    }),
  );
}

function produce(s, key, options = {}) {
  return s
    .createProducer(key, { shards: SHARDS, ...options })
    .then((p) => produceRate(p, N, payload));
}

async function consume(s, key, options) {
  const c = await s.createConsumer(key, { start: 'earliest', batchSize: 1000, ...options });
  return timed(N, async () => {
    for (let i = 0; i < N; i++) await c.next();
    await c.end();
  });
}

const seeds = await startCluster();
const clusterUrl = `redis://${seeds.join(',')}`;
const singleUrl = `redis://127.0.0.1:${await startNode([])}`;
const raw = createCluster({
  rootNodes: seeds.map((a) => ({ url: `redis://${a}` })),
  commandOptions: { timeout: 0 },
});
await raw.connect();
const onCluster = await connect(clusterUrl);
const onSingle = await connect(singleUrl);

const runs = {};
const record = (name, value) => (runs[name] ??= []).push(value);
for (let round = 0; round < ROUNDS; round++) {
  const rawKey = freshKey();
  record('raw produce', await timed(N, () => rawProduce(raw, rawKey)));
  const key = freshKey();
  record('cluster produce', await produce(onCluster, key));
  const single = freshKey();
  record('single produce', await produce(onSingle, single));
  record('raw read', await timed(N, () => rawRead(raw, rawKey)));
  record('cluster realtime', await consume(onCluster, key, {}));
  record('single realtime', await consume(onSingle, single, {}));
  const group = {
    mode: 'resumable',
    group: `g${round}`,
    autoCommitDelayMs: 0,
    autoCommitIntervalMs: 100,
  };
  record('cluster group', await consume(onCluster, key, group));
  record('single group', await consume(onSingle, single, group));
  record('cluster replicas', await produce(onCluster, freshKey(), { acks: 'replicas' }));
}

// Idle: what a caught-up realtime consumer of the sharded stream sends per second.
const idleKey = freshKey();
const seed = await onCluster.createProducer(idleKey, { shards: SHARDS });
await Promise.all(Array.from({ length: SHARDS }, (_, n) => seed.send('x', { shard: n })));
const idle = await onCluster.createConsumer(idleKey, { start: 'earliest' });
for (let i = 0; i < SHARDS; i++) await idle.next();
const commands = async () => {
  let total = 0;
  for (const address of seeds) {
    const [host, port] = address.split(':');
    const c = createClient({ socket: { host, port: Number(port) } });
    await c.connect();
    const stats = String(await c.sendCommand(['INFO', 'commandstats']));
    c.destroy();
    for (const m of stats.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  }
  return total;
};
const before = await commands();
await sleep(5000);
const idlePerSecond = ((await commands()) - before - 2 * seeds.length) / 5; // less our own INFOs
// Latency: a message sent to the caught-up consumer, until next() has it; one shard at a time.
const latencies = [];
for (let i = 0; i < 24; i++) {
  await sleep(50);
  const start = process.hrtime.bigint();
  seed.send('ping', { shard: i % SHARDS });
  await idle.next();
  latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
}
await idle.end();

await Promise.all([onCluster.disconnect(), onSingle.disconnect()]);
raw.destroy();
for (const child of children) child.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });

const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
const paired = (a, b) => median(runs[a].map((v, i) => v / runs[b][i]));
const fmt = (n) => `${Math.round(n).toLocaleString('en-US')}/s`;
console.log(
  `@streamer/redis on Redis Cluster, ${new Date().toISOString().slice(0, 10)}, ${cpus().length}x ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
);
console.log(
  `3 masters + 3 replicas and one server, all on this machine; ${N} x 100 B over ${SHARDS} shards per run; medians of ${ROUNDS} runs, ratios the median of back-to-back pairs\n`,
);
console.log(
  '| | hand-written createCluster | streamer on the cluster | ratio | streamer on one server |',
);
console.log('|---|---|---|---|---|');
console.log(
  `| producer | ${fmt(m['raw produce'])} | ${fmt(m['cluster produce'])} | ${paired('cluster produce', 'raw produce').toFixed(2)}x | ${fmt(m['single produce'])} |`,
);
console.log(
  `| realtime consumer | ${fmt(m['raw read'])} | ${fmt(m['cluster realtime'])} | ${paired('cluster realtime', 'raw read').toFixed(2)}x | ${fmt(m['single realtime'])} |`,
);
console.log(
  `| group consumer + acks | | ${fmt(m['cluster group'])} | | ${fmt(m['single group'])} |`,
);
console.log(
  `\nacks: 'replicas' producer: ${fmt(m['cluster replicas'])}, ${paired('cluster replicas', 'cluster produce').toFixed(2)}x of acks: 'leader'`,
);
console.log(
  `An idle realtime consumer of ${SHARDS} shards sends ${idlePerSecond.toFixed(1)} commands/s to the cluster (default discoverIntervalMs 2000); a message sent to it arrives after ${median(latencies).toFixed(1)} ms (median of ${latencies.length}, max ${Math.max(...latencies).toFixed(1)} ms)`,
);

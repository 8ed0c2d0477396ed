// Throughput of @streamer/redis against raw node-redis on the same server, in one process.
// REDIS_URL picks the server; without it a throwaway redis-server is started on a free port.
// BENCH_N sets the message count (default 200000); BENCH_MEMORY_N the memory check's (1000000).
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import { createClient } from '@redis/client';
import { connect } from '@streamer/core';
import '@streamer/redis';
import { median, produceRate, timed } from './measure.mjs';

const N = Number(process.env.BENCH_N ?? 200_000);
const MEMORY_N = Number(process.env.BENCH_MEMORY_N ?? 1_000_000);
const NAIVE_N = Math.min(N, 20_000); // one round trip per message: a sample is enough
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const run = promisify(execFile);

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('Ready to accept connections')) resolve();
    });
  });
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

const server = process.env.REDIS_URL ? undefined : await startServer();
const url = process.env.REDIS_URL ?? server.url;
const raw = createClient({ url, commandOptions: { timeout: 0 } });
await raw.connect();
let keyCounter = 0;
const freshKey = () => `bench-${process.pid}-${Date.now().toString(36)}-${++keyCounter}`;

async function fill(key, payload, n) {
  for (let i = 0; i < n; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 1000); j++)
      batch.push(raw.xAdd(key, '*', { msg: payload }));
    await Promise.all(batch);
  }
}

async function measure(size) {
  const payload = Buffer.alloc(size, 'x').toString();
  const results = {};
  const keys = [];
  const key = () => {
    const k = freshKey();
    keys.push(k);
    return k;
  };

  // (a) naive: one awaited xAdd at a time, node-redis defaults (5 s command timeout armed).
  const naive = createClient({ url });
  await naive.connect();
  const ka = key();
  results.naive = await timed(NAIVE_N, async () => {
    for (let i = 0; i < NAIVE_N; i++) await naive.xAdd(ka, '*', { msg: payload });
  });
  naive.destroy();

  // Each figure runs ROUNDS times, alternating with its baseline, and the table shows medians; a
  // ratio is the median of the ratios of runs made back to back. On a shared 2-core machine
  // single runs move by a third, and load that drifts between two distant runs would skew them.
  const s = await connect(url);
  const runs = {};
  const record = (name, value) => {
    (runs[name] ??= []).push(value);
  };
  // Each producing run's key is deleted once it is measured (all but the last pipelined one, which
  // the consumers read): a server that kept them all held gigabytes by the last 1 KiB run, and
  // every run after the first paid for the server's fresh pages, not for its client.
  const written = async (k, rate) => {
    await raw.del(k);
    return rate;
  };
  const produce = async (options) => {
    const k = key();
    return written(k, await produceRate(await s.createProducer(k, options), N, payload));
  };
  let kb;
  for (let round = 0; round < ROUNDS; round++) {
    // (b) the best hand-written pipelining: 1000 xAdds in flight, command timeout off.
    if (kb) await raw.del(kb);
    kb = key();
    record('pipeline', await timed(N, () => fill(kb, payload, N)));
    // (c) redis-benchmark, pipelining 100 XADDs on one connection: the server's own speed.
    const kc = key();
    record('redisBenchmark', await written(kc, await redisBenchmark(kc, payload)));
    // (d) @streamer/redis producer: un-awaited sends, ready() for backpressure, one flush; sends
    // queued together as one script call (the default), and one XADD per send as before.
    record('producer', await produce());
    record('producerPipeline', await produce({ batching: 'pipeline' }));
  }

  for (let round = 0; round < ROUNDS; round++) {
    // (e) raw XREAD COUNT 1000 loop over what (b) wrote.
    record(
      'xread',
      await timed(N, async () => {
        let id = '0-0';
        let read = 0;
        while (read < N) {
          const reply = await raw.xRead({ key: kb, id }, { COUNT: 1000 });
          const messages = reply[0].messages;
          read += messages.length;
          id = messages[messages.length - 1].id;
        }
      }),
    );

    // (f) @streamer/redis realtime consumer, pages of 1000.
    const c = await s.createConsumer(kb, { start: 'earliest', batchSize: 1000 });
    record(
      'realtime',
      await timed(N, async () => {
        for (let i = 0; i < N; i++) await c.next();
      }),
    );
    await c.end();

    // (g) raw XREADGROUP COUNT 1000 and one XACK per page, over what (b) wrote.
    await raw.xGroupCreate(kb, `raw-${round}`, '0');
    record(
      'xreadgroup',
      await timed(N, async () => {
        let read = 0;
        while (read < N) {
          const reply = await raw.xReadGroup(
            `raw-${round}`,
            'c',
            { key: kb, id: '>' },
            { COUNT: 1000 },
          );
          const ids = reply[0].messages.map((m) => m.id);
          await raw.xAck(kb, `raw-${round}`, ids);
          read += ids.length;
        }
      }),
    );

    // (h) group consumer acking as the raw loop does: every message acked as next() hands it
    // out, each turn's acks committed at once (autoCommit 'immediate'), pages of 1000.
    // (i) the same with acks collected and committed every 100 ms ('delayed', no delay).
    for (const [name, options] of [
      ['group', { autoCommit: 'immediate' }],
      ['groupDelayed', { autoCommitDelayMs: 0, autoCommitIntervalMs: 100 }],
    ]) {
      const g = await s.createConsumer(kb, {
        mode: 'resumable',
        group: `bench-${name}-${round}`,
        start: 'earliest',
        batchSize: 1000,
        ...options,
      });
      record(
        name,
        await timed(N, async () => {
          for (let i = 0; i < N; i++) await g.next();
          await g.end();
        }),
      );
    }
  }
  await s.disconnect();
  await raw.del(keys);
  for (const [name, values] of Object.entries(runs)) results[name] = median(values);
  const paired = (a, b) => median(runs[a].map((v, i) => v / runs[b][i]));
  results.producerRatio = paired('producer', 'pipeline');
  results.producerPipelineRatio = paired('producerPipeline', 'pipeline');
  results.benchmarkRatio = paired('producer', 'redisBenchmark');
  results.realtimeRatio = paired('realtime', 'xread');
  results.groupRatio = paired('group', 'xreadgroup');
  results.groupDelayedRatio = paired('groupDelayed', 'xreadgroup');
  return results;
}

/** redis-benchmark's XADD rate with 100 commands pipelined on one connection. */
async function redisBenchmark(k, payload) {
  const { hostname, port } = new URL(url);
  const args = [
    '-h',
    hostname,
    '-p',
    port || '6379',
    '-q',
    '-P',
    '100',
    '-c',
    '1',
    '-n',
    String(N),
  ];
  const { stdout } = await run('redis-benchmark', [...args, 'XADD', k, '*', 'msg', payload]);
  const rate = /([\d.]+) requests per second/.exec(stdout.slice(stdout.lastIndexOf('XADD')));
  if (!rate) throw new Error(`redis-benchmark printed no rate: ${stdout.slice(-300)}`);
  return Number(rate[1]);
}

/** Produces MEMORY_N messages as fast as the loop can, bounded by ready(); samples the heap. */
async function memoryCheck() {
  const s = await connect(url);
  const k = freshKey();
  const p = await s.createProducer(k);
  const payload = Buffer.alloc(100, 'x');
  global.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const rate = await timed(MEMORY_N, async () => {
    for (let i = 0; i < MEMORY_N; i++) {
      await p.ready();
      p.send(payload);
      if (i % 50_000 === 0) {
        const now = process.memoryUsage();
        peakRss = Math.max(peakRss, now.rss);
        peakHeap = Math.max(peakHeap, now.heapUsed);
      }
    }
    await p.flush();
  });
  await s.disconnect();
  await raw.del(k);
  const mb = (n) => `${(n / 2 ** 20).toFixed(0)} MB`;
  return { rate, before, peakRss, peakHeap, mb };
}

const fmt = (n) => `${Math.round(n).toLocaleString('en-US')}/s`;
console.log(
  `@streamer/redis benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length}x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, Redis ${(await raw.info('server')).match(/redis_version:(\S+)/)?.[1]}`,
);
console.log(
  `${N} messages per run (naive: ${NAIVE_N}); medians of ${ROUNDS} runs, each ratio the median of back-to-back pairs\n`,
);
const rows = [];
for (const size of [100, 1024]) rows.push([size === 100 ? '100 B' : '1 KiB', await measure(size)]);
const x = (ratio, target) => `${ratio.toFixed(2)}x${target ? ` (target ≥ ${target}x)` : ''}`;
console.log(
  '| payload | naive xAdd | pipelined xAdd | redis-benchmark -P 100 | streamer, one XADD per send | ratio | streamer, batched (default) | vs pipelined xAdd | vs redis-benchmark |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, r] of rows) {
  console.log(
    `| ${name} | ${fmt(r.naive)} | ${fmt(r.pipeline)} | ${fmt(r.redisBenchmark)} | ${fmt(r.producerPipeline)} | ${x(r.producerPipelineRatio)} | ${fmt(r.producer)} | ${x(r.producerRatio, name === '100 B' ? 1.5 : 1.2)} | ${x(r.benchmarkRatio, name === '100 B' ? 0.7 : undefined)} |`,
  );
}
console.log(
  '\n| payload | raw XREAD 1000 | streamer realtime | ratio | raw XREADGROUP 1000 + XACK | streamer group, acks committed per page | ratio | acks committed every 100 ms | ratio |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, r] of rows) {
  console.log(
    `| ${name} | ${fmt(r.xread)} | ${fmt(r.realtime)} | ${x(r.realtimeRatio, 0.85)} | ${fmt(r.xreadgroup)} | ${fmt(r.group)} | ${x(r.groupRatio, 0.9)} | ${fmt(r.groupDelayed)} | ${x(r.groupDelayedRatio)} |`,
  );
}
const m = await memoryCheck();
console.log(
  `\nMemory while producing ${MEMORY_N.toLocaleString('en-US')} x 100 B as fast as ready() allows (${fmt(m.rate)}): heap ${m.mb(m.before.heapUsed)} before, peak ${m.mb(m.peakHeap)}; RSS ${m.mb(m.before.rss)} before, peak ${m.mb(m.peakRss)}`,
);
raw.destroy();
server?.stop();

// Benchmark of the file backend: the producer with string payloads against Buffer payloads, and a
// consumer's next() and for-await loops against readMessages() over the same file, as ratios with
// their targets; then a consumer's batchSize (its read size and read-ahead) and the producer's
// highWaterMark at a few values.
// Run with `pnpm bench` (builds first) or `node bench/run.mjs` after `npx tsc -b`.
// BENCH_N sets the message count (default 500000 of 100 B, so that the bench takes under a
// minute; the issue's workload was BENCH_N=1000000); BENCH_ROUNDS the rounds (3).
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, timed } from '../../core/bench/measure.mjs';
import { backend, readMessages } from '../dist/index.js';

const N = Number(process.env.BENCH_N ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// What JSON.stringify users send: 100 B of ASCII text.
const TEXT = JSON.stringify({ id: 123456, pad: 'x'.repeat(100 - 22) });
const BYTES = Buffer.from(TEXT);
if (BYTES.length !== 100) throw new Error(`the payload is ${BYTES.length} B, not 100`);
const dir = mkdtempSync(join(tmpdir(), 'streamer-file-bench-'));
let files = 0;

/**
 * Like timed(), plus the rate per second of this process's CPU time: other jobs on a shared
 * machine slow the wall clock of a run far more than its CPU time.
 */
async function rates(n, fn) {
  const cpu = process.cpuUsage();
  const wall = await timed(n, fn);
  const used = process.cpuUsage(cpu);
  return { wall, cpu: n / ((used.user + used.system) / 1e6) };
}

async function open() {
  const path = join(dir, `bench-${++files}.ss`);
  return {
    path,
    streamer: await backend.connect([pathToFileURL(path)], { createIfNotExists: true }),
  };
}

/** Sends N copies of `payload` with a ready() loop; end() includes the fsync. */
async function produce(payload, highWaterMark) {
  const { path, streamer } = await open();
  const limit = highWaterMark ?? 1000; // core's default
  const rate = await rates(N, async () => {
    const producer = await streamer.createProducer('bench', { highWaterMark });
    for (let i = 0; i < N; i++) {
      // ready() only when it may wait: an await per message costs a turn of the microtasks.
      if (producer.pending >= limit) await producer.ready();
      producer.send(payload);
    }
    await producer.end();
  });
  await streamer.disconnect();
  rmSync(path);
  return rate;
}

function rawWrite(path, chunks) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path);
    out.on('error', reject);
    let i = 0;
    const pump = () => {
      while (i < chunks.length) if (!out.write(chunks[i++])) return out.once('drain', pump);
      out.end(resolve);
    };
    pump();
  });
}

async function replay(path) {
  let n = 0;
  const rate = await rates(N, async () => {
    for await (const _ of readMessages(path)) n++;
  });
  if (n !== N) throw new Error(`readMessages read ${n} of ${N}`);
  return rate;
}

async function consume(streamer, loop, options = {}) {
  const consumer = await streamer.createConsumer('bench', {
    start: 'earliest',
    follow: false,
    ...options,
  });
  let n = 0;
  const rate = await rates(N, async () => {
    if (loop === 'next') for (; n < N; n++) await consumer.next();
    else for await (const _ of consumer) n++;
  });
  await consumer.end();
  if (n !== N) throw new Error(`the consumer read ${n} of ${N}`);
  return rate;
}

const runs = {};
const record = (name, value) => {
  (runs[name] ??= []).push(value);
};
const ratio = (a, b, clock = 'wall') => median(runs[a].map((v, i) => v[clock] / runs[b][i][clock]));

try {
  // The file the consumers read, written once.
  const { path, streamer } = await open();
  const producer = await streamer.createProducer('bench');
  for (let i = 0; i < N; i++) {
    if (producer.pending >= 1000) await producer.ready();
    producer.send(BYTES);
  }
  await producer.end();
  const size = statSync(path).size;
  const perMessage = [];
  const bytes = readFileSync(path);
  const step = Math.floor((bytes.length - 128) / N);
  for (let at = 128; at < bytes.length; at += step) perMessage.push(bytes.subarray(at, at + step));

  // Each figure runs ROUNDS times, alternating with its baseline; a ratio is the median of the
  // ratios of runs made back to back, so load that drifts on a shared machine skews neither side.
  // Below 1000 a batchSize reads 1000 at a time all the same (the consumer's read-ahead).
  const sweep = { readAhead: [1000, 10_000], highWaterMark: [100, 1000, 10_000] };
  for (let round = 0; round < ROUNDS; round++) {
    record('raw', await rates(N, () => rawWrite(join(dir, 'raw.bin'), perMessage)));
    record('buffer', await produce(BYTES));
    record('string', await produce(TEXT));
    // Which read goes first alternates too, so that none always follows the writes.
    const reads = [
      async () => record('readMessages', await replay(path)),
      async () => record('next', await consume(streamer, 'next')),
      async () => record('forAwait', await consume(streamer, 'forAwait')),
    ];
    for (const read of round % 2 ? reads.reverse() : reads) await read();
    for (const batchSize of sweep.readAhead)
      record(`batchSize ${batchSize}`, await consume(streamer, 'forAwait', { batchSize }));
    for (const highWaterMark of sweep.highWaterMark)
      record(`highWaterMark ${highWaterMark}`, await produce(TEXT, highWaterMark));
  }
  // Opening the written file again for appending: stream state comes from its last beacons.
  const reopen = await timed(1, async () => {
    const again = await streamer.createProducer('bench');
    await again.end();
  });
  await streamer.disconnect();

  const M = (name) => `${(median(runs[name].map((v) => v.wall)) / 1e6).toFixed(2)}M/s`;
  const check = (value, target) =>
    `${value.toFixed(2)}x (target >= ${target}x${value >= target ? '' : ', MISSED'})`;
  console.log(
    `file backend: ${N.toLocaleString('en-US')} messages of 100 B (${(size / 1e6).toFixed(1)} MB file), ` +
      `medians of ${ROUNDS} alternating rounds, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  );
  // [name, what it is measured against, target]: the ratio of wall-clock rates, and of CPU-time
  // rates, which other jobs on the machine move less.
  const row = (name, base, target, what = base) => {
    const wall = ratio(name, base);
    return {
      rate: M(name),
      ratio: `${target ? check(wall, target) : `${wall.toFixed(2)}x`} of ${what}`,
      'CPU-time ratio': `${ratio(name, base, 'cpu').toFixed(2)}x`,
    };
  };
  console.table({
    'raw createWriteStream, one write() per message': { rate: M('raw') },
    'producer, Buffer payloads': row('buffer', 'raw'),
    'producer, string payloads': row('string', 'buffer', 0.8, 'Buffer'),
    'readMessages()': { rate: M('readMessages') },
    'consumer next()': row('next', 'readMessages', 0.9),
    'consumer for await': row('forAwait', 'readMessages', 0.9),
  });
  const table = {};
  for (const batchSize of sweep.readAhead) {
    const name = `batchSize ${batchSize}`;
    table[`consumer for await, ${name}`] = row(name, 'readMessages');
  }
  for (const highWaterMark of sweep.highWaterMark) {
    const name = `highWaterMark ${highWaterMark}`;
    table[`producer, string payloads, ${name}`] = row(name, 'string', 0, 'the default (1000)');
  }
  console.table(table);
  console.log(`opening the file again to append: ${(1000 / reopen).toFixed(1)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

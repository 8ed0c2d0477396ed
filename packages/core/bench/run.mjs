// Benchmark of consumer.run() on the memory backend: run({ eachMessage }) at concurrency 1
// against a plain `for await` loop that acks each message, on the same stored messages. Both
// read a resumable group with autoCommit 'disabled', so both ack every message and commit once.
// Run with `pnpm bench` (builds first) or `node bench/run.mjs [count]` after `npx tsc -b`.
import { memoryBackend } from '../dist/index.js';

const COUNT = Number(process.argv[2] ?? 300_000);
const ROUNDS = 3;
const streamer = await memoryBackend.connect([new URL('memory://bench')], {});
const producer = await streamer.createProducer('bench');
const payload = Buffer.alloc(100, 'x');
for (let i = 0; i < COUNT; i++) producer.send(payload);
await producer.end();

let group = 0;
const consumer = () =>
  streamer.createConsumer('bench', {
    mode: 'resumable',
    group: `g${++group}`,
    start: 'earliest',
    autoCommit: 'disabled',
  });

async function loop() {
  const c = await consumer();
  let n = 0;
  for await (const message of c) {
    n += message.payload.length > 0 ? 1 : 0;
    c.ack(message);
    if (n === COUNT) break; // ends the consumer, which commits
  }
}

async function run() {
  const c = await consumer();
  let n = 0;
  let finished;
  const all = new Promise((resolve) => {
    finished = resolve;
  });
  const r = c.run({
    eachMessage: async (message) => {
      n += message.payload.length > 0 ? 1 : 0;
      if (n === COUNT) finished();
    },
  });
  await all;
  await r.stop();
  await c.end();
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Interleaved rounds, best of each: the machine's other load hits both alike.
const best = { loop: Number.POSITIVE_INFINITY, run: Number.POSITIVE_INFINITY };
await loop(); // warm-up
await run();
for (let i = 0; i < ROUNDS; i++) {
  best.loop = Math.min(best.loop, await timed(loop));
  best.run = Math.min(best.run, await timed(run));
}
const rate = (s) => Math.round(COUNT / s).toLocaleString('en-US');
console.table([
  { name: 'for await + ack', 'msgs/s': rate(best.loop), 'vs loop': '1.00x' },
  {
    name: 'run({ eachMessage }), concurrency 1',
    'msgs/s': rate(best.run),
    'vs loop': `${(best.loop / best.run).toFixed(2)}x`,
  },
]);
await streamer.disconnect();

// What the run() benchmarks of every backend measure (core's, file's and redis' bench/), on a
// stream the caller filled: run({ eachMessage }) at concurrency 1 against a plain `for await`
// loop that acks each message, and a handler that awaits 1 ms at concurrency 32 against 1. Each
// round reads in a fresh resumable group with autoCommit 'disabled' (both ack every message and
// commit once, at the end); rounds alternate, and each ratio is the median of back-to-back pairs,
// so the machine's other load hits both sides alike.

import { median, timed } from './measure.mjs';

let groups = 0;
const consumer = (streamer, stream) =>
  streamer.createConsumer(stream, {
    mode: 'resumable',
    group: `bench-${process.pid}-${++groups}`,
    start: 'earliest',
    autoCommit: 'disabled',
  });

function loop(streamer, stream) {
  return async (count) => {
    const c = await consumer(streamer, stream);
    let n = 0;
    for await (const message of c) {
      n += message.payload.length >= 0 ? 1 : 0;
      c.ack(message);
      if (n === count) break; // ends the consumer, which commits
    }
  };
}

function run(streamer, stream, options, handler) {
  return async (count) => {
    const c = await consumer(streamer, stream);
    let n = 0;
    let finished;
    const all = new Promise((resolve) => {
      finished = resolve;
    });
    // Without a handler, an async one that awaits nothing, as the loop's body does: an
    // `await undefined` would add a turn per message that the loop does not take.
    const eachMessage = handler
      ? async (message) => {
          await handler(message);
          if (++n === count) finished();
        }
      : async () => {
          if (++n === count) finished();
        };
    const r = c.run({ ...options, eachMessage });
    await all;
    await r.stop();
    await c.end();
  };
}

const sleep1 = () => new Promise((resolve) => setTimeout(resolve, 1));

/**
 * Alternating rounds of each case on `stream` (at least `count` messages). Returns msgs/s
 * medians and the two ratios: run / loop, and concurrency 32 / 1 with a 1 ms handler.
 */
export async function measureProcessing(streamer, stream, { count, rounds = 7, slowCount = 300 }) {
  const cases = {
    loop: [loop(streamer, stream), count],
    run: [run(streamer, stream, {}), count],
    slow1: [run(streamer, stream, { concurrency: 1 }, sleep1), slowCount],
    slow32: [run(streamer, stream, { concurrency: 32, ordering: 'none' }, sleep1), slowCount * 32],
  };
  const rates = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const [fn, n] of Object.values(cases)) await fn(Math.min(n, 1000)); // warm-up
  for (let i = 0; i < rounds; i++) {
    for (const [name, [fn, n]] of Object.entries(cases))
      rates[name].push(await timed(n, () => fn(n)));
  }
  const m = Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, median(r)]));
  // Each ratio is the median of the ratios of rounds run back to back, as in the Redis bench: a
  // garbage collection or a neighbour's load that hits one round then moves one pair, not both
  // medians.
  const paired = (a, b) => median(rates[a].map((v, i) => v / rates[b][i]));
  return { ...m, runVsLoop: paired('run', 'loop'), concurrencyGain: paired('slow32', 'slow1') };
}

/** Prints what measureProcessing measured, as a table. */
export function printProcessing(backend, m) {
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  console.table([
    { backend, case: 'for await + ack', 'msgs/s': fmt(m.loop), ratio: '1.00x' },
    {
      backend,
      case: 'run({ eachMessage }), concurrency 1',
      'msgs/s': fmt(m.run),
      ratio: `${m.runVsLoop.toFixed(2)}x (target >= 0.9x)`,
    },
    { backend, case: 'handler awaits 1 ms, concurrency 1', 'msgs/s': fmt(m.slow1), ratio: '1.00x' },
    {
      backend,
      case: 'handler awaits 1 ms, concurrency 32',
      'msgs/s': fmt(m.slow32),
      ratio: `${m.concurrencyGain.toFixed(1)}x (target >= 20x)`,
    },
  ]);
}

// What both Redis benchmarks measure with: core's helpers, and a producer's rate.
import { timed } from '../../core/bench/measure.mjs';

export { median, timed } from '../../core/bench/measure.mjs';

/**
 * Sends `n` payloads as fast as the producer takes them and flushes; returns sends per second.
 * ready() only when it may wait: an await per message costs a turn of the microtasks.
 */
export async function produceRate(p, n, payload) {
  const rate = await timed(n, async () => {
    for (let i = 0; i < n; i++) {
      if (p.pending >= 1000) await p.ready();
      p.send(payload);
    }
    await p.flush();
  });
  await p.end();
  return rate;
}

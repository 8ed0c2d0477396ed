// What both benchmarks measure with.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` and returns how many of `n` things per second it did. */
export async function timed(n, fn) {
  const start = process.hrtime.bigint();
  await fn();
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

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

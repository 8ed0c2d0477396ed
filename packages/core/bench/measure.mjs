// What every package's benchmarks measure with.

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

import type { AsyncQueue } from '@streamer/core/backend';

/** Resolves when `queue` holds fewer than `limit` items, or when `stop` aborts: read-ahead backpressure. */
export function untilRoom<T>(
  queue: AsyncQueue<T>,
  limit: number,
  stop: AbortSignal,
): Promise<void> {
  if (queue.length < limit || stop.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stop.removeEventListener('abort', done);
      resolve();
    };
    stop.addEventListener('abort', done, { once: true });
    queue.untilShorterThan(limit).then(done);
  });
}

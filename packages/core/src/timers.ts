import { abortError } from './errors.js';

/** Resolves after `ms`; rejects with ABORTED when `signal` aborts first. The timer never holds the process open. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface BackoffOptions {
  /** First delay. Default 100. */
  initialMs?: number;
  /** Largest delay. Default 10000. */
  maxMs?: number;
}

/**
 * Exponential backoff with jitter: attempt n waits between half and all of `initialMs * 2^n`,
 * capped at `maxMs`. Jitter keeps many clients from reconnecting in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 10_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

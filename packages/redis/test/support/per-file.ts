import { afterAll, beforeAll } from 'vitest';

/** What a test file can own for its duration: a cluster, a Sentinel deployment. */
interface Deployment {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts `make()` before the file's tests and stops it after them. Returns a getter, valid once
 * beforeAll ran; `what` names the deployment in the error of a getter called too early.
 */
export function forThisFile<T extends Deployment>(what: string, make: () => T): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    const deployment = make();
    await deployment.start();
    started = deployment;
  }, 60_000);
  afterAll(async () => {
    await started?.stop();
  });
  return () => {
    if (!started) throw new Error(`the ${what} is not started yet: use it inside a test or hook`);
    return started;
  };
}

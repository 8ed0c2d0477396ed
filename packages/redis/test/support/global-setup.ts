import { createClient } from '@redis/client';
import type { TestProject } from 'vitest/node';
import { hasRedisServer, INSTALL_HINT, TestServer } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * Uses REDIS_URL when set, else a throwaway redis-server for this run. On a server that outlives
 * the run, the test workers' fresh keys carry this run's tag and are deleted at the end.
 */
export default async function setup(project: TestProject) {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    const run = `run${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    process.env.STREAMER_TEST_RUN = run; // inherited by the workers, read by freshKey()
    return () => deleteKeys(fromEnv, `t-${run}-*`);
  }
  if (!hasRedisServer()) throw new Error(INSTALL_HINT);
  const server = await new TestServer().start();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}

/** Deletes the keys matching `pattern`, found with SCAN. */
async function deleteKeys(url: string, pattern: string): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
  } finally {
    client.destroy();
  }
}

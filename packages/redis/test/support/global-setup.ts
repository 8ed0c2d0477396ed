import type { TestProject } from 'vitest/node';
import { hasRedisServer, INSTALL_HINT, TestServer } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Uses REDIS_URL when set, else a throwaway redis-server for this run. */
export default async function setup(project: TestProject) {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    return;
  }
  if (!hasRedisServer()) throw new Error(INSTALL_HINT);
  const server = await new TestServer().start();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}

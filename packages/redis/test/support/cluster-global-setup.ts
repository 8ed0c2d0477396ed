import type { TestProject } from 'vitest/node';
import { TestCluster } from './cluster.js';
import { hasRedisServer, INSTALL_HINT } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    clusterUrl: string;
  }
}

/**
 * One cluster for the whole run, for tests that do not break it (the conformance suite, fresh
 * keys per test): REDIS_CLUSTER_URL when set, else a throwaway TestCluster, stopped at the end.
 * Tests that kill, fail over or reshard start their own with `testCluster()` instead.
 */
export default async function setup(project: TestProject) {
  const fromEnv = process.env.REDIS_CLUSTER_URL;
  if (fromEnv) {
    project.provide('clusterUrl', fromEnv);
    return;
  }
  if (!hasRedisServer()) throw new Error(INSTALL_HINT.replace('REDIS_URL', 'REDIS_CLUSTER_URL'));
  const cluster = await new TestCluster().start();
  project.provide('clusterUrl', cluster.url);
  return () => cluster.stop();
}

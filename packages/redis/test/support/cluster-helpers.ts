import { afterAll, beforeAll, inject } from 'vitest';
import { type ClusterOptions, TestCluster } from './cluster.js';

/** The shared cluster's URL, from test/support/cluster-global-setup.ts. */
export function clusterUrl(): string {
  const url = inject('clusterUrl');
  if (!url)
    throw new Error('no clusterUrl: add test/support/cluster-global-setup.ts to globalSetup');
  return url;
}

/**
 * For a test file that breaks its cluster (kill, failover, resharding): starts one of its own
 * before the file's tests and stops it after them. Returns a getter, valid once beforeAll ran.
 */
export function testCluster(options?: ClusterOptions): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await new TestCluster(options).start();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the cluster is not started yet: use it inside a test or hook');
    return cluster;
  };
}

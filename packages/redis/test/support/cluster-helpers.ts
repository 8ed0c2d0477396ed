import { inject } from 'vitest';
import { type ClusterOptions, TestCluster } from './cluster.js';
import { forThisFile } from './per-file.js';

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
  return forThisFile('cluster', () => new TestCluster(options));
}

import { describe } from 'vitest';
import { badInputTests } from './bad-input.js';
import { type ConformanceOptions, conformanceContext } from './context.js';
import { failoverTests } from './failover.js';
import { headerAndTimestampTests } from './headers-timestamps.js';
import { loadBalancedTests } from './load-balanced.js';
import { manifestTests } from './manifest.js';
import { producerTests } from './producer.js';
import { realtimeTests } from './realtime.js';
import { resumableTests } from './resumable.js';
import { rewindAndSeekTests } from './rewind-seek.js';
import { runTests } from './run.js';
import { shardTests } from './shards.js';

export { badInputTests } from './bad-input.js';
export {
  type ConformanceContext,
  type ConformanceOptions,
  conformanceContext,
  expectCode,
  freshKey,
  type Needs,
  takeMessages,
} from './context.js';
export { failoverTests } from './failover.js';
export { headerAndTimestampTests } from './headers-timestamps.js';
export { loadBalancedTests } from './load-balanced.js';
export { manifestTests } from './manifest.js';
export { producerTests } from './producer.js';
export { realtimeTests } from './realtime.js';
export { resumableTests } from './resumable.js';
export { rewindAndSeekTests } from './rewind-seek.js';
export { runTests } from './run.js';
export { shardTests } from './shards.js';

/** Every topic, in the order a reader would learn them. */
const TOPICS = [
  manifestTests,
  producerTests,
  realtimeTests,
  resumableTests,
  loadBalancedTests,
  failoverTests,
  rewindAndSeekTests,
  shardTests,
  headerAndTimestampTests,
  runTests,
  badInputTests,
];

/**
 * Registers the shared conformance tests for a backend with vitest. What the backend can do is
 * read from `streamer.supports` of each streamer `connect()` opens; tests for the rest are skipped.
 *
 *     runConformance({ name: 'file', connect: () => connect('file:///tmp/x.ss') });
 *
 * One topic alone: `describe('x', () => rewindAndSeekTests(conformanceContext(options)))`, with any of
 * the `…Tests` functions exported here.
 */
export function runConformance(options: ConformanceOptions): void {
  const ctx = conformanceContext(options);
  describe(`conformance: ${ctx.name}`, () => {
    for (const topic of TOPICS) topic(ctx);
  });
}

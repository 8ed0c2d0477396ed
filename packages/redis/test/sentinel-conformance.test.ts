import { runConformance } from '@streamer/conformance';
import { open } from './support/helpers.js';
import { testSentinel } from './support/sentinel.js';

// The whole suite on a master found through Sentinel (one deployment for the file).
const deployment = testSentinel();

runConformance({ name: 'redis sentinel', connect: () => open(deployment().url) });

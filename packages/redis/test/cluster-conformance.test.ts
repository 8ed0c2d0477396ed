import { runConformance } from '@streamer/conformance';
import { REDIS_SUPPORTS } from '../src/index.js';
import { clusterUrl } from './support/cluster-helpers.js';
import { open } from './support/helpers.js';

runConformance({
  name: 'redis cluster',
  connect: () => open(clusterUrl()),
  supports: REDIS_SUPPORTS,
});

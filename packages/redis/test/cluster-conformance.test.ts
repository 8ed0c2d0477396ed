import { runConformance } from '@streamer/conformance';
import { clusterUrl } from './support/cluster-helpers.js';
import { open } from './support/helpers.js';

runConformance({ name: 'redis cluster', connect: () => open(clusterUrl()) });

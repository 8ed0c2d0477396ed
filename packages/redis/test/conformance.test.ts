import { runConformance } from '@streamer/conformance';
import { open } from './support/helpers.js';

runConformance({ name: 'redis', connect: open });

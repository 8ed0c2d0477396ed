import { runConformance } from '@streamer/conformance';
import { REDIS_SUPPORTS } from '../src/index.js';
import { open } from './support/helpers.js';

runConformance({ name: 'redis', connect: open, supports: REDIS_SUPPORTS });

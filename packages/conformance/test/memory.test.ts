import { connect } from '@streamer/core';
import { runConformance } from '../src/index.js';

// The in-memory backend implements the whole contract: the suite proves itself against it.
runConformance({
  name: 'memory',
  connect: () => connect('memory://conformance'),
});

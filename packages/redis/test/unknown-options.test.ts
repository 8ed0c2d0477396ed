import { unknownOptionsTests } from '../../core/test/support/unknown-options.js';
import { freshKey, redisUrl } from './support/helpers.js';

unknownOptionsTests('redis', {
  url: redisUrl,
  stream: () => freshKey('unknown-options'),
  known: {
    connect: {
      timeoutMs: 2000,
      messageField: 'msg',
      reconnectMaxMs: 1000,
      cluster: false,
      nodeAddressMap: {},
    },
    producer: {
      maxLen: 100,
      acks: 'leader',
      deliveryTimeoutMs: 5000,
      batching: 'pipeline',
    },
    consumer: { mode: 'resumable', group: 'g', createIfNotExists: true, discoverIntervalMs: 500 },
  },
});

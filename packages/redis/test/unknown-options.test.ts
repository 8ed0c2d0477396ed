import { unknownOptionsTests } from '../../core/test/support/unknown-options.js';
import { redisUrl } from './support/helpers.js';

unknownOptionsTests('redis', {
  url: redisUrl,
  known: {
    connect: { timeoutMs: 2000, messageField: 'msg', reconnectMaxMs: 1000 },
    producer: { maxLen: 100 },
    consumer: { mode: 'resumable', group: 'g', createIfNotExists: true, discoverIntervalMs: 500 },
  },
});

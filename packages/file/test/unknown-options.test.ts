import { pathToFileURL } from 'node:url';
import { registerBackend } from '@streamer/core';
import { unknownOptionsTests } from '../../core/test/support/unknown-options.js';
import { backend } from '../src/index.js';
import { tempDir, tempFile } from './helpers.js';

registerBackend('file', backend);
const dir = tempDir('unknown-options');

unknownOptionsTests('file', {
  url: () => pathToFileURL(tempFile(dir)).href,
  options: () => ({ createIfNotExists: true }),
  known: {
    connect: { follow: true, watch: false, beaconIntervalBytes: 1024, maxFileBytes: 2 ** 20 },
    consumer: { follow: false, pollIntervalMs: 10 },
  },
});

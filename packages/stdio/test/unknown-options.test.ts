import { PassThrough } from 'node:stream';
import { registerBackend } from '@streamer/core';
import { unknownOptionsTests } from '../../core/test/support/unknown-options.js';
import { backend } from '../src/index.js';

registerBackend('stdio', backend);

unknownOptionsTests('stdio', {
  url: () => 'stdio://',
  options: () => ({ input: new PassThrough(), output: new PassThrough() }),
  known: { connect: { loopback: false, maxLineBytes: 1024 } },
});

import { PassThrough, Writable } from 'node:stream';
import { runConformance } from '@streamer/conformance';
import { backend } from '../src/index.js';

const url = [new URL('stdio://')];

// Loopback: what a process produces reaches its own consumers directly. The input never ends and
// the output goes nowhere; every connect shares them, as every streamer of a process shares stdin.
const idleInput = new PassThrough();
const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
runConformance({
  name: 'stdio (loopback)',
  connect: () => backend.connect(url, { input: idleInput, output: nowhere, loopback: true }),
});

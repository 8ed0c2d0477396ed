import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runConformance } from '@streamer/conformance';
import { afterAll } from 'vitest';
import { backend, FILE_SUPPORTS } from '../src/index.js';

// Every connect() reaches the same file, as the suite needs for its resume tests.
const dir = mkdtempSync(join(tmpdir(), 'streamer-file-conformance-'));
const url = pathToFileURL(join(dir, 'conformance.ss'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runConformance({
  name: 'file',
  connect: () => backend.connect([url], { createIfNotExists: true, beaconInterval: 4096 }),
  supports: FILE_SUPPORTS,
});

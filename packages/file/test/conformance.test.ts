import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runConformance } from '@streamer/conformance';
import { afterAll } from 'vitest';
import { backend } from '../src/index.js';

// Every connect() of a run reaches the same file, as the suite needs for its resume tests.
const dir = mkdtempSync(join(tmpdir(), 'streamer-file-conformance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runConformance({
  name: 'file',
  connect: () =>
    backend.connect([pathToFileURL(join(dir, 'conformance.ss'))], {
      createIfNotExists: true,
      beaconInterval: 4096,
    }),
});

// Again without fs.watch (polling alone) and with a beacon at every KiB, splicing most messages.
runConformance({
  name: 'file, polling, 1 KiB beacons',
  connect: () =>
    backend.connect([pathToFileURL(join(dir, 'polling.ss'))], {
      createIfNotExists: true,
      beaconInterval: 1024,
      watch: false,
    }),
});

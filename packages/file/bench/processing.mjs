// Benchmark of consumer.run() on the file backend (see core's bench/processing.mjs for what it
// measures), on a stream file of 100 B messages in a temporary directory. Run with `pnpm bench`
// (builds first) or `node bench/processing.mjs [count]` after `npx tsc -b`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { measureProcessing, printProcessing } from '../../core/bench/processing.mjs';
import { backend } from '../dist/index.js';

const COUNT = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'streamer-file-run-bench-'));
try {
  const url = pathToFileURL(join(dir, 'bench.ss'));
  const streamer = await backend.connect([url], { createIfNotExists: true });
  const producer = await streamer.createProducer('bench');
  const payload = Buffer.alloc(100, 'x');
  for (let i = 0; i < COUNT + 10_000; i++) producer.send(payload);
  await producer.end();
  printProcessing('file', await measureProcessing(streamer, 'bench', { count: COUNT }));
  await streamer.disconnect();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

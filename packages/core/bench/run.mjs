// Benchmark of consumer.run() on the memory backend (see processing.mjs for what it measures).
// Run with `pnpm bench` (builds first) or `node bench/run.mjs [count]` after `npx tsc -b`.
import { memoryBackend } from '../dist/index.js';
import { measureProcessing, printProcessing } from './processing.mjs';

const COUNT = Number(process.argv[2] ?? 300_000);
const streamer = await memoryBackend.connect([new URL('memory://bench')], {});
const producer = await streamer.createProducer('bench');
const payload = Buffer.alloc(100, 'x');
for (let i = 0; i < COUNT; i++) producer.send(payload);
await producer.end();
printProcessing('memory', await measureProcessing(streamer, 'bench', { count: COUNT }));
await streamer.disconnect();

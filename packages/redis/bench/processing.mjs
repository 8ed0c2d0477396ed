// Benchmark of consumer.run() on Redis (see core's bench/processing.mjs for what it measures).
// REDIS_URL picks the server (default the local one); BENCH_N sets the message count (100000).
import { createClient } from '@redis/client';
import { connect } from '@streamer/core';
import '@streamer/redis';
import { measureProcessing, printProcessing } from '../../core/bench/processing.mjs';

const N = Number(process.env.BENCH_N ?? 100_000);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const streamer = await connect(url);
const key = `bench-run-${process.pid}-${Date.now().toString(36)}`;
try {
  const producer = await streamer.createProducer(key);
  const payload = Buffer.alloc(100, 'x');
  for (let i = 0; i < N + 10_000; i++) producer.send(payload);
  await producer.end();
  printProcessing('redis', await measureProcessing(streamer, key, { count: N }));
} finally {
  await streamer.disconnect();
  const raw = createClient({ url });
  await raw.connect();
  await raw.del(key); // its groups go with it
  await raw.quit();
}

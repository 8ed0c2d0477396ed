// The streamer demo: a small pipeline in one process.
//
//   sensors ──> readings ──> processor ──> processed ──> two load-balanced workers
//
// It runs on a file in a temp folder (no server needed), or on Redis with
//   STREAMER_URL=redis://localhost:6379 pnpm demo
// The same code runs on both: only the URL changes. DEMO_MESSAGES sets how many readings (200).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@redis/client';
import { connect } from '@streamer/core';

const total = Number(process.env.DEMO_MESSAGES ?? 200);
const folder = process.env.STREAMER_URL ? undefined : mkdtempSync(join(tmpdir(), 'streamer-demo-'));
const url = process.env.STREAMER_URL ?? pathToFileURL(join(folder, 'demo.ss')).href;
const run = `demo-${Date.now().toString(36)}`; // fresh stream names for every run
const READINGS = `${run}-readings`;
const PROCESSED = `${run}-processed`;

const streamer = await connect(url, url.startsWith('file:') ? { createIfNotExists: true } : {});
console.log(
  `streamer demo on ${streamer.backend} (${url}): ${total} sensor readings, one every 5 ms;\n` +
    'a processor converts them to °F and flags alerts; two load-balanced workers share the results',
);

// Every stage is created before the first message, so nothing is missed.
const processorIn = await streamer.createConsumer(READINGS, { start: 'earliest' });
const processorOut = await streamer.createProducer(PROCESSED);
const workerOptions = { mode: 'loadBalanced', group: 'workers', start: 'earliest', batchSize: 10 };
const workers = await Promise.all(
  ['w1', 'w2'].map(async (id) => ({
    id,
    consumer: await streamer.createConsumer(PROCESSED, { ...workerOptions, consumerId: id }),
    handled: 0,
  })),
);

/** A reading, the same every run: sensor, degrees Celsius. */
function reading(i) {
  const sensor = `s${(i % 3) + 1}`;
  const celsius = Math.round((20 + 8 * Math.sin(i / 7) + (i % 5)) * 10) / 10;
  return { i, sensor, celsius };
}

async function sensors() {
  const producer = await streamer.createProducer(READINGS);
  for (let i = 0; i < total; i++) {
    await producer.send(JSON.stringify(reading(i)));
    await new Promise((resolve) => setTimeout(resolve, 5)); // a steady trickle
  }
  await producer.end();
}

let alerts = 0;
async function processor() {
  for (let n = 0; n < total; n++) {
    const message = await processorIn.next({ signal: AbortSignal.timeout(15_000) });
    const r = message.json();
    const fahrenheit = Math.round(((r.celsius * 9) / 5 + 32) * 10) / 10;
    const alert = r.celsius >= 30;
    if (alert) alerts++;
    await processorOut.send(JSON.stringify({ ...r, fahrenheit, alert }));
  }
}

async function worker(w) {
  let seen = 0;
  while (workers.reduce((sum, x) => sum + x.handled, 0) < total) {
    let message;
    try {
      message = await w.consumer.next({ signal: AbortSignal.timeout(1000) });
    } catch (error) {
      if (error.code === 'TIMEOUT' && Date.now() - started < 20_000) continue; // the other has them
      throw error;
    }
    const p = message.json();
    w.handled++;
    w.consumer.ack(message);
    if (p.i % 20 === 0 || p.alert) {
      const flag = p.alert ? '  ALERT' : '';
      console.log(
        `  reading ${String(p.i).padStart(3)}  ${p.sensor}  ${p.celsius.toFixed(1)} °C -> ${p.fahrenheit.toFixed(1)} °F  -> ${w.id}${flag}`,
      );
    }
    seen++;
  }
  return seen;
}

const started = Date.now();
try {
  await Promise.all([sensors(), processor(), ...workers.map(worker)]);
  const seconds = (Date.now() - started) / 1000;
  const handled = workers.reduce((sum, w) => sum + w.handled, 0);
  console.log(
    `summary: ${handled} messages through 3 stages in ${seconds.toFixed(1)} s (${Math.round(handled / seconds)} msg/s), ${alerts} alerts`,
  );
  for (const w of workers) console.log(`  worker ${w.id}: ${w.handled} messages`);
} finally {
  await streamer.disconnect();
  if (folder) rmSync(folder, { recursive: true, force: true });
  else if (url.startsWith('redis')) await removeRedisKeys();
}

/** The demo's streams are its own: leave nothing behind on a shared Redis. */
async function removeRedisKeys() {
  const client = createClient({ url });
  await client.connect();
  for (const key of await client.keys(`${run}-*`)) await client.del(key);
  client.destroy();
}

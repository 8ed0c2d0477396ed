// Two workers share the jobs of one stream (loadBalanced group). Worker "a" stops half way
// without finishing what it had taken; worker "b" takes over, so every job is done.
//   node examples/load-balanced.mjs [jobs]
import { open } from './streamer-url.mjs';

const jobs = Number(process.argv[2] ?? 20);
const stream = `jobs-${Date.now()}`; // a new stream each run
const streamer = await open({ loopback: true });
const options = {
  mode: 'loadBalanced',
  group: 'workers',
  start: 'earliest',
  autoCommit: 'disabled',
  // Redis: another member claims a stopped member's unacked jobs after 1 s.
  autoClaimIdleMs: 1000,
  autoClaimIntervalMs: 250,
};
const workers = {
  a: await streamer.createConsumer(stream, { ...options, consumerId: 'a' }),
  b: await streamer.createConsumer(stream, { ...options, consumerId: 'b' }),
};
const producer = await streamer.createProducer(stream);
for (let i = 0; i < jobs; i++) producer.send(`job ${i}`);
await producer.flush();

const done = new Set();
const counts = { a: 0, b: 0 };
await Promise.all(
  Object.entries(workers).map(async ([name, worker]) => {
    while (done.size < jobs) {
      let job;
      try {
        job = await worker.next({ signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        if (error.code === 'CONSUMER_ENDED') return; // this worker stopped
        throw error;
      }
      done.add(job.text());
      counts[name]++;
      worker.ack(job);
      console.log(`worker ${name} did ${job.text()}`);
      if (name === 'a' && counts.a === Math.floor(jobs / 4)) {
        console.log('worker a stops (its unfinished jobs go to b)');
        await worker.end();
        return;
      }
    }
  }),
);
await streamer.disconnect();
console.log(`all ${jobs} jobs done: a did ${counts.a}, b did ${counts.b}`);

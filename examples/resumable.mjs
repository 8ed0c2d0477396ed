// A resumable consumer: it acks what it has processed and commits; run it again and it goes on
// where the last run stopped (file:// keeps the position in a sidecar file, Redis in the group).
//   node examples/producer.mjs 10 && node examples/resumable.mjs && node examples/resumable.mjs
import { open } from './streamer-url.mjs';

const batch = Number(process.argv[2] ?? 3);
const streamer = await open();
const consumer = await streamer.createConsumer('orders', {
  mode: 'resumable',
  group: 'billing',
  start: 'earliest',
  autoCommit: 'disabled', // we say what is done: ack, then commit
});
for (let i = 0; i < batch; i++) {
  const message = await consumer.next({ signal: AbortSignal.timeout(5000) }).catch((error) => {
    if (error.code === 'TIMEOUT') return undefined; // nothing new
    throw error;
  });
  if (!message) break;
  console.log(`billing order #${message.sequence}: ${message.text()}`);
  consumer.ack(message);
}
await consumer.commit(); // the next run starts after the acked messages
await streamer.disconnect();

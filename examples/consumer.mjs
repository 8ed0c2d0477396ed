// Prints the orders of the stream "orders", from the first one stored, as they come.
//   node examples/consumer.mjs [count]     (stops after count, or on Ctrl-C)
import { open, stopOnSignal } from './streamer-url.mjs';

const count = Number(process.argv[2] ?? 5);
const streamer = await open();
const consumer = await streamer.createConsumer('orders', { start: 'earliest' });
stopOnSignal(consumer);
let seen = 0;
for await (const message of consumer) {
  const order = message.json();
  console.log(
    `#${message.sequence} at ${message.timestamp.toISOString()}: ${order.quantity} x ${order.item}`,
  );
  if (++seen >= count) break; // break ends the consumer
}
await streamer.disconnect();

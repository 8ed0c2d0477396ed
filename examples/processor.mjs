// A stream processor: reads "orders", prices each one, writes it to "invoices", with run():
// handlers in flight at once, retries, a dead-letter stream, and a graceful stop on SIGTERM.
//   node examples/processor.mjs [count]
// On stdio it composes with pipes:
//   STREAMER_URL=stdio:// node examples/producer.mjs | STREAMER_URL=stdio:// node examples/processor.mjs
import { open } from './streamer-url.mjs';

const PRICES = { tea: 2.5, coffee: 3, cake: 4.25 };
const count = Number(process.argv[2] ?? 5);
const streamer = await open();
const consumer = await streamer.createConsumer('orders', { start: 'earliest' });
const producer = await streamer.createProducer('invoices');
let done = 0;

const run = consumer.run({
  concurrency: 4,
  retry: { retries: 2, initialDelayMs: 50 },
  // An order that fails three times (an unknown item) goes here instead of stopping the run.
  deadLetter: { stream: 'orders.dead' },
  eachMessage: async (message) => {
    const order = message.json();
    const price = PRICES[order.item];
    if (price === undefined) throw new Error(`no price for ${JSON.stringify(order.item)}`);
    const invoice = { order: order.id, total: price * order.quantity };
    await producer.ready(); // keeps memory flat when the output is slower than the input
    producer.send(JSON.stringify(invoice), { timestamp: message.timestamp });
    process.stderr.write(`invoiced order ${order.id}: ${invoice.total}\n`);
    if (++done >= count) run.stop();
  },
});

// SIGTERM (a deploy, Kubernetes) or Ctrl-C: running handlers finish, then the run commits.
const stop = () => run.stop();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

try {
  await run.done;
} finally {
  await producer.end();
  await streamer.disconnect();
}

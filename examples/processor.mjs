// A stream processor: reads "orders", prices each one, writes it to "invoices".
//   node examples/processor.mjs [count]
// On stdio it composes with pipes:
//   STREAMER_URL=stdio:// node examples/producer.mjs | STREAMER_URL=stdio:// node examples/processor.mjs
import { open, stopOnSignal } from './streamer-url.mjs';

const PRICES = { tea: 2.5, coffee: 3, cake: 4.25 };
const count = Number(process.argv[2] ?? 5);
const streamer = await open();
const consumer = await streamer.createConsumer('orders', { start: 'earliest' });
const producer = await streamer.createProducer('invoices');
stopOnSignal(consumer);
let done = 0;
for await (const message of consumer) {
  const order = message.json();
  const invoice = { order: order.id, total: PRICES[order.item] * order.quantity };
  await producer.ready(); // keeps memory flat when the output is slower than the input
  producer.send(JSON.stringify(invoice), { timestamp: message.timestamp });
  process.stderr.write(`invoiced order ${order.id}: ${invoice.total}\n`);
  if (++done >= count) break;
}
await producer.end();
await streamer.disconnect();

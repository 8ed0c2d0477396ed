// Sends a few orders to the stream "orders" and prints where each was stored.
//   node examples/producer.mjs [count]
import { open, STREAMER_URL } from './streamer-url.mjs';

const count = Number(process.argv[2] ?? 5);
const streamer = await open();
const producer = await streamer.createProducer('orders');
for (let i = 0; i < count; i++) {
  const order = {
    id: `${Date.now()}-${i}`,
    item: ['tea', 'coffee', 'cake'][i % 3],
    quantity: 1 + (i % 4),
  };
  // Sends need no await to be safe: failures surface in flush() or end().
  producer.send(JSON.stringify(order)).then((receipt) => {
    process.stderr.write(`stored order ${order.id} as ${receipt.streamKey} #${receipt.sequence}\n`);
  });
}
await producer.end(); // flushes every send first
await streamer.disconnect();
process.stderr.write(`sent ${count} orders to ${STREAMER_URL}\n`);

import { connect } from '@streamer/core';
import '@streamer/redis';

const s = await connect('redis://127.0.0.1:16380');
const p = await s.createProducer(`d-${Date.now()}`, { highWaterMark: 200 });
for (let i = 0; i < 200; i++) p.send(`m${i}`);
console.log(
  'pending',
  p.pending,
  p.ready === Object.getPrototypeOf(Object.getPrototypeOf(p)).ready,
);
const t = setTimeout(() => console.log('stuck, pending', p.pending), 2000);
await p.ready();
clearTimeout(t);
console.log('ok', p.pending);
await s.disconnect();

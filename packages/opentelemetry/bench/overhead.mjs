// What the diagnostics channels cost on the memory backend (CPU-bound, so any cost shows):
// this build with nobody subscribed against a build of core without channels (BASELINE: the path
// of its dist/index.js), alternating, medians; then this build with the OpenTelemetry
// instrumentation on.
// Usage: BASELINE=/path/to/core/dist/index.js node packages/opentelemetry/bench/overhead.mjs [messages] [rounds]
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as current from '@streamer/core';
import { median, timed } from '../../core/bench/measure.mjs';
import { StreamerInstrumentation } from '../dist/index.js';

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 5);
const baselinePath = process.env.BASELINE;
if (!baselinePath) {
  console.error('Set BASELINE to the dist/index.js of a @streamer/core build without channels');
  process.exit(2);
}
const baseline = await import(baselinePath);

let name = 0;
async function produce(core) {
  const streamer = await core.connect(`memory://bench-${name++}`);
  const producer = await streamer.createProducer('s');
  const consumer = await streamer.createConsumer('s', { start: 'earliest' });
  const sent = await timed(n, async () => {
    for (let i = 0; i < n; i++) {
      producer.send('x'.repeat(100));
      if ((i & 1023) === 0) await producer.ready();
    }
    await producer.flush();
  });
  const consumed = await timed(n, async () => {
    let left = n;
    const run = consumer.run({
      eachMessage: () => {
        if (--left === 0) run.stop();
      },
    });
    await run.done;
  });
  await streamer.disconnect();
  return { sent, consumed };
}

async function measureInto(core, into) {
  const { sent, consumed } = await produce(core);
  into.sent.push(sent);
  into.consumed.push(consumed);
}

await produce(current); // warm up both
await produce(baseline);
const base = { sent: [], consumed: [] };
const here = { sent: [], consumed: [] };
for (let r = 0; r < rounds; r++) {
  for (const [core, into] of r % 2
    ? [
        [current, here],
        [baseline, base],
      ]
    : [
        [baseline, base],
        [current, here],
      ]) {
    const { sent, consumed } = await produce(core);
    into.sent.push(sent);
    into.consumed.push(consumed);
  }
}

const silentExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const instrumentation = new StreamerInstrumentation();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new BatchSpanProcessor(silentExporter)],
});
instrumentation.setTracerProvider(tracerProvider);
instrumentation.setMeterProvider(new MeterProvider());
const traced = { sent: [], consumed: [] };
for (let r = 0; r < rounds; r++) await measureInto(current, traced);
instrumentation.disable();
await tracerProvider.shutdown();

const fmt = (v) => `${Math.round(median(v) / 1000)}k/s`;
const ratio = (a, b) => (median(a) / median(b)).toFixed(3);
console.log(`memory backend, ${n} messages of 100 B, ${rounds} rounds, medians`);
console.log(
  `send:    without channels ${fmt(base.sent)}, unsubscribed ${fmt(here.sent)} (ratio ${ratio(here.sent, base.sent)}), OpenTelemetry on ${fmt(traced.sent)} (ratio ${ratio(traced.sent, here.sent)})`,
);
console.log(
  `run():   without channels ${fmt(base.consumed)}, unsubscribed ${fmt(here.consumed)} (ratio ${ratio(here.consumed, base.consumed)}), OpenTelemetry on ${fmt(traced.consumed)} (ratio ${ratio(traced.consumed, here.consumed)})`,
);

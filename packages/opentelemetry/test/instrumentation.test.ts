import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  AggregationTemporality,
  type DataPoint,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { connect, type Message, type Streamer } from '@streamer/core';
import { backend as fileBackend } from '@streamer/file';
import { backend as redisBackend } from '@streamer/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StreamerInstrumentation } from '../src/index.js';

/** Collects on demand: the in-memory reader of these tests. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const reader = new TestReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const contextManager = new AsyncLocalStorageContextManager();
let instrumentation: StreamerInstrumentation;

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  instrumentation = new StreamerInstrumentation({ enabled: false });
  // As users of the OpenTelemetry SDK register instrumentations.
  registerInstrumentations({ instrumentations: [instrumentation], tracerProvider, meterProvider });
});
afterAll(async () => {
  instrumentation.disable();
  context.disable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});
afterEach(() => exporter.reset());

const dir = mkdtempSync(join(tmpdir(), 'streamer-otel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The streams the tests wrote, deleted from Redis at the end: the server may outlive the run. */
const streams: string[] = [];
const newStream = () => {
  const stream = `t-otel-${randomUUID()}`;
  streams.push(stream);
  return stream;
};
afterAll(async () => {
  if (streams.length > 0)
    await promisify(execFile)('redis-cli', ['-u', redisUrl, 'UNLINK', ...streams]);
});

interface Case {
  name: string;
  /** A second call reaches the same data, as another service would. */
  connect(): Promise<Streamer>;
  /** Whether messages carry headers, so the trace crosses from sender to handler. */
  headers: boolean;
}

const file = join(dir, `${randomUUID()}.ss`);
const memoryUrl = `memory://otel-${randomUUID()}`;
const CASES: Case[] = [
  { name: 'memory', headers: true, connect: () => connect(memoryUrl) },
  {
    name: 'file',
    headers: false,
    connect: () => fileBackend.connect([pathToFileURL(file)], { createIfNotExists: true }),
  },
  { name: 'redis', headers: true, connect: () => redisBackend.connect([new URL(redisUrl)], {}) },
];

function spansNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

async function points(metric: string): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) if (m.descriptor.name === metric) return m.dataPoints;
  }
  return [];
}

async function counted(metric: string, stream: string): Promise<number> {
  return (await points(metric))
    .filter((p) => p.attributes['messaging.destination.name'] === stream)
    .reduce((sum, p) => sum + (p.value as number), 0);
}

/** Runs `handler` over `count` messages of `stream` in group g, then stops. */
async function processAll(
  streamer: Streamer,
  stream: string,
  count: number,
  handler: (m: Message) => void = () => {},
) {
  const consumer = await streamer.createConsumer(stream, {
    mode: 'resumable',
    group: 'g',
    start: 'earliest',
    autoCommit: 'rolling',
  });
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const run = consumer.run({
    retry: { retries: 1, initialDelayMs: 1 },
    eachMessage: (m) => {
      handler(m);
      if (++seen === count) done();
    },
  });
  return { consumer, run, all };
}

describe.each(CASES)('$name', ({ connect: open, headers }) => {
  // The file backend allows one writer per file: each test ends what it opened.
  let sender: Streamer;
  let receiver: Streamer;
  beforeAll(async () => {
    sender = await open();
    receiver = await open();
  });
  afterAll(async () => {
    await sender.disconnect();
    await receiver.disconnect();
  });

  it('a send inside a span and its processing by run() on another streamer share one trace', async () => {
    const stream = newStream();
    const producer = await sender.createProducer(stream);
    const tracer = tracerProvider.getTracer('test');
    const parent = await tracer.startActiveSpan('request', async (span) => {
      await producer.send('hello');
      span.end();
      return span.spanContext();
    });
    await producer.end();
    const { run, all } = await processAll(receiver, stream, 1);
    await all;
    await run.stop();
    const [send] = spansNamed(`send ${stream}`);
    const [processSpan] = spansNamed(`process ${stream}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.spanContext().traceId).toBe(parent.traceId);
    expect(send.attributes).toMatchObject({
      'messaging.system': sender.backend,
      'messaging.destination.name': stream,
      'messaging.destination.partition.id': '0',
      'messaging.operation.type': 'send',
    });
    expect(send.attributes['messaging.message.id']).toMatch(/^\d+$/);
    expect(processSpan.kind).toBe(SpanKind.CONSUMER);
    expect(processSpan.attributes).toMatchObject({
      'messaging.system': receiver.backend,
      'messaging.destination.name': stream,
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': 'g',
      'messaging.message.id': send.attributes['messaging.message.id'],
    });
    if (headers) {
      // A child of the send span: the trace runs from the request to the handler.
      expect(processSpan.spanContext().traceId).toBe(parent.traceId);
      expect(processSpan.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    } else {
      // Without headers nothing carries the context: the handler's span starts its own trace.
      expect(processSpan.spanContext().traceId).not.toBe(parent.traceId);
    }
  });

  it('marks the span of a failed handler call; counts what was sent and consumed; lag goes to 0', async () => {
    const stream = newStream();
    const producer = await sender.createProducer(stream);
    for (let i = 0; i < 5; i++) producer.send(i === 3 ? 'bad' : `m${i}`);
    await producer.end();
    let failedOnce = false;
    const { consumer, run, all } = await processAll(receiver, stream, 5, (m) => {
      if (m.text() === 'bad' && !failedOnce) {
        failedOnce = true;
        throw new Error('no good');
      }
    });
    const stopObserving = instrumentation.observeLag(consumer);
    await all;
    // The retry of 'bad' succeeded: wait until its call has finished too.
    while (spansNamed(`process ${stream}`).length < 6) await new Promise((r) => setTimeout(r, 5));
    const lags = (await points('streamer.consumer.lag')).filter(
      (p) => p.attributes['messaging.destination.name'] === stream,
    );
    expect(lags.map((p) => p.value)).toEqual([0]);
    expect(lags[0].attributes['messaging.consumer.group.name']).toBe('g');
    stopObserving();
    await run.stop();
    const failed = spansNamed(`process ${stream}`).filter(
      (s) => s.status.code === SpanStatusCode.ERROR,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0].status.message).toBe('no good');
    expect(failed[0].events.map((e) => e.name)).toEqual(['exception']);
    expect(await counted('messaging.client.sent.messages', stream)).toBe(5);
    expect(await counted('messaging.client.consumed.messages', stream)).toBe(5);
    const durations = (await points('messaging.process.duration')).filter(
      (p) => p.attributes['messaging.destination.name'] === stream,
    );
    expect(durations.reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(6);
  });
});

describe('instrumentation', () => {
  it('leaves dead letters untraced unless asked', async () => {
    const streamer = await connect(`memory://otel-${randomUUID()}`);
    const producer = await streamer.createProducer('dl');
    await producer.send('x', { headers: { 'dead-letter-error': 'boom' } });
    expect(spansNamed('send dl')).toHaveLength(0);
    instrumentation.setConfig({ includeInternal: true });
    await producer.send('y', { headers: { 'dead-letter-error': 'boom' } });
    instrumentation.setConfig({});
    expect(spansNamed('send dl')).toHaveLength(1);
    await streamer.disconnect();
  });

  it('traces nothing once disabled', async () => {
    const streamer = await connect(`memory://otel-${randomUUID()}`);
    const producer = await streamer.createProducer('off');
    instrumentation.disable();
    await producer.send('x');
    instrumentation.enable();
    await producer.send('y');
    expect(spansNamed('send off')).toHaveLength(1);
    await streamer.disconnect();
  });
});

import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { AbstractProducer, type OutgoingMessage, resolveProducerOptions } from '../src/backend.js';
import {
  CHANNELS,
  type CommitEvent,
  connect,
  MEMORY_SUPPORTS,
  type ProcessEvent,
  type Receipt,
  type ReceiveEvent,
  type SendEvent,
  setTraceContextHook,
} from '../src/index.js';

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const PHASES: Phase[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

/** Records every phase of a TracingChannel, with a copy of the event as it was then. */
function record<E extends object>(name: string) {
  const seen: { phase: Phase; event: E }[] = [];
  const handlers = Object.fromEntries(
    PHASES.map((phase) => [phase, (event: E) => seen.push({ phase, event: { ...event } })]),
  ) as unknown as diagnostics.TracingChannelSubscribers<object>;
  const channel = diagnostics.tracingChannel(name);
  channel.subscribe(handlers);
  return { seen, stop: () => channel.unsubscribe(handlers) };
}

function listen<E>(name: string) {
  const seen: E[] = [];
  const handler = (event: unknown) => seen.push(event as E);
  diagnostics.subscribe(name, handler);
  return { seen, stop: () => diagnostics.unsubscribe(name, handler) };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  setTraceContextHook(undefined);
});

async function memory() {
  return connect(`memory://${randomUUID()}`);
}

/** Keeps what the backend was handed, and fails sends of the payload 'fail'. */
class Keeping extends AbstractProducer {
  readonly handed: OutgoingMessage[] = [];
  constructor() {
    super('s', resolveProducerOptions({}, MEMORY_SUPPORTS), MEMORY_SUPPORTS, 'memory');
  }
  protected async _send(message: OutgoingMessage): Promise<Receipt> {
    this.handed.push(message);
    if (message.payload === 'fail') throw new Error('refused');
    return { streamKey: message.streamKey, shardId: 0, sequence: 1n, timestamp: new Date() };
  }
}

describe('streamer:send', () => {
  it('traces a send: start with its stream, shard and size, asyncEnd with the receipt', async () => {
    const trace = record<SendEvent>(CHANNELS.send);
    stops.push(trace.stop);
    const streamer = await memory();
    const producer = await streamer.createProducer('orders');
    const receipt = await producer.send('héllo', { headers: { a: 'b' } });
    expect(trace.seen.map((s) => s.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(trace.seen[0].event).toMatchObject({
      backend: 'memory',
      stream: 'orders',
      shard: 0,
      payloadSize: 6,
      headers: { a: 'b' },
    });
    expect(trace.seen[0].event.result).toBeUndefined();
    expect(trace.seen[3].event.result).toEqual(receipt);
    await streamer.disconnect();
  });

  it('publishes error, then asyncEnd with the error, when the backend fails the send', async () => {
    const trace = record<SendEvent>(CHANNELS.send);
    stops.push(trace.stop);
    const producer = new Keeping();
    const error = await producer.send('fail').catch((e) => e);
    expect(error.message).toBe('refused');
    expect(trace.seen.map((s) => s.phase)).toEqual([
      'start',
      'end',
      'error',
      'asyncStart',
      'asyncEnd',
    ]);
    expect(trace.seen[4].event.error).toBe(error);
    await producer.end().catch(() => {});
  });

  it('builds nothing when nobody subscribes: the backend gets the caller’s own headers', async () => {
    const producer = new Keeping();
    const headers = { a: 'b' };
    const trace = record<SendEvent>(CHANNELS.send);
    await producer.send('one', { headers });
    trace.stop();
    await producer.send('two', { headers });
    expect(trace.seen).toHaveLength(4); // the first send only
    expect(producer.handed[0].headers).not.toBe(headers); // copied, so a hook may add to it
    expect(producer.handed[1].headers).toBe(headers);
    await producer.end();
  });

  it('writes the hook’s trace context into headers, never over the caller’s, unless turned off', async () => {
    setTraceContextHook({
      inject: (event, carrier) => {
        carrier.traceparent = `00-${event.stream}`;
        carrier.tracestate = 'k=v';
      },
      run: (_event, fn) => fn(),
    });
    const streamer = await memory();
    const consumer = await streamer.createConsumer('t', { start: 'earliest' });
    const producer = await streamer.createProducer('t');
    const off = await streamer.createProducer('t', { propagateContext: false });
    await producer.send('a');
    await producer.send('b', { headers: { traceparent: 'mine' } });
    await off.send('c');
    expect((await consumer.next()).headers).toEqual({ traceparent: '00-t', tracestate: 'k=v' });
    expect((await consumer.next()).headers).toEqual({ traceparent: 'mine', tracestate: 'k=v' });
    expect((await consumer.next()).headers).toEqual({});
    await streamer.disconnect();
  });

  it('refuses a propagateContext that is no boolean, naming it', async () => {
    const streamer = await memory();
    await expect(streamer.createProducer('t', { propagateContext: 'no' as never })).rejects.toThrow(
      /propagateContext.*"no"/,
    );
    await streamer.disconnect();
  });
});

describe('streamer:process', () => {
  it('traces each handler call of run(), with group, delivery count and attempt; a failure has its error', async () => {
    const trace = record<ProcessEvent>(CHANNELS.process);
    stops.push(trace.stop);
    const streamer = await memory();
    const producer = await streamer.createProducer('p');
    await producer.send('ok');
    await producer.send('bad');
    const consumer = await streamer.createConsumer('p', {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
    });
    const seen: string[] = [];
    const run = consumer.run({
      retry: { retries: 1, initialDelayMs: 1 },
      eachMessage: (m) => {
        seen.push(m.text());
        if (m.text() === 'bad') throw new Error('no');
      },
    });
    await expect(run.done).rejects.toThrow(/no/);
    const starts = trace.seen.filter((s) => s.phase === 'start').map((s) => s.event);
    expect(starts.map((e) => [e.messages[0].text(), e.attempt])).toEqual([
      ['ok', 1],
      ['bad', 1],
      ['bad', 2],
    ]);
    expect(starts[0]).toMatchObject({ backend: 'memory', group: 'g', deliveryCount: 1 });
    const ends = trace.seen.filter((s) => s.phase === 'asyncEnd').map((s) => s.event);
    expect(ends.map((e) => e.error === undefined)).toEqual([true, false, false]);
    expect(trace.seen.filter((s) => s.phase === 'error')).toHaveLength(2);
    await streamer.disconnect();
  });

  it('consumer.process() traces a for-await body and runs it inside the hook', async () => {
    const trace = record<ProcessEvent>(CHANNELS.process);
    stops.push(trace.stop);
    const inside: string[] = [];
    setTraceContextHook({
      inject: () => {},
      run: (event, fn) => {
        inside.push(`in ${event.messages[0].text()}`);
        return fn();
      },
    });
    const streamer = await memory();
    const producer = await streamer.createProducer('q');
    await producer.send('x');
    const consumer = await streamer.createConsumer('q', { start: 'earliest' });
    for await (const message of consumer) {
      const result = await consumer.process(message, async (m) => `did ${m.text()}`);
      expect(result).toBe('did x');
      break;
    }
    expect(inside).toEqual(['in x']);
    expect(trace.seen.map((s) => s.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(trace.seen[3].event).toMatchObject({ group: undefined, result: 'did x' });
    await streamer.disconnect();
  });

  it('consumer.process() refuses what is no message, naming it', async () => {
    const streamer = await memory();
    const consumer = await streamer.createConsumer('q');
    await expect(consumer.process('nope' as never, () => 1)).rejects.toThrow(/message.*"nope"/);
    await streamer.disconnect();
  });
});

describe('streamer:receive and streamer:commit', () => {
  it('publishes each delivery and each commit with its count', async () => {
    const receive = listen<ReceiveEvent>(CHANNELS.receive);
    const commit = listen<CommitEvent>(CHANNELS.commit);
    stops.push(receive.stop, commit.stop);
    const streamer = await memory();
    const producer = await streamer.createProducer('r');
    await producer.send('1');
    await producer.send('2');
    const consumer = await streamer.createConsumer('r', {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
      autoCommit: 'disabled',
    });
    consumer.ack(await consumer.next());
    consumer.ack(await consumer.next());
    await consumer.commit();
    expect(receive.seen).toEqual([
      { backend: 'memory', group: 'g', stream: 'r', shard: 0, count: 1 },
      { backend: 'memory', group: 'g', stream: 'r', shard: 0, count: 1 },
    ]);
    expect(commit.seen).toHaveLength(1);
    expect(commit.seen[0]).toMatchObject({
      backend: 'memory',
      group: 'g',
      count: 2,
      error: undefined,
    });
    expect(commit.seen[0].durationMs).toBeGreaterThanOrEqual(0);
    await streamer.disconnect();
  });
});

describe('consumer.lag()', () => {
  it('counts what is stored after what the group was given, down to 0', async () => {
    const streamer = await memory();
    const producer = await streamer.createProducer('l', { shards: 2 });
    for (let i = 0; i < 5; i++) await producer.send(String(i), { shard: i % 2 });
    const consumer = await streamer.createConsumer('l', {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
    });
    const byShard = async () =>
      Object.fromEntries((await consumer.lag()).map((l) => [l.shard, l.lag]));
    expect(await byShard()).toEqual({ 0: 3, 1: 2 });
    await consumer.next();
    const after = await byShard();
    expect((after[0] ?? 0) + (after[1] ?? 0)).toBe(4);
    for (let i = 0; i < 4; i++) await consumer.next();
    expect(await byShard()).toEqual({ 0: 0, 1: 0 });
    await streamer.disconnect();
  });

  it('counts messages a run took but has not handed to a handler', async () => {
    const streamer = await memory();
    const producer = await streamer.createProducer('m');
    for (let i = 0; i < 5; i++) await producer.send(String(i));
    const consumer = await streamer.createConsumer('m', { start: 'earliest' });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const first = new Promise<void>((resolve) => {
      started = resolve;
    });
    const run = consumer.run({
      eachMessage: async () => {
        started();
        await held;
      },
    });
    await first;
    // One handed out; whatever the run has read ahead meanwhile is not given yet.
    expect((await consumer.lag())[0].lag).toBe(4);
    release();
    await run.stop();
    await streamer.disconnect();
  });
});

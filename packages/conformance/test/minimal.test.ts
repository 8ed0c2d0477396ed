import { type Message, type Receipt, StreamerError, type StreamKey } from '@streamer/core';
import {
  AbstractConsumer,
  AbstractProducer,
  AbstractStreamer,
  AsyncQueue,
  defineSupports,
  type OutgoingMessage,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
  StreamMessage,
  toBytes,
} from '@streamer/core/backend';
import { runConformance } from '../src/index.js';

// The smallest backend the kit makes: realtime consumers of one process, nothing else. It lacks
// what the other backends have (history, groups, shards, headers, timestamps, seek, rewind), so
// the suite's tests for missing capabilities run here, and its gating is checked: a test that
// needs more than this manifest says must skip, not fail.
const SUPPORTS = defineSupports({ realtime: true, binaryPayloads: true });

/** What every streamer of this backend shares: the listening consumers and sequences, per stream. */
class Bus {
  readonly listeners = new Map<StreamKey, Set<AsyncQueue<Message>>>();
  readonly sequences = new Map<StreamKey, bigint>();

  publish(message: OutgoingMessage): Receipt {
    const sequence = (this.sequences.get(message.streamKey) ?? 0n) + 1n;
    this.sequences.set(message.streamKey, sequence);
    const stored = new StreamMessage(
      message.streamKey,
      0,
      sequence,
      new Date(),
      Buffer.from(toBytes(message.payload)), // a copy: the caller's bytes stay the caller's
    );
    for (const queue of this.listeners.get(message.streamKey) ?? []) queue.push(stored);
    return { streamKey: stored.streamKey, shardId: 0, sequence, timestamp: stored.timestamp };
  }
}

class MinimalProducer extends AbstractProducer {
  constructor(
    readonly bus: Bus,
    anchor: StreamKey | undefined,
    options: ResolvedProducerOptions,
  ) {
    super(anchor, options, SUPPORTS, 'minimal');
  }

  protected async _send(message: OutgoingMessage): Promise<Receipt> {
    return this.bus.publish(message);
  }
}

class MinimalConsumer extends AbstractConsumer {
  readonly #queue = new AsyncQueue<Message>();

  constructor(
    readonly bus: Bus,
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
  ) {
    super(streams, options, 'minimal');
    for (const stream of streams) {
      let queues = bus.listeners.get(stream);
      if (!queues) bus.listeners.set(stream, (queues = new Set()));
      queues.add(this.#queue);
    }
  }

  protected _next(signal: AbortSignal | undefined): Promise<Message> {
    return this.#queue.shift(signal);
  }

  protected async _end(): Promise<void> {
    for (const stream of this.streams) this.bus.listeners.get(stream)?.delete(this.#queue);
    this.#queue.abort(new StreamerError('CONSUMER_ENDED', 'Consumer has ended'));
  }
}

class MinimalStreamer extends AbstractStreamer {
  readonly backend = 'minimal';
  readonly supports = SUPPORTS;

  constructor(readonly bus: Bus) {
    super();
  }

  protected async _createProducer(stream: StreamKey | undefined, options: ResolvedProducerOptions) {
    return new MinimalProducer(this.bus, stream, options);
  }

  protected async _createConsumer(streams: StreamKey[], options: ResolvedConsumerOptions) {
    return new MinimalConsumer(this.bus, streams, options);
  }

  protected async _disconnect(): Promise<void> {}
}

const bus = new Bus();
runConformance({ name: 'minimal', connect: async () => new MinimalStreamer(bus) });

import type { Readable, Writable } from 'node:stream';
import {
  type Backend,
  type Message,
  type Receipt,
  StreamerError,
  type StreamKey,
  type Supports,
} from '@streamer/core';
import {
  AbstractConsumer,
  AbstractProducer,
  AbstractStreamer,
  AsyncQueue,
  defineBackendOptions,
  defineSupports,
  describeValue,
  type Endable,
  invalidArgument,
  type OutgoingMessage,
  positiveInteger,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
  StreamMessage,
  toBytes,
} from '@streamer/core/backend';
import { existingHub, type Hub, hubFor, type Subscriber } from './hub.js';
import { BROADCAST, formatLine, formatTimestamp, lineText } from './line-format.js';
import { type LineWriter, writerFor } from './writer.js';

export const STDIO_SUPPORTS: Supports = defineSupports({
  realtime: true,
  loadBalanced: true,
  shards: true,
  timestamps: true,
});

export interface StdioConnectOptions {
  /** Where consumers read lines from. Default `process.stdin`. */
  input?: Readable;
  /** Where producers write lines to. Default `process.stdout`. */
  output?: Writable;
  /**
   * Also deliver what this process produces to this process's consumers. Default false. Their
   * consumers then outlive the end of the input, since the process may still produce.
   */
  loopback?: boolean;
  /** Called for each input line that cannot be read (the reader goes on). Default: print it to stderr. */
  onError?: (error: StreamerError) => void;
  /** Longer input lines are reported and skipped. Default 16 MiB. */
  maxLineBytes?: number;
}

interface Resolved {
  input: Readable | undefined;
  output: Writable | undefined;
  loopback: boolean;
  onError: (error: StreamerError) => void;
  maxLineBytes: number;
}

defineBackendOptions('stdio', {
  protocols: ['stdio'],
  connect: ['input', 'output', 'loopback', 'onError', 'maxLineBytes'],
});

function printError(error: StreamerError): void {
  process.stderr.write(`streamer: stdio: ${error.code}: ${error.message}\n`);
}

function resolveConnectOptions(options: Record<string, unknown>): Resolved {
  // Options of other backends are ignored, so one options object serves every URL.
  const { input, output, loopback, onError, maxLineBytes } = options;
  const readable = (v: unknown) =>
    typeof (v as Readable)?.on === 'function' && typeof (v as Readable).pause === 'function';
  if (input !== undefined && !readable(input))
    throw invalidArgument('input', input, 'a readable stream');
  if (output !== undefined && typeof (output as Writable)?.write !== 'function')
    throw invalidArgument('output', output, 'a writable stream');
  if (loopback !== undefined && typeof loopback !== 'boolean')
    throw invalidArgument('loopback', loopback, 'true or false');
  if (onError !== undefined && typeof onError !== 'function')
    throw invalidArgument('onError', onError, 'a function');
  return {
    input: input as Readable | undefined,
    output: output as Writable | undefined,
    loopback: loopback ?? false,
    onError: (onError as Resolved['onError'] | undefined) ?? printError,
    maxLineBytes: positiveInteger('maxLineBytes', maxLineBytes, 16 * 1024 * 1024),
  };
}

/** Where a producer's lines go: what its streamer shares with it, and no one else. */
interface Output {
  writer(): LineWriter;
  loopbackHub(): Hub | undefined;
}

class StdioProducer extends AbstractProducer {
  readonly #output: Output;

  constructor(output: Output, anchor: StreamKey | undefined, options: ResolvedProducerOptions) {
    super(anchor, options, STDIO_SUPPORTS, 'stdio');
    this.#output = output;
  }

  protected async _send(message: OutgoingMessage): Promise<Receipt> {
    const payload = lineText(message.payload);
    const writer = this.#output.writer();
    const timestamp = message.timestamp ?? new Date();
    formatTimestamp(timestamp); // a bad one fails here, before it uses up a sequence number
    const header = { streamKey: message.streamKey, shardId: message.shardId, timestamp };
    const sequence = writer.nextSequence(message.streamKey, message.shardId);
    await writer.write(formatLine({ ...header, sequence }, payload));
    const receipt = { ...header, sequence };
    this.#output
      .loopbackHub()
      ?.dispatch(
        new StreamMessage(
          message.streamKey,
          message.shardId,
          sequence,
          timestamp,
          toBytes(payload),
        ),
      );
    return receipt;
  }
}

class StdioConsumer extends AbstractConsumer {
  readonly #hub: Hub;
  readonly #subscriber: Subscriber;

  constructor(
    hub: Hub,
    streams: StreamKey[],
    options: ResolvedConsumerOptions,
    onError: (e: StreamerError) => void,
    loopback: boolean,
  ) {
    super(streams, options, 'stdio');
    this.#hub = hub;
    const subscribed = new Set<string>(streams);
    this.#subscriber = {
      group: options.mode === 'loadBalanced' ? options.group : undefined,
      queue: new AsyncQueue<Message>(),
      readAhead: options.batchSize,
      // Broadcast lines (no stream key) go to every consumer.
      wants: ({ streamKey, shardId }) =>
        (streamKey === BROADCAST || subscribed.has(streamKey)) &&
        this.isAssigned(streamKey, shardId),
      onError,
      endsWithInput: !loopback,
    };
    hub.subscribe(this.#subscriber);
  }

  protected _next(signal: AbortSignal | undefined): Promise<Message> {
    return this.#subscriber.queue.shift(signal);
  }

  protected override _nextNow(): Message | undefined {
    return this.#subscriber.queue.shiftNow();
  }

  protected async _end(): Promise<void> {
    this.#hub.unsubscribe(this.#subscriber);
    this.#subscriber.queue.abort(new StreamerError('CONSUMER_ENDED', 'Consumer has ended'));
  }
}

export class StdioStreamer extends AbstractStreamer {
  readonly backend = 'stdio';
  readonly supports = STDIO_SUPPORTS;
  readonly #options: Resolved;
  #writer: LineWriter | undefined;
  readonly #output: Output = {
    writer: () => this.#lineWriter(),
    loopbackHub: () => this.#loopbackHub(),
  };

  /** @internal Made by `connect('stdio://')`. */
  constructor(options: Resolved) {
    super();
    this.#options = options;
  }

  /** The output's writer, made on the first send so a consumer-only process leaves stdout alone. */
  #lineWriter(): LineWriter {
    const output = this.#options.output ?? process.stdout;
    this.#writer ??= writerFor(output, this.#options.output ? 'output' : 'stdout');
    return this.#writer;
  }

  /** With loopback, the hub of this process's consumers (none yet: nobody to deliver to). */
  #loopbackHub(): Hub | undefined {
    if (!this.#options.loopback) return undefined;
    return existingHub(this.#options.input ?? process.stdin);
  }

  protected async _createProducer(stream: StreamKey | undefined, options: ResolvedProducerOptions) {
    return new StdioProducer(this.#output, stream, options) as StdioProducer & Endable;
  }

  protected async _createConsumer(streams: StreamKey[], options: ResolvedConsumerOptions) {
    const { input, maxLineBytes, onError, loopback } = this.#options;
    const hub = hubFor(input ?? process.stdin, input ? 'input' : 'stdin', maxLineBytes);
    return new StdioConsumer(hub, streams, options, onError, loopback) as StdioConsumer & Endable;
  }

  protected async _disconnect(): Promise<void> {}
}

/**
 * `stdio://`: consumers read lines from stdin, producers write lines to stdout, in the format of
 * SeaStreamer's stdio backend. Options: see StdioConnectOptions.
 */
export const backend: Backend = {
  async connect(urls, options) {
    const url = urls[0];
    if (url.host !== '') {
      throw new StreamerError(
        'INVALID_URL',
        `stdio:// takes no host, got ${describeValue(url.host)}: use stdio:// or stdio:///stream1,stream2`,
      );
    }
    return new StdioStreamer(resolveConnectOptions(options));
  },
};

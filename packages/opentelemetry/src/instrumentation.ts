import diagnostics from 'node:diagnostics_channel';
import {
  type Attributes,
  context,
  type Link,
  type Meter,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import {
  CHANNELS,
  type CommitEvent,
  type Consumer,
  DEAD_LETTER_HEADERS,
  type Message,
  type ProcessEvent,
  RESERVED_STREAM_KEY,
  type SendEvent,
  setTraceContextHook,
} from '@streamer/core';
import { invalidArgument } from '@streamer/core/backend';
import { ATTRIBUTES as A, LAG_GAUGE, METRICS } from './names.js';

const NAME = '@streamer/opentelemetry';
const VERSION = '0.0.0';

/** How `StreamerInstrumentation` behaves. */
export interface StreamerInstrumentationConfig {
  /** Start enabled (the default), or wait for `enable()`. */
  enabled?: boolean;
  /**
   * Trace and count dead letters (messages with the dead-letter headers of `run()`) and the
   * reserved internal stream too. Default false: they are streamer's plumbing, not the app's.
   */
  includeInternal?: boolean;
}

/** Node skips the phases a subscriber leaves out; its types want all five. */
type Phases<E> = Partial<diagnostics.TracingChannelSubscribers<E & object>>;

function isInternal(stream: string, headers: Readonly<Record<string, string>> | undefined) {
  return stream === RESERVED_STREAM_KEY || headers?.[DEAD_LETTER_HEADERS.error] !== undefined;
}

function errorType(error: unknown): string {
  if (error instanceof Error) return (error as { code?: unknown }).code?.toString() ?? error.name;
  return typeof error;
}

/**
 * Turns streamer's diagnostics channels into spans and metrics. It has the shape of an
 * `@opentelemetry/instrumentation` `Instrumentation`, so `registerInstrumentations({
 * instrumentations: [new StreamerInstrumentation()] })` takes it, without depending on that
 * package; `registerStreamerInstrumentation()` is the one-line alternative.
 */
export class StreamerInstrumentation {
  readonly instrumentationName = NAME;
  readonly instrumentationVersion = VERSION;
  #config: StreamerInstrumentationConfig;
  #tracer: Tracer;
  #meter!: Meter;
  #instruments!: ReturnType<typeof instruments>;
  #enabled = false;
  readonly #lagged = new Set<Consumer>();

  constructor(config: StreamerInstrumentationConfig = {}) {
    if (typeof config !== 'object' || config === null)
      throw invalidArgument('instrumentation config', config, 'an object');
    this.#config = { ...config };
    this.#tracer = trace.getTracer(NAME, VERSION);
    this.setMeterProvider(metrics.getMeterProvider());
    if (config.enabled !== false) this.enable();
  }

  getConfig(): StreamerInstrumentationConfig {
    return { ...this.#config };
  }

  setConfig(config: StreamerInstrumentationConfig = {}): void {
    this.#config = { ...config };
  }

  setTracerProvider(provider: TracerProvider): void {
    this.#tracer = provider.getTracer(NAME, VERSION);
  }

  setMeterProvider(provider: MeterProvider): void {
    this.#meter = provider.getMeter(NAME, VERSION);
    this.#instruments = instruments(this.#meter, this.#lagged);
  }

  /** Subscribes to the channels and installs core's trace context hook. Idempotent. */
  enable(): void {
    if (this.#enabled) return;
    this.#enabled = true;
    this.#subscribe('subscribe');
    setTraceContextHook({
      inject: (event, carrier) => {
        const span = (event as Carrier)[SPAN]?.span;
        const ctx = span ? trace.setSpan(context.active(), span) : context.active();
        propagation.inject(ctx, carrier);
      },
      run: (event, fn) => {
        const span = (event as Carrier)[SPAN]?.span;
        return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
      },
    });
  }

  /** Unsubscribes and removes the hook. Idempotent. */
  disable(): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    this.#subscribe('unsubscribe');
    setTraceContextHook(undefined);
  }

  /** The channels enable() listens to and disable() leaves, in one list. */
  #subscribe(how: 'subscribe' | 'unsubscribe'): void {
    diagnostics
      .tracingChannel(CHANNELS.send)
      [how](this.#send as diagnostics.TracingChannelSubscribers<object>);
    diagnostics
      .tracingChannel(CHANNELS.process)
      [how](this.#process as diagnostics.TracingChannelSubscribers<object>);
    diagnostics[how](CHANNELS.commit, this.#commit);
  }

  /**
   * Reports `consumer.lag()` on the lag gauge (`streamer.consumer.lag`) per stream, shard and
   * group at each collection, until the consumer ends or the returned function is called.
   */
  observeLag(consumer: Consumer): () => void {
    if (typeof consumer?.lag !== 'function')
      throw invalidArgument('consumer', consumer, 'a streamer consumer');
    this.#lagged.add(consumer);
    return () => this.#lagged.delete(consumer);
  }

  readonly #send: Phases<SendEvent> = {
    start: (event) => {
      if (!this.#config.includeInternal && isInternal(event.stream, event.headers)) return;
      const span = this.#tracer.startSpan(`send ${event.stream}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          ...destination(event.backend, event.stream, event.shard),
          [A.operationType]: 'send',
          [A.operationName]: 'send',
          [A.bodySize]: event.payloadSize,
        },
      });
      (event as Carrier)[SPAN] = { span, at: performance.now() };
    },
    asyncEnd: (event) => {
      const started = (event as Carrier)[SPAN];
      if (!started) return;
      const { span } = started;
      const attributes = destination(event.backend, event.stream, event.shard);
      attributes[A.operationName] = 'send';
      if (event.error === undefined && event.result)
        span.setAttribute(A.messageId, event.result.sequence.toString());
      this.#finish(span, event.error, attributes);
      this.#instruments.sent.add(1, attributes);
      this.#instruments.operation.record(elapsed(started), attributes);
    },
  };

  readonly #process: Phases<ProcessEvent> = {
    start: (event) => {
      const first = event.messages[0];
      if (!first) return;
      if (!this.#config.includeInternal && isInternal(first.streamKey, first.headers)) return;
      // Child of the first message's send span, so one trace runs from sender to handler;
      // the other messages of a batch, which may come from other traces, are links.
      const parent = propagation.extract(context.active(), first.headers);
      const links: Link[] = [];
      for (const m of event.messages.slice(1)) {
        const linked = trace.getSpanContext(propagation.extract(context.active(), m.headers));
        if (linked) links.push({ context: linked });
      }
      const attributes: Attributes = {
        ...destination(event.backend, first.streamKey, first.shardId),
        [A.operationType]: 'process',
        [A.operationName]: 'process',
        [A.deliveryCount]: event.deliveryCount,
      };
      if (event.group !== undefined) attributes[A.group] = event.group;
      if (event.messages.length === 1) attributes[A.messageId] = first.sequence.toString();
      else attributes[A.batchCount] = event.messages.length;
      const span = this.#tracer.startSpan(
        `process ${first.streamKey}`,
        { kind: SpanKind.CONSUMER, attributes, links },
        parent,
      );
      (event as Carrier)[SPAN] = { span, at: performance.now() };
      if (event.attempt === 1)
        this.#instruments.consumed.add(event.messages.length, metricAttributes(event, first));
    },
    asyncEnd: (event) => {
      const started = (event as Carrier)[SPAN];
      if (!started) return;
      const { span } = started;
      const attributes = metricAttributes(event, event.messages[0]);
      this.#finish(span, event.error, attributes);
      this.#instruments.process.record(elapsed(started), attributes);
    },
  };

  readonly #commit = (message: unknown) => {
    const event = message as CommitEvent;
    const attributes: Attributes = { [A.system]: event.backend, [A.operationName]: 'commit' };
    if (event.group !== undefined) attributes[A.group] = event.group;
    if (event.error !== undefined) attributes[A.errorType] = errorType(event.error);
    this.#instruments.operation.record(event.durationMs / 1000, attributes);
  };

  #finish(span: Span, error: unknown, attributes: Attributes): void {
    if (error !== undefined) {
      attributes[A.errorType] = errorType(error);
      span.setAttribute(A.errorType, errorType(error));
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message) });
    }
    span.end();
  }
}

/** Starts the instrumentation (enabled) with the global tracer and meter providers. */
export function registerStreamerInstrumentation(
  config: StreamerInstrumentationConfig = {},
): StreamerInstrumentation {
  return new StreamerInstrumentation({ ...config, enabled: true });
}

function destination(system: string, stream: string, shard: number): Attributes {
  return { [A.system]: system, [A.destination]: stream, [A.partition]: String(shard) };
}

function metricAttributes(event: ProcessEvent, first: Message | undefined): Attributes {
  const attributes = destination(event.backend, first?.streamKey ?? '', first?.shardId ?? 0);
  attributes[A.operationName] = 'process';
  if (event.group !== undefined) attributes[A.group] = event.group;
  return attributes;
}

/**
 * Where a call's span is kept: on the event object, which a TracingChannel hands every phase of
 * one call. A WeakMap from event to span cost a third of a traced send (measured: its entries
 * are ephemerons, expensive for the garbage collector).
 */
const SPAN = Symbol('span');
type Carrier = { [SPAN]?: Started };

interface Started {
  span: Span;
  /** performance.now() at the start. */
  at: number;
}

/** Seconds since the start, as the duration histograms want. */
function elapsed(started: Started): number {
  return (performance.now() - started.at) / 1000;
}

function instruments(meter: Meter, lagged: Set<Consumer>) {
  const lag = meter.createObservableGauge(LAG_GAUGE, {
    description: 'Messages stored after what the consumer (its group) has been given',
    unit: '{message}',
  });
  lag.addCallback(async (result) => {
    for (const consumer of lagged) {
      const lags = await consumer.lag().catch(() => undefined);
      if (lags === undefined) {
        lagged.delete(consumer); // ended
        continue;
      }
      const group = (consumer as { options?: { group?: string } }).options?.group;
      for (const { stream, shard, lag: value } of lags) {
        if (value === undefined) continue;
        const attributes: Attributes = { [A.destination]: stream, [A.partition]: String(shard) };
        if (group !== undefined) attributes[A.group] = group;
        result.observe(value, attributes);
      }
    }
  });
  return {
    sent: meter.createCounter(METRICS.sent, {
      description: 'Messages a producer sent',
      unit: '{message}',
    }),
    consumed: meter.createCounter(METRICS.consumed, {
      description: 'Messages handed to the application',
      unit: '{message}',
    }),
    process: meter.createHistogram(METRICS.processDuration, {
      description: 'Duration of handler calls',
      unit: 's',
    }),
    operation: meter.createHistogram(METRICS.operationDuration, {
      description: 'Duration of sends and commits',
      unit: 's',
    }),
  };
}

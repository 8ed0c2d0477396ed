import type { Readable } from 'node:stream';
import { type Message, type ShardId, StreamerError, type StreamKey } from '@streamer/core';
import { type AsyncQueue, StreamMessage } from '@streamer/core/backend';
import { BROADCAST, type ParsedLine, parseLine } from './line-format.js';

/** A consumer as the hub sees it: what it reads and where its messages go. */
export interface Subscriber {
  readonly streams: ReadonlySet<StreamKey>;
  /** loadBalanced: members of one group share the messages. */
  readonly group: string | undefined;
  readonly queue: AsyncQueue<Message>;
  /** The reader pauses while this many messages wait in the queue. */
  readonly readAhead: number;
  accepts(stream: StreamKey, shard: ShardId): boolean;
  onError(error: StreamerError): void;
  /** False with loopback: the process's own messages keep coming after the input ends. */
  readonly endsWithInput: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * One per input stream (so one stdin reader per process): reads lines, turns them into messages
 * and hands each to the subscribed consumers. It reads only while someone subscribes, and pauses
 * while any consumer's queue is full, so memory stays bounded and a process without consumers
 * leaves stdin alone (and can exit).
 */
export class Hub {
  readonly #input: Readable;
  readonly #name: string;
  readonly #maxLineBytes: number;
  #subscribers: Subscriber[] = [];
  /** Next sequence per (stream, shard) for lines without an explicit one. */
  readonly #sequences = new Map<string, bigint>();
  #listening = false;
  #waitingForRoom = false;
  #ended: StreamerError | undefined;
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** The current line outgrew maxLineBytes: drop the rest of it. */
  #skipping = false;
  #lineNumber = 0;

  constructor(input: Readable, name: string, maxLineBytes: number) {
    this.#input = input;
    this.#name = name;
    this.#maxLineBytes = maxLineBytes;
  }

  subscribe(subscriber: Subscriber): void {
    if (this.#ended && subscriber.endsWithInput) {
      subscriber.queue.close(this.#ended);
      return;
    }
    this.#subscribers.push(subscriber);
    if (this.#ended) return;
    this.#listen();
    if (!this.#waitingForRoom) this.#input.resume();
  }

  /** Removes a consumer; a group member's unread messages go to the rest of its group. */
  unsubscribe(subscriber: Subscriber): void {
    this.#subscribers = this.#subscribers.filter((s) => s !== subscriber);
    if (this.#subscribers.length === 0 && !this.#ended) this.#input.pause();
    const { group, queue } = subscriber;
    if (group === undefined || queue.closed) return;
    const unread: Promise<Message>[] = [];
    while (queue.length > 0) unread.push(queue.shift());
    Promise.allSettled(unread).then((results) => {
      for (const result of results) {
        if (result.status === 'fulfilled') this.#toGroup(group, result.value);
      }
    });
  }

  /**
   * Hands a message to its consumers: every realtime consumer of its stream, one member per group
   * (`sequence % members`, members in join order). Broadcast messages go to every consumer.
   */
  dispatch(message: Message): void {
    const groups = new Map<string, Subscriber[]>();
    for (const subscriber of this.#subscribers) {
      if (!wants(subscriber, message)) continue;
      if (subscriber.group === undefined) subscriber.queue.push(message);
      else {
        const members = groups.get(subscriber.group);
        if (members) members.push(subscriber);
        else groups.set(subscriber.group, [subscriber]);
      }
    }
    for (const members of groups.values()) pick(members, message).queue.push(message);
  }

  #toGroup(group: string, message: Message): void {
    const members = this.#subscribers.filter((s) => s.group === group && wants(s, message));
    if (members.length > 0) pick(members, message).queue.push(message);
  }

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    if (this.#input.readableEnded) {
      this.#finish(this.#endOfInput());
      return;
    }
    this.#input.on('data', (chunk: Buffer | string) => this.#onData(chunk));
    this.#input.on('end', () => {
      if (this.#partialBytes > 0 || this.#skipping) this.#line(this.#takePartial());
      this.#finish(this.#endOfInput());
    });
    this.#input.on('error', (cause: Error) => {
      this.#finish(
        new StreamerError('BACKEND', `Reading ${this.#name} failed: ${cause.message}`, { cause }),
      );
    });
  }

  #endOfInput(): StreamerError {
    return new StreamerError('STREAM_ENDED', `${this.#name} has ended`);
  }

  #onData(data: Buffer | string): void {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end < 0) break;
      this.#keep(chunk.subarray(start, end));
      this.#line(this.#takePartial());
      start = end + 1;
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start));
    this.#pauseWhileFull();
  }

  /** Collects part of the current line, or drops it once the line is too long. */
  #keep(piece: Buffer): void {
    if (this.#skipping || piece.length === 0) return;
    if (this.#partialBytes + piece.length > this.#maxLineBytes) {
      this.#report(
        new StreamerError(
          'PAYLOAD_TOO_LARGE',
          `${this.#name} line ${this.#lineNumber + 1} is longer than ${this.#maxLineBytes} bytes (maxLineBytes): skipped`,
        ),
      );
      this.#skipping = true;
      this.#partial = [];
      this.#partialBytes = 0;
      return;
    }
    this.#partial.push(piece);
    this.#partialBytes += piece.length;
  }

  #takePartial(): Buffer | undefined {
    if (this.#skipping) {
      this.#skipping = false;
      return undefined;
    }
    const line = this.#partial.length === 1 ? this.#partial[0]! : Buffer.concat(this.#partial);
    this.#partial = [];
    this.#partialBytes = 0;
    return line;
  }

  /** One line (undefined: a skipped one): parse, number, dispatch; a bad line is reported and dropped. */
  #line(bytes: Buffer | undefined): void {
    const number = ++this.#lineNumber;
    if (bytes === undefined) return;
    const end =
      bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    let parsed: ParsedLine;
    try {
      parsed = parseLine(utf8.decode(bytes.subarray(0, end)));
    } catch (error) {
      const message = error instanceof StreamerError ? error.message : 'not valid UTF-8';
      this.#report(
        new StreamerError('CORRUPT_DATA', `${this.#name} line ${number}: ${message}`, {
          cause: error,
        }),
      );
      return;
    }
    const streamKey = parsed.streamKey ?? BROADCAST;
    const shardId = parsed.shardId ?? 0;
    const counter = `${streamKey}/${shardId}`;
    const sequence = parsed.sequence ?? this.#sequences.get(counter) ?? 0n;
    this.#sequences.set(counter, sequence + 1n);
    this.dispatch(
      new StreamMessage(
        streamKey,
        shardId,
        sequence,
        parsed.timestamp ?? new Date(),
        Buffer.from(parsed.payload),
      ),
    );
  }

  #report(error: StreamerError): void {
    for (const onError of new Set(this.#subscribers.map((s) => s.onError))) onError(error);
  }

  #pauseWhileFull(): void {
    const full = this.#subscribers.filter((s) => s.queue.length >= s.readAhead);
    if (full.length === 0 || this.#waitingForRoom) return;
    this.#waitingForRoom = true;
    this.#input.pause();
    Promise.all(full.map((s) => s.queue.untilShorterThan(s.readAhead))).then(() => {
      this.#waitingForRoom = false;
      if (this.#subscribers.length > 0 && !this.#ended) this.#input.resume();
      this.#pauseWhileFull();
    });
  }

  #finish(error: StreamerError): void {
    if (this.#ended) return;
    this.#ended = error;
    for (const subscriber of this.#subscribers.filter((s) => s.endsWithInput)) {
      subscriber.queue.close(error);
      this.unsubscribe(subscriber);
    }
  }
}

function wants(subscriber: Subscriber, message: Message): boolean {
  const { streamKey, shardId } = message;
  return (
    (streamKey === BROADCAST || subscriber.streams.has(streamKey)) &&
    subscriber.accepts(streamKey, shardId)
  );
}

function pick(members: Subscriber[], message: Message): Subscriber {
  return members[Number(message.sequence % BigInt(members.length))]!;
}

const hubs = new WeakMap<Readable, Hub>();

/** The hub of `input`, made on first use. */
export function hubFor(input: Readable, name: string, maxLineBytes: number): Hub {
  let hub = hubs.get(input);
  if (!hub) hubs.set(input, (hub = new Hub(input, name, maxLineBytes)));
  return hub;
}

/** The hub of `input` if a consumer ever read it; loopback needs no reader of its own. */
export function existingHub(input: Readable): Hub | undefined {
  return hubs.get(input);
}

import type { Readable } from 'node:stream';
import { type Message, StreamerError } from '@streamer/core';
import { type GroupMember, InProcessGroup, StreamMessage } from '@streamer/core/backend';
import { BROADCAST, type ParsedLine, parseLine } from './line-format.js';

/** A consumer as the hub sees it: which messages it reads (`wants`) and where they go (`queue`). */
export interface Subscriber extends GroupMember<Message> {
  /** loadBalanced: members of one group share the messages. */
  readonly group: string | undefined;
  /** The reader pauses while this many messages wait in the queue. */
  readonly readAhead: number;
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
  /** The loadBalanced groups, by name. */
  readonly #groups = new Map<string, InProcessGroup<Message, Subscriber>>();
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
    if (subscriber.group !== undefined) {
      let group = this.#groups.get(subscriber.group);
      if (!group) this.#groups.set(subscriber.group, (group = new InProcessGroup()));
      group.join(subscriber);
    }
    if (this.#ended) return;
    this.#listen();
    if (!this.#waitingForRoom) this.#input.resume();
  }

  /** Removes a consumer; a group member's unread messages go to the rest of its group. */
  unsubscribe(subscriber: Subscriber): void {
    this.#subscribers = this.#subscribers.filter((s) => s !== subscriber);
    if (this.#subscribers.length === 0 && !this.#ended) this.#input.pause();
    if (subscriber.group === undefined) return;
    const group = this.#groups.get(subscriber.group);
    group?.leave(subscriber); // never rejects; the rest of the group gets the unread messages
    if (group?.members.length === 0) this.#groups.delete(subscriber.group);
  }

  /**
   * Hands a message to its consumers: every realtime consumer that wants it, and one member of
   * each group (`sequence % members`, members in join order).
   */
  dispatch(message: Message): void {
    for (const subscriber of this.#subscribers) {
      if (subscriber.group === undefined && subscriber.wants(message))
        subscriber.queue.push(message);
    }
    for (const group of this.#groups.values()) group.dispatch(message);
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
    const line = this.#partial.length === 1 ? this.#partial[0] : Buffer.concat(this.#partial);
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

import type { Writable } from 'node:stream';
import { type SeqNo, type ShardId, StreamerError, type StreamKey } from '@streamer/core';

/**
 * One per output stream (so one stdout writer per process), shared by its producers: whole lines
 * in one write each, so producers never interleave, and one sequence counter per (stream, shard).
 */
export class LineWriter {
  readonly #output: Writable;
  readonly #name: string;
  readonly #sequences = new Map<string, SeqNo>();
  #failure: StreamerError | undefined;
  #batch: string[] = [];
  #waiters: { resolve(): void; reject(error: unknown): void }[] = [];

  constructor(output: Writable, name: string) {
    this.#output = output;
    this.#name = name;
    // Without a listener a closed pipe (EPIPE) would crash the process; sends report it instead.
    output.on('error', (cause: Error) => {
      this.#failure ??= this.#failed(cause);
    });
  }

  nextSequence(stream: StreamKey, shard: ShardId): SeqNo {
    const counter = `${stream}/${shard}`;
    const sequence = this.#sequences.get(counter) ?? 0n;
    this.#sequences.set(counter, sequence + 1n);
    return sequence;
  }

  /**
   * Resolves once the line is handed to the OS. Lines sent in one turn of the event loop go out in
   * one write. A producer has at most its high-water mark of these in flight, which is what bounds
   * memory when the reader of a pipe is slow.
   */
  write(line: string): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#batch.push(line);
      this.#waiters.push({ resolve, reject });
      if (this.#batch.length === 1) setImmediate(() => this.#writeBatch());
    });
  }

  #writeBatch(): void {
    const text = `${this.#batch.join('\n')}\n`;
    const waiters = this.#waiters;
    this.#batch = [];
    this.#waiters = [];
    this.#output.write(text, (error) => {
      if (error) this.#failure ??= this.#failed(error);
      for (const waiter of waiters) {
        if (error) waiter.reject(this.#failure);
        else waiter.resolve();
      }
    });
  }

  #failed(cause: Error): StreamerError {
    return new StreamerError('BACKEND', `Writing to ${this.#name} failed: ${cause.message}`, {
      cause,
    });
  }
}

const writers = new WeakMap<Writable, LineWriter>();

export function writerFor(output: Writable, name: string): LineWriter {
  let writer = writers.get(output);
  if (!writer) writers.set(output, (writer = new LineWriter(output, name)));
  return writer;
}

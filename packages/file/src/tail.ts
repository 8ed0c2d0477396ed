import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StreamerError } from '@streamer/core';
import { onChange } from './changes.js';
import { type FileHeader, type FileMessage, HEADER_SIZE } from './format.js';
import type { ReadOptions } from './options.js';
import { LogReader, openFile, readHeaderFrom } from './reader.js';

export interface TailSink {
  /**
   * Takes a batch of messages in file order; resolves when there is room for more, or at once when
   * `stop` aborts (reading moves elsewhere or ends).
   */
  deliver(batch: FileMessage[], stop: AbortSignal): Promise<void>;
  /** Damage that was stepped over (resync): the reader goes on. */
  damaged(error: StreamerError): void;
  /** Reading stopped for good: STREAM_ENDED at EOS (or the end, without follow), or an error. */
  stopped(error: StreamerError): void;
}

/**
 * Reads a file from some offset on, in batches, into a sink; at the end of what is written it
 * waits for more (follow) with in-process notices, fs.watch and polling, any of which wakes it.
 * `moveTo` restarts reading elsewhere (rewind, seek).
 */
export class Tail {
  readonly path: string;
  readonly header: FileHeader;
  readonly #reader: LogReader;
  readonly #options: ReadOptions;
  readonly #batchSize: number;
  readonly #inode: number;
  #sink: TailSink;
  #run: { stop: AbortController; done: Promise<void> } | undefined;
  #watcher: FSWatcher | undefined;
  #wake: (() => void) | undefined;
  #unlisten: (() => void) | undefined;
  #closed = false;

  private constructor(
    path: string,
    reader: LogReader,
    inode: number,
    options: ReadOptions,
    batchSize: number,
    sink: TailSink,
  ) {
    this.path = path;
    this.header = reader.header;
    this.#reader = reader;
    this.#inode = inode;
    this.#options = options;
    this.#batchSize = batchSize;
    this.#sink = sink;
  }

  static async open(
    path: string,
    options: ReadOptions,
    batchSize: number,
    sink: TailSink,
  ): Promise<Tail> {
    const handle = await openFile(path);
    try {
      const header = await readHeaderFrom(handle, path);
      const { ino } = await handle.stat();
      return new Tail(
        path,
        new LogReader(handle, header, HEADER_SIZE, options.resync),
        ino,
        options,
        batchSize,
        sink,
      );
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get handle() {
    return this.#reader.handle;
  }

  /** File offset of the next message not read yet. */
  get offset(): number {
    return this.#reader.offset;
  }

  /**
   * Starts (or restarts) reading at `offset`, a message or beacon boundary. `reset` runs between
   * the old reading stopping and the new one starting (to drop what the old one delivered).
   */
  async moveTo(offset: number, reset?: () => void): Promise<void> {
    await this.#stopRun();
    if (this.#closed) return;
    reset?.();
    this.#reader.moveTo(offset);
    const stop = new AbortController();
    this.#run = { stop, done: this.#loop(stop.signal) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#stopRun();
    this.#watcher?.close();
    this.#unlisten?.();
    await this.#reader.handle.close();
  }

  async #stopRun(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    this.#run = undefined;
    run.stop.abort();
    this.#wake?.();
    await run.done;
  }

  async #loop(stop: AbortSignal): Promise<void> {
    const reader = this.#reader;
    for (;;) {
      let batch: FileMessage[];
      try {
        batch = await reader.read(this.#batchSize);
      } catch (error) {
        if (stop.aborted) return;
        if (this.#options.resync && (error as StreamerError).code === 'CORRUPT_DATA') {
          this.#sink.damaged(error as StreamerError);
          continue;
        }
        return this.#sink.stopped(asStreamerError(error, this.path));
      }
      if (stop.aborted) return;
      if (batch.length > 0) {
        await this.#sink.deliver(batch, stop);
        if (stop.aborted) return;
        continue;
      }
      if (reader.ended) {
        return this.#sink.stopped(
          new StreamerError('STREAM_ENDED', `Stream file ${this.path} ended (end-of-stream mark)`),
        );
      }
      if (!this.#options.follow) {
        try {
          reader.checkTruncated();
        } catch (error) {
          return this.#sink.stopped(error as StreamerError);
        }
        return this.#sink.stopped(
          new StreamerError('STREAM_ENDED', `Reached the end of stream file ${this.path}`),
        );
      }
      const noticed = await this.#changed();
      if (stop.aborted) return;
      // The bytes of a half-written message are read again: a writer that crashed left them, and
      // the next writer cuts them off and writes other bytes in their place.
      if (reader.partial > 0) reader.moveTo(reader.offset);
      if (!noticed) {
        const gone = await this.#gone();
        if (gone) return this.#sink.stopped(gone);
      }
    }
  }

  /** Waits for a sign that the file grew; false when the poll interval passed without one. */
  #changed(): Promise<boolean> {
    this.#listen();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), this.#options.pollIntervalMs);
      const done = (noticed: boolean) => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(noticed);
      };
      this.#wake = () => done(true);
    });
  }

  #listen(): void {
    if (this.#unlisten) return;
    this.#unlisten = onChange(this.path, () => this.#wake?.());
    if (!this.#options.watch) return;
    try {
      this.#watcher = watch(this.path, { persistent: false }, () => this.#wake?.());
      // Without notifications (inotify limits, some network filesystems) polling still works.
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      this.#watcher = undefined;
    }
  }

  /** An error when the file was removed or replaced since it was opened. */
  async #gone(): Promise<StreamerError | undefined> {
    try {
      const { ino } = await stat(this.path);
      if (ino === this.#inode) return undefined;
      return new StreamerError(
        'BACKEND',
        `Stream file ${this.path} was replaced by another file while being read`,
      );
    } catch (cause) {
      return new StreamerError('BACKEND', `Stream file ${this.path} was removed while being read`, {
        cause,
      });
    }
  }
}

function asStreamerError(error: unknown, path: string): StreamerError {
  if (error instanceof StreamerError) return error;
  return new StreamerError(
    'BACKEND',
    `Reading stream file ${path} failed: ${(error as Error).message}`,
    {
      cause: error,
    },
  );
}

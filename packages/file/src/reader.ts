import { type FileHandle, open } from 'node:fs/promises';
import { StreamerError } from '@streamer/core';
import { Decoder } from './decoder.js';
import {
  corrupt,
  decodeHeader,
  type FileHeader,
  type FileMessage,
  HEADER_SIZE,
  isEos,
} from './format.js';

const CHUNK = 1024 * 1024;

/**
 * Opens a stream file for reading: STREAM_NOT_FOUND when it is missing, CONNECT when it cannot be
 * opened otherwise.
 */
export async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (cause) {
    throw new StreamerError(
      (cause as { code?: string }).code === 'ENOENT' ? 'STREAM_NOT_FOUND' : 'CONNECT',
      `Cannot open stream file ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

export async function readHeaderFrom(handle: FileHandle, path: string): Promise<FileHeader> {
  const buf = Buffer.alloc(HEADER_SIZE);
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(buf, 0, HEADER_SIZE, 0));
  } catch (cause) {
    // A directory opens fine on Linux; reading it is what fails (EISDIR).
    throw new StreamerError(
      'CONNECT',
      `Cannot read stream file ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
  try {
    return decodeHeader(buf.subarray(0, bytesRead));
  } catch (error) {
    (error as Error).message += ` (${path})`;
    throw error;
  }
}

/**
 * Reads messages in file order from an open file: big reads into a Decoder. `read()` returns what
 * is there; the caller decides whether to wait for more (live tail) or stop (replay).
 */
export class LogReader {
  readonly handle: FileHandle;
  readonly header: FileHeader;
  #decoder: Decoder;
  #resync: boolean;
  /** An error met while decoding: handed out after the messages before it. */
  #error: StreamerError | undefined;
  #fatal: StreamerError | undefined;
  #eos = false;
  /** File offset of the end-of-stream message, once read. */
  eosOffset: number | undefined;

  constructor(handle: FileHandle, header: FileHeader, offset: number, resync = false) {
    this.handle = handle;
    this.header = header;
    this.#decoder = new Decoder(header.beaconInterval, offset);
    this.#resync = resync;
  }

  /** File offset of the next message not read yet. */
  get offset(): number {
    return this.#decoder.offset;
  }

  /** Bytes read past the last whole message (a message still being written, or a damaged tail). */
  get partial(): number {
    return this.#decoder.buffered;
  }

  get ended(): boolean {
    return this.#eos;
  }

  /** Moves to `offset` (a message or beacon boundary), dropping what was buffered. */
  moveTo(offset: number): void {
    this.#decoder = new Decoder(this.header.beaconInterval, offset);
    this.#error = undefined;
    this.#fatal = undefined;
    this.#eos = false;
    this.eosOffset = undefined;
  }

  /**
   * Up to `max` messages. An empty array means nothing complete is there yet (at the end of what
   * is written). Stops before an end-of-stream message and sets `ended`. Throws CORRUPT_DATA after
   * returning the messages before the damage; with resync, reading then goes on at the next beacon.
   */
  async read(max: number): Promise<FileMessage[]> {
    const out: FileMessage[] = [];
    if (this.#fatal && !this.#error) throw this.#fatal;
    if (this.#error) {
      const error = this.#error;
      this.#error = undefined;
      throw error;
    }
    while (out.length < max && !this.#eos) {
      let message: FileMessage | undefined;
      try {
        message = this.#decoder.next();
      } catch (error) {
        // Without resync nothing past the damage can be read: every later read reports it again.
        if (this.#resync) this.#decoder.resync();
        else this.#fatal = error as StreamerError;
        if (out.length === 0) throw error;
        this.#error = error as StreamerError;
        return out;
      }
      if (message) {
        if (isEos(message)) {
          this.#eos = true;
          this.eosOffset = message.offset;
        } else out.push(message);
        continue;
      }
      if (out.length > 0) return out;
      if ((await this.#fill()) === 0) return out;
    }
    return out;
  }

  /** Replay: throws CORRUPT_DATA when the file ends inside a message (nothing more is coming). */
  checkTruncated(): void {
    if (this.#decoder.buffered > 0) {
      throw corrupt(
        this.#decoder.offset,
        `the file ends inside a message or beacon (${this.#decoder.buffered} bytes after the last whole message)`,
      );
    }
  }

  /** Reads the next chunk of the file into the decoder; returns how many bytes came. */
  async #fill(): Promise<number> {
    const decoder = this.#decoder;
    const at = decoder.offset + decoder.buffered;
    let size = Math.max(CHUNK, decoder.needed - decoder.buffered);
    if (size > CHUNK) {
      // A big message: read it at once, but never more than the file holds (a damaged size field
      // can claim 4 GiB).
      size = Math.max(0, Math.min(size, (await this.handle.stat()).size - at));
      if (size === 0) return 0;
    }
    const chunk = Buffer.allocUnsafe(size);
    const { bytesRead } = await this.handle.read(chunk, 0, size, at);
    if (decoder !== this.#decoder) return bytesRead; // moved while reading: the bytes are stale
    decoder.feed(chunk.subarray(0, bytesRead));
    return bytesRead;
  }
}

export interface ReadMessagesOptions {
  /** Read on at the next beacon after damage instead of stopping. Default false. */
  resync?: boolean;
  /**
   * With resync: told about each damaged region. Without it, the first CORRUPT_DATA is thrown once
   * every readable message has been yielded, so damage is never silent.
   */
  onCorrupt?: (error: StreamerError) => void;
}

/**
 * Every message of a file in order, stopping at its end or at EOS (not yielded). Ending the loop
 * early (`break`) closes the file.
 */
export function readMessages(
  path: string,
  options: ReadMessagesOptions = {},
): AsyncIterableIterator<FileMessage> {
  const batches = readBatches(path, options);
  let batch: FileMessage[] = [];
  let next = 0;
  const refill = async (): Promise<IteratorResult<FileMessage>> => {
    for (;;) {
      const result = await batches.next();
      if (result.done) return { value: undefined, done: true };
      batch = result.value;
      next = 0;
      if (batch.length > 0) return { value: batch[next++], done: false };
    }
  };
  // Messages come from batches without an async generator step each: that halves the cost of
  // a replay.
  return {
    next: () =>
      next < batch.length ? Promise.resolve({ value: batch[next++], done: false }) : refill(),
    return: async () => {
      batch = [];
      await batches.return(undefined);
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function* readBatches(
  path: string,
  options: ReadMessagesOptions,
): AsyncGenerator<FileMessage[]> {
  const handle = await openFile(path);
  let damage: StreamerError | undefined;
  const report = (error: unknown) => {
    if (!options.resync || !(error instanceof StreamerError) || error.code !== 'CORRUPT_DATA')
      throw error;
    if (options.onCorrupt) options.onCorrupt(error);
    else damage ??= error;
  };
  try {
    const header = await readHeaderFrom(handle, path);
    const reader = new LogReader(handle, header, HEADER_SIZE, options.resync ?? false);
    for (;;) {
      let batch: FileMessage[];
      try {
        batch = await reader.read(4096);
      } catch (error) {
        report(error);
        continue;
      }
      yield batch;
      if (reader.ended) break;
      if (batch.length === 0) {
        try {
          reader.checkTruncated();
        } catch (error) {
          report(error);
        }
        break;
      }
    }
  } finally {
    await handle.close();
  }
  if (damage) throw damage;
}

export async function readHeader(path: string): Promise<FileHeader> {
  const handle = await openFile(path);
  try {
    return await readHeaderFrom(handle, path);
  } finally {
    await handle.close();
  }
}

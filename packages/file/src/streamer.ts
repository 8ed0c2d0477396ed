import { open, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  type Backend,
  type Receipt,
  StreamerError,
  type StreamKey,
  type Supports,
} from '@streamer/core';
import {
  AbstractProducer,
  AbstractStreamer,
  defineSupports,
  type Endable,
  type OutgoingMessage,
  type ResolvedConsumerOptions,
  type ResolvedProducerOptions,
} from '@streamer/core/backend';
import { FileConsumer } from './consumer.js';
import { encodeHeader } from './format.js';
import { LoadBalancer } from './group.js';
import {
  type FileConnectOptions,
  pathFromUrl,
  resolveConnectOptions,
  resolveReadOptions,
} from './options.js';
import { readHeader } from './reader.js';
import type { LogWriter } from './writer.js';
import { acquireWriter, releaseWriter } from './writers.js';

export const FILE_SUPPORTS: Supports = defineSupports({
  realtime: true,
  history: true,
  resumable: true,
  loadBalanced: true,
  seek: true,
  rewind: true,
  shards: true,
  timestamps: true,
  binaryPayloads: true,
});

class FileProducer extends AbstractProducer {
  readonly #writer: LogWriter;
  readonly #endWithEos: boolean;

  constructor(
    writer: LogWriter,
    endWithEos: boolean,
    anchor: StreamKey | undefined,
    options: ResolvedProducerOptions,
  ) {
    super(anchor, options, FILE_SUPPORTS, 'file');
    this.#writer = writer;
    this.#endWithEos = endWithEos;
  }

  protected _send(message: OutgoingMessage): Promise<Receipt> {
    return this.#writer.append(
      message.streamKey,
      message.shardId,
      message.timestamp,
      message.payload,
    );
  }

  protected override _end(): Promise<void> {
    return releaseWriter(this.#writer.path, this.#endWithEos);
  }
}

export class FileStreamer extends AbstractStreamer {
  readonly backend = 'file';
  readonly supports = FILE_SUPPORTS;
  readonly path: string;
  readonly #options: FileConnectOptions;

  constructor(path: string, options: FileConnectOptions) {
    super();
    this.path = path;
    this.#options = options;
  }

  protected async _createProducer(stream: StreamKey | undefined, options: ResolvedProducerOptions) {
    const writer = await acquireWriter(this.path, this.#options);
    return new FileProducer(writer, this.#options.endWithEos, stream, options) as FileProducer &
      Endable;
  }

  protected async _createConsumer(streams: StreamKey[], options: ResolvedConsumerOptions) {
    const read = resolveReadOptions(options.extra, this.#options);
    const balancer =
      options.mode === 'loadBalanced' ? LoadBalancer.for(this.path, options.group!) : undefined;
    const consumer = await FileConsumer.open(this.path, streams, options, read, balancer);
    return consumer as FileConsumer & Endable;
  }

  protected async _disconnect(): Promise<void> {}
}

/**
 * Makes sure the file is there as the options ask: STREAM_NOT_FOUND when it is missing (or empty)
 * and may not be created, CONNECT when it exists for createOnly or cannot be reached.
 */
async function prepareFile(path: string, options: FileConnectOptions): Promise<void> {
  const exists = await stat(path).then(
    (s) => {
      if (!s.isFile()) {
        throw new StreamerError('CONNECT', `Stream file path ${path} is not a regular file`);
      }
      return s.size > 0 ? 'full' : 'empty';
    },
    (error: { code?: string }) => {
      if (error.code === 'ENOENT') return 'missing' as const;
      throw new StreamerError('CONNECT', `Cannot reach stream file ${path}: ${String(error)}`, {
        cause: error,
      });
    },
  );
  if (options.createOnly && exists !== 'missing') {
    throw new StreamerError('CONNECT', `Stream file ${path} already exists (createOnly is set)`);
  }
  if (exists === 'missing' && !options.createOnly && !options.createIfNotExists) {
    throw new StreamerError(
      'STREAM_NOT_FOUND',
      `Stream file ${path} does not exist: pass createIfNotExists: true to create it`,
    );
  }
  if (exists === 'full') {
    await readHeader(path); // CORRUPT_DATA now rather than at the first read
    return;
  }
  if (exists === 'empty' && !options.createIfNotExists && !options.createOnly) {
    throw new StreamerError(
      'STREAM_NOT_FOUND',
      `Stream file ${path} is empty: pass createIfNotExists: true to make it a stream file`,
    );
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, exists === 'missing' ? 'wx' : 'r+');
  } catch (cause) {
    if ((cause as { code?: string }).code === 'EEXIST' && !options.createOnly) return; // created meanwhile
    throw new StreamerError(
      'CONNECT',
      `Cannot create stream file ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  try {
    if ((await handle.stat()).size === 0) {
      const header = encodeHeader({
        fileName: basename(path),
        createdAt: new Date(),
        beaconInterval: options.beaconIntervalBytes,
      });
      await handle.write(header, 0, header.length, 0);
      await handle.sync();
    }
  } finally {
    await handle.close();
  }
}

/**
 * `file:///abs/path.ss` or `file://./relative/path.ss`: SeaStreamer's `.ss` file format, with live
 * tail, replay, seek, load-balanced and resumable consumers.
 */
export const backend: Backend = {
  async connect(urls, options) {
    if (urls.length !== 1) {
      throw new StreamerError(
        'INVALID_URL',
        `A file URL names one file, got ${urls.length}: ${urls.map(String).join(', ')}`,
      );
    }
    const resolved = resolveConnectOptions(options);
    const path = pathFromUrl(urls[0]);
    await prepareFile(path, resolved);
    // One name per file, so that every spelling of it (links, ..) shares one writer and lock.
    return new FileStreamer(await realpath(path), resolved);
  },
};

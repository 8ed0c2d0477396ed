import { isStreamerError, type SendOptions } from '@streamer/core';
import { WILDCARD } from '@streamer/file';
import type { Command } from 'commander';
import { choice, positive, readStreams, streamTarget } from '../args.js';
import { badUsage, usage } from '../errors.js';
import { open, stopSignal } from '../streamers.js';

interface RelayOptions {
  offset: string;
  count?: string;
  follow: boolean;
}

export function relayCommand(program: Command): void {
  program
    .command('relay')
    .description('copy messages from streams on one backend to another, as they come')
    .argument('<in-url>', 'stream URL to read, e.g. file:///tmp/log.ss/orders')
    .argument(
      '<out-url>',
      'where to write: a stream URL naming one stream, or ending in / to keep each stream key',
    )
    .option('--offset <where>', 'start: from the first stored message; end: only new ones', 'end')
    .option('--count <n>', 'stop after n messages')
    .option('--no-follow', 'file:// input: stop at the end of the file')
    .action((input: string, output: string, options: RelayOptions) =>
      relay(input, output, options),
    );
}

async function relay(inUrl: string, outUrl: string, o: RelayOptions): Promise<void> {
  const from = streamTarget(inUrl);
  const to = streamTarget(outUrl);
  const { offset, count } = usage(() => ({
    offset: choice('--offset', o.offset, ['start', 'end'] as const),
    count: positive('--count', o.count),
  }));
  if (to.streams.length > 1) throw badUsage(`${JSON.stringify(outUrl)} names more than one stream`);
  const streams = readStreams(from, inUrl);
  // Writing into a stream it reads, relay would copy its own output forever.
  const target = to.streams[0];
  if (
    from.protocol !== 'stdio' &&
    from.streamer === to.streamer &&
    (target === undefined || streams.includes(target) || streams.includes(WILDCARD))
  ) {
    throw badUsage(
      `relay ${JSON.stringify(inUrl)} ${JSON.stringify(outUrl)} would read its own output forever: write to another stream or place`,
    );
  }
  const input = await open(from.streamer, from.protocol, { follow: o.follow });
  const stop = stopSignal();
  try {
    const output = await open(to.streamer, to.protocol, { write: true });
    try {
      const consumer = await input.createConsumer(streams, {
        start: offset === 'start' ? 'earliest' : 'latest',
        signal: stop.signal,
      });
      const producer = await output.createProducer();
      let relayed = 0;
      try {
        for await (const m of consumer) {
          // Keep what the output can store: timestamps, shards, headers.
          const options: SendOptions = {};
          if (output.supports.timestamps) options.timestamp = m.timestamp;
          if (output.supports.shards) options.shard = m.shardId;
          if (output.supports.headers && Object.keys(m.headers).length > 0)
            options.headers = { ...m.headers };
          await producer.ready();
          producer.sendTo(to.streams[0] ?? m.streamKey, m.payload, options);
          if (count !== undefined && ++relayed >= count) break;
        }
      } catch (error) {
        if (!(isStreamerError(error, 'ABORTED') && stop.signal.aborted)) throw error;
      }
      await producer.end();
    } finally {
      await output.disconnect();
    }
  } finally {
    stop.dispose();
    await input.disconnect();
  }
}

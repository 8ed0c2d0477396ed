import { isStreamerError, type SendOptions } from '@streamer/core';
import { WILDCARD } from '@streamer/file';
import type { Command } from 'commander';
import { positive, readStreams, startFlag, streamTarget } from '../args.js';
import { badUsage, usage } from '../errors.js';
import { StoredEnd, storedOnly } from '../stored.js';
import { open, stopSignal } from '../streamers.js';

interface RelayOptions {
  earliest?: boolean;
  latest?: boolean;
  offset?: string;
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
    .option('--earliest', 'start at the first stored message')
    .option('--latest', 'start with the next new message (default)')
    .option('--offset <where>', 'deprecated alias: start is --earliest, end is --latest')
    .option('--count <n>', 'stop after n messages')
    .option(
      '--no-follow',
      'stop after the messages stored when the command starts (file://, redis:// input)',
    )
    .action((input: string, output: string, options: RelayOptions) =>
      relay(input, output, options),
    );
}

async function relay(inUrl: string, outUrl: string, o: RelayOptions): Promise<void> {
  const from = streamTarget(inUrl);
  const to = streamTarget(outUrl);
  const start = startFlag(o) ?? 'latest';
  const count = usage(() => positive('--count', o.count));
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
      const end = o.follow ? undefined : await StoredEnd.of(input, streams, start, undefined);
      const consumer = await input.createConsumer(streams, { start, signal: stop.signal });
      const producer = await output.createProducer();
      let relayed = 0;
      try {
        for await (const m of end ? storedOnly(consumer, end) : consumer) {
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

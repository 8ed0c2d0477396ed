import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, type Message, StreamerError } from '@streamer/core';
import type { Command } from 'commander';
import { redisOnly } from '../admin.js';
import { streamTarget, timestamp } from '../args.js';
import { badUsage, usage } from '../errors.js';
import { Progress } from '../progress.js';
import { open, stopSignal } from '../streamers.js';

interface DumpOptions {
  output?: string;
  since?: string;
  until?: string;
}

export function dumpCommand(program: Command): void {
  program
    .command('dump')
    .description('copy Redis streams into a new .ss file, in time order, with progress on stderr')
    .argument('<url>', 'redis://host[:port]/stream1,stream2')
    .requiredOption('-o, --output <file>', 'the .ss file to create (must not exist)')
    .option('--since <time>', 'only messages at or after this time')
    .option('--until <time>', 'only messages at or before this time')
    .action((url: string, options: DumpOptions) => dump(url, options));
}

type Head = { message: Message; rest: AsyncIterator<Message> };

/** Merges streams already in time order into one, oldest first. */
async function* byTime(sources: AsyncIterable<Message>[]): AsyncGenerator<Message> {
  const heads: Head[] = [];
  for (const source of sources) {
    const rest = source[Symbol.asyncIterator]();
    const first = await rest.next();
    if (!first.done) heads.push({ message: first.value, rest });
  }
  try {
    while (heads.length > 0) {
      let oldest = 0;
      for (let i = 1; i < heads.length; i++)
        if (heads[i].message.timestamp < heads[oldest].message.timestamp) oldest = i;
      const head = heads[oldest];
      yield head.message;
      const next = await head.rest.next();
      if (next.done) heads.splice(oldest, 1);
      else head.message = next.value;
    }
  } finally {
    // Stopped early: let go of the sources still being read.
    for (const head of heads) await head.rest.return?.();
  }
}

async function dump(url: string, o: DumpOptions): Promise<void> {
  const source = streamTarget(url);
  const { since, until } = usage(() => ({
    since: timestamp('--since', o.since),
    until: timestamp('--until', o.until),
  }));
  if (source.streams.length === 0) throw badUsage(`${JSON.stringify(url)} names no stream`);
  if (!o.output) throw badUsage('dump needs --output <file>');
  const path = resolve(o.output);
  const stop = stopSignal();
  const streamer = await open(source.streamer, source.protocol);
  try {
    const redis = redisOnly(streamer, 'dump');
    let total = 0;
    for (const stream of source.streams) {
      const info = await redis.streamInfo(stream);
      // A typo in a key would otherwise make an empty file and look like success.
      if (info.shards.length === 0)
        throw badUsage(`stream ${JSON.stringify(stream)} does not exist`);
      total += info.length;
    }
    const file = await connect(pathToFileURL(path).href, { createOnly: true });
    try {
      const producer = await file.createProducer();
      const progress = new Progress(total);
      const ranges = source.streams.map((s) =>
        redis.readRange(s, { since, until, batchSize: 1000 }),
      );
      for await (const m of byTime(ranges)) {
        if (stop.signal.aborted) break;
        await producer.ready();
        producer.sendTo(m.streamKey, m.payload, { shard: m.shardId, timestamp: m.timestamp });
        progress.add(m.payload.length);
      }
      await producer.end();
      progress.finish(
        (messages, size) =>
          `dump: wrote ${messages} messages (${size}) from ${source.streams.length} stream(s) to ${path}`,
      );
      // A valid file, but not the whole range: exit 1, so that `dump && upload` does not go on.
      if (stop.signal.aborted) {
        throw new StreamerError(
          'ABORTED',
          `dump was stopped by a signal before the end: ${path} holds the messages copied so far`,
        );
      }
    } finally {
      await file.disconnect();
    }
  } finally {
    stop.dispose();
    await streamer.disconnect();
  }
}

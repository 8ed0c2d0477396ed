import { type ConsumerMode, isStreamerError, validateConsumerOptions } from '@streamer/core';
import type { Command } from 'commander';
import {
  checkNoFollow,
  choice,
  positive,
  readStreams,
  startFlag,
  streamTarget,
  timestamp,
} from '../args.js';
import { usage } from '../errors.js';
import { FORMATS, formatMessage, Output } from '../output.js';
import { StoredEnd, storedOnly } from '../stored.js';
import { open, stopSignal } from '../streamers.js';

interface ConsumeOptions {
  earliest?: boolean;
  latest?: boolean;
  mode: string;
  group?: string;
  consumerId?: string;
  since?: string;
  until?: string;
  count?: string;
  format: string;
  follow: boolean;
}

export function consumeCommand(program: Command): void {
  program
    .command('consume')
    .description('print the messages of streams')
    .argument(
      '<url>',
      'stream URL, e.g. redis://localhost:6379/orders,payments or file:///tmp/log.ss/orders',
    )
    .option('--earliest', 'start at the first stored message')
    .option('--latest', 'start with the next new message (default)')
    .option('--mode <mode>', 'realtime, resumable or loadBalanced', 'realtime')
    .option('--group <name>', 'consumer group (resumable, loadBalanced)')
    .option('--consumer-id <name>', "this member's name in the group")
    .option('--since <time>', 'skip messages before this time (ISO 8601 or epoch ms)')
    .option('--until <time>', 'stop at the first message after this time')
    .option('--count <n>', 'stop after n messages')
    .option('--format <format>', 'log (stdio lines), ndjson or raw (payloads)', 'log')
    .option(
      '--no-follow',
      'stop after the messages stored when the command starts instead of waiting for more (file://, redis:// realtime)',
    )
    .action((url: string, options: ConsumeOptions) => consume(url, options));
}

async function consume(url: string, o: ConsumeOptions): Promise<void> {
  const target = streamTarget(url);
  const flag = startFlag(o);
  const { mode, format, count, since, until } = usage(() => ({
    mode: choice('--mode', o.mode, ['realtime', 'resumable', 'loadBalanced'] as ConsumerMode[]),
    format: choice('--format', o.format, FORMATS),
    count: positive('--count', o.count),
    since: timestamp('--since', o.since),
    until: timestamp('--until', o.until),
  }));
  const group = {
    mode,
    ...(o.group === undefined ? {} : { group: o.group }),
    ...(o.consumerId === undefined ? {} : { consumerId: o.consumerId }),
  };
  // --group and --consumer-id against --mode are the command line's fault: exit 2, before connecting.
  usage(() => validateConsumerOptions(group));
  checkNoFollow(target, o.follow, mode);
  const streams = readStreams(target, url);
  const start = flag ?? (since ? 'earliest' : 'latest');
  const streamer = await open(target.streamer, target.protocol, { follow: o.follow });
  const stop = stopSignal();
  const output = new Output(process.stdout);
  try {
    // Recorded before the consumer starts: what "stored when the command starts" means.
    const end = o.follow ? undefined : await StoredEnd.of(streamer, streams, start, since);
    const consumer = await streamer.createConsumer(streams, {
      ...group,
      start,
      signal: stop.signal,
    });
    // Where the backend can seek, start at --since; elsewhere skip what comes before it.
    const seeked = since !== undefined && streamer.supports.seek;
    if (seeked) await consumer.seek(since);
    let seen = 0;
    for await (const message of end ? storedOnly(consumer, end) : consumer) {
      if (since && !seeked && message.timestamp < since) continue;
      if (until && message.timestamp > until) break;
      if (!(await output.write(formatMessage(message, format)))) break;
      if (mode !== 'realtime') consumer.ack(message);
      if (count !== undefined && ++seen >= count) break;
    }
  } catch (error) {
    if (!(isStreamerError(error, 'ABORTED') && stop.signal.aborted)) throw error;
  } finally {
    stop.dispose();
    await streamer.disconnect();
  }
}

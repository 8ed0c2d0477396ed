import { createInterface } from 'node:readline';
import { type SendOptions, StreamerError } from '@streamer/core';
import { parseLine } from '@streamer/stdio';
import type { Command } from 'commander';
import { choice, nonNegative, oneStream, positive, streamTarget } from '../args.js';
import { usage } from '../errors.js';
import { open, stopSignal } from '../streamers.js';

interface ProduceOptions {
  shard?: string;
  shards?: string;
  key?: string;
  format: string;
}

export function produceCommand(program: Command): void {
  program
    .command('produce')
    .description('send each line of stdin as a message')
    .argument('<url>', 'stream URL naming one stream, e.g. redis://localhost:6379/orders')
    .option('--shard <n>', 'write every message to this shard')
    .option('--shards <n>', 'spread messages over this many shards (round robin or by --key)')
    .option('--key <key>', 'messages with the same key land on the same shard')
    .option(
      '--format <format>',
      'raw: each line is a payload; log: stdio lines, whose [timestamp | stream | seq | shard] are kept',
      'raw',
    )
    .action((url: string, options: ProduceOptions) => produce(url, options));
}

async function produce(url: string, o: ProduceOptions): Promise<void> {
  const target = streamTarget(url);
  const stream = oneStream(target, url);
  const { format, shard, shards } = usage(() => ({
    format: choice('--format', o.format, ['raw', 'log'] as const),
    shard: nonNegative('--shard', o.shard),
    shards: positive('--shards', o.shards),
  }));
  // Ctrl-C stops reading stdin; what was read is still sent and flushed, then the exit code is 0.
  const stop = stopSignal();
  const streamer = await open(target.streamer, target.protocol, { write: true });
  let rejected = 0;
  try {
    const producer = await streamer.createProducer(stream, shards ? { shards } : {});
    const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    if (stop.signal.aborted) lines.close();
    stop.signal.addEventListener('abort', () => lines.close());
    for await (const line of lines) {
      const options: SendOptions = { shard, key: o.key };
      let payload = line;
      if (format === 'log') {
        try {
          const parsed = parseLine(line);
          payload = parsed.payload;
          options.timestamp = parsed.timestamp;
          options.shard = parsed.shardId ?? shard;
          if (parsed.streamKey !== undefined && parsed.streamKey !== 'broadcast') {
            await producer.ready();
            producer.sendTo(parsed.streamKey, payload, options);
            continue;
          }
        } catch (error) {
          rejected++;
          process.stderr.write(
            `streamer: ${(error as StreamerError).code}: ${(error as Error).message}\n`,
          );
          continue;
        }
      }
      await producer.ready();
      producer.send(payload, options);
    }
    await producer.end();
  } finally {
    stop.dispose();
    await streamer.disconnect();
  }
  if (rejected > 0) {
    throw new StreamerError(
      'CORRUPT_DATA',
      `${rejected} malformed line(s) were not sent (see above)`,
    );
  }
}

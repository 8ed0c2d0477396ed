import type { Command } from 'commander';
import { redisOnly } from '../admin.js';
import { nonNegative, streamTarget, timestamp } from '../args.js';
import { badUsage, usage } from '../errors.js';
import { open } from '../streamers.js';

interface TrimOptions {
  maxLen?: string;
  minTs?: string;
  exact?: boolean;
}

export function trimCommand(program: Command): void {
  program
    .command('trim')
    .description('drop the oldest messages of Redis streams')
    .argument('<url>', 'stream URL, e.g. redis://localhost:6379/orders,payments')
    .option('--max-len <n>', 'keep at most n messages per shard')
    .option('--min-ts <time>', 'drop messages older than this time')
    .option('--exact', 'trim exactly (slower) rather than approximately (~)')
    .action((url: string, options: TrimOptions) => trim(url, options));
}

async function trim(url: string, o: TrimOptions): Promise<void> {
  const target = streamTarget(url);
  const { maxLen, minTimestamp } = usage(() => ({
    maxLen: nonNegative('--max-len', o.maxLen),
    minTimestamp: timestamp('--min-ts', o.minTs),
  }));
  if ((maxLen === undefined) === (minTimestamp === undefined))
    throw badUsage('trim needs exactly one of --max-len and --min-ts');
  if (target.streams.length === 0) throw badUsage(`${JSON.stringify(url)} names no stream`);
  const streamer = await open(target.streamer, target.protocol);
  try {
    const redis = redisOnly(streamer, 'trim');
    for (const stream of target.streams) {
      const removed = await redis.trim(stream, { maxLen, minTimestamp, approximate: !o.exact });
      process.stdout.write(`${stream}: removed ${removed}\n`);
    }
  } finally {
    await streamer.disconnect();
  }
}

import { existsSync, statSync } from 'node:fs';
import { readHeader, readMessages } from '@streamer/file';
import type { StreamInfo } from '@streamer/redis';
import type { Command } from 'commander';
import { redisOnly } from '../admin.js';
import { streamerOrStreams } from '../args.js';
import { open } from '../streamers.js';
import { filePath } from './decode.js';

interface InfoOptions {
  json?: boolean;
  pattern: string;
}

export function infoCommand(program: Command): void {
  program
    .command('info')
    .description(
      'show streams: lengths, shards, consumer groups, pending and lag (redis://, file://)',
    )
    .argument('<url>', 'redis://host[:port][/stream1,stream2] or file:///path/to/file.ss[/streams]')
    .option('--pattern <glob>', 'redis: which streams to list when the URL names none', '*')
    .option('--json', 'print JSON')
    .action((url: string, options: InfoOptions) => info(url, options));
}

async function info(url: string, o: InfoOptions): Promise<void> {
  const { about, streams } = url.startsWith('file:')
    ? await fileInfo(url)
    : { about: undefined, streams: await redisInfo(url, o.pattern) };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(streams, null, 2)}\n`);
    return;
  }
  if (about) process.stdout.write(`${about}\n`);
  for (const s of streams) {
    process.stdout.write(`${s.stream}: ${s.length} messages in ${s.shards.length} shard(s)\n`);
    for (const shard of s.shards) {
      const range = shard.firstId ? `, ${shard.firstId} .. ${shard.lastId}` : '';
      process.stdout.write(`  shard ${shard.shard} (${shard.key}): ${shard.length}${range}\n`);
    }
    for (const g of s.groups) {
      const lag = g.lag === undefined ? '' : `, lag ${g.lag}`;
      process.stdout.write(
        `  group ${g.name}: ${g.consumers} consumer(s), ${g.pending} pending${lag}, last delivered ${g.lastDeliveredId}\n`,
      );
    }
  }
}

async function redisInfo(url: string, pattern: string): Promise<StreamInfo[]> {
  const target = streamerOrStreams(url);
  const streamer = await open(target.streamer, target.protocol);
  try {
    const redis = redisOnly(streamer, 'info');
    const names = target.streams.length > 0 ? target.streams : await redis.listStreams(pattern);
    const out: StreamInfo[] = [];
    for (const name of names) out.push(await redis.streamInfo(name));
    return out;
  } finally {
    await streamer.disconnect();
  }
}

/**
 * A file's streams, counted by reading it through; `file:///f.ss/a,b` limits them, and
 * `file:///f.ss/` (as in the other commands) lists them all.
 */
async function fileInfo(url: string): Promise<{ about: string; streams: StreamInfo[] }> {
  let path = filePath(url.replace(/[?#].*$/, '').replace(/\/$/, ''));
  let only: string[] = [];
  const parent = path.slice(0, path.lastIndexOf('/'));
  // `/dir/f.ss/a,b` names streams; `/dir/missing.ss` a file that is not there (named in the error).
  if (!isFile(path) && !(existsSync(parent) && !isFile(parent))) {
    only = path.slice(parent.length + 1).split(',');
    path = parent;
  }
  const header = await readHeader(path); // names the path when it is no .ss file
  const streams = new Map<string, Map<number, { length: number; first: string; last: string }>>();
  for await (const m of readMessages(path)) {
    if (only.length > 0 && !only.includes(m.streamKey)) continue;
    let shards = streams.get(m.streamKey);
    if (!shards) streams.set(m.streamKey, (shards = new Map()));
    const seq = String(m.sequence);
    const shard = shards.get(m.shardId);
    if (shard) {
      shard.length++;
      shard.last = seq;
    } else shards.set(m.shardId, { length: 1, first: seq, last: seq });
  }
  const about = `${header.fileName}: created ${header.createdAt.toISOString()}, beacon interval ${header.beaconInterval}, version ${header.version}`;
  const infos = [...streams].map(([stream, shards]) => ({
    stream,
    length: [...shards.values()].reduce((sum, s) => sum + s.length, 0),
    shards: [...shards].map(([shard, s]) => ({
      shard,
      key: stream,
      length: s.length,
      firstId: s.first,
      lastId: s.last,
    })),
    groups: [],
  }));
  return { about, streams: infos };
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

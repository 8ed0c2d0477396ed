// The streamer command on a Redis Cluster URL (several seed hosts), on a throwaway cluster.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../../redis/test/support/cluster.js';
import { freshKey, lines, streamer, tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.remove());

describe('streamer on a Redis Cluster URL', () => {
  let started: TestCluster | undefined;
  beforeAll(async () => {
    started = await new TestCluster().start();
  }, 60_000);
  afterAll(() => started?.stop());
  const cluster = () => started!;

  it('produce over shards, consume --no-follow, info, relay, dump and trim', async () => {
    const name = freshKey('cluster');
    const url = `${cluster().url}/${name}`;
    const input = Array.from({ length: 12 }, (_, i) => `m${i}`);
    const produced = await streamer(['produce', url, '--shards', '4'], `${input.join('\n')}\n`);
    expect(produced).toMatchObject({ code: 0, stderr: '' });

    const consumed = await streamer([
      'consume',
      url,
      '--earliest',
      '--no-follow',
      '--format',
      'raw',
    ]);
    expect(consumed.code).toBe(0);
    expect(lines(consumed.stdout).sort()).toEqual([...input].sort());

    const info = await streamer(['info', url, '--json']);
    expect(info.code).toBe(0);
    const stats = JSON.parse(info.stdout);
    expect((Array.isArray(stats) ? stats[0] : stats).length).toBe(12);

    const copy = `${temp.url('copy.ss')}/copy`;
    expect((await streamer(['relay', url, copy, '--earliest', '--count', '12'])).code).toBe(0);
    const copied = await streamer([
      'consume',
      copy,
      '--earliest',
      '--no-follow',
      '--format',
      'raw',
    ]);
    expect(lines(copied.stdout).sort()).toEqual([...input].sort());

    const out = join(temp.dir, 'dump.ss');
    const dumped = await streamer(['dump', url, '--output', out]);
    expect(dumped.code).toBe(0);
    expect(dumped.stderr).toContain('wrote 12 messages');

    const trimmed = await streamer(['trim', url, '--max-len', '1', '--exact']);
    expect(trimmed.code).toBe(0);
    const after = await streamer(['consume', url, '--earliest', '--no-follow', '--format', 'raw']);
    expect(lines(after.stdout)).toHaveLength(4); // one per shard
  });
});

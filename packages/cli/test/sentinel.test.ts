// The streamer command on a redis+sentinel:// URL, on a throwaway Sentinel deployment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSentinel } from '../../redis/test/support/sentinel.js';
import { freshKey, lines, streamer } from './helpers.js';

describe('streamer on a redis+sentinel:// URL', () => {
  let started: TestSentinel | undefined;
  beforeAll(async () => {
    started = await new TestSentinel().start();
  }, 60_000);
  afterAll(() => started?.stop());

  it('produce, consume --no-follow, info and trim reach the master the sentinels name', async () => {
    const url = started!.streamUrl(freshKey('sentinel'));
    const input = Array.from({ length: 6 }, (_, i) => `m${i}`);
    const produced = await streamer(['produce', url, '--shards', '2'], `${input.join('\n')}\n`);
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
    expect((Array.isArray(stats) ? stats[0] : stats).length).toBe(6);
    const trimmed = await streamer(['trim', url, '--max-len', '1', '--exact']);
    expect(trimmed.code).toBe(0);
    const after = await streamer(['consume', url, '--earliest', '--no-follow', '--format', 'raw']);
    expect(lines(after.stdout)).toHaveLength(2); // one per shard
  });
});

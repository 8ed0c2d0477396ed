// The wire layout against the real redis-cli binary: what others write, we read; what we write,
// others read as DESIGN.md's layout says (SeaStreamer-compatible).
import { describe, expect, it } from 'vitest';
import { cli, freshKey, redisUrl, streamers, take } from './support/helpers.js';

const opened = streamers();
const streamer = (options: Record<string, unknown> = {}) => opened(redisUrl(), options);

describe('interop with redis-cli', () => {
  it("reads entries written by redis-cli XADD key '*' msg hello, with their ids", async () => {
    const key = freshKey('cli');
    const id = (await cli('XADD', key, '*', 'msg', 'hello')).trim();
    await cli('XADD', key, '*', 'msg', 'world', 'trace', 'abc');
    const c = await (await streamer()).createConsumer(key, { start: 'earliest' });
    const [m1, m2] = await take(c, 2);
    expect(m1!.text()).toBe('hello');
    expect(m1!.headers).toEqual({});
    const [ms, n] = id.split('-').map(BigInt);
    expect(m1!.sequence).toBe((ms! << 16n) | n!);
    expect(m1!.timestamp.getTime()).toBe(Number(ms));
    expect(m1).toMatchObject({ redisKey: key, entryId: id });
    expect([m2!.text(), m2!.headers]).toEqual(['world', { trace: 'abc' }]);
  });

  it('an entry without the message field arrives with an empty payload, fields as headers', async () => {
    const key = freshKey('nomsg');
    await cli('XADD', key, '*', 'a', '1', 'b', '2');
    const c = await (await streamer()).createConsumer(key, { start: 'earliest' });
    const [m] = await take(c, 1);
    expect(m!.payload.length).toBe(0);
    expect(m!.headers).toEqual({ a: '1', b: '2' });
  });

  it('what we write reads back with redis-cli XRANGE: msg, then the headers', async () => {
    const key = freshKey('ours');
    const p = await (await streamer()).createProducer(key);
    const receipt = await p.send('hello', { headers: { h: 'v' } });
    const id = `${receipt.sequence >> 16n}-${receipt.sequence & 0xffffn}`;
    expect((await cli('XRANGE', key, '-', '+')).split('\n')).toEqual([
      id,
      'msg',
      'hello',
      'h',
      'v',
      '',
    ]);
  });

  it('messageField renames the payload field both ways', async () => {
    const key = freshKey('field');
    const s = await streamer({ messageField: 'payload' });
    await (await s.createProducer(key)).send('x');
    expect(await cli('XRANGE', key, '-', '+')).toContain('\npayload\nx\n');
    await cli('XADD', key, '*', 'payload', 'from-cli', 'msg', 'just-a-header');
    const c = await s.createConsumer(key, { start: 'earliest' });
    const [, m] = await take(c, 2);
    expect([m!.text(), m!.headers]).toEqual(['from-cli', { msg: 'just-a-header' }]);
  });

  it('shards are the keys name:N; redis-cli XADD to a shard key reaches a consumer of the stream', async () => {
    const key = freshKey('cshard');
    const p = await (await streamer()).createProducer(key, { shards: 2 });
    await p.send('zero');
    await p.send('one');
    expect(
      (await cli('--scan', '--pattern', `${key}*`)).split('\n').filter(Boolean).sort(),
    ).toEqual([`${key}:0`, `${key}:1`]);
    await cli('XADD', `${key}:7`, '*', 'msg', 'seven');
    const c = await (await streamer()).createConsumer(key, { start: 'earliest' });
    const got = await take(c, 3);
    expect(got.map((m) => [m.shardId, m.text()]).sort()).toEqual([
      [0, 'zero'],
      [1, 'one'],
      [7, 'seven'],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { duration, streamerOrStreams, streamTarget, timestamp } from '../src/args.js';

describe('command-line values', () => {
  it('stream URLs split into the streamer URL (query kept) and the keys after the last /', () => {
    expect(streamTarget('redis://u:p@host:6380/a,b?db=2')).toEqual({
      streamer: 'redis://u:p@host:6380?db=2',
      protocol: 'redis',
      streams: ['a', 'b'],
    });
    expect(streamTarget('file:///tmp/x.ss/k')).toMatchObject({
      streamer: 'file:///tmp/x.ss',
      streams: ['k'],
    });
    expect(streamTarget('file:///tmp/x.ss/')).toMatchObject({
      streamer: 'file:///tmp/x.ss',
      streams: [],
    });
    expect(streamTarget('stdio:///k')).toMatchObject({ streamer: 'stdio://', streams: ['k'] });
    expect(streamerOrStreams('redis://host:6379')).toMatchObject({
      streamer: 'redis://host:6379',
      streams: [],
    });
    expect(() => streamTarget('redis://host')).toThrow('the stream keys follow a "/"');
  });

  it('times: with a zone, without one (UTC), a date, or epoch milliseconds', () => {
    expect(timestamp('t', '2024-05-01T12:00:00+02:00')?.toISOString()).toBe(
      '2024-05-01T10:00:00.000Z',
    );
    expect(timestamp('t', '2024-05-01T12:00:00.5')?.toISOString()).toBe('2024-05-01T12:00:00.500Z');
    expect(timestamp('t', '2024-05-01')?.toISOString()).toBe('2024-05-01T00:00:00.000Z');
    expect(timestamp('t', '0')?.toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(() => timestamp('--since', '2024-13-01')).toThrow('--since must be a time like');
    expect(() => timestamp('--since', '2024-02-30T00:00:00Z')).toThrow(
      'got "2024-02-30T00:00:00Z"',
    );
    expect(() => timestamp('--until', '2024-05-01T24:00:00+02:00')).toThrow('--until must be');
  });

  it('durations', () => {
    expect([
      duration('i', '250ms'),
      duration('i', '1.5s'),
      duration('i', '2m'),
      duration('i', '40'),
    ]).toEqual([250, 1500, 120_000, 40]);
    expect(() => duration('--interval', '0s')).toThrow('--interval must be a duration');
    expect(duration('i', '596h')).toBe(596 * 3_600_000);
    expect(() => duration('--interval', '1000h')).toThrow(
      '--interval must be at most 596h, got "1000h"',
    );
  });
});

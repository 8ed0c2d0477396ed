import { describe, expect, it } from 'vitest';
import { parseStreamerUrl, parseStreamUrl } from '../src/index.js';

const hrefs = (urls: URL[]) => urls.map((u) => u.href);

describe('parseStreamUrl', () => {
  it('takes the keys after the last slash', () => {
    const { streamer, streams } = parseStreamUrl('redis://localhost:6379/orders,payments');
    expect(hrefs(streamer)).toEqual(['redis://localhost:6379']);
    expect(streams).toEqual(['orders', 'payments']);
  });

  it('allows a trailing slash with no keys', () => {
    expect(parseStreamUrl('redis://localhost/').streams).toEqual([]);
  });

  it('requires the slash before the keys', () => {
    expect(() => parseStreamUrl('redis://localhost')).toThrow(
      expect.objectContaining({ code: 'INVALID_URL' }),
    );
    expect(() => parseStreamUrl('redis://localhost')).toThrow('redis://localhost/my-stream');
  });

  it('splits several hosts and keeps credentials and the query', () => {
    const { streamer, streams } = parseStreamUrl('redis://user:secret@a:6379,b:6380/k?db=2');
    expect(hrefs(streamer)).toEqual([
      'redis://user:secret@a:6379?db=2',
      'redis://user:secret@b:6380?db=2',
    ]);
    expect(streamer[0].searchParams.get('db')).toBe('2');
    expect(streamer[1].username).toBe('user');
    expect(streams).toEqual(['k']);
  });

  it('handles file paths and stdio', () => {
    const file = parseStreamUrl('file:///tmp/data/log.ss/a,b');
    expect(file.streamer[0].pathname).toBe('/tmp/data/log.ss');
    expect(file.streams).toEqual(['a', 'b']);
    const stdio = parseStreamUrl('stdio:///news');
    expect(stdio.streamer[0].protocol).toBe('stdio:');
    expect(stdio.streams).toEqual(['news']);
  });

  it('validates every key', () => {
    expect(() => parseStreamUrl('redis://h/ok,not ok')).toThrow(
      expect.objectContaining({ code: 'INVALID_STREAM_KEY' }),
    );
    expect(() => parseStreamUrl('redis://h/a,,b')).toThrow(
      expect.objectContaining({ code: 'INVALID_STREAM_KEY' }),
    );
  });

  it('rejects what is not a URL, naming it', () => {
    for (const bad of ['', 'localhost:6379', 'redis:/x', '://x/']) {
      expect(() => parseStreamUrl(bad)).toThrow(expect.objectContaining({ code: 'INVALID_URL' }));
    }
    expect(() => parseStreamerUrl('redis://a,,b')).toThrow('host 2 is empty');
  });
});

describe('parseStreamerUrl', () => {
  it('keeps the path for backends that use it', () => {
    expect(hrefs(parseStreamerUrl('file:///var/log/x.ss'))).toEqual(['file:///var/log/x.ss']);
    expect(hrefs(parseStreamerUrl('rediss://h:6380?db=1'))).toEqual(['rediss://h:6380?db=1']);
    expect(hrefs(parseStreamerUrl(new URL('redis://localhost')))).toEqual(['redis://localhost']);
  });
});

import { describe, expect, it } from 'vitest';
import { pickShard, StreamMessage, stableHash, toBytes } from '../src/backend.js';

const message = (payload: Uint8Array) => new StreamMessage('s', 0, 1n, new Date(0), payload);

describe('messages', () => {
  it('text() decodes UTF-8 and json() parses', () => {
    expect(message(toBytes('héllo')).text()).toBe('héllo');
    expect(message(toBytes('{"a":[1,2]}')).json()).toEqual({ a: [1, 2] });
    expect(message(toBytes('x')).headers).toEqual({});
  });

  it('text() rejects invalid UTF-8 instead of replacing bytes', () => {
    expect(() => message(Uint8Array.of(0xff, 0xfe)).text()).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD' }),
    );
  });

  it('json() names the payload that is not JSON', () => {
    expect(() => message(toBytes('not json')).json()).toThrow('not json');
  });
});

describe('sharding', () => {
  it('hashes keys stably (FNV-1a)', () => {
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
    expect(stableHash('customer-42')).toBe(stableHash('customer-42'));
  });

  it('prefers shard, then key, then round robin', () => {
    expect(pickShard(4, 3, 'k', 0)).toBe(3);
    expect(pickShard(4, undefined, 'a', 0)).toBe(0xe40c292c % 4);
    expect([0, 1, 2, 3, 4].map((n) => pickShard(3, undefined, undefined, n))).toEqual([
      0, 1, 2, 0, 1,
    ]);
    expect(pickShard(1, undefined, 'a', 5)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { isValidStreamKey, validateShardId, validateStreamKey } from '../src/index.js';

describe('stream keys', () => {
  it('accepts 1 to 249 of A-Z a-z 0-9 . _ -', () => {
    for (const key of [
      'a',
      'orders',
      'my_topic',
      'my-topic-2',
      'v1.events',
      'x'.repeat(249),
      'SEA_STREAMER',
    ]) {
      expect(validateStreamKey(key)).toBe(key);
    }
  });

  it.each([
    ['', 'empty'],
    ['x'.repeat(250), 'longer than 249'],
    ['a b', 'only A-Z'],
    ['a:b', 'only A-Z'],
    ['ünï', 'only A-Z'],
    ['SEA_STREAMER_INTERNAL', 'reserved'],
  ])('rejects %j (%s) naming the key', (key, why) => {
    expect(() => validateStreamKey(key)).toThrow(
      expect.objectContaining({ code: 'INVALID_STREAM_KEY' }),
    );
    expect(() => validateStreamKey(key)).toThrow(why);
    expect(isValidStreamKey(key)).toBe(false);
  });

  it('rejects non-strings', () => {
    for (const key of [undefined, null, 1, {}, ['a']]) {
      expect(() => validateStreamKey(key)).toThrow(
        expect.objectContaining({ code: 'INVALID_STREAM_KEY' }),
      );
    }
  });

  it('shard ids are non-negative safe integers', () => {
    expect(validateShardId(0)).toBe(0);
    expect(validateShardId(7)).toBe(7);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, '1']) {
      expect(() => validateShardId(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});

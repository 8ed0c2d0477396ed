import type { ConsumerOptions } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { freshKey, streamers } from './support/helpers.js';

const open = streamers();

describe('consumer option names', () => {
  // createIfNotExists is the name the file backend uses too; mkstream is the old one.
  for (const name of ['createIfNotExists', 'mkstream']) {
    it(`${name}: false on an absent key: the first next() rejects naming the key`, async () => {
      const s = await open();
      const key = freshKey('no-create');
      const c = await s.createConsumer(key, {
        mode: 'resumable',
        group: 'g',
        [name]: false,
      } as ConsumerOptions);
      const error = await c.next({ signal: AbortSignal.timeout(5000) }).catch((e) => e);
      expect(error.code).not.toBe('TIMEOUT'); // it did not wait: the group was not created
      expect(error.message).toContain(key);
    });
  }

  it('createIfNotExists and mkstream together must agree', async () => {
    const s = await open();
    const options = { mode: 'resumable', group: 'g', createIfNotExists: true, mkstream: false };
    await expect(s.createConsumer(freshKey('both'), options as ConsumerOptions)).rejects.toThrow(
      /mkstream is the old name of createIfNotExists: give one of them/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { defineSupports } from '../src/backend.js';
import { MEMORY_SUPPORTS } from '../src/index.js';

describe('defineSupports', () => {
  it('fills every capability it is not given with false, and freezes the result', () => {
    const supports = defineSupports({ realtime: true, shards: true });
    expect(Object.keys(supports).sort()).toEqual(Object.keys(MEMORY_SUPPORTS).sort());
    expect(Object.entries(supports).filter(([, value]) => value)).toEqual([
      ['realtime', true],
      ['shards', true],
    ]);
    expect(Object.isFrozen(supports)).toBe(true);
  });

  it('refuses a capability it does not know, or a value that is not a boolean, naming it', () => {
    expect(() => defineSupports({ seeking: true } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('"seeking"'),
      }),
    );
    expect(() => defineSupports({ seek: 'yes' } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('supports.seek'),
      }),
    );
    expect(() => defineSupports(null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

import { defineSupports } from '@streamer/core/backend';
import { describe, expect } from 'vitest';
import type { ConformanceContext } from './context.js';

/** Every capability the suite knows of: the keys of a manifest that claims none. */
const CAPABILITIES = Object.keys(defineSupports({})).sort();

/** The manifest: `streamer.supports` gates every other topic, so its shape is tested first. */
export function manifestTests(ctx: ConformanceContext): void {
  describe('manifest', () => {
    ctx.test(
      'streamer.supports names every capability with a boolean, is frozen, and outlives disconnect()',
      {},
      async (s) => {
        const supports = s.supports;
        expect(Object.keys(supports).sort()).toEqual(CAPABILITIES);
        for (const [capability, value] of Object.entries(supports))
          expect(typeof value, `supports.${capability}`).toBe('boolean');
        expect(Object.isFrozen(supports)).toBe(true);
        const before = { ...supports };
        await s.disconnect();
        expect({ ...s.supports }).toEqual(before);
        expect(typeof s.backend).toBe('string');
      },
    );
  });
}

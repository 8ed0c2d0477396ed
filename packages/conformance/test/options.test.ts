import { connect, MEMORY_SUPPORTS } from '@streamer/core';
import { describe, expect, it } from 'vitest';
import { runConformance } from '../src/index.js';

describe('runConformance options', () => {
  it('refuses the supports option, which moved to streamer.supports, saying so', () => {
    const options = { name: 'x', connect: () => connect('memory://x'), supports: MEMORY_SUPPORTS };
    expect(() => runConformance(options)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('has moved to streamer.supports'),
      }),
    );
  });
});

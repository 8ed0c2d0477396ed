import { describe, expect, it } from 'vitest';
import { resolveConsumerOptions, resolveProducerOptions } from '../src/backend.js';
import { MEMORY_SUPPORTS, validateConsumerOptions } from '../src/index.js';

describe('consumer options', () => {
  it('fills in the defaults', () => {
    const o = resolveConsumerOptions(undefined, MEMORY_SUPPORTS);
    expect(o).toMatchObject({
      mode: 'realtime',
      group: undefined,
      start: 'latest',
      autoCommit: 'delayed',
      autoCommitDelayMs: 5000,
      autoCommitIntervalMs: 1000,
      commitTimeoutMs: 30_000,
      batchSize: 100,
      autoClaimIdleMs: 60_000,
      autoClaimIntervalMs: 30_000,
      extra: {},
    });
    expect(resolveConsumerOptions({ mode: 'loadBalanced' }, MEMORY_SUPPORTS).group).toBe('default');
    expect(
      resolveConsumerOptions({ mode: 'resumable', group: 'g' }, MEMORY_SUPPORTS).consumerId,
    ).toBe('main');
    const a = resolveConsumerOptions({ mode: 'loadBalanced' }, MEMORY_SUPPORTS).consumerId;
    const b = resolveConsumerOptions({ mode: 'loadBalanced' }, MEMORY_SUPPORTS).consumerId;
    expect(a).not.toBe(b);
  });

  it('passes backend-specific options through', () => {
    expect(resolveConsumerOptions({ mkstream: false }, MEMORY_SUPPORTS).extra).toEqual({
      mkstream: false,
    });
  });

  it('refuses durations a timer cannot hold (Node fires those after 1 ms)', () => {
    expect(() => resolveConsumerOptions({ autoCommitDelayMs: 2 ** 31 }, MEMORY_SUPPORTS)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('2147483648'),
      }),
    );
    expect(() => resolveConsumerOptions({ autoClaimIdleMs: -1 }, MEMORY_SUPPORTS)).toThrow('-1');
    expect(() => resolveConsumerOptions({ commitTimeoutMs: '5s' }, MEMORY_SUPPORTS)).toThrow(
      'commitTimeoutMs must be a non-negative number, got "5s"',
    );
    expect(resolveConsumerOptions({ commitTimeoutMs: 0 }, MEMORY_SUPPORTS).commitTimeoutMs).toBe(0);
  });

  it('names the backend that lacks a mode', () => {
    const none = { ...MEMORY_SUPPORTS, resumable: false };
    expect(() =>
      resolveConsumerOptions({ mode: 'resumable', group: 'g' }, none, 'The stdio'),
    ).toThrow('The stdio backend does not support the "resumable" consumer mode');
  });
});

describe('producer options', () => {
  it('defaults to one shard, a high-water mark of 1000 and propagating trace context', () => {
    expect(resolveProducerOptions(undefined, MEMORY_SUPPORTS)).toEqual({
      shards: 1,
      highWaterMark: 1000,
      propagateContext: true,
      extra: {},
    });
    expect(() => resolveProducerOptions({ shards: 0 }, MEMORY_SUPPORTS)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('validateConsumerOptions', () => {
  it('throws what createConsumer would, before connecting, except for what a backend lacks', () => {
    validateConsumerOptions({ mode: 'loadBalanced', group: 'g' });
    validateConsumerOptions({ mode: 'resumable', group: 'g' });
    expect(() => validateConsumerOptions({ group: 'g' })).toThrow(
      expect.objectContaining({ code: 'GROUP_NOT_ALLOWED' }),
    );
    expect(() => validateConsumerOptions({ mode: 'resumable' })).toThrow(
      expect.objectContaining({ code: 'GROUP_REQUIRED' }),
    );
    expect(() => validateConsumerOptions({ mode: 'sideways' as 'realtime' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('sideways'),
      }),
    );
  });
});

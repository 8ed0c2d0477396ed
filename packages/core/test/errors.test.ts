import { describe, expect, it } from 'vitest';
import { abortError } from '../src/backend.js';
import { ERROR_CODES, isStreamerError, StreamerError } from '../src/index.js';

describe('StreamerError', () => {
  it('carries a code, retriable flag and cause', () => {
    const cause = new Error('socket closed');
    const error = new StreamerError('CONNECT', 'Cannot reach redis://x', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('CONNECT');
    expect(error.retriable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('StreamerError');
    expect(new StreamerError('INVALID_URL', 'x').retriable).toBe(false);
    expect(new StreamerError('BACKEND', 'x', { retriable: true }).retriable).toBe(true);
  });

  it('is recognised across copies of core by its brand', () => {
    const foreign = Object.create(Error.prototype);
    Object.defineProperty(foreign, Symbol.for('@streamer/core.StreamerError'), { value: true });
    expect(foreign instanceof StreamerError).toBe(true);
    expect(new Error('plain') instanceof StreamerError).toBe(false);
    expect(isStreamerError(new StreamerError('TIMEOUT', 't'), 'TIMEOUT')).toBe(true);
    expect(isStreamerError(new StreamerError('TIMEOUT', 't'), 'ABORTED')).toBe(false);
  });

  it('turns aborted signals into ABORTED (AbortError) or TIMEOUT', async () => {
    const aborted = abortError(AbortSignal.abort('why'));
    expect([aborted.code, aborted.name, aborted.cause]).toEqual(['ABORTED', 'AbortError', 'why']);
    const timeout = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(abortError(timeout).code).toBe('TIMEOUT');
  });

  it('lists the codes of the contract', () => {
    for (const code of [
      'INVALID_STREAM_KEY',
      'INVALID_URL',
      'UNKNOWN_BACKEND',
      'BACKEND_NOT_INSTALLED',
      'CONNECT',
      'NOT_ANCHORED',
      'ALREADY_ANCHORED',
      'GROUP_REQUIRED',
      'GROUP_NOT_ALLOWED',
      'UNSUPPORTED',
      'PRODUCER_ENDED',
      'CONSUMER_ENDED',
      'STREAM_ENDED',
      'STREAM_NOT_FOUND',
      'TIMEOUT',
      'ABORTED',
      'CORRUPT_DATA',
      'PAYLOAD_TOO_LARGE',
      'BACKEND',
    ]) {
      expect(ERROR_CODES).toContain(code);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { AsyncQueue, backoffDelay, sleep } from '../src/backend.js';
import { StreamerError } from '../src/index.js';

describe('AsyncQueue', () => {
  it('hands items out in order, to waiting readers first', async () => {
    const queue = new AsyncQueue<number>();
    const waiting = queue.shift();
    queue.push(1);
    queue.push(2);
    expect(await waiting).toBe(1);
    expect(await queue.shift()).toBe(2);
    expect(queue.length).toBe(0);
  });

  it('delivers a queued error after the items before it', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.pushError(new Error('boom'));
    queue.push(2);
    expect(await queue.shift()).toBe(1);
    await expect(queue.shift()).rejects.toThrow('boom');
    expect(await queue.shift()).toBe(2);
  });

  it('shiftNow() takes a buffered item without a promise, and leaves an error to shift()', async () => {
    const queue = new AsyncQueue<number>();
    expect(queue.shiftNow()).toBeUndefined();
    queue.push(1);
    queue.pushError(new Error('boom'));
    queue.push(2);
    expect(queue.shiftNow()).toBe(1);
    expect(queue.shiftNow()).toBeUndefined();
    await expect(queue.shift()).rejects.toThrow('boom');
    expect(queue.shiftNow()).toBe(2);
    expect(queue.length).toBe(0);
  });

  it('shiftNow() makes room for a read loop waiting on untilShorterThan', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    let roomy = false;
    const room = queue.untilShorterThan(2).then(() => (roomy = true));
    queue.shiftNow();
    await room;
    expect(roomy).toBe(true);
  });

  it('close() drains first; abort() drops what is buffered', async () => {
    const ended = new StreamerError('CONSUMER_ENDED', 'ended');
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.close(ended);
    queue.push(2); // ignored after close
    expect(await queue.shift()).toBe(1);
    await expect(queue.shift()).rejects.toBe(ended);
    const other = new AsyncQueue<number>();
    other.push(1);
    other.abort(ended);
    await expect(other.shift()).rejects.toBe(ended);
  });

  it('a withdrawn shift takes no item', async () => {
    const queue = new AsyncQueue<number>();
    const controller = new AbortController();
    const withdrawn = queue.shift(controller.signal);
    controller.abort();
    await expect(withdrawn).rejects.toMatchObject({ code: 'ABORTED' });
    queue.push(7);
    expect(await queue.shift()).toBe(7);
    await expect(queue.shift(AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('untilShorterThan waits for the reader to make room', async () => {
    const queue = new AsyncQueue<number>();
    for (let i = 0; i < 3; i++) queue.push(i);
    let roomy = false;
    const room = queue.untilShorterThan(2).then(() => (roomy = true));
    await Promise.resolve();
    expect(roomy).toBe(false);
    await queue.shift();
    await queue.shift();
    await room;
    expect(roomy).toBe(true);
  });
});

describe('timers', () => {
  it('backoff grows exponentially within [ceiling/2, ceiling], capped', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(10_000, 100 * 2 ** attempt);
      for (let i = 0; i < 20; i++) {
        const delay = backoffDelay(attempt);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(backoffDelay(3, { initialMs: 10, maxMs: 50 })).toBeLessThanOrEqual(50);
  });

  it('sleep() rejects with ABORTED when aborted', async () => {
    const controller = new AbortController();
    const sleeping = sleep(10_000, controller.signal);
    controller.abort();
    await expect(sleeping).rejects.toMatchObject({ code: 'ABORTED' });
    await sleep(1);
  });
});

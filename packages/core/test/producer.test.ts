import { describe, expect, it } from 'vitest';
import { AbstractProducer, type OutgoingMessage, resolveProducerOptions } from '../src/backend.js';
import { MEMORY_SUPPORTS, type Receipt } from '../src/index.js';

/** A producer whose sends complete only when the test says so. */
class ManualProducer extends AbstractProducer {
  sent: { message: OutgoingMessage; done(fail?: Error): void }[] = [];
  protected _send(message: OutgoingMessage): Promise<Receipt> {
    return new Promise((resolve, reject) => {
      this.sent.push({
        message,
        done: (fail) =>
          fail
            ? reject(fail)
            : resolve({
                streamKey: message.streamKey,
                shardId: message.shardId,
                sequence: 1n,
                timestamp: new Date(),
              }),
      });
    });
  }
}

const make = (options = {}) =>
  new ManualProducer('s', resolveProducerOptions(options, MEMORY_SUPPORTS), MEMORY_SUPPORTS);

describe('AbstractProducer', () => {
  it('hands every send to the backend at once; ready() waits above the mark until half settled', async () => {
    const p = make({ highWaterMark: 4 });
    for (const t of ['a', 'b', 'c', 'd', 'e']) p.send(t);
    expect(p.sent.map((s) => s.message.payload)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(p.pending).toBe(5);
    let ready = false;
    const waiting = p.ready().then(() => (ready = true));
    for (const s of p.sent.slice(0, 2)) s.done();
    await new Promise((resolve) => setImmediate(resolve));
    expect([p.pending, ready]).toEqual([3, false]); // 3 > 4 / 2
    p.sent[2].done();
    await waiting;
    expect([p.pending, ready]).toEqual([2, true]);
    await expect(make({ highWaterMark: 4 }).ready()).resolves.toBeUndefined(); // below the mark
    for (const s of p.sent.slice(3)) s.done();
    await p.flush();
    expect(p.pending).toBe(0);
  });

  it('flush() waits only for sends made before it and reports the first failure once', async () => {
    const p = make();
    p.send('a');
    p.send('b');
    const flushed = p.flush();
    p.send('later');
    p.sent[1].done(new Error('second failed'));
    p.sent[0].done();
    await expect(flushed).rejects.toThrow('second failed');
    p.sent[2].done();
    await p.flush();
  });

  it('picks shards: explicit, by key, round robin; refuses shards beyond the count', async () => {
    const p = make({ shards: 3 });
    for (let i = 0; i < 4; i++) p.send('x');
    p.send('x', { shard: 2 });
    await expect(p.send('x', { shard: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(p.sent.map((s) => s.message.shardId)).toEqual([0, 1, 2, 0, 2]);
    for (const s of p.sent) s.done();
    await p.flush().catch(() => {});
  });

  it('refuses shards and headers a backend does not support', () => {
    const noShards = { ...MEMORY_SUPPORTS, shards: false, headers: false };
    expect(() => resolveProducerOptions({ shards: 2 }, noShards)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED' }),
    );
    const p = new ManualProducer('s', resolveProducerOptions({}, noShards), noShards);
    return expect(p.send('x', { headers: { a: 'b' } })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
    });
  });
});

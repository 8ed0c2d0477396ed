import { describe, expect, it } from 'vitest';
import {
  AbstractProducer,
  MEMORY_SUPPORTS,
  type OutgoingMessage,
  type Receipt,
  resolveProducerOptions,
} from '../src/index.js';

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
  it('holds sends beyond the high-water mark, in order, and ready() waits for room', async () => {
    const p = make({ highWaterMark: 2 });
    for (const t of ['a', 'b', 'c', 'd']) p.send(t);
    expect(p.sent.map((s) => s.message.payload)).toEqual(['a', 'b']);
    expect(p.pending).toBe(4);
    let ready = false;
    const waiting = p.ready().then(() => (ready = true));
    p.sent[0]!.done();
    await new Promise((resolve) => setImmediate(resolve));
    expect(p.sent.map((s) => s.message.payload)).toEqual(['a', 'b', 'c']);
    expect(ready).toBe(false);
    for (const s of p.sent.slice(1)) s.done();
    await new Promise((resolve) => setImmediate(resolve));
    p.sent[3]!.done();
    await waiting;
    expect(ready).toBe(true);
    await p.flush();
    expect(p.pending).toBe(0);
  });

  it('flush() waits only for sends made before it and reports the first failure once', async () => {
    const p = make();
    p.send('a');
    p.send('b');
    const flushed = p.flush();
    p.send('later');
    p.sent[1]!.done(new Error('second failed'));
    p.sent[0]!.done();
    await expect(flushed).rejects.toThrow('second failed');
    p.sent[2]!.done();
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
